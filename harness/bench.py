"""`landscape bench`: what each fake costs over a trivial endpoint served the same way.

Every fake (Stripe, Chargebee, NetSuite, Salesforce) and a trivial app are started as real
processes through the same uvicorn setup, each on a free 127.0.0.1 port; Locust (FastHttpUser,
headless, in a subprocess) drives one flow at a time for a fixed duration. Each vendor gets a
representative write and read:

* Stripe: create + retrieve a customer; create + confirm a PaymentIntent (Bearer key)
* Chargebee: create + retrieve a customer (Basic auth with the demo site's key)
* NetSuite: create + GET a customer record (TBA: OAuth 1.0a, HMAC-SHA256, demo account)
* Salesforce: client-credentials token once per user, then create + GET an Account

Figures are throughput and p50/p95/p99 per operation, their ratios to the trivial endpoint in
the same run (fake ÷ trivial), and, per vendor, the latency the fake adds over a fixed injected
latency: the first flow is run again with `INJECTED_MS` injected on its paths, and the overhead
is the measured latency minus the injection at the same percentile. This machine is shared and
noisy: compare the ratios within one run, not absolute figures across runs.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from harness.processes import Started, start_process, stop_process
from simulators.chargebee.vendor import DEMO_KEY as CHARGEBEE_KEY
from simulators.client import ControlClient
from simulators.netsuite.vendor import DEMO_ACCOUNT as NETSUITE_ACCOUNT
from simulators.netsuite.vendor import DEMO_SETTINGS as NETSUITE_SETTINGS
from simulators.salesforce.vendor import DEMO_ORG as SALESFORCE_ORG
from simulators.salesforce.vendor import DEMO_SETTINGS as SALESFORCE_SETTINGS

INJECTED_MS = 50.0
VENDORS = ("stripe", "chargebee", "netsuite", "salesforce")
SALESFORCE_API = "/services/data/v59.0"


@dataclass(frozen=True)
class Plan:
    """A vendor's measured flows (Locust user classes), the first of which is re-run with
    `INJECTED_MS` injected on `inject_path` (an fnmatch pattern on the request path)."""

    flows: tuple[str, ...]
    inject_path: str


PLANS = {
    "stripe": Plan(("StripeCustomerUser", "StripePaymentIntentUser"), "/v1/customers*"),
    "chargebee": Plan(("ChargebeeCustomerUser",), "/api/v2/customers*"),
    "netsuite": Plan(("NetSuiteCustomerUser",), "/services/rest/record/v1/customer*"),
    "salesforce": Plan(("SalesforceAccountUser",), f"{SALESFORCE_API}/sobjects/Account*"),
}

# The Locust users live in loadtests/bench_vendors.py (Locust imports it in its own process, with
# gevent's monkey-patching); the fakes' demo credentials reach it in LANDSCAPE_BENCH.
LOCUSTFILE = Path(__file__).resolve().parents[1] / "loadtests" / "bench_vendors.py"
# Not measured: a once-per-user setup request.
UNMEASURED = {"POST /services/oauth2/token"}


@dataclass
class Figures:
    label: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    mean: float  # exact; Locust rounds the percentiles' histogram to whole ms below 100 ms

    def as_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "rps": round(self.rps, 1), "p50_ms": self.p50,
                "p95_ms": self.p95, "p99_ms": self.p99, "mean_ms": round(self.mean, 3),
                "failures": self.failures}


@dataclass
class Results:
    trivial: Figures
    vendors: dict[str, list[Figures]]  # per vendor, every operation of its flows
    injected: dict[str, list[Figures]]  # per vendor, its first flow with INJECTED_MS injected
    seconds_taken: float


def percentile(histogram: dict[str, int], total: int, q: float) -> float:
    seen = 0
    for ms, count in sorted(((float(k), v) for k, v in histogram.items())):
        seen += count
        if seen >= q * total:
            return ms
    return 0.0


def run_locust(locustfile: Path, url: str, user: str, seconds: float, users: int,
               out: Path, tag: str = "") -> list[Figures]:
    prefix = out / f"{user}{tag}"
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), user, "--headless",
               "-u", str(users), "-r", str(users), "-t", f"{max(1, round(seconds))}s", "-H", url,
               "--json-file", str(prefix), "--only-summary", "--stop-timeout", "2",
               "-L", "ERROR", "--exit-code-on-error", "0"]
    result = subprocess.run(command, timeout=seconds + 60, capture_output=True, text=True,
                            env={**os.environ, "LANDSCAPE_BENCH": _credentials()})
    if result.returncode != 0:
        raise RuntimeError(f"locust {user} failed ({result.returncode}): "
                           f"{result.stderr[-2000:]}")
    entries = json.loads(prefix.with_suffix(".json").read_text())
    figures = []
    for entry in entries:
        total = entry["num_requests"]
        if not total or entry["name"] in UNMEASURED:
            if entry["num_failures"]:
                raise RuntimeError(f"{user}: {entry['name']} failed {entry['num_failures']} "
                                   "times")
            continue
        duration = max(entry["last_request_timestamp"] - entry["start_time"], 1e-9)
        hist = entry["response_times"]
        figures.append(Figures(entry["name"], total, entry["num_failures"], total / duration,
                               percentile(hist, total, 0.5), percentile(hist, total, 0.95),
                               percentile(hist, total, 0.99),
                               entry["total_response_time"] / total))
    return figures


def run_benchmark(vendors: list[str] | None = None, seconds: float = 8.0, users: int = 16,
                  console: Console | None = None, json_path: Path | None = None) -> int:
    """Benchmark `vendors` (default: all four) next to a trivial endpoint; print the table and
    the overhead lines, and write the figures as JSON to `json_path` if given. Exit code: 0,
    1 if the run failed, 2 for an unknown vendor."""
    console = console or Console()
    chosen = list(vendors or VENDORS)
    unknown = [v for v in chosen if v not in PLANS]
    if unknown:
        console.print(f"[red]unknown vendor(s) {', '.join(unknown)}[/red]; choose from "
                      f"{', '.join(VENDORS)}")
        return 2
    chosen = list(dict.fromkeys(chosen))
    try:
        results = _measure(chosen, seconds, users)
    except (RuntimeError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
        console.print(f"[red]benchmark failed:[/red] {exc}")
        return 1
    print_figures(results, seconds, users, console)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(as_json(results, seconds, users), indent=1) + "\n")
        console.print(f"figures written to {json_path}")
    return 0


def _serve(vendor: str) -> Started:
    if vendor == "trivial":
        return start_process([sys.executable, "-m", "harness.trivial", "--port", "0"])
    started = start_process([sys.executable, "-m", "harness.cli", "serve", vendor,
                             "--port", "0", "--seed", "1", "--quiet"])  # no log to measure
    try:
        _lift_limits(vendor, started.url)
    except BaseException:
        stop_process(started)
        raise
    return started


def _lift_limits(vendor: str, url: str) -> None:
    """The demo tenants' own quotas (NetSuite's 5 concurrent requests, Salesforce's 15,000 API
    calls a day) would turn a load test into a 429 test; lift them for the benchmark."""
    lifted = {"netsuite": (NETSUITE_ACCOUNT, {**NETSUITE_SETTINGS, "concurrency_limit": 10_000}),
              "salesforce": (SALESFORCE_ORG, {**SALESFORCE_SETTINGS,
                                              "daily_api_limit": 1_000_000_000})}
    if vendor in lifted:
        tenant, settings = lifted[vendor]
        with ControlClient(url) as control:
            control.declare_tenant(tenant, settings)


def _credentials() -> str:
    """What the Locust users sign in with: the fakes' documented demo tenants (JSON)."""
    netsuite = {**{k: NETSUITE_SETTINGS[k] for k in ("consumer_key", "consumer_secret",
                                                       "token_id", "token_secret")},
                "account": NETSUITE_ACCOUNT}
    salesforce = {k: SALESFORCE_SETTINGS[k] for k in ("client_id", "client_secret")}
    return json.dumps({"chargebee_key": CHARGEBEE_KEY, "netsuite": netsuite,
                       "salesforce": salesforce, "salesforce_api": SALESFORCE_API})


def _measure(vendors: list[str], seconds: float, users: int) -> Results:
    began = time.monotonic()
    servers: dict[str, Started] = {}
    try:
        names = ["trivial", *vendors]
        with ThreadPoolExecutor(len(names)) as pool:  # start them side by side, then load one
            futures = {name: pool.submit(_serve, name) for name in names}
            errors = []
            for name, future in futures.items():
                try:
                    servers[name] = future.result()
                except Exception as exc:  # noqa: BLE001 - reported once all are settled
                    errors.append(f"{name}: {exc}")
        if errors:
            raise RuntimeError("; ".join(errors))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            locustfile = LOCUSTFILE
            trivial = run_locust(locustfile, servers["trivial"].url, "TrivialUser", seconds,
                                 users, out)
            if not trivial:
                raise RuntimeError("the trivial endpoint served no requests")
            measured: dict[str, list[Figures]] = {}
            injected: dict[str, list[Figures]] = {}
            for vendor in vendors:
                url, plan = servers[vendor].url, PLANS[vendor]
                measured[vendor] = [row for flow in plan.flows
                                    for row in run_locust(locustfile, url, flow, seconds, users,
                                                          out)]
                response = httpx.post(f"{url}/_sim/faults", json={
                    "kind": "latency", "latency": {"kind": "fixed", "ms": INJECTED_MS},
                    "match": {"path": plan.inject_path}})
                response.raise_for_status()
                injected[vendor] = run_locust(locustfile, url, plan.flows[0], seconds, users,
                                              out, tag="-injected")
    finally:
        for process in servers.values():
            stop_process(process)
    return Results(trivial[0], measured, injected, time.monotonic() - began)


def overhead(results: Results) -> dict[str, dict[str, dict[str, float]]]:
    """Per vendor and operation: latency with `INJECTED_MS` injected, and that minus the
    injection at the same percentile (what the fake adds around the injected wait)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for vendor, rows in results.injected.items():
        plain = {row.label: row for row in results.vendors[vendor]}
        for row in rows:
            entry = {"injected_ms": INJECTED_MS, "requests": row.requests,
                     "failures": row.failures, "p50_ms": row.p50, "p95_ms": row.p95,
                     "p99_ms": row.p99, "overhead_p50_ms": row.p50 - INJECTED_MS,
                     "overhead_p95_ms": row.p95 - INJECTED_MS,
                     "overhead_p99_ms": row.p99 - INJECTED_MS,
                     "mean_ms": round(row.mean, 3),
                     "overhead_mean_ms": round(row.mean - INJECTED_MS, 3)}
            if row.label in plain:
                entry["without_injection_p50_ms"] = plain[row.label].p50
            out.setdefault(vendor, {})[row.label] = entry
    return out


def as_json(results: Results, seconds: float, users: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        vendor: {row.label: row.as_json() for row in rows}
        for vendor, rows in results.vendors.items()}
    document["trivial"] = {"operation": results.trivial.label, **results.trivial.as_json()}
    document["overhead"] = overhead(results)
    document["machine"] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(), "python": platform.python_version()}
    document["run"] = {"seconds_per_phase": seconds, "users": users,
                       "injected_ms": INJECTED_MS, "host": "127.0.0.1",
                       "seconds_taken": round(results.seconds_taken, 1)}
    return document


def _ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}" if floor else "-"


def print_figures(results: Results, seconds: float, users: int, console: Console) -> None:
    table = Table(title=f"fakes vs trivial endpoint: {users} Locust users, {seconds:.0f} s per "
                  "flow, FastHttpUser, 127.0.0.1, server and load on the same cores")
    for column in ("vendor", "operation", "requests", "failures", "req/s", "p50 ms", "p95 ms",
                   "p99 ms", "mean ms", "req/s ÷ trivial", "mean ÷ trivial"):
        table.add_column(column, justify="left" if column in ("vendor", "operation")
                         else "right")
    floor = results.trivial

    def add(vendor: str, row: Figures, label: str) -> None:
        table.add_row(vendor, label, str(row.requests), str(row.failures), f"{row.rps:,.0f}",
                      f"{row.p50:.0f}", f"{row.p95:.0f}", f"{row.p99:.0f}", f"{row.mean:.2f}",
                      _ratio(row.rps, floor.rps), _ratio(row.mean, floor.mean))

    add("trivial", floor, floor.label)
    for vendor, rows in results.vendors.items():
        table.add_section()
        for row in rows:
            add(vendor, row, row.label)
        for row in results.injected.get(vendor, []):
            add(vendor, row, f"{row.label} +{INJECTED_MS:.0f} ms injected")
    console.print(table)
    console.print(f"overhead: latency measured with {INJECTED_MS:.0f} ms injected, minus the "
                  "injection at the same percentile (the users spend most of their time in the "
                  "injected wait, so less queueing: nearer the fake's own per-request cost than "
                  "the p50 under full load above):")
    for vendor, operations in overhead(results).items():
        for label, o in operations.items():
            without = o.get("without_injection_p50_ms")
            tail = f"; without injection p50 {without:.0f} ms" if without is not None else ""
            console.print(f"  {vendor} {label}: with {INJECTED_MS:.0f} ms injected: p50 "
                          f"{o['p50_ms']:.0f} ms (overhead {o['overhead_p50_ms']:.0f} ms over the "
                          f"injection), p95 {o['p95_ms']:.0f} ms (overhead "
                          f"{o['overhead_p95_ms']:.0f} ms), p99 {o['p99_ms']:.0f} ms (overhead "
                          f"{o['overhead_p99_ms']:.0f} ms){tail}")
    console.print(f"{os.cpu_count()} CPUs; {results.seconds_taken:.0f} s in all")
