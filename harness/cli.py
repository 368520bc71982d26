"""The `landscape` command line.

    landscape serve stripe --port 12111          # a fake on 127.0.0.1, Ctrl-C to stop
    landscape up [TOPOLOGY]                      # a merchant topology as processes, Ctrl-C
    landscape faults add --kind drop_after --method POST --path '/v1/payment_intents'
    landscape faults list | clear
    landscape clock show | advance 86400
    landscape journal | tenants | state snapshot NAME | latency show   # and more: --help
    landscape demo                               # the main job: the headline scenario
    landscape run netsuite-brownout --seed 3     # any scenario; exit 1 if an invariant fails
    landscape bench [VENDOR...] [--json FILE]    # throughput and latency overhead
    landscape bench --peers [--state N]          # vs mountebank/WireMock; as state grows
    landscape bench --overhead [--pin]           # over 50 ms injected, at 1,000 req/s

The control commands (faults, clock, journal, tenants, state, latency) live in
harness/control_commands.py.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import click
import typer
from rich.console import Console
from typer.core import TyperArgument, TyperOption

from harness import control_commands
from harness.control_commands import TLS_DIR_ENV, TOKEN_ENV, Output, clock_app, faults_app
from simulators.registry import VENDORS, create_vendor

# --help labels: Typer draws a type beside every parameter (<str>, <bool>, <list[str]>); say
# what to write instead: an option's metavar (PORT, FILE) or its name, the choices of a choice,
# nothing for a flag or a plain argument (its name is already there).
_typer_label = TyperOption.display_type_rich


def _option_label(self: TyperOption, ctx: click.Context) -> str | None:
    if self.is_flag:
        return None
    if self.metavar or self.type_descriptor.is_choice:
        return self.metavar or _typer_label(self, ctx)
    return (self.name or "value").upper()


def _argument_label(self: TyperArgument, ctx: click.Context) -> str | None:
    return _typer_label(self, ctx) if self.type_descriptor.is_choice else None  # type: ignore


TyperOption.display_type_rich = _option_label  # type: ignore[method-assign]
TyperArgument.display_type_rich = _argument_label  # type: ignore[method-assign]

app = typer.Typer(help="Fake payment-recovery landscape: Stripe, Chargebee, NetSuite, Salesforce.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(faults_app, name="faults")
app.add_typer(clock_app, name="clock")
app.add_typer(control_commands.state_app, name="state")
app.add_typer(control_commands.latency_app, name="latency")
app.command("journal")(control_commands.journal)
app.command("tenants")(control_commands.tenants)
console = Console(width=None if sys.stdout.isatty() else 120)  # wide tables in logs too
err = Console(stderr=True, soft_wrap=True)
Output.out, Output.err = console, err

CREDENTIAL_KEYS = ("api_key", "client_id", "client_secret", "consumer_key", "consumer_secret",
                   "token_id", "token_secret", "username", "password", "security_token")
FLAG = ""  # metavar of an on/off option: no `<bool>` label in --help


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            console.print(f"landscape {version('landscape')}")
        except PackageNotFoundError:
            console.print("landscape (not installed: no version)")
        raise typer.Exit()


@app.callback()
def main(_version_: bool = typer.Option(False, "--version", metavar=FLAG, is_eager=True,
                                        callback=_version, help="Print the version and exit")
         ) -> None:
    """Fake payment-recovery landscape: Stripe, Chargebee, NetSuite, Salesforce."""


# the registry's vendors as a choice, so the help lists them
VendorName = enum.Enum("VendorName", {name: name for name in VENDORS}, type=str)


@app.command()
def serve(
    vendor: VendorName = typer.Argument(..., metavar="VENDOR", help="The vendor to fake"),
    port: int = typer.Option(None, metavar="PORT", help="Port (0 picks a free one; default per "
                             "vendor: " + ", ".join(f"{v} {create_vendor(v).default_port}"
                                                    for v in VENDORS) + ")"),
    host: str = typer.Option("127.0.0.1", metavar="HOST", help="Loopback address to listen on"),
    tls: bool = typer.Option(False, "--tls", metavar=FLAG, help="Serve https with the local CA "
                             "(simple-salesforce and chargebee insist on https)"),
    seed: int = typer.Option(None, metavar="SEED", help="Seed for ids, data and every "
                             "fault/latency draw (default: the --config file's seed, else 0; "
                             "`landscape demo` uses 7)"),
    config: Path = typer.Option(None, "--config", metavar="FILE", help="Fake config file "
                                "(YAML): tenants, schemas, latency, limits, faults; an "
                                "example per vendor in scenarios/fakes/"),
    schema: Path = typer.Option(None, "--schema", metavar="FILE", help="Per-merchant schema "
                                "(YAML) for tenants that don't name one"),
    controlled_clock: bool = typer.Option(None, "--controlled-clock/--real-clock", metavar=FLAG,
                                          help="Freeze simulated time until advanced "
                                          "(default: the config's clock, else real)"),
    tls_dir: Path = typer.Option(None, "--tls-dir", metavar="DIR", envvar=TLS_DIR_ENV,
                                 help="Where the local CA lives (default ~/.landscape/tls). "
                                 "The faults/clock commands trust DIR/ca.pem by themselves "
                                 f"only when it is the default or ${TLS_DIR_ENV}=DIR is set "
                                 "for them too; else give them --ca DIR/ca.pem"),
    request_log: Path = typer.Option(None, "--request-log", metavar="FILE", help="Append one "
                                     "line per request to this file: time, tenant, method, "
                                     "path, status, ms (stdout gets them too, unless "
                                     "--quiet)"),
    quiet: bool = typer.Option(False, "--quiet", metavar=FLAG, help="No line per request "
                               "on stdout (printed by default, as stripe-mock does)"),
) -> None:
    """Run one fake vendor on loopback until Ctrl-C."""
    from simulators.core.app import build_app
    from simulators.core.config import ConfigError, build_simulator, load_config
    from simulators.core.guard import ControlSettings
    from simulators.core.pipeline import RequestLog
    from simulators.core.server import NotLoopback, bind, serve_forever, url_of
    from simulators.core.tls import ensure_certificates

    vendor = VendorName(vendor).value  # the help lists the choices, typer refuses others
    the_vendor = create_vendor(vendor)
    port = the_vendor.default_port if port is None else port
    try:
        fake_config = load_config(config) if config else None
        sim = build_simulator(the_vendor, fake_config, config_path=config, seed=seed,
                              controlled_clock=controlled_clock, schema_path=schema)
        control = ControlSettings.of(vendor, sim.settings)
    except (ConfigError, ValueError) as exc:  # ValueError: settings.control
        fail(str(exc))
    try:
        sock = bind(host, port)
    except NotLoopback as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; pass --port 0 to pick a free "
             "port (or another --port)")
    try:
        requests = (RequestLog(request_log, stream=None if quiet else sys.stdout)
                    if request_log or not quiet else None)
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
    if vendor == "chargebee":
        keys = [t.settings["api_key"] for t in sim.tenants.all() if t.settings.get("api_key")]
        _print_chargebee_hint(url, certificate.ca_file if certificate else None,
                              keys[0] if keys else "<a site's api_key>")
    if request_log:
        console.print(f"  request log: {request_log}")
    if not quiet:
        console.print("  one line per request follows (time, tenant, method, path, status, ms); "
                      "--quiet turns it off")
    sys.stdout.flush()
    serve_forever(build_app(sim, requests), sock, certificate)


def _print_chargebee_hint(url: str, ca_file: Path | None, api_key: str) -> None:
    """How to point the chargebee SDK (v3) at this fake: it builds https://{site}.{domain}/api/v2,
    so site "127" and domain "0.0.1:PORT" make https://127.0.0.1:PORT."""
    if ca_file is None:
        console.print("  the chargebee SDK only speaks https: restart with --tls to use it")
        return
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1":
        return
    console.print("  chargebee SDK (python, v3):", highlight=False)
    console.print("    from chargebee import Chargebee\n"
                  "    Chargebee.verify_ca_certs = True\n"
                  f'    Chargebee.ca_cert_path = "{ca_file}"\n'
                  f'    cb = Chargebee(api_key="{api_key}", site="127", '
                  f'chargebee_domain="0.0.1:{parts.port}")', highlight=False, markup=False)


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


@app.command()
def load(
    scenario: str = typer.Argument("decline-storm", help="A scenario file, a load scenario's "
                                   "name (loadtests/scenarios/: vendor-brownout, long-brownout, "
                                   "webhook-duplication-storm) or a shipped one's"),
    topology: str = typer.Option(None, help="A topology file or shipped name (default: the "
                                 "scenario's)"),
    rate: float = typer.Option(None, help="Declines per second, the shape's reference rate "
                               "(default: the scenario's rate_per_second)"),
    duration: float = typer.Option(60.0, help="Seconds of load"),
    shape: str = typer.Option("constant", help="constant, ramp, spike or soak"),
    workers: int = typer.Option(0, help="Locust workers on 127.0.0.1 under a master (0: one "
                                "Locust process)"),
    remote_workers: int = typer.Option(0, "--remote-workers", help="Locust workers the "
                                       "master waits for from other machines (README: Load)"),
    seed: int = typer.Option(None, help="Seed (default: the topology's)"),
    mode: str = typer.Option(None, help="The engine's ERP context: cached or naive"),
    intercepts: float = typer.Option(0.5, help="Share of the declines sent as checkout-time "
                                     "intercepts; the rest fail renewals at the fake"),
    quiet: float = typer.Option(120.0, help="After the load, the most seconds to wait for the "
                                "outboxes to empty before judging"),
    web: bool = typer.Option(False, "--web", help="Locust's web UI on 127.0.0.1 (the run "
                             "starts at once; the UI stays 30 s after it ends)"),
    sweep: str = typer.Option(None, help="Rates to try one after the other, e.g. 2,4,8: a "
                              "table of which hold the gate"),
    report_dir: Path = typer.Option(None, "--report-dir", help="Where report.html, load.csv, "
                                    "result.json and Locust's files go (default "
                                    "landscape-run/load-<scenario>)"),
) -> None:
    """Drive a scenario's declines at a target rate with Locust (open loop) against the
    topology as processes; exit 1 unless p99 decision latency is under the SLA and every
    invariant holds."""
    from rich.markup import escape

    from harness.load import LoadError
    from harness.load_report import print_load, print_sweep
    from harness.load_sweep import run_sweep
    from harness.report import print_summary

    def go() -> int:
        options = dict(topology=topology, duration=duration, shape=shape, workers=workers,
                       remote_workers=remote_workers, seed=seed, mode=mode,
                       intercepts=intercepts, quiet=quiet, web=web,
                       say=lambda m: console.print(m, style="dim", markup=False))
        try:
            if sweep:
                table = run_sweep(scenario, sweep, report_dir=report_dir, **options)
                print_sweep(table, console)
                return 0
            from harness.load import run_load

            result = run_load(scenario, rate=rate, report_dir=report_dir, **options)
        except LoadError as exc:  # said in one line; fail() here would be caught by _judged
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            return 2
        print_summary(result, console)
        print_load(result, console)
        console.print(f"report: {result['report']}")
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
def bench(vendors: list[str] = typer.Argument(None, metavar="[VENDOR]...",
                                              help="Vendors to measure (default: all): "
                                              "stripe, chargebee, netsuite, salesforce"),
          seconds: float = typer.Option(8.0, help="Duration of each load phase"),
          users: int = typer.Option(16, help="Concurrent Locust users"),
          json_path: Path = typer.Option(None, "--json", metavar="FILE",
                                         help="Also write the figures as JSON to this file"),
          peers: bool = typer.Option(False, "--peers", metavar=FLAG, help="The fake Stripe "
                                     "head to head with a stateless FastAPI app, mountebank "
                                     "and WireMock (npm, into ~/.cache/landscape/peers; "
                                     "needs wrk and java)"),
          state: int = typer.Option(0, "--state", metavar="N", help="Also a fake Stripe "
                                    "filled with N customers before it serves (with --peers "
                                    "or alone)"),
          rounds: int = typer.Option(3, "--rounds", metavar="N", help="Alternating rounds "
                                     "(--peers/--state/--overhead; medians are reported)"),
          overhead: bool = typer.Option(False, "--overhead", metavar=FLAG, help="Only the "
                                        "overhead of the fake Stripe over 50 ms of injected "
                                        "latency at a constant 1,000 req/s, next to the "
                                        "canned app (part of --peers; needs wrk)"),
          pin: bool = typer.Option(False, "--pin", metavar=FLAG, help="--peers/--overhead: "
                                   "measure the overhead pinned too (server on CPU 0, wrk on "
                                   "CPU 1, taskset), in rounds alternating with unpinned"),
          ) -> None:
    """Throughput and latency overhead of each fake next to a trivial endpoint, same server."""
    if peers or state or overhead:
        from harness.bench_peers import run_peers

        raise typer.Exit(run_peers(peers=peers, state=state, seconds=max(1, round(seconds)),
                                   rounds=rounds, console=console, json_path=json_path,
                                   pin=pin, overhead_only=overhead and not (peers or state)))
    from harness.bench import run_benchmark

    raise typer.Exit(run_benchmark(vendors or None, seconds, users, console, json_path))


@app.command()
def simulate(
    topology: str = typer.Argument(None, help="A topology file, or the name of a shipped one "
                                   "(default netsuite-stripe-salesforce)"),
    merchants: int = typer.Option(10_000, metavar="N", help="Merchants, each a copy of one of "
                                  "the topology's merchants with its own vendor accounts"),
    hours: float = typer.Option(24.0, metavar="H", help="Simulated hours"),
    seed: int = typer.Option(None, metavar="SEED", help="Seed (default: the topology's)"),
    replicas: int = typer.Option(None, metavar="N", help="Engine replicas (default 2)"),
    outbox_workers: int = typer.Option(None, "--outbox-workers", metavar="N",
                                       help="Outbox relay workers over all merchants "
                                       "(default 8)"),
    declines_per_day: float = typer.Option(10.0, "--declines-per-day", metavar="D",
                                           help="Mean declines per merchant per day"),
    start_hour: float = typer.Option(0.0, "--start-hour", metavar="H", help="UTC hour the "
                                     "simulation starts at"),
    source: str = typer.Option("intercept", metavar="SOURCE", help="intercept (checkout) or "
                               "webhook (renewal: one more read)"),
    sizing: bool = typer.Option(False, "--size", help="Also find the engine replicas, outbox "
                                "workers and vendor API quota the merchant base needs"),
    report_dir: Path = typer.Option(Path("landscape-run/simulate"), "--report-dir",
                                    help="Where report.html and result.json go"),
    calibration: Path = typer.Option(None, "--calibration", metavar="FILE", help="A "
                                     "measured.json of `python -m harness.model.validate`: "
                                     "call latencies and engine CPU fitted from it"),
) -> None:
    """Predict decision latency, SLA, write-back lag and vendor pressure at scale (SimPy)."""
    from rich.markup import escape

    from harness.model.command import FlagError, run_simulate
    from harness.topology import TopologyError

    if source not in ("intercept", "webhook"):
        fail(f"--source {source!r}: choose intercept or webhook")
    try:
        run_simulate(topology, merchants=merchants, hours=hours, seed=seed, replicas=replicas,
                     outbox_workers=outbox_workers, declines_per_day=declines_per_day,
                     start_hour=start_hour, source=source, sizing=sizing,
                     report_dir=report_dir, console=console, calibration=calibration)
    except (TopologyError, FlagError) as exc:
        fail(escape(str(exc)))


if __name__ == "__main__":
    app()
