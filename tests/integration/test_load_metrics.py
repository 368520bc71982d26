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
