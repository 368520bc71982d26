"""Latency distributions: fixed, uniform, lognormal, or interpolated from measured percentiles.

Draws come from a seeded stream, so a latency profile is reproducible from the topology seed.
"""

from __future__ import annotations

import bisect
import math
import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Z99 = 2.3263478740408408  # standard normal quantile at 0.99


class Latency(BaseModel):
    """One latency distribution, in milliseconds.

    - `{"kind": "fixed", "ms": 120}`
    - `{"kind": "uniform", "min_ms": 50, "max_ms": 250}`
    - `{"kind": "lognormal", "median_ms": 180, "p99_ms": 900}` (or `sigma` instead of `p99_ms`)
    - `{"kind": "percentiles", "percentiles": {"50": 180, "95": 420, "99": 900}}`
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["fixed", "uniform", "lognormal", "percentiles"] = "fixed"
    ms: float | None = Field(None, ge=0)
    min_ms: float | None = Field(None, ge=0)
    max_ms: float | None = Field(None, ge=0)
    median_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    sigma: float | None = Field(None, ge=0)
    percentiles: dict[float, float] | None = None
    max_cap_ms: float = Field(60_000, gt=0, description="no draw exceeds this")

    @model_validator(mode="after")
    def _check(self) -> Latency:
        need = {"fixed": ["ms"], "uniform": ["min_ms", "max_ms"], "lognormal": ["median_ms"],
                "percentiles": ["percentiles"]}[self.kind]
        missing = [name for name in need if getattr(self, name) is None]
        if missing:
            raise ValueError(f"latency kind {self.kind!r} needs {', '.join(missing)}")
        # (the `missing` check above has made sure the bounds a kind needs are not None)
        if (self.kind == "uniform" and self.min_ms is not None and self.max_ms is not None
                and self.min_ms > self.max_ms):
            raise ValueError("min_ms must be <= max_ms")
        if self.kind == "lognormal" and self.p99_ms is None and self.sigma is None:
            raise ValueError("lognormal latency needs p99_ms or sigma")
        if (self.kind == "lognormal" and self.p99_ms is not None and self.median_ms is not None
                and self.p99_ms < self.median_ms):
            raise ValueError("p99_ms must be >= median_ms")
        if self.kind == "percentiles":
            points = self.percentiles or {}
            if not points or any(not 0 < q < 100 for q in points):
                raise ValueError("percentiles are keyed by numbers between 0 and 100, "
                                 "e.g. {'50': 120, '99': 800}")
            values = [points[q] for q in sorted(points)]
            if values != sorted(values):
                raise ValueError("percentile latencies must not decrease as the percentile rises")
        return self

    def draw_ms(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            value = self.ms or 0.0
        elif self.kind == "uniform":
            value = rng.uniform(self.min_ms or 0.0, self.max_ms or 0.0)
        elif self.kind == "lognormal":
            sigma = self.sigma if self.sigma is not None else (
                math.log(self.p99_ms / self.median_ms) / Z99)  # type: ignore[operator]
            value = rng.lognormvariate(math.log(self.median_ms), sigma)  # type: ignore[arg-type]
        else:
            value = self._from_percentiles(rng.random())
        return min(max(value, 0.0), self.max_cap_ms)

    def _from_percentiles(self, u: float) -> float:
        """Piecewise-linear inverse CDF through the given points, anchored at (0, 0)."""
        points = sorted((q / 100.0, v) for q, v in (self.percentiles or {}).items())
        qs = [0.0] + [q for q, _ in points]
        vs = [0.0] + [v for _, v in points]
        if u >= qs[-1]:  # past the last point: extend the last segment's slope, capped
            if len(qs) < 3:
                return vs[-1]
            slope = (vs[-1] - vs[-2]) / (qs[-1] - qs[-2])
            return vs[-1] + slope * (u - qs[-1])
        i = bisect.bisect_right(qs, u)
        q0, q1, v0, v1 = qs[i - 1], qs[i], vs[i - 1], vs[i]
        return v0 + (v1 - v0) * (u - q0) / (q1 - q0)
