"""`landscape bench --peers`: the fake Stripe head to head with stateless HTTP stubs, and as its
state grows (`--state N`).

The same two operations (POST /v1/customers, GET /v1/customers/{id}) are served by the stateful
fake Stripe, a stateless FastAPI app on the same uvicorn setup answering the fake's own canned
bodies (harness/trivial.py --canned), and, when asked, mountebank and WireMock (installed from
npm into a cache dir, `PEERS_DIR`; WireMock runs its jar on java) answering the same bodies.
Each is a process on 127.0.0.1, driven by wrk (1 thread, `CONNECTIONS` keep-alive connections)
for a fixed time, in alternating rounds; the server CPU each request cost is read from /proc
(the process and its children) around each run. Figures are medians over the rounds, and ratios
to the fake in the same run: absolute figures on a shared machine are noise.

Two more measurements of the fake alone:
* overhead: 50 ms injected on the customer paths, requests at a constant 1,000 a second
  (`OVERHEAD_RATE`), next to the canned app sleeping 50 ms itself; the overhead is the latency
  minus the injection, at p50, p90, p99 and p99.9 (wrk's own histogram). wrk alone is closed
  loop (a connection sends its next request when the answer is in), which over a fixed latency
  bunches the connections into volleys and lets a slow answer delay the requests behind it; so
  request.lua paces the sends on a fixed schedule over twice as many connections as are in
  flight, and reports any send that left late (loadtests/peers/request.lua). With `--pin` (2 or
  more CPUs) each round is measured twice, unpinned and with the server pinned to CPU 0 and wrk
  to CPU 1 (taskset), alternating: on two shared cores, unpinned, the latency includes the
  server and wrk taking turns on a core; pinned, what is left is the server's own wait (its
  event loop, its collector) and the kernel's loopback. Unpinned is the default: pinning lowers
  p50, but on a shared box not p99 reliably (a pinned server cannot leave its core when another
  job runs there; BENCHMARKS.md). `landscape bench --overhead [--pin]` measures this alone;
* state: a fake filled in-process with N customers (through its models, each with its event)
  before it serves, next to an empty one.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from harness.processes import Started, start_process, stop_process

PEERS_SOURCE = Path(__file__).resolve().parents[1] / "loadtests" / "peers"
PEERS_DIR = Path(os.environ.get("LANDSCAPE_PEERS_DIR",
                                Path.home() / ".cache" / "landscape" / "peers"))
CONNECTIONS = 16
INJECTED_MS = 50.0
OVERHEAD_RATE = 1000  # req/s, the overhead measurement's constant arrival rate
SERVER_CPU, WRK_CPU = 0, 1  # `--pin`: the overhead measurement's server and wrk
GROWTH_SECONDS = 30  # `--state`: each filled fake then takes creates for this long
KEY = "sk_test_bench"  # the account GETs read from; each run of creates has its own (`_account`)
POST_BODY = "email=c%40example.com&metadata[n]=1"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Run:
    """One wrk run against one server: throughput, latency, server CPU per request."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    errors: int
    max_ms: float = float("nan")


@dataclass
class Server:
    name: str
    url: str
    pid: int
    stop: Any = field(repr=False)  # () -> None
    filled: bool = False  # holds `KEY`'s customers made before serving (`--state`)


# -- measuring ------------------------------------------------------------------------------------
def wrk(url: str, method: str, seconds: int, connections: int, body: str | None = None,
        headers: dict[str, str] | None = None
        ) -> tuple[int, float, float, float, int, float]:
    """requests, req/s, p50 ms, p99 ms, non-2xx + socket errors, max ms."""
    return _figures(url, wrk_text(url, method, seconds, connections, body, headers))


def wrk_text(url: str, method: str, seconds: int, connections: int, body: str | None = None,
             headers: dict[str, str] | None = None, *, cpu: int | None = None,
             rate: int = 0) -> str:
    """wrk's report. `cpu`: run wrk on that CPU only (taskset); `rate`: send at that constant
    rate (req/s, request.lua) instead of wrk's closed loop."""
    lines = [f"{k}: {v}" for k, v in (headers or {}).items()]
    command = ([] if cpu is None else ["taskset", "-c", str(cpu)]) + [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
        "-s", str(PEERS_SOURCE / "request.lua"), url, "--", method, body or "-", *lines]
    env = {**os.environ, "WRK_RATE": str(rate)} if rate else None
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, env=env)
    return out.stdout + out.stderr


def _figures(url: str, text: str) -> tuple[int, float, float, float, int, float]:
    total = re.search(r"(\d+) requests in", text)
    if total is None:
        raise RuntimeError(f"wrk failed against {url}: {text[-500:]}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", text)
    errors = int(bad.group(1)) if bad else 0
    errors += sum(map(int, socket_errors.groups())) if socket_errors else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    most = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", text)
    longest = (float(most.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[most.group(2)]
               if most else float("nan"))
    return (int(total.group(1)), rps, _latency(text, "50"), _latency(text, "99"), errors,
            longest)


def _late(text: str) -> tuple[int, int]:
    """(requests sent, of which late) of a paced run (request.lua's `done`)."""
    found = re.search(r"paced: rate \d+ sent (\d+) late (\d+)", text)
    if found is None:
        raise RuntimeError(f"wrk did not pace its requests: {text[-500:]}")
    return int(found.group(1)), int(found.group(2))


def _tail(text: str) -> tuple[float, float]:
    """p90 and p99.9 ms (request.lua's `done`)."""
    found = re.search(r"tail us: p90 (\d+) p99\.9 (\d+)", text)
    return (int(found.group(1)) / 1000, int(found.group(2)) / 1000) if found else (
        float("nan"), float("nan"))


def _latency(text: str, percent: str) -> float:
    found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if found is None:
        return float("nan")
    return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its descendants (mountebank and WireMock may fork)."""
    import psutil  # a Locust dependency

    try:
        process = psutil.Process(pid)
        total = sum(process.cpu_times()[:2])
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
        return total
    except psutil.Error:
        return float("nan")


def measure(server: Server, path: str, method: str, seconds: int,
            connections: int = CONNECTIONS, body: str | None = None,
            headers: dict[str, str] | None = None) -> Run:
    before = cpu_seconds(server.pid)
    requests, rps, p50, p99, errors, longest = wrk(server.url + path, method, seconds,
                                                   connections, body, headers)
    spent = cpu_seconds(server.pid) - before
    return Run(requests, rps, p50, p99, round(spent / max(requests, 1) * 1e6, 1), errors,
               longest)


# -- the servers ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _started(name: str, started: Started) -> Server:
    return Server(name, started.url, started.process.pid, lambda: stop_process(started))


def serve_fake(customers: int = 0, collector: str = "", gc_log: Path | None = None) -> Server:
    """The fake Stripe as `landscape serve` runs it; filled with `customers` first if asked,
    with CPython's own collector settings if `collector` is "default" (core/heap.py)."""
    if customers:
        command = [sys.executable, "-m", "harness.bench_peers", "--serve-filled",
                   str(customers), str(gc_log)]
        name = f"stripe {customers:,} customers" + (", default gc" if collector else "")
        with _environ(LANDSCAPE_GC=collector):
            filled = _started(name, start_process(command, 1800))
        filled.filled = True
        return filled
    return _started("stripe fake", start_process(
        [sys.executable, "-m", "harness.cli", "serve", "stripe", "--port", "0", "--seed", "1",
         "--quiet"]))


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def serve_canned(bodies: Path, delay_ms: float = 0.0) -> Server:
    name = "FastAPI canned" + (f" +{delay_ms:.0f} ms" if delay_ms else "")
    return _started(name, start_process(
        [sys.executable, "-m", "harness.trivial", "--port", "0", "--canned", str(bodies),
         "--delay-ms", str(delay_ms)]))


def _spawn(name: str, command: list[str], url: str, ready: str, cwd: Path) -> Server:
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    started = Started(process, url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}): {' '.join(command)}")
        try:
            httpx.get(url + ready, timeout=2)
            return _started(name, started)
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_process(started)
    raise RuntimeError(f"{name} did not start within 60 s")


def install_peers(console: Console) -> Path:
    """mountebank and WireMock from npm into `PEERS_DIR` (once; pinned in
    loadtests/peers/package.json)."""
    modules = PEERS_DIR / "node_modules"
    if (modules / "mountebank").is_dir() and (modules / "wiremock").is_dir():
        return PEERS_DIR
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed to install mountebank and WireMock (`--peers`)")
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(PEERS_SOURCE / "package.json", PEERS_DIR / "package.json")
    console.print(f"installing mountebank and WireMock into {PEERS_DIR} (npm)…")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PEERS_DIR)],
                   check=True, capture_output=True, timeout=600)
    return PEERS_DIR


def serve_mountebank(peers: Path, bodies: dict[str, Any], work: Path) -> Server:
    port, admin = free_port(), free_port()
    headers = {"Content-Type": "application/json"}
    stubs = [{"predicates": [{"equals": {"method": "POST", "path": "/v1/customers"}}],
              "responses": [{"is": {"statusCode": 200, "headers": headers,
                                    "body": bodies["post"]}}]},
             {"predicates": [{"matches": {"method": "GET", "path": "^/v1/customers/[^/]+$"}}],
              "responses": [{"is": {"statusCode": 200, "headers": headers,
                                    "body": bodies["get"]}}]}]
    config = work / "imposters.json"
    config.write_text(json.dumps({"imposters": [{"port": port, "protocol": "http",
                                                 "recordRequests": False, "stubs": stubs}]}))
    command = ["node", str(peers / "node_modules" / "mountebank" / "bin" / "mb"), "start",
               "--host", "127.0.0.1", "--port", str(admin), "--configfile", str(config),
               "--noParse", "--nologfile", "--loglevel", "error",
               "--pidfile", str(work / "mb.pid")]
    return _spawn("mountebank", command, f"http://127.0.0.1:{port}", "/v1/customers/x", work)


def serve_wiremock(peers: Path, bodies: dict[str, Any], work: Path) -> Server:
    if shutil.which("java") is None:
        raise RuntimeError("WireMock needs java")
    port = free_port()
    root = work / "wiremock"
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    headers = {"Content-Type": "application/json"}
    mappings = [{"request": {"method": "POST", "url": "/v1/customers"},
                 "response": {"status": 200, "headers": headers, "jsonBody": bodies["post"]}},
                {"request": {"method": "GET", "urlPathPattern": "/v1/customers/[^/]+"},
                 "response": {"status": 200, "headers": headers, "jsonBody": bodies["get"]}}]
    (root / "mappings" / "customers.json").write_text(json.dumps({"mappings": mappings}))
    jar = next((peers / "node_modules" / "wiremock" / "build").glob("wiremock*.jar"))
    command = ["java", "-jar", str(jar), "--port", str(port), "--bind-address", "127.0.0.1",
               "--root-dir", str(root), "--no-request-journal", "--disable-banner"]
    return _spawn("WireMock", command, f"http://127.0.0.1:{port}", "/__admin/health", work)


# -- the runs -------------------------------------------------------------------------------------
OPERATIONS = {"POST /v1/customers": ("POST", "/v1/customers", POST_BODY),
              "GET /v1/customers/{id}": ("GET", None, None)}


def _customer(fake: Server) -> tuple[str, dict[str, Any]]:
    """A customer on the fake (for GET), and the fake's answers: the peers serve those."""
    auth = {"Authorization": f"Bearer {KEY}"}
    post = httpx.post(fake.url + "/v1/customers", content=POST_BODY,
                      headers={**auth, "Content-Type": FORM})
    post.raise_for_status()
    customer = post.json()["id"]
    get = httpx.get(f"{fake.url}/v1/customers/{customer}", headers=auth)
    get.raise_for_status()
    return customer, {"post": post.json(), "get": get.json()}


_ACCOUNTS = itertools.count(1)


def _account(method: str, server: Server) -> str:
    """The API key a run sends: creates each get a new account (a tenant of the fake), so no
    run fills the fake's cap of objects per account (100,000 customers: past it, creates are
    refused) for the runs after it; reads use `KEY`'s, where their customer is, and so do
    creates on a filled fake (into the account it holds; its cap is raised to fit)."""
    return f"{KEY}_{next(_ACCOUNTS)}" if method == "POST" and not server.filled else KEY


def _round(servers: list[Server], customers: dict[str, str], seconds: int
           ) -> dict[str, dict[str, Run]]:
    out: dict[str, dict[str, Run]] = {}
    for server in servers:
        for label, (method, path, body) in OPERATIONS.items():
            where = path or f"/v1/customers/{customers.get(server.name, 'cus_canned')}"
            headers = {"Authorization": f"Bearer {_account(method, server)}"}
            out.setdefault(server.name, {})[label] = measure(
                server, where, method, seconds, body=body,
                headers={**headers, "Content-Type": FORM} if body else headers)
    return out


def _median(runs: list[Run]) -> Run:
    def mid(name: str) -> float:
        return float(statistics.median(getattr(r, name) for r in runs))
    return Run(int(mid("requests")), mid("rps"), mid("p50_ms"), mid("p99_ms"), mid("cpu_us"),
               int(max(r.errors for r in runs)), max(r.max_ms for r in runs))


def run_peers(*, peers: bool, state: int, seconds: int, rounds: int, console: Console,
              json_path: Path | None = None, pin: bool = False,
              overhead_only: bool = False) -> int:
    """Exit code 0, or 1 if a server or wrk failed (said on the console). `overhead_only`:
    the overhead measurement alone (the fake and the canned app, `landscape bench
    --overhead`); `pin`: it measured pinned as well as unpinned (see the module's doc)."""
    if shutil.which("wrk") is None:
        console.print("[red]wrk is needed[/red] (`apt-get install wrk`)")
        return 1
    if pin and (shutil.which("taskset") is None or len(_all_cpus()) < 2):
        console.print("[red]--pin needs taskset and 2 CPUs or more[/red]")
        return 1
    began = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = (_measure_overhead_only(Path(tmp), seconds, rounds, pin) if overhead_only
                      else _measure_all(Path(tmp), peers, state, seconds, rounds, console, pin))
    except (RuntimeError, httpx.HTTPError, subprocess.SubprocessError, OSError) as exc:
        console.print(f"[red]benchmark failed:[/red] {exc}")
        return 1
    if not overhead_only:
        _print(result, seconds, rounds, console)
    _print_overhead(result["overhead"], seconds, rounds, console)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({
            **result, "figures": {s: {op: asdict(r) for op, r in ops.items()}
                                  for s, ops in result.get("figures", {}).items()},
            "run": {"seconds": seconds, "rounds": rounds, "connections": CONNECTIONS,
                    "overhead_rate": OVERHEAD_RATE, "pin": pin,
                    "cpus": os.cpu_count(), "load_average": list(os.getloadavg()),
                    "seconds_taken": round(time.monotonic() - began, 1)}}, indent=1) + "\n")
        console.print(f"figures written to {json_path}")
    failed = _failed_runs(result)
    if failed:
        console.print("[red]some runs were answered with errors, so their figures are not of "
                      "the operation:[/red] " + "; ".join(failed) + " (the fake's request log, "
                      "`landscape serve stripe` without --quiet, shows what it answered)")
        return 1
    return 0


def _failed_runs(result: dict[str, Any]) -> list[str]:
    """'server operation: N errors' for each measured row whose runs had non-2xx answers or
    socket errors."""
    failed = [f"{name} {op}: {run.errors} errors"
              for name, ops in result.get("figures", {}).items()
              for op, run in ops.items() if run.errors]
    failed += [f"{name} {op} ({mode}, at {OVERHEAD_RATE:,} req/s): {o['errors']} errors"
               for name, ops in result["overhead"].items() for op, modes in ops.items()
               for mode, o in modes.items() if o["errors"]]
    return failed


def _measure_overhead_only(work: Path, seconds: int, rounds: int, pin: bool
                           ) -> dict[str, Any]:
    servers: list[Server] = []
    try:
        fake = serve_fake()
        servers.append(fake)
        customer, bodies = _customer(fake)
        (work / "bodies.json").write_text(json.dumps(bodies))
        delayed = serve_canned(work / "bodies.json", INJECTED_MS)
        servers.append(delayed)
        overhead = measure_overhead(fake, delayed, customer, seconds, rounds, pin=pin)
    finally:
        for server in servers:
            server.stop()
    return {"fake": fake.name, "overhead": overhead}


def _measure_all(work: Path, peers: bool, state: int, seconds: int, rounds: int,
                 console: Console, pin: bool = False) -> dict[str, Any]:
    servers: list[Server] = []
    gc_logs: dict[str, Path] = {}
    try:
        fake = serve_fake()
        servers.append(fake)
        customer, bodies = _customer(fake)
        (work / "bodies.json").write_text(json.dumps(bodies))
        servers.append(serve_canned(work / "bodies.json"))
        customers = {fake.name: customer}
        if peers:
            installed = install_peers(console)
            servers.append(serve_mountebank(installed, bodies, work))
            servers.append(serve_wiremock(installed, bodies, work))
        if state:  # one after the other: each holds its state in memory
            for collector in ("", "default"):
                log = work / f"gc-{collector or 'tuned'}.json"
                filled = serve_fake(state, collector, log)
                servers.append(filled)
                gc_logs[filled.name] = log
                customers[filled.name] = _customer(filled)[0]
        for server in servers:  # warm up (JIT, caches) before measuring
            _round([server], customers, 1)
        runs: list[dict[str, dict[str, Run]]] = []
        for i in range(rounds):
            order = servers if i % 2 == 0 else servers[::-1]
            runs.append(_round(order, customers, seconds))
        figures = {s.name: {op: _median([r[s.name][op] for r in runs])
                            for op in OPERATIONS} for s in servers}
        growth = {s.name: measure(s, "/v1/customers", "POST", GROWTH_SECONDS, body=POST_BODY,
                                  headers={"Authorization": f"Bearer {KEY}",
                                           "Content-Type": FORM})
                  for s in servers if s.name in gc_logs}
        delayed = serve_canned(work / "bodies.json", INJECTED_MS)
        servers.append(delayed)
        overhead = measure_overhead(fake, delayed, customer, seconds, rounds, pin=pin)
        memory = {s.name: _rss_mb(s.pid) for s in servers}
    finally:
        for server in servers:
            server.stop()
    collector = {name: json.loads(log.read_text()) for name, log in gc_logs.items()
                 if log.exists()}
    return {"fake": fake.name, "figures": figures, "overhead": overhead, "rss_mb": memory,
            "growth": {name: asdict(run) for name, run in growth.items()},
            "collector": collector}


def _all_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pin_process(pid: int, cpus: list[int]) -> None:
    """`pid` and its descendants on `cpus` only."""
    import psutil

    process = psutil.Process(pid)
    for each in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            each.cpu_affinity(cpus)


def measure_overhead(fake: Server, delayed: Server, customer: str, seconds: int, rounds: int,
                     *, pin: bool) -> dict[str, Any]:
    """`INJECTED_MS` injected on the fake's customer paths, next to `delayed` (the canned app
    waiting as long by itself); requests at `OVERHEAD_RATE` a second over twice as many
    connections as that keeps in flight. `rounds` alternating rounds (servers, and with `pin`
    unpinned/pinned, in turn), medians: {server: {operation: {"unpinned"|"pinned": figures}}}."""
    connections = 2 * round(OVERHEAD_RATE * INJECTED_MS / 1000)
    modes = ["unpinned", "pinned"] if pin else ["unpinned"]
    servers = [fake, delayed]
    response = httpx.post(f"{fake.url}/_sim/faults", json={
        "kind": "latency", "latency": {"kind": "fixed", "ms": INJECTED_MS},
        "match": {"path": "/v1/customers*"}})
    response.raise_for_status()
    runs: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    try:
        for i in range(max(1, rounds)):
            for mode in modes if i % 2 == 0 else modes[::-1]:
                for server in servers if i % 2 == 0 else servers[::-1]:
                    pinned = mode == "pinned"
                    pin_process(server.pid, [SERVER_CPU] if pinned else _all_cpus())
                    try:
                        for label, (method, path, body) in OPERATIONS.items():
                            runs.setdefault((server.name, label, mode), []).append(
                                _overhead_run(server, path or f"/v1/customers/{customer}",
                                              method, body, seconds, connections,
                                              WRK_CPU if pinned else None))
                    finally:
                        pin_process(server.pid, _all_cpus())
    finally:
        httpx.delete(f"{fake.url}/_sim/faults")
    out: dict[str, Any] = {}
    for (name, label, mode), figures in runs.items():
        median = {k: round(float(statistics.median(f[k] for f in figures)), 2)
                  for k in figures[0]}
        median.update(errors=max(f["errors"] for f in figures), connections=connections,
                      late=max(f["late"] for f in figures), rounds=len(figures))
        out.setdefault(name, {}).setdefault(label, {})[mode] = median
    return out


def _overhead_run(server: Server, path: str, method: str, body: str | None, seconds: int,
                  connections: int, cpu: int | None) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {_account(method, server)}"}
    if body:
        headers["Content-Type"] = FORM
    before = cpu_seconds(server.pid)
    text = wrk_text(server.url + path, method, seconds, connections, body, headers, cpu=cpu,
                    rate=OVERHEAD_RATE)
    spent = cpu_seconds(server.pid) - before
    requests, rps, p50, p99, errors, longest = _figures(server.url + path, text)
    p90, p999 = _tail(text)
    sent, late = _late(text)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99,
            "overhead_p50_ms": p50 - INJECTED_MS, "overhead_p90_ms": p90 - INJECTED_MS,
            "overhead_p99_ms": p99 - INJECTED_MS, "overhead_p999_ms": p999 - INJECTED_MS,
            "overhead_max_ms": longest - INJECTED_MS,
            "cpu_us": spent / max(requests, 1) * 1e6, "errors": errors,
            "late": late / max(sent, 1) * 100}


def _rss_mb(pid: int) -> float:
    import psutil

    try:
        process = psutil.Process(pid)
        rss = process.memory_info().rss + sum(c.memory_info().rss
                                             for c in process.children(recursive=True))
        return round(rss / 2**20, 1)
    except psutil.Error:
        return float("nan")


def _print(result: dict[str, Any], seconds: int, rounds: int, console: Console) -> None:
    figures, fake, memory = result["figures"], result["fake"], result["rss_mb"]
    table = Table(title=f"the fake Stripe and stateless peers: wrk 1 thread, {CONNECTIONS} "
                  f"connections, {seconds} s x {rounds} alternating rounds (medians), "
                  "127.0.0.1, server and load on the same cores")
    for column in ("server", "operation", "req/s", "p50 ms", "p99 ms", "max ms", "p99÷p50",
                   "server CPU µs/req", "errors", "fake req/s ÷ this", "fake CPU ÷ this",
                   "RSS MB"):
        table.add_column(column, justify="left" if column in ("server", "operation")
                         else "right")
    for name, operations in figures.items():
        table.add_section()
        for label, run in operations.items():
            base = figures[fake][label]
            table.add_row(name, label, f"{run.rps:,.0f}", f"{run.p50_ms:.2f}",
                          f"{run.p99_ms:.2f}", f"{run.max_ms:.0f}",
                          f"{run.p99_ms / run.p50_ms:.1f}", f"{run.cpu_us:.0f}",
                          str(run.errors), f"{base.rps / run.rps:.2f}",
                          f"{base.cpu_us / run.cpu_us:.2f}",
                          f"{memory.get(name, float('nan')):.0f}")
    console.print(table, width=max(console.width, 170))
    for name, run in result["growth"].items():
        pauses = result["collector"].get(name, {})
        ran = ", ".join(f"{pauses.get(f'gen{g}', {}).get('collections', '?')} {label} "
                        f"(longest {pauses.get(f'gen{g}', {}).get('max_ms', '?')} ms)"
                        for g, label in ((0, "young"), (1, "middle"), (2, "full")))
        console.print(f"  growing {name}: POST for {GROWTH_SECONDS} s: {run['requests']:,} "
                      f"creates, p50 {run['p50_ms']:.2f} ms, p99 {run['p99_ms']:.2f} ms, max "
                      f"{run['max_ms']:.0f} ms; collections while serving: {ran}; one full "
                      f"collection took {pauses.get('full_collection_ms', '?')} ms once filled "
                      f"({pauses.get('tracked_objects', 0):,} objects tracked)")


def _print_overhead(overhead: dict[str, Any], seconds: int, rounds: int,
                    console: Console) -> None:
    table = Table(title=f"overhead over {INJECTED_MS:.0f} ms of latency (injected in the fake; "
                  "slept by the canned app): latency minus the wait, same percentile; wrk 1 "
                  f"thread, {OVERHEAD_RATE:,} requests a second on a fixed schedule "
                  "(request.lua), latency from each send; late: % of sends more than 1 ms "
                  f"behind their slot; {seconds} s x {rounds} alternating rounds (medians); "
                  f"pinned: server on CPU {SERVER_CPU}, wrk on CPU {WRK_CPU} (taskset), "
                  "unpinned: both on every CPU")
    for column in ("server", "operation", "CPUs", "req/s", "p50", "p90", "p99", "p99.9",
                   "max", "server CPU µs/req", "errors", "late %"):
        table.add_column(column + (" ms" if column[0] in "pm" else ""),
                         justify="left" if column in ("server", "operation", "CPUs")
                         else "right")
    for name, operations in overhead.items():
        table.add_section()
        for label, modes in operations.items():
            for mode, o in modes.items():
                table.add_row(name, label, mode, f"{o['rps']:,.0f}",
                              *(f"{o[f'overhead_{q}_ms']:.2f}"
                                for q in ("p50", "p90", "p99", "p999", "max")),
                              f"{o['cpu_us']:.0f}", str(o["errors"]), f"{o['late']:.1f}")
    console.print(table, width=max(console.width, 170))


# -- a fake filled before it serves ---------------------------------------------------------------
def serve_filled(customers: int, log: Path | None = None) -> None:
    """`python -m harness.bench_peers --serve-filled N [GC_LOG]`: the fake Stripe with N
    customers (and their events) made through its models, then served like `landscape serve`;
    once it stops, what the collector cost it goes to GC_LOG (JSON)."""
    from simulators.core import heap
    from simulators.core.app import build_app
    from simulators.core.config import build_simulator
    from simulators.core.server import bind, serve_forever, url_of
    from simulators.registry import create_vendor
    from simulators.stripe import models

    sim = build_simulator(create_vendor("stripe"), None, seed=1)
    sim.settings = {**sim.settings, "max_objects_per_collection": customers * 2 + 100_000}
    app = build_app(sim)
    tenant = sim.tenants.get(KEY)
    assert tenant is not None
    op = models.Op(sim, tenant)
    began = time.monotonic()
    for n in range(customers):
        models.create_customer(op, {"email": f"c{n}@example.com", "metadata": {"n": str(n)}})
    filled = time.monotonic() - began
    walk = time.perf_counter()
    gc.collect()  # what one full collection costs now
    full = {"full_collection_ms": round((time.perf_counter() - walk) * 1e3, 1),
            "fill_seconds": round(filled, 1), "tracked_objects": len(gc.get_objects())}
    heap.install()  # as serve_forever will (a no-op under LANDSCAPE_GC=default)
    gc.callbacks.append(Pauses(log, full))
    sock = bind("127.0.0.1", 0)
    print(f"filled {customers} customers in {filled:.0f} s; serving on {url_of(sock, None)}",
          flush=True)
    serve_forever(app, sock)  # tunes the collector first, unless LANDSCAPE_GC=default


class Pauses:
    """What the collector stopped the fake for while it served (a gc.callbacks hook), written
    to `log` after each full collection (uvicorn ends the process by re-raising SIGTERM)."""

    def __init__(self, log: Path | None, facts: dict[str, Any]) -> None:
        self.log, self.facts = log, facts
        self.started = 0.0
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.write()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        self.pauses[info["generation"]].append((time.perf_counter() - self.started) * 1e3)
        if info["generation"] > 0:  # a young one every ~700 allocations: too often to write
            self.write()

    def write(self) -> None:
        if self.log is not None:
            self.log.write_text(json.dumps({**self.facts, **{
                f"gen{g}": {"collections": len(p), "max_ms": round(max(p, default=0.0), 2),
                            "total_ms": round(sum(p), 1)} for g, p in self.pauses.items()}}))


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--serve-filled":
        serve_filled(int(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) == 4 else None)
    else:
        sys.exit("usage: python -m harness.bench_peers --serve-filled N [GC_LOG] "
                 "(or `landscape bench --peers`)")
