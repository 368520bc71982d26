"""`landscape bench` end to end: every fake and the trivial endpoint as real processes on
127.0.0.1, driven by Locust for one second per phase, the figures written as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from harness.bench import INJECTED_MS, VENDORS, run_benchmark


def test_bench_every_vendor_writes_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    console = Console(record=True, width=200)
    assert run_benchmark(list(VENDORS), seconds=1, users=2, console=console, json_path=out) == 0

    figures = json.loads(out.read_text())
    assert set(figures) >= {*VENDORS, "trivial", "overhead", "machine"}
    for vendor in VENDORS:
        operations = figures[vendor]
        assert len(operations) >= 2, (vendor, operations)  # a write and a read
        for name, row in operations.items():
            assert row["requests"] > 0, (vendor, name, row)
            assert row["failures"] == 0, (vendor, name, row)
            assert row["rps"] > 0 and row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
        injected = figures["overhead"][vendor]
        assert injected and all(o["failures"] == 0 and o["requests"] > 0
                                for o in injected.values()), injected
        for o in injected.values():  # measured latency minus the injection, same percentile
            assert o["p50_ms"] >= INJECTED_MS
            assert o["overhead_p50_ms"] == o["p50_ms"] - INJECTED_MS
    assert figures["stripe"].keys() >= {"POST /v1/customers", "GET /v1/customers/{id}",
                                        "POST /v1/payment_intents",
                                        "POST /v1/payment_intents/{id}/confirm"}
    assert figures["trivial"]["requests"] > 0 and figures["trivial"]["failures"] == 0
    assert figures["machine"]["cpu_count"] >= 1

    text = console.export_text()
    assert f"with {INJECTED_MS:.0f} ms injected: p50" in text
    assert "over the injection" in text
    for vendor in VENDORS:
        assert vendor in text


def test_bench_rejects_an_unknown_vendor(tmp_path: Path) -> None:
    console = Console(record=True)
    assert run_benchmark(["paypal"], seconds=1, users=1, console=console,
                         json_path=tmp_path / "x.json") == 2
    assert "unknown vendor" in console.export_text()
    assert not (tmp_path / "x.json").exists()


WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:1/v1/customers
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.47ms  816.92us   1.20s    82.99%
    Req/Sec    11.25k     2.63k   15.42k    61.90%
  Latency Distribution
     50%  920.00us
     75%    1.84ms
     90%    2.19ms
     99%    4.96ms
  23480 requests in 2.10s, 4.16MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  11178.75
"""


def test_peers_reads_wrk_figures(monkeypatch) -> None:
    import subprocess

    from harness import bench_peers

    def fake_run(*args, **kwargs):
        return subprocess.CompletedProcess(args, 0, WRK_OUTPUT, "")

    monkeypatch.setattr(bench_peers.subprocess, "run", fake_run)
    assert bench_peers.wrk("http://127.0.0.1:1/v1/customers", "GET", 1, 16) == (
        23480, 11178.75, 0.92, 4.96, 3, 1200.0)


def test_peers_measures_server_cpu_per_request(tmp_path: Path) -> None:
    """One short wrk run against the canned FastAPI peer: requests, latency and the server's
    CPU per request read from /proc (what `landscape bench --peers` tabulates)."""
    import shutil

    import pytest

    from harness import bench_peers

    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    bodies = tmp_path / "bodies.json"
    bodies.write_text(json.dumps({"post": {"id": "cus_1"}, "get": {"id": "cus_1"}}))
    server = bench_peers.serve_canned(bodies)
    try:
        run = bench_peers.measure(server, "/v1/customers", "POST", 1, 2, body="a=1",
                                  headers={"Content-Type": bench_peers.FORM})
    finally:
        server.stop()
    assert run.requests > 0 and run.errors == 0, run
    assert 0 < run.p50_ms <= run.p99_ms <= run.max_ms and run.cpu_us > 0, run
