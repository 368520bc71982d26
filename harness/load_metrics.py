"""Decision-latency percentiles for `landscape load`, from two independent sources.

The engine's own histogram: `recovery_decision_latency_seconds` scraped from GET /metrics on each
recovery service before and after the run; the bucket counts' difference is the run's. A
percentile is interpolated linearly inside the bucket its rank falls in (as Prometheus'
`histogram_quantile` does), so the value is only as fine as the buckets (250 ms wide between
0.75 s and 1 s, 500 ms between 1 s and 1.5 s). The gate does not depend on that: 1 s is a
bucket bound, so "p99 under 1 s" is read exactly as "at least 99% of decisions in le=1.0".

Locust's: the response-time histogram of its JSON report, which rounds times above 100 ms to
two significant digits (to 10 ms, to 100 ms above 1 s); the harness never imports locust (it
monkey-patches the process), so the percentile is computed here the way Locust does.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

HISTOGRAM = "recovery_decision_latency_seconds"
SOURCES = ("intercept", "stripe", "chargebee")  # a decline on arrival (not a scheduled retry)
_LINE = re.compile(r'^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

Buckets = dict[str, dict[float, float]]  # source → upper bound (s) → cumulative count


def parse_histogram(text: str, name: str = HISTOGRAM) -> Buckets:
    """The cumulative bucket counts of `name` from a Prometheus exposition, by `source` label
    (summed over the other labels)."""
    out: Buckets = defaultdict(lambda: defaultdict(float))
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match or match["name"] != f"{name}_bucket":
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        bound = math.inf if labels.get("le") in ("+Inf", "inf") else float(labels["le"])
        out[labels.get("source", "")][bound] += float(match["value"])
    return {source: dict(b) for source, b in out.items()}


def delta(before: Buckets, after: Buckets) -> Buckets:
    """What the run added (a source absent before counts from zero)."""
    return {source: {le: count - before.get(source, {}).get(le, 0.0)
                     for le, count in buckets.items()}
            for source, buckets in after.items()}


def merge(*parts: Buckets) -> Buckets:
    out: Buckets = defaultdict(lambda: defaultdict(float))
    for part in parts:
        for source, buckets in part.items():
            for le, count in buckets.items():
                out[source][le] += count
    return {source: dict(b) for source, b in out.items()}


def combined(buckets: Buckets) -> dict[float, float]:
    """Every source together."""
    out: dict[float, float] = defaultdict(float)
    for per in buckets.values():
        for le, count in per.items():
            out[le] += count
    return dict(out)


def quantile(buckets: dict[float, float], q: float) -> tuple[float, float, float] | None:
    """(estimate, lower bound, upper bound) in seconds of quantile `q` of a cumulative
    histogram, or None without observations. In the +Inf bucket the estimate is its lower
    bound (the largest finite one): the truth is anywhere above it."""
    bounds = sorted(buckets)
    total = buckets.get(math.inf, buckets[bounds[-1]] if bounds else 0.0)
    if not bounds or total <= 0:
        return None
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if count >= rank:
            if math.isinf(le):
                return previous_bound, previous_bound, math.inf
            inside = count - previous_count
            share = (rank - previous_count) / inside if inside > 0 else 1.0
            return (previous_bound + (le - previous_bound) * share, previous_bound, le)
        previous_bound, previous_count = le, count
    return None


def share_within(buckets: dict[float, float], bound: float) -> float | None:
    """The share of observations at or under `bound` (a bucket bound: exact)."""
    total = buckets.get(math.inf)
    if not total:
        return None
    return buckets.get(bound, 0.0) / total


def engine_summary(buckets: dict[float, float], sla_s: float) -> dict[str, Any]:
    """p50/p95/p99 (ms, interpolated), the p99's bucket, and the share within the SLA."""
    out: dict[str, Any] = {"count": int(round(buckets.get(math.inf, 0.0)))}
    for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        found = quantile(buckets, q)
        out[name] = None if found is None else round(found[0] * 1000, 1)
        if name == "p99" and found is not None:
            out["p99_bucket_ms"] = [round(found[1] * 1000), None if math.isinf(found[2])
                                    else round(found[2] * 1000)]
    share = share_within(buckets, sla_s) if sla_s in buckets else None
    out["within_sla"] = None if share is None else round(share, 5)
    out["sla_exact"] = sla_s in buckets
    return out


def locust_percentile(histogram: dict[str, int], q: float) -> float | None:
    """Locust's percentile of its rounded response-time histogram (ms → count): the smallest
    recorded time with at least `q` of the requests at or under it."""
    points = sorted((float(ms), int(n)) for ms, n in histogram.items())
    total = sum(n for _, n in points)
    if not total:
        return None
    wanted, seen = total * q, 0
    for ms, n in points:
        seen += n
        if seen >= wanted:
            return ms
    return points[-1][0]


def locust_entries(report: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per request name (plus "all"): count, failures, p50/p95/p99/max (ms), rate."""
    out: dict[str, dict[str, Any]] = {}
    total: dict[str, int] = defaultdict(int)
    everything = {"num_requests": 0, "num_failures": 0, "max_response_time": 0.0,
                  "start_time": math.inf, "last_request_timestamp": 0.0}
    for entry in report:
        for ms, n in (entry.get("response_times") or {}).items():
            total[ms] += n
        out[entry["name"]] = _entry(entry, entry.get("response_times") or {})
        everything["num_requests"] += entry.get("num_requests", 0)
        everything["num_failures"] += entry.get("num_failures", 0)
        everything["max_response_time"] = max(everything["max_response_time"],
                                               entry.get("max_response_time") or 0)
        everything["start_time"] = min(everything["start_time"], entry.get("start_time") or 0)
        everything["last_request_timestamp"] = max(everything["last_request_timestamp"],
                                                   entry.get("last_request_timestamp") or 0)
    if report:
        out["all"] = _entry(everything, total)
    return out


def _entry(entry: dict[str, Any], histogram: dict[str, int]) -> dict[str, Any]:
    span = (entry.get("last_request_timestamp") or 0) - (entry.get("start_time") or 0)
    count = int(entry.get("num_requests", 0))
    return {"count": count, "failures": int(entry.get("num_failures", 0)),
            "p50": locust_percentile(histogram, 0.50), "p95": locust_percentile(histogram, 0.95),
            "p99": locust_percentile(histogram, 0.99),
            "max": round(float(entry.get("max_response_time") or 0), 1),
            "rate": round(count / span, 2) if span > 0 else None}


def logged_decisions(logs: dict[str, Path]) -> list[dict[str, Any]]:
    """Every decision on arrival the engines logged ("decline handled", one JSON line each, in
    each merchant's recovery log): merchant, source, status, latency (s, the engine's own
    stopwatch, to the millisecond: what its histogram observes, unbucketed) and when it ended
    (epoch s). `logs`: merchant → log path."""
    out: list[dict[str, Any]] = []
    for merchant, line in _log_lines(logs):
        if '"decline handled"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        source = str(entry.get("correlation_id", "")).split(":", 1)[0]
        if source not in SOURCES or "latency_ms" not in entry:
            continue
        out.append({"merchant": merchant, "source": source, "status": entry.get("status"),
                    "latency_s": float(entry["latency_ms"]) / 1000.0,
                    "end": float(entry.get("ts") or 0.0)})
    return sorted(out, key=lambda d: d["end"])


def _log_lines(logs: dict[str, Path]) -> Iterator[tuple[str, str]]:
    """(whose, line) of each log that can be read; a missing log has no lines."""
    for whose, path in logs.items():
        try:
            lines = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            yield whose, line


def _rank(ordered: list[float], q: float) -> float:
    """The nearest-rank q-quantile of a sorted, non-empty list."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def nearest_ranks(ordered: list[float], scale: float = 1.0,
                  digits: int = 3) -> dict[str, float | None]:
    """p50/p95/p99/max of a sorted list (nearest rank), times `scale`; None for an empty one."""
    return {name: round(_rank(ordered, q) * scale, digits) if ordered else None
            for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}


def exact_summary(latencies: list[float], sla_s: float) -> dict[str, Any]:
    """p50/p95/p99/max (ms, nearest rank) and the share within the SLA of exact latencies."""
    ordered = sorted(latencies)
    out: dict[str, Any] = {"count": len(ordered), **nearest_ranks(ordered, 1000, 1)}
    out["within_sla"] = (round(sum(1 for v in ordered if v <= sla_s) / len(ordered), 5)
                         if ordered else None)
    return out


def _shape(path: str) -> str:
    """A request path with its ids as * (versions such as v1 or v60.0 kept)."""
    parts = path.split("?", 1)[0].split("/")
    return "/".join("*" if any(ch.isdigit() for ch in p) and not re.fullmatch(r"v[\d.]+", p)
                    and (p.isdigit() or "_" in p or len(p) > 8) else p for p in parts)


def vendor_latency(logs: dict[str, Path], start: float, end: float) -> list[dict[str, Any]]:
    """What each fake answered between `start` and `end` (epoch s), by method and path shape,
    from its request log (`<ISO time> <key> <METHOD> <path> <status> <ms>ms`): count, errors
    (status ≥ 400), p50/p99/max ms; slowest p99 first."""
    calls: dict[tuple[str, str, str], list[tuple[float, int]]] = defaultdict(list)
    for vendor, line in _log_lines(logs):
        parts = line.split()
        if len(parts) < 6 or not parts[-1].endswith("ms"):
            continue
        try:
            at = datetime.fromisoformat(parts[0]).timestamp()
            ms, status = float(parts[-1][:-2]), int(parts[-2])
        except ValueError:
            continue
        if start <= at <= end:
            calls[vendor, parts[-4], _shape(parts[-3])].append((ms, status))
    out = []
    for (vendor, method, shape), seen in calls.items():
        ordered = sorted(ms for ms, _ in seen)
        n = len(ordered)
        out.append({"vendor": vendor, "call": f"{method} {shape}", "count": n,
                    "errors": sum(1 for _, s in seen if s >= 400),
                    "p50": _rank(ordered, 0.5), "p99": _rank(ordered, 0.99),
                    "max": ordered[-1]})
    return sorted(out, key=lambda r: -r["p99"])
