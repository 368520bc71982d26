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
