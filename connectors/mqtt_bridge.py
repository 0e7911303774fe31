"""Thread -> asyncio hand-over for paho's network thread, bounded, with back-pressure.

paho runs its network loop in its own thread (``loop_start``); messages are decoded right there
in ``on_message`` — the common JSON message into plain values that the event loop turns into
columns for the whole burst at once, any other into samples and problems — and appended to an
:class:`Inbox` with their acknowledgement ids. All per-message Python work stays in paho's
thread: decoding bursts in the event loop instead made the two threads contend for the GIL
(-25 % messages per CPU second in bench/connectors.py). The event loop is woken once per burst
(``loop.call_soon_threadsafe``), not per message, and takes everything at once. When the inbox holds
``capacity`` messages, ``put`` *waits* — paho stops reading its socket; TCP and the broker's
inflight window hold the rest. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from connectors.base import BadInput, Sample


@dataclass(slots=True)
class Taken:
    samples: list[Sample] = field(default_factory=list)
    acks: list[tuple[int, int]] = field(default_factory=list)  # (connection generation, mid)
    bad: list[BadInput] = field(default_factory=list)
    # the clean JSON messages, as columns to be: one ts and machine each, values flat
    ts_ns: list[int] = field(default_factory=list)
    machines: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    messages: int = 0


class Inbox:
    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        self._loop = loop
        self._capacity = capacity
        self._lock = threading.Lock()  # a bare lock: put() runs once per message
        self._space = threading.Event()  # set while the inbox has room
        self._space.set()
        self._pending = Taken()
        self._wake_pending = False
        self._closed = False
        self.ready = asyncio.Event()  # set (in the loop) when something is waiting

    def put(
        self,
        samples: list[Sample],
        ack: tuple[int, int] | None,
        bad: list[BadInput],
        clean: tuple[int, str, list[float]] | None = None,
    ) -> None:
        """One message's results — its samples and problems, or its ``clean`` values (JSON);
        called from paho's thread, blocks while the inbox is full."""
        while True:
            with self._lock:
                if self._closed:
                    return
                pending = self._pending
                if pending.messages < self._capacity:
                    pending.messages += 1
                    if samples:
                        pending.samples.extend(samples)
                    if ack is not None:
                        pending.acks.append(ack)
                    if bad:
                        pending.bad.extend(bad)
                    if clean is not None:
                        pending.ts_ns.append(clean[0])
                        pending.machines.append(clean[1])
                        pending.values.extend(clean[2])
                    wake = not self._wake_pending
                    self._wake_pending = True
                    break
                self._space.clear()
            self._space.wait(0.5)  # full: paho stops reading until the loop takes the lot
        if wake:
            self._loop.call_soon_threadsafe(self.ready.set)

    def take(self) -> Taken:
        """Called in the event loop: everything received so far, oldest first."""
        with self._lock:
            taken, self._pending = self._pending, Taken()
            self._wake_pending = False
            self.ready.clear()
            self._space.set()
        return taken

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._space.set()
