"""Every fake (and any other ASGI app: a webhook receiver, a component) in one process, on one
simulated clock and one seed, reached through in-process transports.

    async with Landscape(seed=7) as world:            # stripe, chargebee, netsuite, salesforce
        world.mount("receiver.test", my_app)    # webhooks to http://receiver.test/... land here
        async with world.client() as http:
            await http.post(world.url("stripe") + "/v1/customers", auth=("sk_test_x", ""))
        await world.advance(86400)                    # renewals, dunning, webhook retries

Run it on a `VirtualTimeLoop` (`simulators.core.virtual_time.run(main())`) with the default
virtual clock: injected latency and schedules then cost no wall time, and two runs with the same
seed give byte-identical objects and journals. Each fake's seed is derived from the landscape's
seed and the fake's name, so fakes draw independent streams.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.config import FakeConfig, build_simulator
from simulators.core.simulator import Simulator
from simulators.registry import VENDORS, create_vendor

HOST_SUFFIX = ".fake"  # a fake is reached at http://<vendor>.fake


def derive_seed(seed: int, name: str) -> int:
    """One fake's seed from the landscape's: stable, and independent between fakes."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


class AppTransport(httpx.AsyncBaseTransport):
    """httpx's ASGITransport (same scope, messages and errors: an app's exception is raised to
    the caller), for asyncio only: httpx's probes for trio on every request, an import that
    fails, which cost more than the fake's own handling of the request."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": request.method,
                 "headers": [(k.lower(), v) for k, v in request.headers.raw],
                 "scheme": url.scheme, "path": url.path,
                 "raw_path": url.raw_path.split(b"?")[0], "query_string": url.query,
                 "server": (url.host, url.port), "client": self.client, "root_path": ""}
        chunks = request.stream.__aiter__()
        request_complete = False
        status: int | None = None
        headers: list[tuple[bytes, bytes]] | None = None
        body: list[bytes] = []
        complete = asyncio.Event()

        async def receive() -> Message:
            nonlocal request_complete
            if request_complete:
                await complete.wait()
                return {"type": "http.disconnect"}
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                request_complete = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                assert status is None
                status, headers = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                assert not complete.is_set()
                if message.get("body") and request.method != "HEAD":
                    body.append(message["body"])
                if not message.get("more_body", False):
                    complete.set()

        await self.app(scope, receive, send)
        assert complete.is_set() and status is not None and headers is not None
        return httpx.Response(status, headers=headers, stream=_Body(body))


class _Body(httpx.AsyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self._parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"".join(self._parts)


class Router(httpx.AsyncBaseTransport):
    """An httpx transport that sends each request to the ASGI app mounted at its host."""

    def __init__(self) -> None:
        self._apps: dict[str, AppTransport] = {}

    def mount(self, host: str, app: ASGIApp) -> None:
        self._apps[host.lower()] = AppTransport(app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._apps.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(
                f"nothing is mounted at {request.url.host}; mounted: "
                f"{', '.join(sorted(self._apps)) or 'nothing'}", request=request)
        return await transport.handle_async_request(request)


class Landscape:
    def __init__(self, vendors: Iterable[str] = tuple(VENDORS), *, seed: int = 0,
                 clock: Clock | None = None,
                 configs: dict[str, FakeConfig] | None = None) -> None:
        self.seed = seed
        self.clock = clock or Clock.virtual()
        self.router = Router()
        self.fakes: dict[str, Simulator] = {}
        for name in vendors:
            sim = build_simulator(create_vendor(name), (configs or {}).get(name),
                                  seed=derive_seed(seed, name))
            sim.clock = self.clock  # one clock for the whole landscape
            for fault in sim.faults.faults.values():  # configured faults start on that clock
                fault.added_at = self.clock.now()
            sim.webhooks.transport = self.router  # webhooks reach mounted apps in-process
            self.fakes[name] = sim
            self.router.mount(name + HOST_SUFFIX, build_app(sim))

    # -- reaching things ------------------------------------------------------------------------
    def url(self, name: str) -> str:
        if name not in self.fakes:
            raise KeyError(f"no fake {name!r} in this landscape; it has {', '.join(self.fakes)}")
        return f"http://{name}{HOST_SUFFIX}"

    def mount(self, host: str, app: ASGIApp) -> str:
        """Serve another app (a webhook receiver, a component) at http://<host>; returns it."""
        self.router.mount(host, app)
        return f"http://{host}"

    def client(self, **options: Any) -> httpx.AsyncClient:
        """An httpx client that reaches every fake and mounted app in-process."""
        return httpx.AsyncClient(transport=self.router, **options)

    # -- running ------------------------------------------------------------------------------
    async def __aenter__(self) -> Landscape:
        for sim in self.fakes.values():
            sim.start_background()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        for sim in self.fakes.values():
            await sim.stop_background()

    async def advance(self, seconds: float) -> float:
        """Move the shared clock forward, running every fake's due work in time order."""
        target = self.clock.now() + seconds
        while True:
            due = [t for t in (sim.next_due() for sim in self.fakes.values()) if t is not None]
            step = target if not due or min(due) > target else max(min(due), self.clock.now())
            self.clock.set(step)
            for sim in self.fakes.values():
                await sim.run_due()
            if step >= target:
                return self.clock.now()

    def reset(self, seed: int | None = None) -> None:
        """Every fake back to its just-started state (optionally on a new landscape seed)."""
        if seed is not None:
            self.seed = seed
        for name, sim in self.fakes.items():
            sim.reset(derive_seed(self.seed, name))
