"""`landscape run` and `landscape demo` as a user runs them: exit codes, the replay command, the
report; and a scenario against real processes on 127.0.0.1 (`--processes`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from harness.topology import ROOT

LANDSCAPE = [sys.executable, "-m", "harness.cli"]


def landscape(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LANDSCAPE, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={"COLUMNS": "120", "PATH": "/usr/bin:/bin",
                                                "PYTHONPATH": str(ROOT)})


def test_a_failing_invariant_exits_1_with_the_seed_and_the_replay_command(
        tmp_path: Path) -> None:
    done = landscape("run", "erp-manual-payment", "--without", "erp_paid_check", "--seed", "5",
                     "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL" in done.stdout and "at most one successful collection" in done.stdout
    assert ("landscape run erp-manual-payment --topology netsuite-stripe-salesforce --seed 5 "
            "--without erp_paid_check") in done.stdout
    assert (tmp_path / "out" / "report.html").is_file()
    assert (tmp_path / "out" / "result.json").is_file()


def test_a_missing_scenario_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = landscape("run", "headlines", cwd=tmp_path)
    assert done.returncode == 2
    assert "no such scenario file" in done.stderr and "Traceback" not in done.stderr


def test_the_demo_proves_the_headline_and_writes_a_self_contained_report(
        tmp_path: Path) -> None:
    done = landscape("demo", "--report-dir", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "PASS" in done.stdout and "What was proved" in done.stdout
    assert re.search(r"0 double charges", done.stdout)
    html = (tmp_path / "demo" / "report.html").read_text()
    assert "<svg" in html and "naive" in html and "cached" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?https?://""", html)
    assert "Traceback" not in done.stderr


def test_a_scenario_runs_against_real_processes(tmp_path: Path) -> None:
    """The default topology without injected latency (real time), eight customers per
    merchant; the sync service SIGKILLed mid-storm and restarted: its outbox survives."""
    shipped = ROOT / "scenarios" / "topologies" / "netsuite-stripe-salesforce.yaml"
    topology = yaml.safe_load(shipped.read_text())
    topology.pop("systems")
    for merchant in topology["merchants"].values():
        merchant["data"] = {"customers": 8}
        for part in ("erp", "crm"):
            merchant[part]["schema"] = str((shipped.parent / merchant[part]["schema"]).resolve())
            merchant[part].pop("latency", None)
        merchant["mapping"] = str((shipped.parent / merchant["mapping"]).resolve())
    (tmp_path / "fast.yaml").write_text(yaml.safe_dump(topology))
    (tmp_path / "sync-killed.yaml").write_text(yaml.safe_dump({
        "name": "sync-killed", "description": "the sync service crashes mid-storm",
        "declines": {"count": 12, "rate_per_second": 3},
        "timeline": [{"at": 1, "kill": {"component": "sync"}},
                     {"at": 3, "restart": {"component": "sync"}},
                     {"at": 0, "fault": {"system": "stripe", "kind": "webhook_duplicate",
                                         "copies": 1, "probability": 0.5}}],
        "quiet": 5}))
    done = landscape("run", "sync-killed.yaml", "--topology", "fast.yaml", "--processes",
                     "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    assert "mode processes" in done.stdout and "9 of 9 held" in done.stdout
    logs = tmp_path / "landscape-run" / "sync-killed-processes" / "logs"
    assert (logs / "stripe-requests.log").read_text().count("\n") > 50
    assert "killed" in (tmp_path / "out" / "result.json").read_text()
