"""`landscape faults …` and `landscape clock …`: drive a running fake's `/_sim/` control plane.

    landscape faults add --kind http_error --status 503 --path '/v1/customers' --first-n 1
    landscape faults add --kind latency --latency-median-ms 180 --latency-p99-ms 900
    landscape faults add --json '{"kind": "rate_limit", "retry_after": 2}'
    landscape faults list | clear [--id flt_1]
    landscape clock show
    landscape clock advance 86400     # or 90m, 36h, 1d

For an https fake (`landscape serve … --tls`) these trust the landscape's local CA by themselves:
`$LANDSCAPE_TLS_DIR/ca.pem`, else `~/.landscape/tls/ca.pem`, the CA `serve --tls` uses when given
no --tls-dir. A fake served with another --tls-dir: pass `--ca DIR/ca.pem`, or set
LANDSCAPE_TLS_DIR=DIR for both `serve` and these commands.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar, get_args

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulators.client import ClockState, ControlClient, ControlError, FakeUnreachable
from simulators.core.faults import RequestKind, WebhookKind
from simulators.core.latency import Latency
from simulators.registry import create_vendor

T = TypeVar("T")

TLS_DIR_ENV = "LANDSCAPE_TLS_DIR"  # what `serve --tls` and these commands read
TOKEN_ENV = "LANDSCAPE_CONTROL_TOKEN"  # what `serve` and the control client read too
FAULT_KINDS = (*get_args(RequestKind), *get_args(WebhookKind))
DEFAULT_URL = f"http://127.0.0.1:{create_vendor('stripe').default_port}"
URL_HELP = "Base URL of the running fake (default: the Stripe fake's default address)"
CA_HELP = (f"CA file to trust for an https fake (default: ${TLS_DIR_ENV}/ca.pem, else "
           "~/.landscape/tls/ca.pem, the CA `serve --tls` uses without --tls-dir)")
TOKEN_HELP = "The fake's control-plane token, if it was started with one"

URL = typer.Option(DEFAULT_URL, "--url", metavar="URL", help=URL_HELP)
CA = typer.Option(None, "--ca", metavar="FILE", help=CA_HELP)
CONTROL_TOKEN = typer.Option(None, "--control-token", envvar=TOKEN_ENV, metavar="TOKEN",
                             help=TOKEN_HELP)

faults_app = typer.Typer(help="Inject, list and clear faults on a running fake.",
                         no_args_is_help=True)
clock_app = typer.Typer(help="Read and advance a running fake's simulated clock.",
                        no_args_is_help=True)


class Output:
    """The consoles the commands print to (set by cli.py, which owns them)."""

    out = Console()
    err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    Output.err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


# -- talking to the fake --------------------------------------------------------------------------
def default_tls_dir() -> Path:
    return Path(os.environ.get(TLS_DIR_ENV) or Path.home() / ".landscape" / "tls")


def trust_for(url: str, ca: Path | None) -> ssl.SSLContext | bool:
    """What an https call trusts: the given CA file, else the system CAs plus the landscape's
    local CA (when it exists); http calls don't care."""
    if ca is not None:
        if not ca.is_file():
            fail(f"--ca {ca}: no such file (`landscape serve --tls` prints its CA file)")
        try:
            return ssl.create_default_context(cafile=str(ca))
        except ssl.SSLError as exc:
            fail(f"--ca {ca}: not a PEM CA certificate ({exc.reason or exc})")
    local_ca = default_tls_dir() / "ca.pem"
    if not url.startswith("https:") or not local_ca.is_file():
        return True
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(local_ca))
    return context


def control(url: str, ca: Path | None, operation: Callable[[ControlClient], T],
            token: str | None = None) -> T:
    """Run one control-plane operation; its errors become one line on stderr, not a traceback."""
    try:
        with ControlClient(url, verify=trust_for(url, ca), token=token) as client:
            return operation(client)
    except FakeUnreachable as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc.__cause__ or ""):
            tried = str(ca) if ca else str(default_tls_dir() / "ca.pem")
            fail(f"the fake at {url} has a certificate not signed by {tried}; pass "
                 "--ca FILE (the CA file `landscape serve --tls` printed), or set "
                 f"{TLS_DIR_ENV} to the --tls-dir the fake was served with")
        fail(str(exc))
    except ControlError as exc:
        fail(str(exc))


# -- faults ---------------------------------------------------------------------------------------
def _latency(fixed: float | None, median: float | None, p99: float | None,
             low: float | None, high: float | None) -> dict[str, Any] | None:
    """The --latency-* options as a Latency, or None; a wrong combination is one line."""
    families = [name for name, given in (
        ("--latency-ms", fixed is not None),
        ("--latency-median-ms/--latency-p99-ms", median is not None or p99 is not None),
        ("--latency-min-ms/--latency-max-ms", low is not None or high is not None)) if given]
    if not families:
        return None
    if len(families) > 1:
        fail(f"choose one latency distribution, not {' and '.join(families)}")
    if fixed is not None:
        spec: dict[str, Any] = {"kind": "fixed", "ms": fixed}
    elif median is not None or p99 is not None:
        if median is None or p99 is None:
            fail("a lognormal latency needs both --latency-median-ms and --latency-p99-ms")
        spec = {"kind": "lognormal", "median_ms": median, "p99_ms": p99}
    else:
        if low is None or high is None:
            fail("a uniform latency needs both --latency-min-ms and --latency-max-ms")
        spec = {"kind": "uniform", "min_ms": low, "max_ms": high}
    try:
        Latency.model_validate(spec)
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        for field in ("median_ms", "p99_ms", "min_ms", "max_ms"):  # as the options say it
            problems = problems.replace(field, "--latency-" + field.replace("_", "-"))
        fail(f"latency: {problems}")
    return spec


LATENCY_OPTIONS = ("--latency-ms, --latency-median-ms with --latency-p99-ms, or "
                   "--latency-min-ms with --latency-max-ms")
NEEDS = {"latency": ("latency", LATENCY_OPTIONS), "concurrency_limit": ("limit", "--limit"),
         "webhook_delay": ("seconds", "--seconds"), "brownout": ("window_end", "--window-end")}


def _check_kind(kind: object, option: str) -> None:
    if kind not in FAULT_KINDS:
        fail(f"{option} {kind!r} is not a fault kind; choose one of: {', '.join(FAULT_KINDS)}")


@faults_app.command("add")
def faults_add(
    kind: str = typer.Option(None, metavar="KIND", help="One of: " + ", ".join(FAULT_KINDS)
                             + " (required unless --json)"),
    url: str = URL,
    probability: float = typer.Option(1.0, metavar="P", help="Chance that a matching request "
                                      "is hit (0–1)"),
    method: str = typer.Option(None, metavar="METHOD", help="Match: HTTP method"),
    path: str = typer.Option(None, metavar="GLOB",
                             help="Match: path glob, e.g. '/v1/payment_intents*'"),
    tenant: str = typer.Option(None, metavar="TENANT", help="Match: tenant id"),
    event_type: str = typer.Option(None, metavar="GLOB", help="Match (webhooks): event type "
                                   "glob"),
    first_n: int = typer.Option(None, metavar="N", help="Hit only the first N matching "
                                "requests"),
    window_start: float = typer.Option(None, metavar="SECONDS", help="Active from N s "
                                       "(simulated) after added"),
    window_end: float = typer.Option(None, metavar="SECONDS", help="Inactive from N s after "
                                     "added (brownout: required)"),
    status: int = typer.Option(None, metavar="STATUS", help="http_error/brownout status"),
    code: str = typer.Option(None, metavar="CODE", help="Vendor error code; for decline, the "
                             "decline code"),
    after_commit: bool = typer.Option(False, "--after-commit", metavar="",
                                      help="http_error: run the handler first"),
    retry_after: float = typer.Option(None, metavar="SECONDS", help="rate_limit: Retry-After"),
    latency_ms: float = typer.Option(None, metavar="MS", help="Fixed extra latency"),
    latency_median_ms: float = typer.Option(None, metavar="MS", help="Lognormal latency: "
                                            "median (with --latency-p99-ms)"),
    latency_p99_ms: float = typer.Option(None, metavar="MS", help="Lognormal latency: 99th "
                                         "percentile"),
    latency_min_ms: float = typer.Option(None, metavar="MS", help="Uniform latency: low end "
                                         "(with --latency-max-ms)"),
    latency_max_ms: float = typer.Option(None, metavar="MS", help="Uniform latency: high end"),
    seconds: float = typer.Option(None, metavar="SECONDS", help="hang duration / "
                                  "webhook_delay"),
    limit: int = typer.Option(None, metavar="N", help="concurrency_limit: max in flight"),
    copies: int = typer.Option(None, metavar="N", help="webhook_duplicate/burst: extra copies"),
    spec_json: str = typer.Option(None, "--json", metavar="JSON", help="The whole fault as "
                                  "JSON instead of the options, e.g. '{\"kind\": \"hang\", "
                                  "\"seconds\": 30}'"),
    ca: Path = CA,
    control_token: str = CONTROL_TOKEN,
) -> None:
    """Install a fault on a running fake."""
    if spec_json:
        try:
            spec = json.loads(spec_json)
        except ValueError as exc:
            fail(f"--json is not valid JSON: {exc}")
        if not isinstance(spec, dict) or "kind" not in spec:
            fail('--json needs an object with a "kind", e.g. \'{"kind": "hang", "seconds": 30}\'')
        _check_kind(spec["kind"], "--json kind")
    else:
        if kind is None:
            fail("missing option --kind (or give the whole fault as --json)")
        _check_kind(kind, "--kind")
        match = {k: v for k, v in {"method": method, "path": path, "tenant": tenant,
                                   "event_type": event_type}.items() if v is not None}
        spec = {"kind": kind, "probability": probability, "match": match, "first_n": first_n,
                "window_start": window_start, "window_end": window_end, "status": status,
                "code": code, "after_commit": after_commit, "retry_after": retry_after,
                "seconds": seconds, "limit": limit, "copies": copies,
                "latency": _latency(latency_ms, latency_median_ms, latency_p99_ms,
                                    latency_min_ms, latency_max_ms)}
        spec = {k: v for k, v in spec.items() if v is not None}
        field, options = NEEDS.get(kind, ("", ""))
        if field and field not in spec:
            fail(f"--kind {kind} needs {field}: give {options}")
    fault = control(url, ca, lambda fake: fake.faults.add(spec), control_token)
    Output.out.print(f"added {fault.id} ({fault.kind})")


def _window(start: float | None, end: float | None) -> str:
    if start is None and end is None:
        return ""
    return f"{start or 0:g}–{'' if end is None else f'{end:g}'} s"


def _latency_text(latency: Latency | None) -> str:
    if latency is None:
        return ""
    if latency.kind == "fixed":
        return f"{latency.ms:g} ms"
    if latency.kind == "uniform":
        return f"{latency.min_ms:g}–{latency.max_ms:g} ms"
    if latency.kind == "lognormal":
        spread = f"p99 {latency.p99_ms:g}" if latency.p99_ms else f"σ {latency.sigma:g}"
        return f"median {latency.median_ms:g}, {spread} ms"
    return "percentiles " + json.dumps(latency.percentiles)


@faults_app.command("list")
def faults_list(url: str = URL, ca: Path = CA, control_token: str = CONTROL_TOKEN) -> None:
    """List installed faults with how often they matched and hit."""
    faults = control(url, ca, lambda fake: fake.faults.list(), control_token)
    if not faults:
        Output.out.print("no faults installed")
        return
    columns: dict[str, Callable[[Any], str]] = {
        "id": lambda f: f.id, "kind": lambda f: f.kind,
        "probability": lambda f: f"{f.probability:g}",
        "match": lambda f: json.dumps(f.match.model_dump(exclude_none=True)),
        "first_n": lambda f: "" if f.first_n is None else str(f.first_n),
        "status": lambda f: "" if f.status is None else str(f.status),
        "code": lambda f: f.code or "",
        "window": lambda f: _window(f.window_start, f.window_end),
        "latency": lambda f: _latency_text(f.latency),
        "seconds": lambda f: "" if f.seconds is None else f"{f.seconds:g}",
        "limit": lambda f: "" if f.limit is None else str(f.limit),
        "copies": lambda f: "" if f.copies is None else str(f.copies),
        "matched": lambda f: str(f.matched), "hits": lambda f: str(f.hits)}
    always = {"id", "kind", "probability", "match", "matched", "hits"}
    shown = {name: cell for name, cell in columns.items()
             if name in always or any(cell(f) for f in faults)}  # optional ones where set
    table = Table(*shown)
    for fault in faults:
        table.add_row(*(cell(fault) for cell in shown.values()))
    Output.out.print(table)


@faults_app.command("clear")
def faults_clear(url: str = URL,
                 fault_id: str = typer.Option(None, "--id", metavar="ID",
                                              help="Remove only this fault"),
                 ca: Path = CA, control_token: str = CONTROL_TOKEN) -> None:
    """Remove every fault (or one)."""
    control(url, ca, lambda fake: fake.faults.remove(fault_id) if fault_id
            else fake.faults.clear(), control_token)
    Output.out.print(f"removed {fault_id or 'all faults'}")


# -- clock ----------------------------------------------------------------------------------------
MODES = {"real": "real clock: runs with the wall clock, moved forward by advance",
         "controlled": "controlled clock: frozen until advanced",
         "virtual": "virtual clock: the in-process event loop's time"}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([smhd]?)\s*")


def iso(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _clock_line(state: ClockState) -> str:
    return f"{iso(state.now)}  ({MODES.get(state.mode, state.mode + ' clock')})"


def parse_duration(text: str) -> float:
    """Seconds from `90`, `1.5`, `90m`, `36h`, `1d`; anything else (or a negative) is one line."""
    match = DURATION.fullmatch(text)
    if not match:
        fail(f"{text!r} is not a duration: give seconds (86400) or a number with s, m, h or d "
             "(90m, 36h, 1d)")
    seconds = float(match.group(1)) * UNITS[match.group(2) or "s"]
    if seconds < 0:
        fail(f"cannot advance by {text}: time only moves forward")
    return seconds


@clock_app.command("show")
def clock_show(url: str = URL, ca: Path = CA, control_token: str = CONTROL_TOKEN) -> None:
    """Print simulated time (UTC) and how the clock runs."""
    state = control(url, ca, lambda fake: fake.clock.describe(), control_token)
    Output.out.print(_clock_line(state), highlight=False)


@clock_app.command("advance", context_settings={"ignore_unknown_options": True})
def clock_advance(duration: str = typer.Argument(..., metavar="SECONDS",
                                                 help="How far to move time: seconds, or "
                                                 "90m, 36h, 1d; never backwards"),
                  url: str = URL, ca: Path = CA, control_token: str = CONTROL_TOKEN) -> None:
    """Advance simulated time; renewals, retries and webhook retries due on the way run."""
    seconds = parse_duration(duration)

    def advance(fake: ControlClient) -> tuple[ClockState, ClockState]:
        return fake.clock.describe(), fake.clock.advance(seconds)

    before, after = control(url, ca, advance, control_token)
    Output.out.print(f"advanced {seconds:g} s: {iso(before.now)} → {iso(after.now)}  "
                     f"({MODES.get(after.mode, after.mode + ' clock')})", highlight=False)
    ran = after.ran or {}
    Output.out.print("  ran on the way: " + (", ".join(f"{n} {kind.replace('_', ' ')}"
                                                      for kind, n in sorted(ran.items()))
                                              or "nothing fell due"), highlight=False)
