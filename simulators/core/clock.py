"""Simulated time.

Every fake reads time from its `Clock`, never from `time.time()`, and waits through it
(`sleep`, `monotonic`), so that retention windows, token expiry, billing cycles, webhook retries
*and* injected latency can be tested without waiting for them. Three modes:

- real: wall-clock time plus whatever `advance` added; sleeps are real (a served fake under load).
- controlled: frozen at a fixed instant until `advance` or `set` moves it; sleeps are still real,
  so a client of a served fake feels the latency it was promised.
- virtual: for in-process runs on a `VirtualTimeLoop` (core/virtual_time.py). Time flows with the
  loop's virtual time: an injected 300 ms latency moves simulated time by 300 ms and costs no wall
  time; `advance` jumps on top of that.

A controlled or virtual clock starts at `DEFAULT_START` unless told otherwise, so the same seed
gives byte-identical objects run after run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Literal

DEFAULT_START = 1767225600.0  # 2026-01-01T00:00:00Z
Mode = Literal["real", "controlled", "virtual"]


def _loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@dataclass
class Clock:
    mode: Mode = "real"
    start: float = DEFAULT_START  # controlled and virtual clocks: where time begins (and resets)
    _offset: float = 0.0  # real: seconds added by advance; others: seconds past `start`
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _loop_origin: float = 0.0

    @classmethod
    def real(cls) -> Clock:
        return cls()

    @classmethod
    def frozen(cls, start: float | None = None) -> Clock:
        """A controlled clock: time stands still until advanced."""
        return cls("controlled", DEFAULT_START if start is None else float(start))

    @classmethod
    def virtual(cls, start: float | None = None) -> Clock:
        """Time that flows with a `VirtualTimeLoop`'s virtual time (see the module docstring)."""
        return cls("virtual", DEFAULT_START if start is None else float(start))

    @property
    def controlled(self) -> bool:
        """True unless the clock follows the wall clock."""
        return self.mode != "real"

    def now(self) -> float:
        if self.mode == "real":
            return time.time() + self._offset
        if self.mode == "controlled":
            return self.start + self._offset
        return self.start + self._offset + self._loop_elapsed()

    def _loop_elapsed(self) -> float:
        loop = _loop()
        if loop is None:  # read from outside the loop (another thread): the last known time
            return 0.0 if self._loop is None else self._loop.time() - self._loop_origin
        if loop is not self._loop:  # a new loop: carry the time reached so far over to it
            if self._loop is not None:
                self._offset += self._loop.time() - self._loop_origin
            self._loop, self._loop_origin = loop, loop.time()
        return loop.time() - self._loop_origin

    @staticmethod
    def wall() -> float:
        """The wall clock, for protocol timestamps a client takes from its own clock (OAuth 1.0a
        freshness, webhook signature tolerance): those must be checked against real time
        whatever the simulated time is."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds on the running loop's clock (virtual on a VirtualTimeLoop): for rates."""
        loop = _loop()
        return loop.time() if loop is not None else time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait; on a VirtualTimeLoop the wait is virtual and simulated time moves by it."""
        await asyncio.sleep(max(0.0, seconds))

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward; seconds must be >= 0")
        self._offset += seconds
        return self.now()

    def set(self, epoch: float) -> float:
        """Move the clock to an absolute time (never backwards)."""
        return self.advance(max(0.0, epoch - self.now()))

    def reset(self) -> None:
        """Back to where the clock started (real: the wall clock, no offset)."""
        self._offset = 0.0
        self._loop = None

    def describe(self) -> dict[str, float | str | None]:
        return {"now": self.now(), "mode": self.mode,
                "offset": self._offset if self.mode == "real" else None}
