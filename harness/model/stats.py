"""A run's digest: decision latency percentiles, SLA attainment, write-back lag, vendor
pressure, engine utilisation and the Little's-law check, as a JSON-able dict."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.model.sim import Result


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values (nearest rank), 0.0 when empty."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def percentiles_ms(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {name: round(quantile(ordered, q) * 1000.0, 1)
            for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}


def percentiles_s(values: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max in seconds, to the ms (write-back lags run to seconds)."""
    return {k: round(v / 1000.0, 3) for k, v in percentiles_ms(values).items()}


def littles_law(in_flight: Sequence[int], arrivals: int, seconds: float,
                latencies: Sequence[float]) -> dict[str, float]:
    """L (time-average decisions in flight, sampled) against λW (arrival rate × mean latency);
    they agree when the latencies and the concurrency describe the same system."""
    measured = statistics.fmean(in_flight) if in_flight else 0.0
    rate = arrivals / seconds if seconds else 0.0
    mean = statistics.fmean(latencies) if latencies else 0.0
    expected = rate * mean
    error = (measured - expected) / expected if expected else 0.0
    return {"L": round(measured, 4), "lambda_per_s": round(rate, 4), "W_s": round(mean, 4),
            "lambda_W": round(expected, 4), "relative_error": round(error, 4)}


def summarise(result: Result) -> dict[str, Any]:
    sla = result.spec.sla_ms / 1000.0
    latencies = result.latencies
    decided = len(latencies)
    under = sum(1 for v in latencies if v < sla)
    series = []
    for index in sorted(result.bins):
        values = sorted(result.bins[index])
        lags = sorted(result.lag_bins.get(index, []))
        series.append({"t": index * 300.0, "declines": len(values),
                       "p50_ms": round(quantile(values, 0.5) * 1000, 1),
                       "p99_ms": round(quantile(values, 0.99) * 1000, 1),
                       "lag_p99_s": round(quantile(lags, 0.99), 2)})
    vendors = {}
    for name, v in result.vendors.items():
        if not v.requests:
            continue
        vendors[name] = {
            "requests": v.requests, "throttled_429": v.throttled, "failed": v.failed,
            "queued_at_limit": v.waited,
            "queue_wait_mean_ms": round(v.wait_total / v.waited * 1000, 1) if v.waited else 0.0,
            "queue_wait_max_ms": round(v.wait_max * 1000, 1),
            "platform_peak_rps": max(v.per_second.values()),
            "account_peak_rps": max(v.account_peak_rps, 1),
            "account_peak_in_flight": v.account_peak_in_flight}
    busiest = sorted(range(len(result.merchant_declines)),
                     key=lambda i: -result.merchant_declines[i])[:5]
    merchants_missing = sum(1 for i, n in enumerate(result.merchant_declines)
                            if n and result.merchant_over_sla[i] > 0.01 * n)
    capacity = result.cpu_capacity * result.seconds
    engine = result.spec.engine
    return {
        "topology": result.spec.topology, "seed": result.seed,
        "merchants": result.profile.merchants,
        "declines_per_merchant_day": result.profile.declines_per_day,
        "hours": round(result.seconds / 3600.0, 3), "start_hour": result.start / 3600.0,
        "replicas": engine.replicas, "workers_per_replica": engine.workers,
        "engine_cpu_ms": engine.cpu_ms, "outbox_workers": result.spec.outbox.workers,
        "sla_ms": result.spec.sla_ms, "declines": decided,
        "latency_ms": percentiles_ms(latencies),
        "sla": {"p99_under": quantile(sorted(latencies), 0.99) < sla,
                "share_under": round(under / decided, 5) if decided else 1.0,
                "merchants_over_1pct": merchants_missing},
        "writeback_lag_s": percentiles_s(result.lags),
        "writebacks": len(result.lags),
        "statuses": dict(result.statuses),
        "engine_utilisation": round(result.cpu_busy / capacity, 4) if capacity else 0.0,
        "outbox_busy_workers": round(result.relay_busy / result.seconds, 3)
        if result.seconds else 0.0,
        "vendors": vendors,
        "littles_law": littles_law(result.in_flight_samples, decided, result.seconds,
                                   latencies),
        "busiest_merchants": [{"merchant": f"m{i:05d}", "declines": result.merchant_declines[i],
                               "over_sla": result.merchant_over_sla[i]} for i in busiest],
        "series": series,
        "speed": {"events": result.events, "wall_s": round(result.wall_seconds, 2),
                  "events_per_s": round(result.events / result.wall_seconds)
                  if result.wall_seconds else 0},
    }
