"""`landscape bench --overhead [--pin]` (harness/bench_peers.py): how wrk is run for the overhead
over an injected latency, and what is read back, without running wrk or a server."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from harness import bench_peers

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:1/v1/customers
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    51.47ms  816.92us  63.20ms   82.99%
  Latency Distribution
     50%   51.20ms
     75%   51.84ms
     90%   52.19ms
     99%   54.96ms
tail us: p90 52190 p99.9 58012 max 63200
paced: rate 1000 sent 1000 late 5
  960 requests in 1.00s, 1.16MB read
Requests/sec:    960.00
"""


def _capture(monkeypatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake_run(command, **kwargs):
        calls.append({"command": command, "env": kwargs.get("env")})
        return subprocess.CompletedProcess(command, 0, WRK_OUTPUT, "")

    monkeypatch.setattr(bench_peers.subprocess, "run", fake_run)
    return calls


def test_wrk_is_pinned_and_paced_only_when_asked(monkeypatch) -> None:
    calls = _capture(monkeypatch)
    bench_peers.wrk_text("http://127.0.0.1:1/v1/customers", "GET", 1, 50)
    bench_peers.wrk_text("http://127.0.0.1:1/v1/customers", "GET", 1, 100, cpu=1, rate=1000)
    plain, pinned = calls
    assert plain["command"][0] == "wrk" and plain["env"] is None
    assert pinned["command"][:4] == ["taskset", "-c", "1", "wrk"]
    assert pinned["env"]["WRK_RATE"] == "1000"


def test_the_tail_is_read_from_request_lua_line() -> None:
    assert bench_peers._tail(WRK_OUTPUT) == (52.19, 58.012)
    assert all(x != x for x in bench_peers._tail("no tail line"))  # NaN when missing


def test_late_sends_are_read_and_an_unpaced_run_is_an_error() -> None:
    assert bench_peers._late(WRK_OUTPUT) == (1000, 5)
    with pytest.raises(RuntimeError, match="did not pace"):
        bench_peers._late("Requests/sec: 960.00")


def test_an_overhead_run_is_latency_minus_the_injection(monkeypatch) -> None:
    _capture(monkeypatch)
    monkeypatch.setattr(bench_peers, "cpu_seconds", lambda pid: 1.0)
    server = bench_peers.Server("x", "http://127.0.0.1:1", 1, lambda: None)
    run = bench_peers._overhead_run(server, "/v1/customers", "POST", "a=1", 1, 50, cpu=1)
    injected = bench_peers.INJECTED_MS
    assert run["rps"] == 960.0 and run["errors"] == 0
    assert run["late"] == 0.5  # % of sends
    assert run["overhead_p50_ms"] == 51.2 - injected
    assert abs(run["overhead_p99_ms"] - (54.96 - injected)) < 1e-9
    assert abs(run["overhead_p999_ms"] - (58.012 - injected)) < 1e-9
    assert abs(run["overhead_max_ms"] - (63.2 - injected)) < 1e-9


def test_request_lua_paces_and_reports_the_tail_and_late_sends() -> None:
    text = (bench_peers.PEERS_SOURCE / "request.lua").read_text()
    assert "WRK_RATE" in text and "function delay()" in text
    assert "tail us: p90 %d p99.9 %d max %d" in text
    assert "paced: rate %d sent %d late %d" in text


def test_creates_each_get_a_new_account_and_reads_keep_theirs() -> None:
    fresh = bench_peers.Server("fake", "http://127.0.0.1:1", 1, lambda: None)
    filled = bench_peers.Server("filled", "http://127.0.0.1:2", 2, lambda: None, filled=True)
    first, second = (bench_peers._account("POST", fresh) for _ in range(2))
    assert first != second and first.startswith("sk_test_")
    assert bench_peers._account("GET", fresh) == bench_peers.KEY
    assert bench_peers._account("POST", filled) == bench_peers.KEY  # the account it holds


def test_runs_answered_with_errors_are_named() -> None:
    ok = bench_peers.Run(10, 10.0, 1.0, 2.0, 100.0, 0, 3.0)
    bad = bench_peers.Run(10, 10.0, 1.0, 2.0, 100.0, 7, 3.0)
    result = {"figures": {"fake": {"POST": bad, "GET": ok}},
              "overhead": {"fake": {"POST": {"unpinned": {"errors": 0}, "pinned": {"errors": 3}}}}}
    assert bench_peers._failed_runs(result) == [
        "fake POST: 7 errors", "fake POST (pinned, at 1,000 req/s): 3 errors"]
