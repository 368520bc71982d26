"""The decline load of a merchant base: how many declines each merchant sees in a day, and when.

Assumptions (defaults; every one is a parameter):
- A merchant sees `declines_per_day` declines on average: a SaaS merchant with ~3,000
  subscriptions renewing monthly (~100 renewals a day) and a 10 % first-attempt failure rate
  sees ~10 failed renewals a day. Merchant sizes are skewed: the daily volume per merchant is
  lognormal with sigma `size_sigma` (1.0: the biggest 1 % see ~10x the median), scaled so the
  mean stays `declines_per_day`.
- The day has a shape (`diurnal`, 24 hourly weights, mean 1): checkout declines follow
  shopping hours, with a trough at night (UTC, a mostly-American merchant base).
- On top, peaks (`peaks`): the renewal batch at the billing anchor just after midnight UTC
  (the "12:01 AM" effect Stripe describes) multiplies the rate for a quarter of an hour.

The arrivals of all merchants form one Poisson stream whose rate is the sum of the merchants'
rates (merging independent Poisson streams is exact), each arrival attributed to a merchant in
proportion to its size, so the model schedules one event per decline, not per merchant.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

# hourly weights, 00:00–23:00 UTC, mean 1.0 (shopping hours of the Americas and Europe)
DIURNAL = (0.45, 0.4, 0.35, 0.3, 0.3, 0.35, 0.5, 0.7, 0.9, 1.1, 1.25, 1.35,
           1.45, 1.55, 1.6, 1.6, 1.55, 1.45, 1.35, 1.2, 1.05, 0.9, 0.7, 0.55)


@dataclass(frozen=True)
class Peak:
    start_hour: float       # hours after midnight UTC
    minutes: float
    factor: float           # rate multiplier during the peak


@dataclass
class LoadProfile:
    merchants: int = 10_000
    declines_per_day: float = 10.0      # per merchant, on average
    size_sigma: float = 1.0
    diurnal: tuple[float, ...] = DIURNAL
    peaks: list[Peak] = field(default_factory=lambda: [Peak(0.0, 15.0, 4.0)])
    # the merchants' relative sizes instead of lognormal draws (a topology's own merchants)
    weights: tuple[float, ...] | None = None
    # evenly spaced arrivals at the rate instead of a Poisson stream (`landscape load`'s plan:
    # harness/load_profiles.py, the i-th when the rate's integral reaches i + 1/2)
    even: bool = False

    def rate_factor(self, t: float) -> float:
        """The shape at `t` seconds after midnight (1.0 = the day's average)."""
        hour = (t / 3600.0) % 24.0
        mean = sum(self.diurnal) / len(self.diurnal)
        factor = self.diurnal[int(hour)] / mean
        for peak in self.peaks:
            if peak.start_hour <= hour < peak.start_hour + peak.minutes / 60.0:
                factor *= peak.factor
        return factor

    def mean_rate(self) -> float:
        """Declines per second over all merchants, on an average hour."""
        return self.merchants * self.declines_per_day / 86400.0

    def peak_window(self, seconds: float) -> float:
        """The start (s after midnight, minute grid) of the `seconds`-long window holding the
        day's busiest minute (a short peak sizes the system, not the busiest average hour);
        among those, the one with the most declines."""
        minutes = max(1, int(seconds // 60))
        factors = [self.rate_factor(60.0 * m + 30.0) for m in range(24 * 60)]
        top = max(factors)

        def score(start: int) -> tuple[float, float]:
            window = [factors[(start + i) % len(factors)] for i in range(minutes)]
            return (max(window) >= top - 1e-12, sum(window))

        return 60.0 * max(range(24 * 60 - minutes + 1), key=score)


def merchant_weights(profile: LoadProfile, rng: random.Random) -> list[float]:
    """Each merchant's share of the declines (lognormal sizes), cumulative for bisect."""
    if profile.weights is not None:
        sizes = [profile.weights[i % len(profile.weights)] for i in range(profile.merchants)]
    else:
        sizes = [rng.lognormvariate(0.0, profile.size_sigma) for _ in range(profile.merchants)]
    return list(itertools.accumulate(sizes))


def pick(cumulative: list[float], rng: random.Random) -> int:
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])


def arrivals(profile: LoadProfile, start: float, seconds: float,
             rng: random.Random, scale: float = 1.0) -> Iterator[float]:
    """Arrival times (s) of the merged stream in [start, start + seconds): a Poisson process
    whose rate follows the profile, piecewise constant per minute (exact within a minute)."""
    base = profile.mean_rate() * scale
    t = start
    end = start + seconds
    if profile.even:
        yield from _even(profile, base, start, end)
        return
    while t < end:
        minute_end = min(end, (math.floor(t / 60.0) + 1) * 60.0)
        rate = base * profile.rate_factor(t)
        while rate > 0:
            t += rng.expovariate(rate)
            if t >= minute_end:
                break
            yield t
        t = minute_end


def _even(profile: LoadProfile, base: float, start: float, end: float) -> Iterator[float]:
    """Arrivals where the rate's integral (piecewise constant per minute) reaches 1/2, 3/2 …"""
    t, due = start, 0.5  # arrivals' worth of the integral still to go before the next one
    while t < end:
        minute_end = min(end, (math.floor(t / 60.0) + 1) * 60.0)
        rate = base * profile.rate_factor(t)
        while rate > 0:
            at = t + due / rate
            if at >= minute_end:
                due -= (minute_end - t) * rate
                break
            yield at
            t, due = at, 1.0
        t = minute_end
