"""Arrival-rate profiles: how many declines a second, over the run.

Pure Python (no locust import), so the harness plans the arrivals with the same curve the
load shapes (`loadtests/shapes.py`) follow in the Locust process.

    constant  `rate` for the whole run
    ramp      from a tenth of `rate` up to `rate`, linearly
    spike     `rate / 2`, then `2 × rate` for the middle fifth of the run, then `rate / 2`
    soak      `rate` for a long run (the same curve as constant; its default duration is long)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHAPES = ("constant", "ramp", "spike", "soak")
STEP_S = 0.001  # integration step for the arrival times


@dataclass(frozen=True)
class Profile:
    shape: str
    rate: float       # declines per second (the shape's reference rate)
    duration: float   # seconds

    def rate_at(self, t: float) -> float:
        """Arrivals per second at `t` seconds into the run."""
        if t < 0 or t >= self.duration:
            return 0.0
        if self.shape == "ramp":
            return self.rate * (0.1 + 0.9 * t / self.duration)
        if self.shape == "spike":
            middle = 0.4 * self.duration <= t < 0.6 * self.duration
            return self.rate * (2.0 if middle else 0.5)
        return self.rate  # constant, soak

    def arrivals(self) -> list[float]:
        """Scheduled times (s from the start) of every arrival: the i-th arrives when the
        integral of the rate reaches i + 1/2 (so a constant rate starts half a gap in)."""
        times: list[float] = []
        total, t, due = 0.0, 0.0, 0.5
        while t < self.duration:
            total += self.rate_at(t) * STEP_S
            t += STEP_S
            while total >= due:
                times.append(round(t, 3))
                due += 1.0
        return times

    def expected(self) -> int:
        return len(self.arrivals())


def profile(shape: str, rate: float, duration: float) -> Profile:
    """A checked profile; ValueError names the bad value."""
    if shape not in SHAPES:
        raise ValueError(f"shape {shape!r}: choose one of {', '.join(SHAPES)}")
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate {rate!r}: give declines per second, more than 0")
    if not (duration > 0 and math.isfinite(duration)):
        raise ValueError(f"duration {duration!r}: give seconds, more than 0")
    return Profile(shape, float(rate), float(duration))
