"""`landscape load` end to end: real processes on 127.0.0.1 driven by Locust (a subprocess:
locust is never imported here), on a small fast topology so each run takes seconds. The rates
are low on purpose: these tests check the gate's logic and the reports, not this machine's
speed (BENCHMARKS.md has the figures)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
TOPOLOGY = str(HERE / "test_load_topology.yaml")
SLOW_ERP = str(HERE / "test_load_slow_erp.yaml")
LIMIT_S = 150  # a run that hangs fails the test instead of the suite


def landscape_load(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    command = [sys.executable, "-m", "harness.cli", "load", *args, "--topology", TOPOLOGY,
               "--report-dir", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=LIMIT_S,
                          env={**os.environ, "COLUMNS": "200"})
    result = tmp_path / "result.json"
    assert result.exists(), f"no result.json; replay: {' '.join(command)}\n{done.stdout}" \
                            f"\n{done.stderr}"
    return done, json.loads(result.read_text())


def checks(result: dict) -> dict[str, dict]:
    return {c["id"]: c for c in result["invariants"]}


@pytest.fixture(scope="module")
def distributed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict]:
    """One passing run, a Locust master and two workers on 127.0.0.1: the gate and the
    reports are checked on it, and the split between the workers (one run keeps the suite
    inside its time budget)."""
    folder = tmp_path_factory.mktemp("load")
    done, result = landscape_load(folder, "decline-storm", "--rate", "4", "--duration", "3",
                                  "--quiet", "10", "--seed", "5", "--workers", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    return folder, done.stdout, result


def test_a_load_within_the_sla_passes_the_gate(distributed: tuple[Path, str, dict]) -> None:
    folder, stdout, result = distributed
    assert result["passed"] and all(c["passed"] for c in result["invariants"])
    assert {"decision_p99", "arrivals_sent", "recoveries_reflected"} <= set(checks(result))
    load = result["load"]
    assert load["planned"] == 12 and load["sent"] == 12
    assert load["intercepts"] and load["renewals"]  # both ways in
    assert load["outbox_left"] == 0
    for counts in result["merchants"].values():  # intercepts counted once, as decisions
        assert counts["errors"] == 0 and counts["decisions"] == counts["declines"], counts
    engine = load["latency"]["engine"]
    assert engine["all"]["count"] == 12  # one observation per decline on arrival
    assert engine["intercept"]["count"] == load["intercepts"]
    assert engine["all"]["within_sla"] == 1.0
    locust = load["latency"]["locust"]
    assert locust["intercept"]["count"] == load["intercepts"] and locust["all"]["failures"] == 0
    with (folder / "load.csv").open() as f:
        rows = {(r["source"], r["series"]): r for r in csv.DictReader(f)}
    assert int(rows["engine histogram", "all"]["count"]) == 12
    # each decision's own latency from the engines' logs, unbucketed
    exact = rows["engine log (exact)", "all"]
    assert int(exact["count"]) == 12 and float(exact["p99_ms"]) <= float(exact["max_ms"])
    assert int(rows["locust (from scheduled time)", "all"]["count"]) == 12  # not the stale CSV
    assert load["cpu_seconds"] and (folder / "decisions.json").exists()
    # the write-backs' lag from the merchants' outboxes (queued with the decision, then sent)
    lag = load["writeback_lag_s"]
    assert lag["count"] > 0 and lag["pending"] == 0 and lag["p50"] <= lag["max"], lag
    raw = json.loads((folder / "decisions.json").read_text())
    assert sum(w["done"] is not None for w in raw["writebacks"]) == lag["count"]
    assert int(rows["outbox (queued to sent)", "write-back lag"]["count"]) == lag["count"]
    html = (folder / "report.html").read_text()
    assert "The load (Locust) and the engines" in html and "PASS" in html
    assert "PASS" in stdout and "report:" in stdout


def test_a_distributed_run_splits_the_arrivals_between_two_workers(
        distributed: tuple[Path, str, dict]) -> None:
    folder, _, result = distributed
    assert result["load"]["workers"] == 2
    logs = "".join((folder / f"locust-worker{i}.log").read_text() for i in (1, 2))
    for worker in (1, 2):  # each sent its half (arrival i goes to worker i mod 2)
        assert f"landscape scheduler {worker} of 2: 6 of 6 arrivals sent" in logs, logs
    command = (folder / "locust-command.txt").read_text()
    assert "--master-bind-host 127.0.0.1" in command and "--expect-workers 2" in command


def test_an_erp_on_the_hot_path_fails_the_gate_and_says_why(tmp_path: Path) -> None:
    done, result = landscape_load(tmp_path, SLOW_ERP, "--mode", "naive", "--rate", "4",
                                  "--duration", "2", "--quiet", "2", "--seed", "5")
    assert done.returncode == 1, done.stdout + done.stderr
    assert not result["passed"]
    p99 = checks(result)["decision_p99"]
    assert not p99["passed"]
    assert "took over 1000 ms" in p99["violations"][0]
    # where the time went (the fakes' request logs) and why (the ERP on the hot path)
    assert any(v.startswith("where: the slowest calls") and "netsuite" in v
               for v in p99["violations"]), p99["violations"]
    assert any(v.startswith("why: --mode naive") for v in p99["violations"])
    assert result["load"]["vendor_latency"][0]["vendor"] == "netsuite"
    assert result["load"]["latency"]["engine"]["all"]["p99_bucket_ms"][0] >= 1000
    assert result["load"]["engine_mode"] == "naive"
    for counts in result["merchants"].values():  # charged intercepts are not counted twice
        assert counts["errors"] == 0 and counts["decisions"] == counts["declines"], counts
    # where and why, and how to replay it, on the terminal and in the report
    assert "FAIL" in done.stdout and "--seed 5" in done.stdout and "--mode naive" in done.stdout
    assert "took over 1000 ms" in (tmp_path / "report.html").read_text()
