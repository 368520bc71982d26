"""The percentile arithmetic of `landscape load` (harness/load_metrics.py) and its arrival
plans (harness/load_profiles.py): no processes, milliseconds."""

from __future__ import annotations

import math

import pytest

from harness.load_metrics import (
    delta,
    engine_summary,
    locust_percentile,
    parse_histogram,
    quantile,
)
from harness.load_profiles import profile

EXPOSITION = """# HELP recovery_decision_latency_seconds …
# TYPE recovery_decision_latency_seconds histogram
recovery_decision_latency_seconds_bucket{le="0.5",mode="cached",source="intercept"} 90.0
recovery_decision_latency_seconds_bucket{le="1.0",mode="cached",source="intercept"} 99.0
recovery_decision_latency_seconds_bucket{le="2.5",mode="cached",source="intercept"} 100.0
recovery_decision_latency_seconds_bucket{le="+Inf",mode="cached",source="intercept"} 100.0
recovery_decision_latency_seconds_count{mode="cached",source="intercept"} 100.0
recovery_decision_latency_seconds_bucket{le="0.5",mode="cached",source="stripe"} 1.0
recovery_decision_latency_seconds_bucket{le="1.0",mode="cached",source="stripe"} 1.0
recovery_decision_latency_seconds_bucket{le="2.5",mode="cached",source="stripe"} 1.0
recovery_decision_latency_seconds_bucket{le="+Inf",mode="cached",source="stripe"} 2.0
"""


def test_percentiles_come_from_the_bucket_deltas_and_say_their_bucket() -> None:
    before = {"intercept": {0.5: 40.0, 1.0: 40.0, 2.5: 40.0, math.inf: 40.0}}
    run = delta(before, parse_histogram(EXPOSITION))["intercept"]
    assert run == {0.5: 50.0, 1.0: 59.0, 2.5: 60.0, math.inf: 60.0}
    estimate, low, high = quantile(run, 0.99)  # rank 59.4: inside (1.0, 2.5]
    assert (low, high) == (1.0, 2.5) and 1.0 < estimate < 2.5
    summary = engine_summary(run, 1.0)
    assert summary["count"] == 60 and summary["p99_bucket_ms"] == [1000, 2500]
    assert summary["within_sla"] == round(59 / 60, 5) and summary["sla_exact"]


def test_a_percentile_beyond_the_last_bucket_is_open_ended() -> None:
    stripe = parse_histogram(EXPOSITION)["stripe"]
    assert quantile(stripe, 0.99) == (2.5, 2.5, math.inf)
    assert engine_summary(stripe, 1.0)["p99_bucket_ms"] == [2500, None]
    assert quantile({}, 0.5) is None


def test_locust_percentiles_follow_its_rounded_histogram() -> None:
    histogram = {"12": 50, "480": 45, "1100": 5}
    assert locust_percentile(histogram, 0.50) == 12
    assert locust_percentile(histogram, 0.95) == 480
    assert locust_percentile(histogram, 0.99) == 1100
    assert locust_percentile({}, 0.99) is None


@pytest.mark.parametrize("shape, expected", [("constant", 40), ("ramp", 22), ("spike", 32)])
def test_the_shapes_plan_their_arrivals(shape: str, expected: int) -> None:
    arrivals = profile(shape, 4, 10).arrivals()
    assert len(arrivals) == expected
    assert arrivals == sorted(arrivals) and arrivals[0] > 0 and arrivals[-1] < 10
    if shape == "spike":  # twice the rate in the middle fifth, half outside it
        middle = [t for t in arrivals if 4 <= t < 6]
        assert len(middle) == 16


def test_a_bad_profile_is_named() -> None:
    with pytest.raises(ValueError, match="shape 'wave'"):
        profile("wave", 1, 1)
    with pytest.raises(ValueError, match="rate"):
        profile("ramp", 0, 1)


def test_exact_latencies_come_from_the_engines_logs(tmp_path) -> None:
    """Each decision on arrival as the engine logged it; scheduled retries and other lines
    are not decisions on arrival."""
    import json

    from harness.load_metrics import exact_summary, logged_decisions

    log = tmp_path / "acme-recovery.log"
    lines = [{"ts": 10.0 + i, "msg": "decline handled", "correlation_id": f"{src}:x{i}",
              "status": "recovered", "latency_ms": ms}
             for i, (src, ms) in enumerate([("intercept", 400.0), ("stripe", 1200.0),
                                            ("schedule", 50.0), ("intercept", 300.0)])]
    log.write_text("\n".join(json.dumps(x) for x in lines)
                   + '\nnot json\n{"msg": "event dropped"}\n')
    decisions = logged_decisions({"acme": log, "hooli": tmp_path / "missing.log"})
    assert [(d["source"], d["latency_s"]) for d in decisions] == [
        ("intercept", 0.4), ("stripe", 1.2), ("intercept", 0.3)]
    summary = exact_summary([d["latency_s"] for d in decisions], 1.0)
    assert summary["count"] == 3 and summary["p50"] == 400.0 and summary["max"] == 1200.0
    assert summary["within_sla"] == pytest.approx(2 / 3, abs=1e-4)


def test_vendor_calls_by_shape_within_the_window_slowest_first(tmp_path) -> None:
    from harness.load_metrics import vendor_latency

    log = tmp_path / "netsuite-requests.log"
    log.write_text(
        "1970-01-01T00:00:05.000+00:00 acct GET /services/rest/record/v1/invoice/1 200 900.0ms\n"
        "1970-01-01T00:00:06.000+00:00 acct GET /services/rest/record/v1/invoice/2 503 700.0ms\n"
        "1970-01-01T00:00:07.000+00:00 acct POST /services/oauth2/token 200 10.0ms\n"
        "1970-01-01T00:01:40.000+00:00 acct GET /services/rest/record/v1/invoice/3 200 9.0ms\n")
    calls = vendor_latency({"netsuite": log}, 0.0, 60.0)
    assert calls[0] == {"vendor": "netsuite", "call": "GET /services/rest/record/v1/invoice/*",
                        "count": 2, "errors": 1, "p50": 700.0, "p99": 900.0, "max": 900.0}
    assert calls[1]["call"] == "POST /services/oauth2/token"


def test_a_failed_check_says_where_and_why() -> None:
    from harness.load import _where, _why_unreconciled

    result = {"load": {"engine_mode": "naive"}, "invariants": [
        {"id": "decision_p99", "passed": False, "violations": ["95% took over 1000 ms"]},
        {"id": "reconciliation_clean", "passed": False, "violations": ["acme: final …"]}]}
    _where(result, [{"vendor": "netsuite", "call": "GET /x/*", "count": 3, "errors": 0,
                     "p50": 700.0, "p99": 2500.0, "max": 2500.0},
                    {"vendor": "salesforce", "call": "PATCH /y/*", "count": 3, "errors": 0,
                     "p50": 900.0, "p99": 2400.0, "max": 2400.0}])
    p99, recon = result["invariants"]
    assert p99["violations"][0] == "95% took over 1000 ms"
    assert p99["violations"][1].startswith("where: ") and "netsuite GET /x/*" in \
        p99["violations"][1]
    assert "salesforce" not in p99["violations"][1]  # write-backs only: not on the hot path
    assert p99["violations"][2].startswith("why: --mode naive")
    _why_unreconciled(result, {"acme": {"final": {"unreachable": [
        {"system": "erp", "vendor": "netsuite", "error": "503"}]}}}, left=7, waited=30.0)
    assert recon["violations"][0].startswith("why: 7 write-back(s) were still queued")
    assert "could not read netsuite (erp): 503" in recon["violations"][1]
