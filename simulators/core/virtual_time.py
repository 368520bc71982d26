"""An asyncio event loop on virtual time, for in-process runs.

When every task is waiting on a timer and no I/O is ready, the loop does not wait: it moves its
clock straight to the next timer. Injected latency, hangs, webhook retry schedules and billing
runs then cost no wall time, and concurrent waits still overlap exactly as they would in real
time (two requests delayed 300 ms each finish together, 300 ms later).

Only for runs with no real network I/O (fakes and components mounted with in-process
transports): a real socket's timeout would expire in virtual time at once.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Selector(selectors.DefaultSelector):
    loop: VirtualTimeLoop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout is None or timeout <= 0:
            # ready now, busy, or nothing scheduled at all (wait for a thread's wake-up)
            return ready or (super().select(None) if timeout is None else ready)
        # nothing to do until the next timer: jump to it, exactly (a sum of floats can land a
        # hair short of a large deadline, and the timer would then never be ready)
        self.loop.virtual_now = max(self.loop.virtual_now + timeout, self.loop.next_timer())
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        selector = _Selector()
        selector.loop = self
        self.virtual_now = 0.0
        super().__init__(selector)
        # asyncio runs the timers due before time() + resolution; a nanosecond vanishes next to
        # a large virtual time (float spacing), and a timer due exactly now would never run
        self._clock_resolution = 1e-6

    def time(self) -> float:
        return self.virtual_now

    def next_timer(self) -> float:
        """When the earliest scheduled callback is due (now if none)."""
        scheduled = self._scheduled  # type: ignore[attr-defined]  # asyncio's own heap
        return float(scheduled[0].when()) if scheduled else self.virtual_now


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """`asyncio.run`, on virtual time."""
    with asyncio.Runner(debug=debug, loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main)
