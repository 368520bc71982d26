"""`landscape load --remote-workers N`: the master waits for workers started elsewhere, the way
README ("Load (Locust) with an SLA gate") tells a user on another machine to start them: with a
copy of plan.json, from a checkout, `LANDSCAPE_LOAD_PLAN=plan.json PYTHONPATH=. python -m locust
-f loadtests/locustfile.py --worker --master-host 127.0.0.1 --master-port PORT` (here the
"other machine" is this one, so no SSH tunnel is needed: every port is already 127.0.0.1's).
Locust is never imported here: every Locust process is a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
TOPOLOGY = str(HERE / "test_load_topology.yaml")
SLOW_ERP = str(HERE / "test_load_slow_erp.yaml")
LIMIT_S = 120  # a run that hangs fails the test instead of the suite
PORT = re.compile(r"--master-port (\d+)")


def remote_run(tmp_path: Path, *args: str, workers: int = 2) -> tuple[int, str, dict, list[str]]:
    """`landscape load … --remote-workers N`, then N workers started as README says once the
    master has printed its port: (exit code, stdout, result.json, the workers' output)."""
    folder = tmp_path / "run"
    command = [sys.executable, "-m", "harness.cli", "load", *args, "--report-dir", str(folder),
               "--remote-workers", str(workers)]
    # a narrow terminal: the worker's command must still come out on one line, whole
    env = {**os.environ, "COLUMNS": "80", "PYTHONUNBUFFERED": "1"}
    master = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert master.stdout is not None
        for line in master.stdout:
            lines.append(line)
            if PORT.search(line):
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started: list[subprocess.Popen[str]] = []
    try:
        assert found.wait(LIMIT_S / 2), "the master never printed its port:\n" + "".join(lines)
        said = "".join(lines)
        command = next(line for line in lines if PORT.search(line)).split()
        assert command[:5] == ["LANDSCAPE_LOAD_PLAN=plan.json", "PYTHONPATH=.", "python", "-m",
                               "locust"], said  # the README's command, as printed
        port = PORT.search(" ".join(command))
        assert port is not None
        assert f"for {workers} worker(s) from" in " ".join(said.split()), said
        # the other machine: a copy of plan.json, the repository checked out (this one)
        elsewhere = tmp_path / "worker-machine"
        elsewhere.mkdir()
        shutil.copy(folder / "plan.json", elsewhere / "plan.json")
        worker_env = {**os.environ, "LANDSCAPE_LOAD_PLAN": str(elsewhere / "plan.json"),
                      "PYTHONPATH": "."}
        for _ in range(workers):
            started.append(subprocess.Popen(
                [sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--worker",
                 "--master-host", "127.0.0.1", "--master-port", port[1]],
                cwd=ROOT, env=worker_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True))
        code = master.wait(LIMIT_S)
        reader.join(10)
        outputs = []
        for worker in started:
            out, _ = worker.communicate(timeout=30)  # the master tells its workers to quit
            outputs.append(out)
    finally:
        for p in (master, *started):
            if p.poll() is None:
                p.kill()
                p.wait()
    result = folder / "result.json"
    assert result.exists(), "no result.json:\n" + "".join(lines)
    return code, "".join(lines), json.loads(result.read_text()), outputs


def test_remote_workers_started_as_the_readme_says_run_the_load_and_pass_the_gate(
        tmp_path: Path) -> None:
    began = time.monotonic()
    code, stdout, result, workers = remote_run(
        tmp_path, "decline-storm", "--topology", TOPOLOGY, "--rate", "4", "--duration", "3",
        "--quiet", "10", "--seed", "5")
    assert code == 0, stdout
    assert result["passed"] and all(c["passed"] for c in result["invariants"])
    load = result["load"]
    assert load["workers"] == 2 and load["planned"] == 12 and load["sent"] == 12
    assert load["latency"]["engine"]["all"]["count"] == 12
    assert load["latency"]["engine_log"]["all"]["count"] == 12
    assert load["latency"]["locust"]["all"]["failures"] == 0
    for index in (1, 2):  # each sent its half (arrival i goes to worker i mod 2)
        assert any(f"landscape scheduler {index} of 2: 6 of 6 arrivals sent" in w
                   for w in workers), workers
    assert "PASS" in stdout and "report:" in stdout
    assert "--remote-workers 2" in result["replay"]
    assert (tmp_path / "run" / "report.html").exists()
    assert time.monotonic() - began < LIMIT_S


def test_a_remote_run_that_misses_the_sla_fails_the_gate_and_says_why(tmp_path: Path) -> None:
    code, stdout, result, workers = remote_run(
        tmp_path, SLOW_ERP, "--topology", TOPOLOGY, "--mode", "naive", "--rate", "4",
        "--duration", "2", "--quiet", "2", "--seed", "5")
    assert code == 1, stdout
    assert not result["passed"] and result["load"]["workers"] == 2
    p99 = next(c for c in result["invariants"] if c["id"] == "decision_p99")
    assert not p99["passed"] and "took over 1000 ms" in p99["violations"][0]
    assert "FAIL" in stdout and "took over 1000 ms" in stdout
    assert sum("arrivals sent" in w for w in workers) == 2, workers

