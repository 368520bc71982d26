"""How many engine replicas, outbox workers and how much vendor API quota a merchant base
needs, found by running the model over the day's busiest window.

- Replicas: the fewest (at least two: one lost must not stop recovery) that keep the
  decision p99 under the SLA and the engine's CPU under `target_utilisation` (headroom for a
  burst). The search starts from the utilisation bound (λ_peak × CPU per decision / target),
  which grows with the load, and doubles, then bisects; the same seed gives every candidate
  the same declines (common random numbers), so more load never needs fewer replicas.
- Outbox workers: the fewest that keep the write-back lag p99 under `lag_target_s`, from
  the workers busy on average (fewer can never keep up).
- Quota: per vendor account, the busiest second and the most requests in flight the sized
  system made, with `headroom`; and the platform-wide peak per vendor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness.model.sim import simulate
from harness.model.spec import ModelSpec
from harness.model.workload import LoadProfile

MAX_REPLICAS = 512
MAX_WORKERS = 512
MIN_REPLICAS = 2  # one replica lost must not take the engine down


def _window(profile: LoadProfile, hours: float) -> float:
    return profile.peak_window(hours * 3600.0) / 3600.0


def _smallest(ok: Callable[[int], bool], low: int, cap: int) -> int | None:
    """The smallest n in [low, cap] with ok(n), assuming ok is monotone; None if none."""
    high = low
    while not ok(high):
        if high >= cap:
            return None
        low, high = high + 1, min(cap, high * 2)
    while low < high:
        middle = (low + high) // 2
        if ok(middle):
            high = middle
        else:
            low = middle + 1
    return high


def size(spec: ModelSpec, profile: LoadProfile, *, seed: int, window_hours: float = 1.0,
         target_utilisation: float = 0.7, lag_target_s: float = 60.0,
         headroom: float = 1.5) -> dict[str, Any]:
    start = _window(profile, window_hours)
    peak = max(profile.rate_factor(start * 3600 + 60 * i + 30)
               for i in range(int(window_hours * 60)))
    peak_rate = profile.mean_rate() * peak
    cpu_s = spec.engine.cpu_ms / 1000.0
    per_replica = spec.engine.workers * target_utilisation
    floor = max(MIN_REPLICAS, math.ceil(peak_rate * cpu_s / per_replica))
    runs: dict[tuple[int, int], dict[str, Any]] = {}
    workers_for_search = max(spec.outbox.workers, MAX_WORKERS // 8)

    def run(replicas: int, workers: int) -> dict[str, Any]:
        if (replicas, workers) not in runs:
            candidate = replace(spec, engine=replace(spec.engine, replicas=replicas),
                                outbox=replace(spec.outbox, workers=workers))
            runs[replicas, workers] = simulate(candidate, profile, seed=seed,
                                               hours=window_hours, start_hour=start).summary()
        return runs[replicas, workers]

    def replicas_ok(n: int) -> bool:
        s = run(n, workers_for_search)
        return bool(s["latency_ms"]["p99"] < spec.sla_ms
                    and s["engine_utilisation"] <= target_utilisation)

    replicas = _smallest(replicas_ok, floor, MAX_REPLICAS)
    chosen_replicas = replicas or MAX_REPLICAS

    def workers_ok(n: int) -> bool:
        return bool(run(chosen_replicas, n)["writeback_lag_s"]["p99"] < lag_target_s)

    # fewer workers than are busy on average can never keep up: start the search there
    busy = run(chosen_replicas, workers_for_search)["outbox_busy_workers"]
    workers = _smallest(workers_ok, max(1, math.ceil(busy)), MAX_WORKERS)
    final = run(chosen_replicas, workers or MAX_WORKERS)
    quota = {vendor: {"per_account_rps": math.ceil(v["account_peak_rps"] * headroom),
                      "per_account_concurrency": math.ceil(
                          max(v["account_peak_in_flight"], 1) * headroom),
                      "platform_peak_rps": math.ceil(v["platform_peak_rps"] * headroom),
                      "throttled_429_in_window": v["throttled_429"]}
             for vendor, v in final["vendors"].items()}
    why = None
    if replicas is None:
        why = (f"no replica count up to {MAX_REPLICAS} meets p99 < {spec.sla_ms:g} ms: the "
               f"vendors' latency alone exceeds it (p99 {final['latency_ms']['p99']:.0f} ms "
               f"with ample replicas); use cached ERP context or faster vendor calls")
    return {"window_start_hour": start, "window_hours": window_hours,
            "peak_declines_per_s": round(peak_rate, 3), "replicas": replicas,
            "outbox_workers": workers, "target_utilisation": target_utilisation,
            "lag_target_s": lag_target_s, "headroom": headroom, "quota": quota,
            "unmet": why, "at_size": {k: final[k] for k in (
                "latency_ms", "sla", "engine_utilisation", "writeback_lag_s")},
            "candidates": [{"replicas": r, "outbox_workers": w, "p99_ms": s["latency_ms"]["p99"],
                            "utilisation": s["engine_utilisation"],
                            "lag_p99_s": s["writeback_lag_s"]["p99"]}
                           for (r, w), s in sorted(runs.items())]}
