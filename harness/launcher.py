"""`landscape up`: a merchant topology as real processes on 127.0.0.1, like `localstack start`.

    run_dir/
      fakes/<vendor>.yaml            each fake's config (tenants, schemas, faults, webhook URLs)
      <merchant>/components.yaml     each merchant's components settings; components.db its store
      logs/<vendor>.log              a fake's output; logs/<vendor>-requests.log one line a request
      logs/<merchant>-<component>.log  a component's output (the reference ones: JSON lines)
      landscape.env                  URLs and credentials (written once everything is healthy)

Order: free ports are chosen for every process first (the fakes' configs carry the components'
webhook URLs), the fakes start and answer /_sim/health, the data is seeded (a hook), then each
merchant's recovery and sync services start and answer their health path. Every child runs in
its own process group and is stopped by group: SIGTERM, SIGKILL after 10 s, components first.
A failure while starting stops everything started so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import inspect
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from components.settings import ComponentSettings
from harness.seeding import seed_running
from harness.topology import ComponentUrls, Topology, load_topology

ROOT = Path(__file__).resolve().parents[1]  # where `python -m harness.cli` finds this code
HOST = "127.0.0.1"
COMPONENTS = ("recovery", "sync")
HEALTH_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
LOG_TAIL_LINES = 15
FAKE_HEALTH = "/_sim/health"
CONTROL_TOKEN_ENV = "LANDSCAPE_CONTROL_TOKEN"


class LaunchError(Exception):
    """The landscape could not start; names the process, its command and the end of its log."""


@dataclass
class Service:
    """One process of the landscape: a fake or a merchant's component."""

    name: str                     # "stripe", "acme recovery"
    command: list[str]
    env: dict[str, str]
    cwd: Path | None
    log: Path
    url: str
    health: str                   # path answered 200 once ready
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    reaped: bool = False          # stopped by us: its process group is gone

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


SeedHook = Callable[["RunningLandscape"], Any]  # may return an awaitable: it is run


class RunningLandscape:
    """A topology's fakes and components as processes; `with RunningLandscape(...) as l:` or
    `start()`/`stop()`. The methods block (from async code: `await asyncio.to_thread(...)`)."""

    def __init__(self, topology: Topology, run_dir: Path, *, seed: int | None = None,
                 log: Console | None = None, seed_data: SeedHook | None = None,
                 health_timeout: float = HEALTH_TIMEOUT_S, die_with_parent: bool = False) -> None:
        self.topology = topology
        self.run_dir = Path(run_dir).resolve()
        self.seed = topology.seed if seed is None else seed
        self.log = log
        self.seed_data = seed_data
        self.health_timeout = health_timeout
        self.die_with_parent = die_with_parent  # children get SIGTERM if this thread dies
        self.settings: dict[str, ComponentSettings] = {}   # merchant → components settings
        self.env: dict[str, str] = {}                       # what landscape.env holds
        self.env_file = self.run_dir / "landscape.env"
        self.ready_after: float | None = None               # seconds start() took
        self._fakes: dict[str, Service] = {}
        self._components: dict[tuple[str, str], Service] = {}
        self._merchant_env: dict[str, dict[str, str]] = {}
        self._hurry = False

    # -- what runs where ------------------------------------------------------------------------
    @property
    def fakes(self) -> dict[str, str]:
        """vendor → base URL."""
        return {vendor: s.url for vendor, s in self._fakes.items()}

    @property
    def components(self) -> dict[str, ComponentUrls]:
        """merchant → its recovery and sync URLs."""
        return {m: ComponentUrls(recovery=self._components[m, "recovery"].url,
                                 sync=self._components[m, "sync"].url)
                for m in self.topology.merchants if (m, "recovery") in self._components}

    @property
    def request_logs(self) -> dict[str, Path]:
        """vendor → its request log (one line a request)."""
        return {vendor: self.run_dir / "logs" / f"{vendor}-requests.log" for vendor in self._fakes}

    def services(self) -> list[Service]:
        """Every process: the fakes, then each merchant's components."""
        return [*self._fakes.values(), *self._components.values()]

    def fake(self, vendor: str) -> Service:
        return self._fakes[vendor]

    def service(self, merchant: str, component: str) -> Service:
        try:
            return self._components[merchant, component]
        except KeyError:
            raise KeyError(f"no component {component!r} for merchant {merchant!r}; merchants: "
                           f"{', '.join(self.topology.merchants)}; components: "
                           f"{', '.join(COMPONENTS)}") from None

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.services() if s.process and s.running]

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> RunningLandscape:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> RunningLandscape:
        began = time.monotonic()
        try:
            self._plan()
            self._say(f"starting fakes: {', '.join(self._fakes)}")
            self._launch(list(self._fakes.values()))
            self._write_component_settings()
            components = list(self._components.values())
            self._say(f"starting components: {', '.join(s.name for s in components)}")
            self._launch(components)
            if self.seed_data is not None:  # after the sync is up: it caches what the ERP sends
                self._say("seeding data")
                self._seed()
            _write_atomically(self.env_file, render_env(self.env))
        except BaseException:  # Ctrl-C included: nothing is left running
            self.stop()
            raise
        self.ready_after = time.monotonic() - began
        return self

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """SIGTERM every process group, SIGKILL what is left after `grace` s; components first,
        then the fakes. A second Ctrl-C (or SIGTERM) meanwhile skips the wait."""
        with self._signals_hurry():
            self._terminate(list(self._components.values()), grace)
            self._terminate(list(self._fakes.values()), grace)

    def kill(self, merchant: str, component: str) -> None:
        """SIGKILL the component's process group, like a crash."""
        service = self.service(merchant, component)
        if service.process is not None and not service.reaped:
            _killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()
            service.reaped = True

    def restart(self, merchant: str, component: str) -> None:
        """Start the component again with the same command and port (stopping it first if it
        runs) and wait for its health; LaunchError if it does not come back."""
        service = self.service(merchant, component)
        self._terminate([service], STOP_GRACE_S)
        self._spawn(service, append=True)
        try:
            self._wait_healthy([service])
        except LaunchError:
            self._terminate([service], STOP_GRACE_S)
            raise

    def watch(self, interval: float = 0.5) -> None:
        """Block (until KeyboardInterrupt), saying once when a process exits on its own."""
        reported: set[int] = set()
        while True:
            for s in self.services():
                if s.process is None or id(s.process) in reported:
                    continue
                code = s.process.poll()
                if code is not None:
                    reported.add(id(s.process))
                    self._say(f"{s.name} {_exit_text(code)}; its log: {s.log}", "yellow")
            time.sleep(interval)

    # -- planning -------------------------------------------------------------------------------
    def _plan(self) -> None:
        t = self.topology
        try:
            for folder in (self.run_dir, self.run_dir / "logs", self.run_dir / "fakes"):
                folder.mkdir(parents=True, exist_ok=True)
            self.env_file.unlink(missing_ok=True)  # it appears again once all is healthy
        except OSError as exc:
            raise LaunchError(f"run folder {self.run_dir}: {exc.strerror}; choose another "
                              "with --run-dir") from None
        vendors, merchants = t.vendors(), list(t.merchants)
        ports = iter(free_ports(len(vendors) + 2 * len(merchants)))
        fake_urls = {v: f"http://{HOST}:{next(ports)}" for v in vendors}
        component_ports = {(m, c): next(ports) for m in merchants for c in COMPONENTS}
        urls = {m: ComponentUrls(recovery=f"http://{HOST}:{component_ports[m, 'recovery']}",
                                 sync=f"http://{HOST}:{component_ports[m, 'sync']}")
                for m in merchants}
        logs = self.run_dir / "logs"
        for vendor, url in fake_urls.items():
            config = self.run_dir / "fakes" / f"{vendor}.yaml"
            _write_yaml(config, t.fake_config(vendor, urls).model_dump(
                mode="json", by_alias=True, exclude_none=True))
            requests = logs / f"{vendor}-requests.log"
            requests.unlink(missing_ok=True)  # a run folder used before
            command = [sys.executable, "-m", "harness.cli", "serve", vendor, "--config",
                       str(config), "--port", url.rsplit(":", 1)[1], "--seed", str(self.seed),
                       "--request-log", str(requests), "--quiet"]  # the log file has them
            self._fakes[vendor] = Service(vendor, command, {"PYTHONUNBUFFERED": "1"}, ROOT,
                                          logs / f"{vendor}.log", url, FAKE_HEALTH)
        for m in merchants:
            folder = self.run_dir / m
            folder.mkdir(exist_ok=True)
            for stale in folder.glob("components.db*"):  # the fakes start empty: so does it
                stale.unlink()
            self.settings[m] = t.component_settings(
                m, fake_urls, store=f"sqlite:///{folder / 'components.db'}")
        self.env = self._environment(fake_urls, urls)
        for (m, component), port in component_ports.items():
            self._components[m, component] = self._component(m, component, port,
                                                              getattr(urls[m], component))

    def _component(self, merchant: str, component: str, port: int, url: str) -> Service:
        spec = getattr(self.topology.merchants[merchant].components, component)
        config = self.run_dir / merchant / "components.yaml"
        fill = {"{port}": str(port), "{config}": str(config), "{run_dir}": str(self.run_dir)}
        env = {**{k: v for k, v in self.env.items() if k.startswith("LANDSCAPE_")},
               **self._merchant_env[merchant], "LANDSCAPE_MERCHANT": merchant,
               "LANDSCAPE_COMPONENT": component, "LANDSCAPE_PORT": str(port),
               "LANDSCAPE_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
        if spec.command:
            command, cwd = [_fill(arg, fill) for arg in spec.command], None  # the caller's cwd
        else:
            command = [sys.executable, "-m", f"components.{component}", "--config", str(config),
                       "--port", str(port)]
            cwd = ROOT
        env.update({k: _fill(v, fill) for k, v in spec.env.items()})
        return Service(f"{merchant} {component}", command, env, cwd,
                       self.run_dir / "logs" / f"{merchant}-{component}.log", url, spec.health)

    def _environment(self, fakes: dict[str, str],
                     urls: dict[str, ComponentUrls]) -> dict[str, str]:
        env = {"LANDSCAPE_TOPOLOGY": self.topology.name, "LANDSCAPE_RUN_DIR": str(self.run_dir),
               "LANDSCAPE_SEED": str(self.seed)}
        env.update({f"LANDSCAPE_{_var(v)}_URL": url for v, url in fakes.items()})
        for m, settings in self.settings.items():
            own = merchant_env(settings, self.topology.tenants(m), urls[m])
            self._merchant_env[m] = own
            env.update(own)
        return env

    def _write_component_settings(self) -> None:
        for m, settings in self.settings.items():
            _write_yaml(self.run_dir / m / "components.yaml",
                        settings.model_dump(mode="json", exclude_none=True))

    def _seed(self) -> None:
        assert self.seed_data is not None
        try:
            result = self.seed_data(self)
            if inspect.isawaitable(result):  # an async hook: run to completion here
                asyncio.run(_completed(result))
        except Exception as exc:
            path = self.run_dir / "logs" / "seeding.log"
            path.write_text(traceback.format_exc())
            raise LaunchError(f"seeding the data failed: {type(exc).__name__}: {exc}; the "
                              f"traceback is in {path}") from exc

    # -- processes ------------------------------------------------------------------------------
    def _launch(self, services: list[Service]) -> None:
        began = time.monotonic()
        for service in services:
            self._spawn(service)
        self._wait_healthy(services)
        self._say(f"  healthy in {time.monotonic() - began:.1f} s")

    def _spawn(self, service: Service, *, append: bool = False) -> None:
        preexec = functools.partial(_die_with_parent, os.getpid()) \
            if self.die_with_parent and _LIBC is not None else None
        try:
            with service.log.open("ab" if append else "wb") as out:  # the child keeps its copy
                service.process = subprocess.Popen(
                    service.command, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, cwd=service.cwd, env={**os.environ, **service.env},
                    start_new_session=True,  # its own process group, killed as one
                    preexec_fn=preexec)
        except OSError as exc:
            raise LaunchError(f"{service.name}: cannot run {shlex.join(service.command)}: "
                              f"{exc.strerror or exc}; fix its command in the topology") from None
        service.reaped = False

    def _wait_healthy(self, services: list[Service]) -> None:
        pending = list(services)
        deadline = time.monotonic() + self.health_timeout
        token = os.environ.get(CONTROL_TOKEN_ENV)
        with httpx.Client(timeout=2.0, trust_env=False) as client:  # no proxy for loopback
            while pending:
                for s in list(pending):
                    assert s.process is not None
                    code = s.process.poll()
                    if code is not None:
                        raise LaunchError(self._failure(
                            s, f"{_exit_text(code)} before {s.url}{s.health} answered"))
                    headers = {"X-Landscape-Control-Token": token} \
                        if token and s.health == FAKE_HEALTH else {}
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{s.url}{s.health}", headers=headers).status_code == 200:
                            pending.remove(s)
                if pending and time.monotonic() > deadline:
                    s = pending[0]
                    raise LaunchError(self._failure(
                        s, f"did not answer 200 on {s.url}{s.health} within "
                           f"{self.health_timeout:g} s"))
                if pending:
                    time.sleep(0.05)

    def _failure(self, s: Service, what: str) -> str:
        try:
            lines = s.log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            lines = []
        tail = "\n".join(f"    {line}" for line in lines) or "    (the log is empty)"
        return (f"{s.name} {what}\n  command: {shlex.join(s.command)}\n"
                f"  log: {s.log} (last lines):\n{tail}")

    def _terminate(self, services: list[Service], grace: float) -> None:
        started = [(s, s.process) for s in services if s.process is not None and not s.reaped]
        for s, process in started:
            if s.running:
                _killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(s.running for s, _ in started) and time.monotonic() < deadline \
                and not self._hurry:
            time.sleep(0.05)
        for s, process in started:
            _killpg(process.pid, signal.SIGKILL)  # the leader, or what it left in its group
            process.wait()
            s.reaped = True

    @contextlib.contextmanager
    def _signals_hurry(self) -> Iterator[None]:
        """While stopping, Ctrl-C and SIGTERM skip the grace period instead of interrupting."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def hurry(signum: int, frame: FrameType | None) -> None:
            self._hurry = True

        previous = {sig: signal.signal(sig, hurry) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._hurry = False

    def _say(self, message: str, style: str = "dim") -> None:
        if self.log is not None:
            self.log.print(escape(message), style=style)


# -- the .env and the summary -------------------------------------------------------------------
def merchant_env(settings: ComponentSettings, tenants: dict[str, list[str]],
                 urls: ComponentUrls) -> dict[str, str]:
    """A merchant's variables, from the settings its components use: <MERCHANT>_STRIPE_<MID>_KEY,
    _STRIPE_WEBHOOK_SECRET, _CHARGEBEE_*, _NETSUITE_*, _SALESFORCE_*, _RECOVERY_URL, _SYNC_URL."""
    p = _var(settings.merchant)
    env = {f"{p}_STRIPE_{_var(mid.name)}_KEY": mid.api_key for mid in settings.stripe.mids}
    if settings.stripe.webhook_secret:
        env[f"{p}_STRIPE_WEBHOOK_SECRET"] = settings.stripe.webhook_secret
    sections: list[tuple[str, Any, tuple[str, ...]]] = [
        ("CHARGEBEE", settings.chargebee, ("site", "api_key", "webhook_username",
                                           "webhook_password")),
        ("NETSUITE", settings.netsuite, ("account", "consumer_key", "consumer_secret",
                                         "token_id", "token_secret")),
        ("SALESFORCE", settings.salesforce, ("client_id", "client_secret", "username",
                                             "password"))]
    for name, section, keys in sections:
        if section is None:
            continue
        if name == "SALESFORCE" and tenants.get("salesforce"):
            env[f"{p}_SALESFORCE_ORG_ID"] = tenants["salesforce"][0]
        for key in keys:
            value = getattr(section, key)
            if value is not None:
                env[f"{p}_{name}_{key.upper()}"] = str(value)
    env[f"{p}_RECOVERY_URL"] = urls.recovery
    env[f"{p}_SYNC_URL"] = urls.sync
    return env


def render_env(env: dict[str, str]) -> str:
    """`KEY=value` lines, values quoted for a POSIX shell (and read by dotenv loaders)."""
    lines = ["# written by `landscape up`; load it with: set -a; . ./landscape.env; set +a"]
    lines += [f"{key}={shlex.quote(value)}" for key, value in env.items()]
    return "\n".join(lines) + "\n"


def summary(landscape: RunningLandscape) -> list[Any]:
    """Tables of endpoints and credentials, then where things are; for `console.print`."""
    t = landscape.topology
    fakes = Table("fake", "URL", "request log", title=f"landscape {t.name} (seed "
                  f"{landscape.seed})", title_justify="left")
    for vendor, url in landscape.fakes.items():
        fakes.add_row(vendor, url, _relative(landscape.request_logs[vendor], landscape.run_dir))
    merchants = Table("merchant", "system", "tenant", "credentials / URL")
    for m, settings in landscape.settings.items():
        rows = _merchant_rows(settings, t.tenants(m))
        for component in COMPONENTS:
            s = landscape.service(m, component)
            own = t.merchants[m].components
            how = " (own command)" if getattr(own, component).command else ""
            rows.append((component, "", f"{s.url}{how}"))
        for i, (system, tenant, detail) in enumerate(rows):
            merchants.add_row(m if i == 0 else "", system, tenant, detail,
                              end_section=i == len(rows) - 1)
    where = Table.grid(padding=(0, 2))
    where.add_row("run folder", str(landscape.run_dir))
    where.add_row(".env", str(landscape.env_file))
    ready = f"ready in {landscape.ready_after:.1f} s · " if landscape.ready_after else ""
    return [fakes, merchants, where, f"{ready}[bold]Ctrl-C to stop[/bold]"]


def _merchant_rows(settings: ComponentSettings,
                   tenants: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    rows = [("stripe" if i == 0 else "", mid.api_key, f"MID {mid.name}")
            for i, mid in enumerate(settings.stripe.mids)]
    if settings.stripe.webhook_secret:
        rows.append(("", "", f"webhook secret {settings.stripe.webhook_secret}"))
    if settings.chargebee:
        cb = settings.chargebee
        rows.append(("chargebee", cb.site, f"api_key {cb.api_key}"))
        if cb.webhook_username:
            rows.append(("", "", f"webhook basic auth {cb.webhook_username}:"
                                 f"{cb.webhook_password}"))
    if settings.netsuite:
        ns = settings.netsuite
        rows.append(("netsuite", ns.account, f"consumer {ns.consumer_key} / "
                                             f"{ns.consumer_secret}"))
        rows.append(("", "", f"token {ns.token_id} / {ns.token_secret}"))
    if settings.salesforce:
        sf = settings.salesforce
        org = (tenants.get("salesforce") or [""])[0]
        rows.append(("salesforce", org, f"client {sf.client_id} / {sf.client_secret}"))
    return [(system, tenant, escape(detail)) for system, tenant, detail in rows]


# -- `landscape up` -----------------------------------------------------------------------------
def up(topology_ref: str | Path, run_dir: Path | None, *, seed: int | None, data: bool,
       console: Console) -> None:
    """Start the topology, print where everything is, block until Ctrl-C or SIGTERM, stop it.
    Raises TopologyError or LaunchError (nothing is left running)."""
    topology = load_topology(topology_ref)
    run_dir = run_dir or Path("landscape-run") / topology.name
    hook = seed_running if data else None
    if hook is None:
        console.print("[yellow]no data seeded[/yellow] (--no-data)")
    landscape = RunningLandscape(topology, run_dir, seed=seed, log=console, seed_data=hook,
                                 die_with_parent=True)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    # "Ctrl-C to stop" holds even when started from a script's background job, which starts
    # with SIGINT ignored (Python then installs no KeyboardInterrupt of its own)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        landscape.start()
        for part in summary(landscape):
            console.print(part)
        landscape.watch()
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        landscape.stop()  # a no-op for what start() already stopped
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    console.print("stopped")


async def _completed(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# -- helpers ------------------------------------------------------------------------------------
def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 now (bound together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((HOST, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)  # loaded here: after fork only a call is safe
    except OSError:
        return None


_LIBC = _libc()
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """In the child, before exec (Linux): SIGTERM when the thread that started it dies, even by
    SIGKILL (`landscape up` killed -9 leaves no fakes behind)."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the call
        os._exit(1)


def _exit_text(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def _var(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


class ProcessStage:
    """A scenario's stage (`harness.stage.Stage`) on a RunningLandscape: real processes on
    127.0.0.1, real time, real SIGKILL."""

    mode = "processes"

    def __init__(self, landscape: RunningLandscape) -> None:
        self.landscape = landscape
        self.topology = landscape.topology
        self.seed = landscape.seed
        self.fakes = landscape.fakes
        self.components = landscape.components
        self.http = httpx.AsyncClient(timeout=60)

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def kill(self, merchant: str, component: str) -> None:
        await asyncio.to_thread(self.landscape.kill, merchant, component)

    async def restart(self, merchant: str, component: str) -> None:
        await asyncio.to_thread(self.landscape.restart, merchant, component)

    async def __aenter__(self) -> ProcessStage:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
