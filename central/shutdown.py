"""End dispatch long-polls as soon as the process is asked to stop (SIGTERM, SIGINT).

uvicorn, on a stop signal, stops accepting connections and then waits for the open requests to
finish *before* it runs the app's lifespan shutdown; a long-poll may hold for 25 s, so waking
the waiters from the lifespan shutdown would come too late. :class:`StopSignals` therefore
chains a handler in front of uvicorn's own (installed by the lifespan startup, removed by its
shutdown): the signal closes the :class:`~central.notify.DispatchNotifier` on the event loop,
every pending long-poll answers 304 with the current version, and uvicorn's handler then runs
as before (a second Ctrl-C still forces the exit). This works the same in each worker process
of ``--workers N``. Outside the main thread (an app served from a test thread) signals cannot
be handled and nothing is installed.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Call ``on_stop`` on ``loop`` when a stop signal arrives, then the previous handler."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_stop: Callable[[], None]) -> None:
        self._loop = loop
        self._on_stop = on_stop
        self._previous: dict[int, Any] = {}

    def install(self) -> bool:
        """Chain the handlers; False when not on the main thread (signals unavailable)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return True

    def uninstall(self) -> None:
        """Put the previous handlers back (those uvicorn restores on its way out)."""
        while self._previous:
            sig, handler = self._previous.popitem()
            signal.signal(sig, handler)

    def _handle(self, sig: int, frame: FrameType | None) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_stop)
        previous = self._previous.get(sig)
        if callable(previous):
            previous(sig, frame)
        elif previous == signal.SIG_DFL and sig == signal.SIGINT:
            raise KeyboardInterrupt  # what Python's default SIGINT handling does
        elif previous == signal.SIG_DFL:
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)
