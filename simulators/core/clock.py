"""Simulated time.

Every fake reads time from a `Clock`, never from `time.time()`, so that retention windows, token
expiry, billing cycles and webhook retry schedules can be tested by advancing the clock instead of
sleeping. Real latency (the wall-clock delay a client feels) is *not* simulated time: it uses
`asyncio.sleep` in the pipeline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class Clock:
    """Wall-clock time plus an offset; frozen while `controlled` is set.

    - real mode: `now()` follows the system clock (plus any accumulated `advance`).
    - controlled mode: time stands still until `advance(seconds)` or `set(epoch)` moves it.
    """

    controlled: bool = False
    _offset: float = 0.0
    _frozen_at: float | None = None

    @classmethod
    def real(cls) -> Clock:
        return cls()

    @classmethod
    def frozen(cls, start: float | None = None) -> Clock:
        clock = cls(controlled=True)
        clock._frozen_at = float(start if start is not None else int(time.time()))
        return clock

    def now(self) -> float:
        if self.controlled:
            assert self._frozen_at is not None
            return self._frozen_at
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward; seconds must be >= 0")
        if self.controlled:
            assert self._frozen_at is not None
            self._frozen_at += seconds
        else:
            self._offset += seconds
        return self.now()

    def set(self, epoch: float) -> float:
        """Move the clock to an absolute time (never backwards)."""
        return self.advance(max(0.0, epoch - self.now()))

    def describe(self) -> dict:
        return {"now": self.now(), "mode": "controlled" if self.controlled else "real",
                "offset": self._offset if not self.controlled else None}
