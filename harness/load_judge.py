"""The gate of `landscape load`: the invariants of harness/invariants.py over the fakes'
records, adjusted for intercepts, plus the load's own checks.

Intercepts come with no billing webhook, so `every_decline_decided` judges them by Locust's
answers (2xx) instead of the webhook journal; the gate adds `decision_p99` (the engines' own
histograms, exact at the SLA bound) and `arrivals_sent` (every planned arrival sent, none
unanswered or failed: an open-loop run cannot hide a stall by sending less).
"""

from __future__ import annotations

from typing import Any

from harness import invariants, load_metrics
from harness.load_metrics import SOURCES
from harness.load_profiles import Profile
from harness.scenario_run import Run
from harness.seeding import Customer

Arrival = tuple[float, str, Customer, str]


def judge_load(run: Run, truth: dict[str, Any], reconciliation: dict[str, dict[str, Any]],
               planned: list[Arrival], locust: dict[str, Any], engine: load_metrics.Buckets,
               prof: Profile) -> dict[str, Any]:
    """The result dict of a load run (the shape harness/report.py renders, plus `load`)."""
    checks, figures = invariants.judge(run, truth, reconciliation)
    intercepted = {c.invoice: c for _, kind, c, _ in planned if kind == "intercept"}
    stats = load_metrics.locust_entries(locust["stats"])
    errors = locust["errors"]
    sla_ms = run.topology.sla_ms
    _intercepts_decided(run, truth, checks, figures, intercepted, errors)
    wanted = [c for c in checks if c["id"] in run.scenario.invariants]
    if len(intercepted) == len(planned):  # no webhook first deliveries to time
        wanted = [c for c in wanted if c["id"] != "sla"]
    latency = _latency(engine, stats, sla_ms)
    wanted += [_p99_check(latency, sla_ms), _sent_check(planned, stats, errors)]
    decisions = figures.pop("decision_events")
    span = prof.duration
    return {
        "scenario": {"name": run.scenario.name, "description": run.scenario.description,
                     "file": run.scenario.source},
        "topology": {"name": run.topology.name, "file": run.topology.source,
                     "merchants": list(run.topology.merchants)},
        "mode": "processes (load)", "passed": all(c["passed"] for c in wanted),
        "simulated_seconds": round(run.t(), 3), "sla_ms": sla_ms, **figures,
        "invariants": wanted,
        "timeline": {"faults": [{**f, "end": f["end"] if f["end"] is not None else run.t()}
                                for f in run.faults],
                     "events": sorted(run.events + decisions, key=lambda e: e["t"]),
                     "traffic_end": run.traffic_end},
        "load": {"shape": prof.shape, "rate": prof.rate, "duration": prof.duration,
                 "planned": len(planned), "intercepts": len(intercepted),
                 "renewals": len(planned) - len(intercepted),
                 "sent": stats.get("all", {}).get("count", 0),
                 "achieved_rate": round(stats.get("all", {}).get("count", 0) / span, 2),
                 "latency": latency, "locust_errors": errors[:20],
                 "engine_mode": next(iter(run.topology.merchants.values()))
                 .components.settings.get("mode", "cached")},
    }


def _intercepts_decided(run: Run, truth: dict[str, Any], checks: list[dict[str, Any]],
                        figures: dict[str, Any], intercepted: dict[str, Customer],
                        errors: list[dict[str, Any]]) -> None:
    """An intercept has no webhook delivery: its answer is Locust's, not the journal's."""
    failed = sum(e["occurrences"] for e in errors if e["name"] == "intercept")
    outcome = {}
    for name in run.topology.merchants:
        t = invariants.Truth(run, name, truth)
        counts = figures["merchants"][name]
        for c in intercepted.values():
            if c.merchant != name:
                continue
            intents = t.recovery_intents(c.invoice_key)
            outcome[c.invoice] = ("recovered" if t.succeeded_charges(c.invoice_key)
                                  else "declined" if intents else "not_retried")
            # the journal judge counted it an error unless it found its charge attempts (it
            # has no webhook delivery to go by): those not charged become decisions here
            if not intents and c.invoice_key not in run.caught_up:
                counts["errors"] -= 1
                counts["decisions"] += 1
    for event in figures["decision_events"]:
        if event.get("invoice") in outcome:
            event["kind"] = outcome[event["invoice"]]
            event["source"] = "intercept"
    check = next(c for c in checks if c["id"] == "every_decline_decided")
    check["violations"] = [v for v in check["violations"]
                           if v.split(" ")[1].rstrip(":") not in intercepted]
    if failed:
        check["violations"].insert(0, f"{failed} of {len(intercepted)} intercepts not answered "
                                      f"2xx: {_first(errors, 'intercept')}")
    total = sum(m["declines"] for m in figures["merchants"].values())
    answered = sum(m["decisions"] for m in figures["merchants"].values()) - failed
    check["detail"] = (f"{answered} of {total} answered ({total - len(intercepted)} renewals "
                       f"by the webhook journal, {len(intercepted)} intercepts by Locust)")
    check["passed"] = not check["violations"]


def _first(errors: list[dict[str, Any]], name: str) -> str:
    return next((f"{e['error']} ×{e['occurrences']}" for e in errors if e["name"] == name), "")


def _latency(engine: load_metrics.Buckets, stats: dict[str, dict[str, Any]],
             sla_ms: float) -> dict[str, Any]:
    on_arrival = {s: b for s, b in engine.items() if s in SOURCES}
    out: dict[str, Any] = {"engine": {s: load_metrics.engine_summary(b, sla_ms / 1000)
                                      for s, b in sorted(on_arrival.items())},
                           "locust": stats}
    out["engine"]["all"] = load_metrics.engine_summary(load_metrics.combined(on_arrival),
                                                       sla_ms / 1000)
    later = engine.get("schedule")
    if later:
        out["engine_scheduled"] = load_metrics.engine_summary(later, sla_ms / 1000)
    return out


def _p99_check(latency: dict[str, Any], sla_ms: float) -> dict[str, Any]:
    every = latency["engine"]["all"]
    violations = []
    if not every["count"]:
        violations.append("the engines recorded no decision")
    elif every["within_sla"] is not None and every["within_sla"] < 0.99:
        violations.append(f"{1 - every['within_sla']:.2%} of {every['count']} decisions took "
                          f"over {sla_ms:g} ms (at most 1% may)")
    elif every["within_sla"] is None and (every["p99"] or 0) >= sla_ms:
        violations.append(f"p99 ≈ {every['p99']:.0f} ms ≥ {sla_ms:g} ms")
    for source, s in latency["engine"].items():
        if source != "all" and s["count"] and s["within_sla"] is not None \
                and s["within_sla"] < 0.99:
            violations.append(f"{source}: p99 ≈ {s['p99']:.0f} ms (bucket "
                              f"{_bucket(s['p99_bucket_ms'])}), {s['within_sla']:.2%} within")
    low, high = every.get("p99_bucket_ms") or (None, None)
    detail = (f"p99 ≈ {every['p99']} ms in bucket {_bucket([low, high])}, "
              f"{(every['within_sla'] or 0):.2%} of {every['count']} decisions within "
              f"{sla_ms:g} ms" if every["count"] else "no decisions")
    return {"id": "decision_p99", "passed": not violations, "detail": detail,
            "name": f"p99 decision latency under {sla_ms:g} ms (the engines' histograms)",
            "violations": violations}


def _bucket(bounds: list[Any]) -> str:
    low, high = bounds
    return f"({low}, {'∞' if high is None else high}] ms"


def _sent_check(planned: list[Arrival], stats: dict[str, dict[str, Any]],
                errors: list[dict[str, Any]]) -> dict[str, Any]:
    sent = stats.get("all", {}).get("count", 0)
    failures = stats.get("all", {}).get("failures", 0)
    violations = []
    if sent < len(planned):
        violations.append(f"{len(planned) - sent} of {len(planned)} planned arrivals were "
                          "never sent (Locust stopped early)")
    if failures:
        violations += [f"{e['name']}: {e['error']} ×{e['occurrences']}" for e in errors[:10]] \
            or [f"{failures} requests failed"]
    return {"id": "arrivals_sent", "passed": not violations,
            "name": "every planned arrival was sent on schedule and answered",
            "detail": f"{sent} of {len(planned)} sent, {failures} failed or unanswered",
            "violations": violations}
