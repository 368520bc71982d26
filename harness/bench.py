"""`landscape bench stripe`: what the fake costs over a trivial endpoint served the same way.

Both servers are started as real processes (`landscape serve stripe`, and the trivial app through
the same uvicorn setup), each on a free 127.0.0.1 port; Locust (FastHttpUser, headless, in a
subprocess) drives one flow at a time for a fixed duration. Figures are throughput and
p50/p95/p99, plus the latency the fake adds over an injected fixed latency. Compare the ratios
within one run: this machine is shared and noisy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from harness.processes import Started, start_process, stop_process

LOCUSTFILE = Path(__file__).resolve().parent.parent / "loadtests" / "bench_stripe.py"
INJECTED_MS = 50.0


@dataclass
class Figures:
    label: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


def percentile(histogram: dict[str, int], total: int, q: float) -> float:
    seen = 0
    for ms, count in sorted(((float(k), v) for k, v in histogram.items())):
        seen += count
        if seen >= q * total:
            return ms
    return 0.0


def run_locust(url: str, user: str, seconds: float, users: int, out: Path) -> list[Figures]:
    prefix = out / user
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), user, "--headless",
               "-u", str(users), "-r", str(users), "-t", f"{max(1, round(seconds))}s", "-H", url,
               "--json-file", str(prefix), "--only-summary", "--stop-timeout", "2",
               "-L", "ERROR", "--exit-code-on-error", "0"]
    result = subprocess.run(command, timeout=seconds + 60, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"locust failed ({result.returncode}): {result.stderr[-2000:]}")
    entries = json.loads(prefix.with_suffix(".json").read_text())
    figures = []
    for entry in entries:
        total = entry["num_requests"]
        if not total:
            continue
        duration = max(entry["last_request_timestamp"] - entry["start_time"], 1e-9)
        hist = entry["response_times"]
        figures.append(Figures(entry["name"], total, entry["num_failures"], total / duration,
                               percentile(hist, total, 0.5), percentile(hist, total, 0.95),
                               percentile(hist, total, 0.99)))
    return figures


def run_benchmark(seconds: float, users: int, console: Console) -> int:
    try:
        rows = _measure(seconds, users)
    except RuntimeError as exc:
        console.print(f"[red]benchmark failed:[/red] {exc}")
        return 1
    print_figures(rows, seconds, users, console)
    return 0


def _measure(seconds: float, users: int) -> list[Figures]:
    stripe: Started | None = None
    trivial: Started | None = None
    try:
        stripe = start_process([sys.executable, "-m", "harness.cli", "serve", "stripe",
                                "--port", "0", "--seed", "1"])
        trivial = start_process([sys.executable, "-m", "harness.trivial", "--port", "0"])
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            rows = run_locust(trivial.url, "TrivialUser", seconds, users, out)
            rows += run_locust(stripe.url, "CustomerUser", seconds, users, out)
            rows += run_locust(stripe.url, "PaymentIntentUser", seconds, users, out)
            httpx.post(f"{stripe.url}/_sim/faults", json={
                "kind": "latency", "latency": {"kind": "fixed", "ms": INJECTED_MS},
                "match": {"path": "/v1/customers*"}})
            injected = run_locust(stripe.url, "CustomerUser", seconds, users, out)
            for row in injected:
                row.label += f" +{INJECTED_MS:.0f} ms injected"
            rows += injected
    finally:
        for process in (stripe, trivial):
            if process:
                stop_process(process)
    return rows


def print_figures(rows: list[Figures], seconds: float, users: int, console: Console) -> None:
    table = Table(title=f"fake Stripe vs trivial endpoint: {users} Locust users, {seconds:.0f} s "
                  "per flow, FastHttpUser, 127.0.0.1, server and load on the same cores")
    for column in ("flow", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms",
                   "req/s vs trivial"):
        table.add_column(column, justify="left" if column == "flow" else "right")
    floor = rows[0].rps if rows else 1.0
    for row in rows:
        table.add_row(row.label, str(row.requests), str(row.failures), f"{row.rps:,.0f}",
                      f"{row.p50:.0f}", f"{row.p95:.0f}", f"{row.p99:.0f}",
                      f"{row.rps / floor:.2f}")
    console.print(table)
    plain = {r.label: r for r in rows}
    base = plain.get("POST /v1/customers")
    slow = plain.get(f"POST /v1/customers +{INJECTED_MS:.0f} ms injected")
    if base and slow:
        console.print(f"overhead over the injected {INJECTED_MS:.0f} ms (p50): "
                      f"{slow.p50 - INJECTED_MS:.0f} ms with injection, {base.p50:.0f} ms "
                      "without (both include queueing under this load)")
