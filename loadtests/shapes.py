"""Load shapes for `landscape load`: ramp, spike, soak (and constant).

The load is open loop: each worker's one scheduler user sends the planned arrivals on their
schedule (`loadtests/locustfile.py`), so the shape does not set the rate through the user
count; the rate curve is the plan's (`harness/load_profiles.py`, the same curve the harness
planned with). A shape keeps one scheduler user per worker for the run, lets the requests in
flight finish (until every worker says it is done, or the drain time is up), then stops.
"""

from __future__ import annotations

from typing import Any

from locust import LoadTestShape

from harness.load_profiles import Profile

DONE: set[int] = set()  # worker indexes whose scheduler finished (filled by a message)


class ArrivalShape(LoadTestShape):
    abstract = True
    plan: dict[str, Any] = {}

    def tick(self) -> tuple[int, float] | None:
        p = self.plan["profile"]
        profile = Profile(p["shape"], p["rate"], p["duration"])
        users = max(1, int(self.plan.get("workers") or 1))
        t = self.get_run_time()
        if t < profile.duration:
            return users, users
        if len(DONE) >= users or t > profile.duration + float(self.plan["drain_s"]) + 5:
            return None
        return users, users

    def target_rate(self) -> float:
        """The rate the plan follows now (shown by the web UI's custom stats)."""
        p = self.plan["profile"]
        return Profile(p["shape"], p["rate"], p["duration"]).rate_at(self.get_run_time())


class ConstantShape(ArrivalShape):
    """`rate` for the whole run."""


class RampShape(ArrivalShape):
    """From a tenth of `rate` up to `rate`."""


class SpikeShape(ArrivalShape):
    """Half of `rate`, twice `rate` for the middle fifth of the run."""


class SoakShape(ArrivalShape):
    """`rate` for a long run: leaks, growing queues, outbox backlogs."""


SHAPES: dict[str, type[ArrivalShape]] = {"constant": ConstantShape, "ramp": RampShape,
                                         "spike": SpikeShape, "soak": SoakShape}
