"""Where a scenario plays: a topology's fakes and components, reached over HTTP.

`InProcessStage` runs everything in this process on virtual time (`simulators.core.virtual_time`):
the fakes of `simulators.landscape`, each merchant's reference recovery engine and sync service
mounted beside them at http://recovery-<merchant>.test and http://sync-<merchant>.test, their
background loops (scheduled retries, the outbox relay, the fakes' due work) as tasks. Injected
latency and waits cost no wall time and a run replays exactly from its seed.

`ProcessStage` (`harness/launcher.py`) is the same topology as real processes on 127.0.0.1.

A scenario sees only the `Stage` protocol: URLs, an HTTP client, `sleep`, `kill`/`restart`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from starlette.types import Message, Receive, Scope, Send

from components.recovery.service import RecoveryService
from components.store import open_store
from components.sync.service import SyncService
from harness.topology import ComponentUrls, Topology
from simulators.landscape import Landscape

LOG = logging.getLogger("components.server")  # as uvicorn logs a served component's errors


class Stage(Protocol):
    topology: Topology
    seed: int
    mode: str
    http: httpx.AsyncClient
    fakes: dict[str, str]                 # vendor → base URL
    components: dict[str, ComponentUrls]  # merchant → its services' URLs

    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...
    async def kill(self, merchant: str, component: str) -> None: ...
    async def restart(self, merchant: str, component: str) -> None: ...


class Killable:
    """An ASGI app that can be killed like a process: requests in flight are cancelled (their
    callers see the connection drop) and new ones are refused until it is replaced."""

    def __init__(self, app: Any) -> None:
        self.app: Any = app
        self.running: set[asyncio.Task[Any]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise httpx.ConnectError("connection refused (the process is down)")
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        # the handler runs in a task of its own, so a kill cancels it and not the caller
        handler = asyncio.ensure_future(self.app(scope, receive, sending))
        self.running.add(handler)
        try:
            await asyncio.shield(handler)
        except asyncio.CancelledError:
            if not handler.cancelled():
                handler.cancel()
                raise  # the caller itself was cancelled
            raise httpx.ReadError("connection reset (the process was killed)") from None
        except Exception:  # what a server does with an unhandled error: log it, answer 500
            LOG.exception("unhandled error in %s", scope.get("path"))
            if not started:
                await send({"type": "http.response.start", "status": 500, "headers": []})
                await send({"type": "http.response.body", "body": b"Internal Server Error"})
        finally:
            self.running.discard(handler)

    def kill(self) -> None:
        self.app = None
        for handler in list(self.running):
            handler.cancel()


@dataclass
class _Merchant:
    recovery: RecoveryService
    sync: SyncService
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


class InProcessStage:
    """The topology in this process on virtual time. Use inside `virtual_time.run`."""

    mode = "in-process"

    def __init__(self, topology: Topology, seed: int | None = None, *,
                 poll_seconds: float = 5.0, loops: bool = True) -> None:
        self.topology = topology
        # loops=False: no component loops; the caller runs due retries and the outbox itself
        # (harness/explore.py jumps virtual time from one due instant to the next)
        self.loops = loops
        # the components' loops (due retries, the outbox relay) wake this often; a served
        # service wakes every second, which over days of virtual time costs wall time
        self.poll_seconds = poll_seconds
        self.seed = topology.seed if seed is None else seed
        self.components = {name: ComponentUrls(recovery=f"http://recovery-{name}.test",
                                               sync=f"http://sync-{name}.test")
                           for name in topology.merchants}
        configs = {v: topology.fake_config(v, self.components) for v in topology.vendors()}
        self.world = Landscape(topology.vendors(), seed=self.seed, configs=configs)
        self.fakes = {v: self.world.url(v) for v in topology.vendors()}
        self.http = self.world.client(timeout=60)
        self.apps: dict[tuple[str, str], Killable] = {}
        self.merchants: dict[str, _Merchant] = {}
        self.stores: dict[str, Any] = {}
        self._settings_made: dict[str, Any] = {}
        for name in topology.merchants:
            for component in ("recovery", "sync"):
                app = Killable(None)
                self.apps[name, component] = app
                self.world.mount(f"{component}-{name}.test", app)
            self._start(name, "recovery")
            self._start(name, "sync")

    def now(self) -> float:
        return self.world.clock.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def _start(self, name: str, component: str) -> None:
        settings = self._settings(name)
        # One store per merchant, shared by its two services and kept across a kill (a
        # process's database outlives it); an in-memory SQLite keeps only committed work.
        if name not in self.stores:
            self.stores[name] = open_store("sqlite://")
        store = self.stores[name]
        existing = self.merchants.get(name)
        kwargs: dict[str, Any] = {"http": self.http, "store": store, "now": self.world.clock.now,
                                  "seed": self.seed}
        if component == "recovery":
            service: Any = RecoveryService(settings, **kwargs)
        else:
            service = SyncService(settings, **kwargs)
        if existing is None:
            placeholder: Any = None
            self.merchants[name] = _Merchant(
                service if component == "recovery" else placeholder,
                service if component == "sync" else placeholder)
        else:
            setattr(existing, component, service)
        self.apps[name, component].app = service.app

    def _settings(self, name: str) -> Any:
        """A merchant's settings, made once (the services only read them; a harness restarting
        services thousands of times would otherwise rebuild them from the topology each time)."""
        if name not in self._settings_made:
            settings = self.topology.component_settings(name, self.fakes, store="sqlite://")
            settings.outbox.poll_seconds = self.poll_seconds
            self._settings_made[name] = settings
        return self._settings_made[name]

    def _loops(self, name: str) -> list[asyncio.Task[Any]]:
        m = self.merchants[name]
        return [asyncio.create_task(m.recovery.run_scheduled_retries(self.poll_seconds),
                                    name=f"{name}:recovery"),
                asyncio.create_task(m.sync.run_background(), name=f"{name}:sync")]

    async def __aenter__(self) -> InProcessStage:
        await self.world.__aenter__()  # the fakes' background runners
        for name, m in self.merchants.items():
            m.tasks = self._loops(name) if self.loops else []
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for m in self.merchants.values():
            for task in m.tasks:
                task.cancel()
            for task in m.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await m.recovery.deployment.aclose()
            await m.sync.deployment.aclose()
        await self.world.__aexit__(None, None, None)
        await self.http.aclose()

    async def kill(self, merchant: str, component: str) -> None:
        """SIGKILL, in-process: requests in flight are cancelled, the loop stops, the store
        keeps what was committed."""
        m = self.merchants[merchant]
        self.apps[merchant, component].kill()
        for task in m.tasks:
            if task.get_name() == f"{merchant}:{component}":
                task.cancel()
        m.tasks = [t for t in m.tasks if t.get_name() != f"{merchant}:{component}"]

    async def restart(self, merchant: str, component: str) -> None:
        m = self.merchants[merchant]
        old = getattr(m, component)
        await old.deployment.aclose()
        self._start(merchant, component)
        if not self.loops:
            return
        service = getattr(m, component)
        loop = (service.run_scheduled_retries(self.poll_seconds) if component == "recovery"
                else service.run_background())
        m.tasks.append(asyncio.create_task(loop, name=f"{merchant}:{component}"))

    async def reset(self, seed: int, stores: dict[str, Any] | None = None) -> None:
        """Back to just started, on `seed`: every fake reset (its tenants as configured, the
        clock at its start), each merchant's store empty (or `stores[merchant]`) and its
        services new. Cheaper than a new stage (no topology, schema or app to build again);
        for stages whose loops the caller drives (loops=False)."""
        assert not self.loops, "reset() is for stages whose loops the caller drives"
        self.seed = seed
        self.world.reset(seed)
        for name, m in self.merchants.items():
            await m.recovery.deployment.aclose()
            await m.sync.deployment.aclose()
            self.stores[name].close()
            self.stores[name] = (stores or {}).get(name) or open_store("sqlite://")
            self._start(name, "recovery")
            self._start(name, "sync")
