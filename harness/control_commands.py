"""`landscape faults …`, `clock …`, `journal`, `tenants`, `state …`, `latency …`: drive a running
fake's `/_sim/` control plane.

    landscape faults add --kind http_error --status 503 --path '/v1/customers' --first-n 1
    landscape faults add --kind latency --latency-median-ms 180 --latency-p99-ms 900
    landscape faults add --json '{"kind": "rate_limit", "retry_after": 2}'
    landscape faults list | clear [--id flt_1]
    landscape clock show
    landscape clock advance 86400     # or 90m, 36h, 1d
    landscape journal [--webhooks] [--tenant T] [--path GLOB] [--last N]
    landscape tenants
    landscape state snapshot NAME | restore NAME | reset [--tenant T]
    landscape latency show
    landscape latency set --ms 50 | --median-ms M --p99-ms P | --min-ms A --max-ms B | --off

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
from collections.abc import Callable, Mapping
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
state_app = typer.Typer(help="Save, restore and reset a running fake's state (named snapshots "
                        "live in the fake's state folder).", no_args_is_help=True)
latency_app = typer.Typer(help="Show or set the base latency every request of a running fake "
                          "gets (faults add theirs on top).", no_args_is_help=True)


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
             low: float | None, high: float | None,
             prefix: str = "--latency-") -> dict[str, Any] | None:
    """The --latency-* options (or `latency set`'s --ms & co, prefix "--") as a Latency, or None;
    a wrong combination is one line."""
    families = [name for name, given in (
        (f"{prefix}ms", fixed is not None),
        (f"{prefix}median-ms/{prefix}p99-ms", median is not None or p99 is not None),
        (f"{prefix}min-ms/{prefix}max-ms", low is not None or high is not None)) if given]
    if not families:
        return None
    if len(families) > 1:
        fail(f"choose one latency distribution, not {' and '.join(families)}")
    if fixed is not None:
        spec: dict[str, Any] = {"kind": "fixed", "ms": fixed}
    elif median is not None or p99 is not None:
        if median is None or p99 is None:
            fail(f"a lognormal latency needs both {prefix}median-ms and {prefix}p99-ms")
        spec = {"kind": "lognormal", "median_ms": median, "p99_ms": p99}
    else:
        if low is None or high is None:
            fail(f"a uniform latency needs both {prefix}min-ms and {prefix}max-ms")
        spec = {"kind": "uniform", "min_ms": low, "max_ms": high}
    try:
        Latency.model_validate(spec)
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        for field in ("median_ms", "p99_ms", "min_ms", "max_ms"):  # as the options say it
            problems = problems.replace(field, prefix + field.replace("_", "-"))
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


# -- journal --------------------------------------------------------------------------------------
def _moment(epoch: Any) -> str:
    if not isinstance(epoch, int | float):
        return ""
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _status(entry: Mapping[str, Any]) -> str:
    status = str(entry.get("status", "-"))
    outcome = entry.get("outcome", "ok")
    return status if outcome in (None, "ok") else f"{status}/{outcome}"


def journal(url: str = URL,
            webhooks: bool = typer.Option(False, "--webhooks", metavar="",
                                          help="Webhook delivery attempts instead of requests"),
            tenant: str = typer.Option(None, "--tenant", metavar="TENANT",
                                       help="Only this tenant's"),
            path: str = typer.Option(None, "--path", metavar="GLOB",
                                     help="Requests: only paths matching, e.g. '/v1/customers*'"),
            last: int = typer.Option(None, "--last", metavar="N", min=1,
                                     help="Only the newest N"),
            ca: Path = CA, control_token: str = CONTROL_TOKEN) -> None:
    """What a running fake saw (requests) or sent (webhooks), oldest first."""
    if webhooks:
        if path is not None:
            fail("--path filters requests; for webhooks use --tenant or --last")
        attempts = control(url, ca, lambda fake: fake.journal.webhooks(tenant=tenant,
                                                                       limit=last),
                           control_token)
        if not attempts:
            Output.out.print("no webhook attempts")
            return
        table = Table("time", "event type", "url", "attempt", "outcome", "status")
        for a in attempts:
            table.add_row(_moment(a.get("at")), a.get("event_type", ""), a.get("url", ""),
                          str(a.get("attempt", "")), a.get("outcome", ""),
                          str(a.get("status", "")))
        Output.out.print(table)
        return
    requests = control(url, ca, lambda fake: fake.journal.requests(tenant=tenant, path=path,
                                                                   limit=last),
                       control_token)
    if not requests:
        Output.out.print("no requests")
        return
    table = Table("time", "tenant", "method", "path", "status", "ms")
    for r in requests:
        table.add_row(_moment(r.get("at")), r.get("tenant") or "-", r.get("method", ""),
                      escape(str(r.get("path", ""))), _status(r),
                      f"{r.get('duration_ms', 0):.1f}")
    Output.out.print(table)


# -- tenants --------------------------------------------------------------------------------------
def tenants(url: str = URL, ca: Path = CA, control_token: str = CONTROL_TOKEN) -> None:
    """The fake's tenants: id (API keys masked), object counts by collection, schema."""
    found = control(url, ca, lambda fake: fake.tenants(), control_token)
    if not found:
        Output.out.print("no tenants yet (a tenant appears with its first request or "
                         "declaration)")
        return
    table = Table("id", "objects", "schema")
    for t in found:
        objects = ", ".join(f"{name} {n}" for name, n in sorted(t.objects.items()) if n) or "-"
        table.add_row(escape(t.id), objects, escape(t.schema_name or "-"))
    Output.out.print(table)


# -- state ----------------------------------------------------------------------------------------
NAME_ARG = typer.Argument(..., metavar="NAME", help="The snapshot's name (letters, digits, '.', "
                          "'_', '-'; not a path): kept in the fake's state folder")


@state_app.command("snapshot")
def state_snapshot(name: str = NAME_ARG, url: str = URL, ca: Path = CA,
                   control_token: str = CONTROL_TOKEN) -> None:
    """Save every tenant's state as a named snapshot."""
    control(url, ca, lambda fake: fake.snapshot(name), control_token)
    Output.out.print(f"saved snapshot {escape(name)}", highlight=False)


@state_app.command("restore")
def state_restore(name: str = NAME_ARG, url: str = URL, ca: Path = CA,
                  control_token: str = CONTROL_TOKEN) -> None:
    """Put every tenant's state back as a named snapshot saved it."""
    control(url, ca, lambda fake: fake.restore(name), control_token)
    Output.out.print(f"restored snapshot {escape(name)}", highlight=False)


@state_app.command("reset")
def state_reset(url: str = URL,
                tenant: str = typer.Option(None, "--tenant", metavar="TENANT",
                                           help="Empty only this tenant's state (it stays "
                                           "declared); without it the whole fake is reset"),
                ca: Path = CA, control_token: str = CONTROL_TOKEN) -> None:
    """Return the fake to its just-started state (tenants, clock, faults, latency, journals,
    webhooks), or empty one tenant's state."""
    if tenant is not None:
        control(url, ca, lambda fake: fake.reset_tenant(tenant), control_token)
        Output.out.print(f"emptied tenant {escape(tenant)}", highlight=False)
        return
    result = control(url, ca, lambda fake: fake.reset(), control_token)
    Output.out.print(f"reset the fake (seed {result.seed}, clock {iso(result.clock.now)})",
                     highlight=False)


# -- latency --------------------------------------------------------------------------------------
@latency_app.command("show")
def latency_show(url: str = URL, ca: Path = CA, control_token: str = CONTROL_TOKEN) -> None:
    """Print the base latency profile."""
    latency = control(url, ca, lambda fake: fake.latency.get(), control_token)
    Output.out.print(f"base latency: {_latency_text(latency)} ({latency.kind})" if latency
                     else "no base latency", highlight=False)


@latency_app.command("set")
def latency_set(url: str = URL,
                ms: float = typer.Option(None, "--ms", metavar="MS", help="Fixed latency"),
                median_ms: float = typer.Option(None, "--median-ms", metavar="MS",
                                                help="Lognormal: median (with --p99-ms)"),
                p99_ms: float = typer.Option(None, "--p99-ms", metavar="MS",
                                             help="Lognormal: 99th percentile"),
                min_ms: float = typer.Option(None, "--min-ms", metavar="MS",
                                             help="Uniform: low end (with --max-ms)"),
                max_ms: float = typer.Option(None, "--max-ms", metavar="MS",
                                             help="Uniform: high end"),
                off: bool = typer.Option(False, "--off", metavar="",
                                         help="Remove the base latency"),
                ca: Path = CA, control_token: str = CONTROL_TOKEN) -> None:
    """Set the base latency: --ms, --median-ms with --p99-ms, --min-ms with --max-ms, or --off."""
    spec = _latency(ms, median_ms, p99_ms, min_ms, max_ms, prefix="--")
    if off and spec is not None:
        fail("--off removes the latency: give it alone, without --ms & co")
    if not off and spec is None:
        fail("give a latency: --ms MS, --median-ms M --p99-ms P, --min-ms A --max-ms B, "
             "or --off")
    latency = control(url, ca, lambda fake: fake.latency.set(spec), control_token)
    Output.out.print(f"base latency: {_latency_text(latency)} ({latency.kind})" if latency
                     else "base latency removed", highlight=False)
