"""Thread -> asyncio hand-over for paho's network thread, bounded, with back-pressure.

paho runs its network loop in its own thread (``loop_start``) and calls ``on_message`` there.
``put`` appends to an inbox and wakes the event loop once per burst
(``loop.call_soon_threadsafe``), not once per message; when the inbox holds ``capacity``
messages, ``put`` *waits* — paho stops reading its socket, TCP and the broker's inflight window
hold the rest. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Bridge(Generic[T]):
    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        self._loop = loop
        self._capacity = capacity
        self._cond = threading.Condition()
        self._inbox: list[T] = []
        self._wake_pending = False
        self._closed = False
        self.ready = asyncio.Event()  # set (in the loop) when the inbox has something

    def put(self, item: T) -> None:
        """Called from paho's thread; blocks while the inbox is full."""
        with self._cond:
            while len(self._inbox) >= self._capacity and not self._closed:
                self._cond.wait(0.5)
            if self._closed:
                return
            self._inbox.append(item)
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self._loop.call_soon_threadsafe(self.ready.set)

    def take(self) -> list[T]:
        """Called in the event loop: everything queued so far, oldest first."""
        with self._cond:
            items, self._inbox = self._inbox, []
            self._wake_pending = False
            self.ready.clear()
            self._cond.notify_all()
        return items

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
