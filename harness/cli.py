"""The `landscape` command line.

    landscape serve stripe --port 12111          # a fake on 127.0.0.1, Ctrl-C to stop
    landscape up [TOPOLOGY]                      # a merchant topology as processes, Ctrl-C
    landscape faults add --kind drop_after --method POST --path '/v1/payment_intents'
    landscape faults list | clear
    landscape clock advance 86400
    landscape demo                               # the main job: the headline scenario
    landscape run netsuite-brownout --seed 3     # any scenario; exit 1 if an invariant fails
    landscape up                                 # a topology as processes, until Ctrl-C
    landscape bench stripe                       # throughput and latency overhead
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from simulators.client import ControlClient, ControlError, FakeUnreachable
from simulators.registry import VENDORS, create_vendor

T = TypeVar("T")

app = typer.Typer(help="Fake payment-recovery landscape: Stripe, Chargebee, NetSuite, Salesforce.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
faults_app = typer.Typer(help="Inject, list and clear faults on a running fake.",
                         no_args_is_help=True)
clock_app = typer.Typer(help="Read and advance a running fake's simulated clock.",
                        no_args_is_help=True)
app.add_typer(faults_app, name="faults")
app.add_typer(clock_app, name="clock")
console = Console(width=None if sys.stdout.isatty() else 120)  # wide tables in logs too
err = Console(stderr=True, soft_wrap=True)

URL_HELP = "Base URL of the running fake (default: the Stripe fake's default address)"
DEFAULT_URL = f"http://127.0.0.1:{create_vendor('stripe').default_port}"
CA_HELP = "CA file to trust for a fake served with --tls (serve prints its path)"
TOKEN_HELP = "The fake's control-plane token, if it was started with one"
TOKEN_ENV = "LANDSCAPE_CONTROL_TOKEN"  # what `serve` and the control client read too
CONTROL_TOKEN = typer.Option(None, "--control-token", envvar=TOKEN_ENV, help=TOKEN_HELP)
CREDENTIAL_KEYS = ("api_key", "client_id", "client_secret", "consumer_key", "consumer_secret",
                   "token_id", "token_secret", "username", "password", "security_token")


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@app.command()
def serve(
    vendor: str = typer.Argument(..., help=f"One of: {', '.join(VENDORS)}"),
    port: int = typer.Option(None, help="Port (0 picks a free one; default per vendor: "
                             + ", ".join(f"{v} {create_vendor(v).default_port}"
                                         for v in VENDORS) + ")"),
    host: str = typer.Option("127.0.0.1", help="Loopback address to listen on"),
    tls: bool = typer.Option(False, "--tls", help="Serve https with the local CA "
                             "(simple-salesforce and chargebee insist on https)"),
    seed: int = typer.Option(None, help="Seed for ids, data and every fault/latency draw"),
    config: Path = typer.Option(None, "--config", help="Fake config file (YAML): tenants, "
                                "schemas, latency, limits, faults; see simulators/core/config.py"),
    schema: Path = typer.Option(None, "--schema", help="Per-merchant schema (YAML) for "
                                "tenants that don't name one"),
    controlled_clock: bool = typer.Option(None, "--controlled-clock/--real-clock",
                                          help="Freeze simulated time until advanced"),
    tls_dir: Path = typer.Option(None, help="Where the local CA lives (default ~/.landscape/tls)"),
    request_log: Path = typer.Option(None, "--request-log", help="Append one line per request "
                                     "to this file: time, tenant, method, path, status, ms"),
) -> None:
    """Run one fake vendor on loopback until Ctrl-C."""
    from simulators.core.app import build_app
    from simulators.core.config import ConfigError, build_simulator, load_config
    from simulators.core.guard import ControlSettings
    from simulators.core.pipeline import RequestLog
    from simulators.core.server import NotLoopback, bind, serve_forever, url_of
    from simulators.core.tls import ensure_certificates

    if vendor not in VENDORS:
        fail(f"unknown vendor {vendor!r}; choose one of: {', '.join(VENDORS)}")
    try:
        fake_config = load_config(config) if config else None
        the_vendor = create_vendor(vendor)
        sim = build_simulator(the_vendor, fake_config, config_path=config, seed=seed,
                              controlled_clock=controlled_clock, schema_path=schema)
        control = ControlSettings.of(vendor, sim.settings)
        port = the_vendor.default_port if port is None else port
        sock = bind(host, port)
    except (ConfigError, NotLoopback, ValueError) as exc:  # ValueError: settings.control
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port "
             "(0 chooses a free one)")
    try:
        requests = RequestLog(request_log) if request_log else None
    except OSError as exc:
        fail(f"--request-log {request_log}: cannot write it ({exc.strerror})")
    certificate = ensure_certificates(tls_dir) if tls else None
    url = url_of(sock, certificate)
    console.print(f"[bold]fake {vendor}[/bold] on {url}  (seed {sim.seed}, "
                  f"{sim.clock.describe()['mode']} clock)")
    if certificate:
        console.print(f"  trust this CA: {certificate.ca_file}")
    console.print(f"  control plane: {url}/_sim/health · OpenAPI: {url}/_sim/openapi.json")
    if control.token:
        console.print(f"  the control plane needs its token (${TOKEN_ENV} or --control-token)")
    for tenant in sim.tenants.all():
        console.print(f"  tenant {tenant.id}"
                      + (f" (schema {tenant.schema.name})" if tenant.schema else ""))
        credentials = {k: v for k, v in tenant.settings.items() if k in CREDENTIAL_KEYS}
        if credentials:
            console.print("    " + "  ".join(f"{k}={v}" for k, v in credentials.items()))
    if vendor == "stripe":
        console.print("  any sk_test_… key is an account (a tenant)")
    if requests:
        console.print(f"  request log: {requests.path}")
    sys.stdout.flush()
    serve_forever(build_app(sim, requests), sock, certificate)


@app.command()
def up(
    topology: str = typer.Argument(None, help="A topology file, or the name of a shipped one "
                                   "(scenarios/topologies/; default netsuite-stripe-salesforce)"),
    run_dir: Path = typer.Option(None, "--run-dir", help="Configs, logs, stores and "
                                 "landscape.env (default ./landscape-run/<topology name>)"),
    seed: int = typer.Option(None, help="Seed for every fake (default: the topology's)"),
    no_data: bool = typer.Option(False, "--no-data", help="Seed no customers: empty fakes"),
) -> None:
    """Run a merchant topology on 127.0.0.1: its fakes and each merchant's recovery and sync
    services as processes, until Ctrl-C."""
    from rich.markup import escape

    from harness.launcher import LaunchError
    from harness.launcher import up as run_landscape
    from harness.topology import DEFAULT_TOPOLOGY, TopologyError

    try:
        run_landscape(topology or DEFAULT_TOPOLOGY, run_dir, seed=seed, data=not no_data,
                      console=console)
    except (TopologyError, LaunchError) as exc:
        fail(escape(str(exc)))


# -- faults ---------------------------------------------------------------------------------------
def _control(url: str, ca: Path | None, operation: Callable[[ControlClient], T],
             token: str | None = None) -> T:
    """Run one control-plane operation; its errors become one line on stderr, not a traceback."""
    try:
        with ControlClient(url, verify=ca or True, token=token) as client:
            return operation(client)
    except (ControlError, FakeUnreachable) as exc:
        fail(str(exc))


@faults_app.command("add")
def faults_add(
    kind: str = typer.Option(..., help="latency, http_error, rate_limit, concurrency_limit, "
                             "brownout, auth_expired, hang, drop_before, drop_after, truncate, "
                             "slow_body, decline, webhook_drop, webhook_duplicate, "
                             "webhook_delay, webhook_reorder, webhook_burst"),
    url: str = typer.Option(DEFAULT_URL, help=URL_HELP),
    probability: float = typer.Option(1.0, help="Chance that a matching request is hit"),
    method: str = typer.Option(None, help="Match: HTTP method"),
    path: str = typer.Option(None, help="Match: path glob, e.g. '/v1/payment_intents*'"),
    tenant: str = typer.Option(None, help="Match: tenant id"),
    event_type: str = typer.Option(None, help="Match (webhooks): event type glob"),
    first_n: int = typer.Option(None, help="Hit only the first N matching requests"),
    window_start: float = typer.Option(None, help="Active from N s (simulated) after added"),
    window_end: float = typer.Option(None, help="Inactive from N s after added"),
    status: int = typer.Option(None, help="http_error/brownout status"),
    code: str = typer.Option(None, help="Vendor error code; for decline, the decline code"),
    after_commit: bool = typer.Option(False, help="http_error: run the handler first"),
    retry_after: float = typer.Option(None, help="rate_limit: Retry-After seconds"),
    latency_ms: float = typer.Option(None, help="Fixed extra latency in ms"),
    seconds: float = typer.Option(None, help="hang duration / webhook_delay"),
    limit: int = typer.Option(None, help="concurrency_limit: max in flight"),
    copies: int = typer.Option(None, help="webhook_duplicate/burst: extra copies"),
    spec_json: str = typer.Option(None, "--json", help="The whole fault as JSON instead"),
    ca: Path = typer.Option(None, "--ca", help=CA_HELP),
    control_token: str = CONTROL_TOKEN,
) -> None:
    """Install a fault on a running fake."""
    if spec_json:
        try:
            spec = json.loads(spec_json)
        except ValueError as exc:
            fail(f"--json is not valid JSON: {exc}")
    else:
        match = {k: v for k, v in {"method": method, "path": path, "tenant": tenant,
                                   "event_type": event_type}.items() if v is not None}
        spec = {"kind": kind, "probability": probability, "match": match, "first_n": first_n,
                "window_start": window_start, "window_end": window_end, "status": status,
                "code": code, "after_commit": after_commit, "retry_after": retry_after,
                "seconds": seconds, "limit": limit, "copies": copies}
        if latency_ms is not None:
            spec["latency"] = {"kind": "fixed", "ms": latency_ms}
        spec = {k: v for k, v in spec.items() if v is not None}
    fault = _control(url, ca, lambda fake: fake.faults.add(spec), control_token)
    console.print(f"added {fault.id} ({fault.kind})")


@faults_app.command("list")
def faults_list(url: str = typer.Option(DEFAULT_URL, help=URL_HELP),
                ca: Path = typer.Option(None, "--ca", help=CA_HELP),
                control_token: str = CONTROL_TOKEN) -> None:
    """List installed faults with how often they matched and hit."""
    faults = _control(url, ca, lambda fake: fake.faults.list(), control_token)
    table = Table("id", "kind", "probability", "match", "matched", "hits")
    for fault in faults:
        table.add_row(fault.id, fault.kind, str(fault.probability),
                      json.dumps(fault.match.model_dump(exclude_none=True)), str(fault.matched),
                      str(fault.hits))
    console.print(table if faults else "no faults installed")


@faults_app.command("clear")
def faults_clear(url: str = typer.Option(DEFAULT_URL, help=URL_HELP),
                 fault_id: str = typer.Option(None, "--id", help="Remove only this fault"),
                 ca: Path = typer.Option(None, "--ca", help=CA_HELP),
                 control_token: str = CONTROL_TOKEN) -> None:
    """Remove every fault (or one)."""
    _control(url, ca, lambda fake: fake.faults.remove(fault_id) if fault_id
             else fake.faults.clear(), control_token)
    console.print(f"removed {fault_id or 'all faults'}")


# -- clock ----------------------------------------------------------------------------------------
@clock_app.command("show")
def clock_show(url: str = typer.Option(DEFAULT_URL, help=URL_HELP),
               ca: Path = typer.Option(None, "--ca", help=CA_HELP),
               control_token: str = CONTROL_TOKEN) -> None:
    """Print simulated time."""
    console.print(_control(url, ca, lambda fake: fake.clock.describe(),
                           control_token).model_dump())


@clock_app.command("advance")
def clock_advance(seconds: float = typer.Argument(..., help="How far to move time"),
                  url: str = typer.Option(DEFAULT_URL, help=URL_HELP),
                  ca: Path = typer.Option(None, "--ca", help=CA_HELP),
                  control_token: str = CONTROL_TOKEN) -> None:
    """Advance simulated time; renewals, retries and webhook retries due on the way run."""
    console.print(_control(url, ca, lambda fake: fake.clock.advance(seconds),
                           control_token).model_dump())


# -- demo and benchmark ---------------------------------------------------------------------------
@app.command()
def demo(seed: int = typer.Option(None, help="Seed (default: the topology's, 7)"),
         report_dir: Path = typer.Option(Path("landscape-run/demo"), "--report-dir",
                                         help="Where report.html and result.json go")) -> None:
    """The main job: a decline storm through a NetSuite brownout, judged and reported."""
    from harness.demo import run_demo

    raise typer.Exit(_judged(lambda: run_demo(seed, console, report_dir)))


@app.command()
def run(
    scenario: str = typer.Argument(..., help="A scenario file, or a shipped one's name: "
                                   "headline, decline-storm, netsuite-brownout, …"),
    topology: str = typer.Option(None, help="A topology file or shipped name (default: the "
                                 "scenario's)"),
    seed: int = typer.Option(None, help="Seed (default: the topology's)"),
    processes: bool = typer.Option(False, "--processes", help="Real processes on 127.0.0.1 "
                                   "in real time (default: in-process on virtual time)"),
    without: list[str] = typer.Option(None, "--without", help="Switch a protection off "
                                      "(inbox, idempotency_key, dunning_check, erp_paid_check, "
                                      "signature_check) to see what it prevents"),
    mode: str = typer.Option(None, help="The engine's ERP context: cached (from the sync's "
                             "cache) or naive (read live on the hot path)"),
    declines: int = typer.Option(None, help="How many renewals fail (default: the scenario's; "
                                 "at most the seeded customers)"),
    customers: int = typer.Option(None, help="Customers seeded per merchant (default: the "
                                  "topology's data volume)"),
    quiet: float = typer.Option(None, help="Seconds of quiet after the traffic (default: the "
                                "scenario's; shorten it for --processes)"),
    report_dir: Path = typer.Option(None, "--report-dir", help="Where report.html and "
                                    "result.json go (default landscape-run/<scenario>)"),
) -> None:
    """Play a scenario and check its invariants; exit 1 (with the replay command) if one fails."""
    from harness.report import print_summary, write_html
    from harness.scenario_run import run_scenario

    def go() -> int:
        if mode not in (None, "cached", "naive"):
            fail(f"--mode {mode!r}: choose cached or naive")
        result = run_scenario(scenario, topology_ref=topology, seed=seed, processes=processes,
                              without=without or [], mode=mode, declines=declines,
                              quiet=quiet, customers=customers, say=console.print)
        folder = report_dir or Path("landscape-run") / result["scenario"]["name"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "result.json").write_text(json.dumps(result, indent=1, default=str))
        print_summary(result, console)
        console.print(f"report: {write_html(result, folder / 'report.html')}")
        return 0 if result["passed"] else 1

    raise typer.Exit(_judged(go))


def _judged(job: Callable[[], int]) -> int:
    """A run's exit code; a problem in the user's files is one line (exit 2), anything else
    one line naming the file that holds its traceback (exit 3)."""
    import traceback

    from harness.launcher import LaunchError
    from harness.scenario import ScenarioError
    from harness.seeding import SeedingError
    from harness.topology import TopologyError

    try:
        return job()
    except (ScenarioError, TopologyError, SeedingError, LaunchError) as exc:
        fail(str(exc))
    except Exception as exc:  # a bug of ours or a process that died: said, not dumped
        log = Path("landscape-run") / "error.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        fail(f"the run stopped: {type(exc).__name__}: {exc}; the traceback is in {log}", 3)


@app.command()
def walkthrough(seed: int = typer.Option(7, help="Seed for the fake")) -> None:
    """A Stripe recovery walkthrough with the official SDK against a served fake Stripe."""
    from harness.demo import run_stripe_walkthrough

    raise typer.Exit(run_stripe_walkthrough(seed, console))


@app.command()
def bench(vendor: str = typer.Argument("stripe", help="Only stripe for now"),
          seconds: float = typer.Option(8.0, help="Duration of each load phase"),
          users: int = typer.Option(16, help="Concurrent Locust users")) -> None:
    """Throughput and latency overhead of a fake next to a trivial endpoint, same server."""
    from harness.bench import run_benchmark

    if vendor != "stripe":
        fail("only `landscape bench stripe` exists so far")
    raise typer.Exit(run_benchmark(seconds, users, console))


if __name__ == "__main__":
    app()
