"""Fakes whose complete responses are recorded on the way out, for the conformance tests that
re-run other test modules and then validate every response against a document or spec."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.server import start_in_thread
from simulators.core.simulator import Simulator
from simulators.core.tls import ServerCertificate
from simulators.registry import create_vendor
from tests.conftest import Fake


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Recorder:
    """ASGI wrapper that keeps a copy of each complete response (dropped ones never complete)."""

    app: Any
    seen: list[Recorded] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Tap(self, scope, send).send)


class _Tap:
    def __init__(self, recorder: Recorder, scope: Any, send: Any) -> None:
        self.recorder, self.scope, self._send = recorder, scope, send
        self.status, self.headers, self.body = 0, {}, b""

    @property
    def transport(self) -> Any:  # the pipeline drops connections through the server's transport
        return getattr(getattr(self._send, "__self__", None), "transport", None)

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                scope = self.scope
                self.recorder.seen.append(Recorded(
                    scope["method"], scope["path"], scope.get("query_string", b"").decode(),
                    self.status, self.headers, self.body))
        await self._send(message)


class Recording:
    """A `start_fake` look-alike whose fakes record their responses into one `seen` list.

    As a context manager it stops the fakes started so far (`seen` is kept), so a long replay
    can free each test's servers before the next test starts its own.
    """

    def __init__(self, certificates: ServerCertificate) -> None:
        self.certificates = certificates
        self.seen: list[Recorded] = []
        self._servers = ExitStack()

    def __call__(self, vendor: str, *, tls: bool = False, seed: int = 0,
                 controlled_clock: bool = False, simulator: Simulator | None = None) -> Fake:
        sim = simulator or Simulator(create_vendor(vendor), seed=seed,
                                     clock=Clock.frozen() if controlled_clock else Clock.real())
        cert = self.certificates if tls else None
        server = start_in_thread(Recorder(build_app(sim), self.seen), tls=cert)
        self._servers.callback(server.stop)
        return Fake(server.url, sim, server, cert)

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._servers.close()


def module_tests(module: ModuleType) -> list[Callable[..., Any]]:
    """The test functions a module defines (not those it imports), to replay on a recording."""
    return [f for name, f in inspect.getmembers(module, inspect.isfunction)
            if name.startswith("test_") and f.__module__ == module.__name__]
