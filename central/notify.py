"""Wake dispatch long-polls when an edge's dispatch version changes.

Within one process an :class:`asyncio.Event` per edge wakes the waiters at once; a service
marks the edges it changed on the SQLAlchemy session (:func:`mark_dispatch_changed`) and the
``after_commit`` hook fires the events, from whichever thread committed. Across worker
processes the long-poll also re-reads the version from the database every
``dispatch_poll_s`` seconds, so a change committed by another worker is seen within that delay.

:meth:`DispatchNotifier.close` (the process is stopping) wakes every waiter and makes later
waits return at once, so open long-polls answer 304 instead of holding the shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

_KEY = "dispatch_changed"


def mark_dispatch_changed(session: Session, edge_ids: Iterable[str | None]) -> None:
    pending: set[str] = session.info.setdefault(_KEY, set())
    pending.update(e for e in edge_ids if e is not None)


class DispatchNotifier:
    """One event per edge; ``notify`` may be called from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: dict[str, asyncio.Event] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def event(self, edge_id: str) -> asyncio.Event:
        """The event the next change of ``edge_id`` sets (take it *before* reading the version)."""
        if self._closed:
            done = asyncio.Event()
            done.set()
            return done
        ev = self._events.get(edge_id)
        if ev is None:
            ev = self._events[edge_id] = asyncio.Event()
        return ev

    def close(self) -> None:
        """Wake every waiter now and never block again (call on the event loop's thread)."""
        self._closed = True
        self._fire(list(self._events))

    def notify(self, edge_ids: Iterable[str]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        ids = list(edge_ids)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fire(ids)
        else:
            loop.call_soon_threadsafe(self._fire, ids)

    def _fire(self, edge_ids: list[str]) -> None:
        for edge_id in edge_ids:
            ev = self._events.pop(edge_id, None)
            if ev is not None:
                ev.set()

    def install(self, factory: sessionmaker[Session]) -> None:
        """Fire events for the edges a session marked, once its transaction commits."""

        def after_commit(session: Session) -> None:
            changed = session.info.pop(_KEY, None)
            if changed:
                self.notify(changed)

        def after_rollback(session: Session) -> None:
            session.info.pop(_KEY, None)

        event.listen(factory, "after_commit", after_commit)
        event.listen(factory, "after_soft_rollback", lambda s, _t: after_rollback(s))
