"""The model's write-back lag against `landscape load`'s (harness/model/against_load.py): read
from a run folder's decisions.json, compared per level, shown as a table of its own."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from harness.model import against_load
from harness.model.against_load import LoadLevel
from harness.model.spec import ModelSpec, spec_from_topology
from harness.model.validate import _predict
from harness.model.workload import LoadProfile
from harness.topology import load_topology

FACTS = {"calibration_rate": 1.0, "calibration_declines": 20, "host_share": 0.8,
         "engine_cpu_ms_per_decision": 10.0, "fake_cpu_ms_per_request": {}, "overhead_ms": 0.0,
         "soft_share": 0.75}


def _folder(tmp_path: Path, writebacks: list[dict[str, Any]] | None) -> Path:
    """A run folder as run_load writes it; `writebacks` None: one from before they were kept."""
    folder = tmp_path / "load-1"
    (folder / "landscape" / "logs").mkdir(parents=True)
    decisions = [{"merchant": "acme", "source": "intercept", "status": "recovered",
                  "latency_s": 0.4, "end": 1000.0 + i + 0.4} for i in range(10)]
    raw: dict[str, Any] = {"start": 999.0, "window_end": 1100.0, "decisions": decisions,
                           "arrivals": []}
    if writebacks is not None:
        raw["writebacks"] = writebacks
    (folder / "decisions.json").write_text(json.dumps(raw))
    (folder / "result.json").write_text(json.dumps({"passed": True, "load": {
        "sent": 10, "planned": 10, "cpu_seconds": {}, "latency": {"engine": {},
                                                                   "locust": {}}}}))
    return folder


@pytest.fixture(scope="module")
def workload() -> tuple[ModelSpec, LoadProfile]:
    topology = load_topology("netsuite-stripe-salesforce")
    return spec_from_topology(topology), against_load.load_spec(topology, 0.5)[1]


def _writeback(committed: float, done: float | None) -> dict[str, Any]:
    return {"merchant": "acme", "destination": "netsuite", "kind": "apply_payment",
            "committed": committed, "done": done, "attempts": 0,
            "status": "pending" if done is None else "done"}


def test_a_level_reads_its_write_backs_in_the_window(tmp_path: Path) -> None:
    folder = _folder(tmp_path, [_writeback(1000.5, 1002.0), _writeback(1001.0, 1004.0),
                                _writeback(1002.0, None),       # queued, not sent
                                _writeback(990.0, 991.0),       # before the load
                                _writeback(1200.0, 1201.0)])    # after the quiet phase
    level = against_load.read_level(1.0, 10.0, folder, 0.8)
    assert level.writeback_lags == [1.5, 3.0]
    assert level.writebacks_unsent == 1
    again = LoadLevel(**json.loads(json.dumps(asdict(level))))  # measured-load.json
    assert again.writeback_lags == [1.5, 3.0] and again.writebacks_unsent == 1


def test_a_folder_or_measurement_from_before_write_backs_were_kept_still_loads(
        tmp_path: Path) -> None:
    level = against_load.read_level(1.0, 10.0, _folder(tmp_path, None), 0.8)
    assert (level.writeback_lags, level.writebacks_unsent) == ([], 0)
    assert len(level.latencies) == 10
    old = {k: v for k, v in asdict(level).items()
           if k not in ("writeback_lags", "writebacks_unsent")}
    assert LoadLevel(**old).writeback_lags == []


def _model(lag_p50: float, lag_p95: float, lag_p99: float) -> dict[str, Any]:
    """What `_predict` returns, with a chosen write-back lag (s)."""
    return {"latency_ms": {"p50": 400.0, "p95": 500.0, "p99": 600.0, "max": 700.0},
            "replications": 1, "mean_s": 0.42, "engine_utilisation": 0.1,
            "littles_law": {"L": 0.4, "lambda_W": 0.4, "lambda_per_s": 1.0, "W_s": 0.4,
                            "relative_error": 0.0},
            "decisions": 100, "writebacks": 250,
            "writeback_lag_s": {"p50": lag_p50, "p95": lag_p95, "p99": lag_p99,
                                "max": lag_p99}}


def _level(rate: float, lags: list[float], unsent: int = 0) -> LoadLevel:
    return LoadLevel(rate=rate, duration=20.0, folder="x", host_share=0.8, passed=True,
                     latencies=[0.4] * 40, writeback_lags=lags, writebacks_unsent=unsent)


def test_each_level_compares_the_model_s_write_back_lag_with_the_measured(
        monkeypatch: pytest.MonkeyPatch, workload: tuple[ModelSpec, LoadProfile]) -> None:
    monkeypatch.setattr("harness.model.validate._predict",
                        lambda *args, **kwargs: _model(1.0, 3.0, 4.0))
    spec, profile = workload
    lags = [2.0] * 90 + [4.0] * 10   # p50 2 s, p95 and p99 4 s
    rows = against_load.compare_load(spec, profile, [_level(1.0, lags, unsent=2),
                                                     _level(3.0, [])])
    lag = rows[0]["writeback_lag_s"]
    assert (lag["p50"]["predicted"], lag["p50"]["measured"], lag["p50"]["error"]) \
        == (1.0, 2.0, -0.5)
    assert (lag["p95"]["measured"], lag["p95"]["error"]) == (4.0, -0.25)
    assert (lag["p99"]["measured"], lag["p99"]["error"]) == (4.0, 0.0)
    assert (lag["writebacks"], lag["unsent"]) == (100, 2)
    assert lag["per_decision"] == {"model": 2.5, "measured": 2.55}  # 102 queued, 40 decided
    assert rows[1]["writeback_lag_s"] is None  # nothing measured: nothing to compare
    table = against_load.render_load(rows, FACTS, 1.0)
    lag_table = table.split("lag p50")[1]
    assert "| 1 (calibration) | 100 | 1.00 / 2.00 s (-50.0 %) | 3.00 / 4.00 s (-25.0 %) " \
           "| 4.00 / 4.00 s (+0.0 %) | 2.50 / 2.55 | 2 |" in lag_table
    assert "| 3 |" not in lag_table


def test_without_measured_write_backs_the_table_says_to_measure_again(
        monkeypatch: pytest.MonkeyPatch, workload: tuple[ModelSpec, LoadProfile]) -> None:
    monkeypatch.setattr("harness.model.validate._predict",
                        lambda *args, **kwargs: _model(1.0, 3.0, 4.0))
    spec, profile = workload
    rows = against_load.compare_load(spec, profile, [_level(1.0, [])])
    table = against_load.render_load(rows, FACTS, 1.0)
    assert "write-back lag: not measured" in table and "lag p50" not in table


def test_the_prediction_carries_the_write_back_lag_in_seconds(
        monkeypatch: pytest.MonkeyPatch, workload: tuple[ModelSpec, LoadProfile]) -> None:
    monkeypatch.setattr("harness.model.validate.POOLED", 500)
    spec, _ = workload
    model = _predict(spec, 2.0, 120.0)
    lag = model["writeback_lag_s"]
    assert set(lag) == {"p50", "p95", "p99", "max"}
    # at least the relay's poll wait and a vendor call, well under a minute: seconds, not ms
    assert 0.0 < lag["p50"] <= lag["p95"] <= lag["p99"] <= lag["max"] < 60.0
    assert model["writebacks"] > model["decisions"] > 0  # each outcome writes back 2 to 4


def test_the_relay_s_own_time_is_fitted_at_the_calibration_level(
        monkeypatch: pytest.MonkeyPatch, workload: tuple[ModelSpec, LoadProfile]) -> None:
    """The measured median lag less the model's at the calibration level: then the model's
    median there is the measured one; never a negative time, none without measured lags."""
    monkeypatch.setattr("harness.model.validate.POOLED", 500)
    spec, profile = workload
    at_1 = against_load.profile_at(profile, 1.0)
    p50 = _predict(spec, 1.0, 20.0, profile=at_1)["writeback_lag_s"]["p50"]
    facts: dict[str, Any] = {}
    fitted = against_load.fit_relay(spec, profile, _level(1.0, [p50 + 0.25] * 50), facts)
    assert fitted.outbox.overhead_s == pytest.approx(0.25)
    assert facts["relay_overhead_ms"] == 250.0
    after = _predict(fitted, 1.0, 20.0, profile=at_1)["writeback_lag_s"]["p50"]
    assert after == pytest.approx(p50 + 0.25, abs=0.05)  # each message, after its calls
    faster = against_load.fit_relay(spec, profile, _level(1.0, [p50 / 2] * 50), {})
    assert faster.outbox.overhead_s == 0.0
    assert against_load.fit_relay(spec, profile, _level(1.0, []), facts) is spec
