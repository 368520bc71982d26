"""One typed client for the `/_sim/` control plane every fake serves (simulators/core/control.py).

Tests, the harness and the `landscape` CLI drive fakes through it instead of hand-built httpx
calls, so a path or a body shape lives in one place and results come back typed.

    with ControlClient("http://127.0.0.1:12111") as fake:          # a fake on loopback
        fault = fake.faults.add({"kind": "http_error", "status": 503, "first_n": 1})
        fake.clock.advance(86400)

    async with AsyncControlClient(build_app(sim)) as fake:           # the same app in-process
        await fake.declare_tenant("acme", {"api_key": "k"})

Each operation is written once, as a method that returns a `Call` (method, path, body, and how
to parse the answer). `operation` turns it into a method of both clients: `ControlClient` runs the
call at once and returns the parsed result, `AsyncControlClient` returns an awaitable of it.

A fake started with a control token (`LANDSCAPE_CONTROL_TOKEN`, or `control.token` in its config
settings) needs it on every call: give `token=`, or the clients read the same variable.

A sync client given an ASGI app runs the app on an event loop of its own, in a thread (an anyio
blocking portal), because the app is async. That loop then owns the app: asyncio objects inside it
bind to the first loop that uses them, so don't also drive the same app from another loop.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import json
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypedDict, TypeVar, overload
from urllib.parse import quote

import anyio.from_thread
import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field

from simulators.core.faults import FaultSpec
from simulators.core.guard import TOKEN_ENV, TOKEN_HEADER
from simulators.core.latency import Latency
from simulators.core.simulator import Limits

__all__ = [
    "AsyncControlClient", "Call", "ClockState", "ControlClient", "ControlError", "DeclaredTenant",
    "FakeUnreachable", "FlushResult", "Health", "InstalledFault", "ProviderStateInfo",
    "RequestEntry", "ResetResult", "StateSetup", "TenantSummary", "WebhookAttempt",
]

T = TypeVar("T")
P = ParamSpec("P")
ASGIApp = Callable[..., Awaitable[None]]
Verify = str | Path | bool | ssl.SSLContext  # a CA file for fakes served with --tls, or as httpx
PREFIX = "/_sim"
IN_PROCESS_URL = "http://127.0.0.1"  # the host is never dialled: requests go to the app


# -- results ------------------------------------------------------------------------------------
class _Result(BaseModel):
    # extra="allow": a newer fake may add fields; an older client still parses what it knows
    model_config = ConfigDict(extra="allow", frozen=True)


class ClockState(_Result):
    now: float
    mode: str  # "real", "controlled" (frozen until moved) or "virtual" (in-process loop time)
    offset: float | None = None
    ran: dict[str, int] | None = None  # after an advance: the work that fell due, by kind


class Health(_Result):
    status: str
    vendor: str
    seed: int
    clock: ClockState
    tenants: int
    pending_webhooks: int
    webhooks_unsettled: int = 0  # deliveries due or under way (0: every one due answered)


class InstalledFault(FaultSpec):
    """A fault as the fake holds it: the spec plus its id and how often it matched and hit."""

    model_config = ConfigDict(extra="allow")
    id: str
    added_at: float
    matched: int
    hits: int


class TenantSummary(_Result):
    id: str  # an API-key-shaped id (Stripe's sk_test_…) is masked: sk_test_…abcd
    objects: dict[str, int]  # collection name -> object count
    settings: dict[str, Any] = Field(default_factory=dict)  # credentials masked
    schema_name: str | None = Field(None, alias="schema")  # the tenant's schema, if any


class DeclaredTenant(_Result):
    id: str
    settings: dict[str, Any]  # as merged (or replaced) by the fake
    schema_name: str | None = Field(None, alias="schema")


class ResetResult(_Result):
    seed: int
    clock: ClockState


class FlushResult(_Result):
    attempted: int
    pending: int


class ProviderStateInfo(_Result):
    name: str
    description: str
    params: dict[str, str]  # param name -> what it is, its default


class StateSetup(_Result):
    state: str
    tenant: str
    created: dict[str, Any]  # what the state made, e.g. {"customer": "cus_…"}


class RequestEntry(TypedDict, total=False):
    """One request the fake saw (simulators/core/pipeline.py writes them)."""

    seq: int
    at: float
    request_id: str
    method: str
    path: str
    query: str
    tenant: str | None
    faults: list[str] | None
    status: int
    outcome: str
    duration_ms: float
    idempotency_key: str
    replayed: bool


class WebhookAttempt(TypedDict, total=False):
    """One webhook delivery attempt (simulators/core/webhooks.py writes them)."""

    seq: int
    at: float
    delivery: str
    tenant: str
    endpoint: str
    url: str
    event_id: str
    event_type: str
    attempt: int
    copy: int
    outcome: str
    status: int
    error: str
    fault: str


# -- errors -------------------------------------------------------------------------------------
class ControlError(Exception):
    """The fake answered a control-plane call with an error (an unknown id, a bad body, …)."""

    def __init__(self, method: str, url: str, status: int, detail: Any) -> None:
        self.method, self.url, self.status, self.detail = method, url, status, detail
        super().__init__(f"{status} from {method} {url}: {_describe(detail)}")


class FakeUnreachable(ConnectionError):
    """Nothing usable answers at the fake's URL: not started, already stopped, or wrong CA."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(message)


def _describe(detail: Any) -> str:
    """FastAPI's validation errors as `field: problem; …`; a refusal as `error; fix: …`; any
    other detail as text."""
    if isinstance(detail, dict) and {"error", "fix"} <= detail.keys():
        return f"{detail['error']}; fix: {detail['fix']}"
    if isinstance(detail, list) and all(isinstance(d, dict) and "msg" in d for d in detail):
        return "; ".join(
            ": ".join(filter(None, (".".join(str(p) for p in d.get("loc", [])[1:]), d["msg"])))
            for d in detail) or "invalid request"
    return detail if isinstance(detail, str) else json.dumps(detail)


def _unreachable(base_url: str, exc: httpx.TransportError) -> FakeUnreachable:
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return FakeUnreachable(base_url, f"the fake at {base_url} has a certificate we don't "
                               "trust; give the CA file `landscape serve --tls` prints "
                               "(verify=<file>; on the command line, --ca <file>)")
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return FakeUnreachable(base_url, f"no fake answers at {base_url} ({exc}); start one "
                               "with `landscape serve <vendor>`")
    return FakeUnreachable(base_url, f"the fake at {base_url} did not answer: {exc!r}")


# -- calls and operations -----------------------------------------------------------------------
_NO_BODY: Any = object()


@dataclass(frozen=True)
class Call(Generic[T]):
    """One control-plane request and how to read its answer; both clients send these."""

    method: str
    path: str  # under /_sim
    parse: Callable[[Any], T]
    body: Any = _NO_BODY  # JSON-able; None is sent as `null`
    params: Mapping[str, Any] = field(default_factory=dict)

    def request_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {
            "params": {k: v for k, v in self.params.items() if v is not None}}
        if self.body is not _NO_BODY:
            args["content"] = json.dumps(self.body).encode()
            args["headers"] = {"content-type": "application/json"}
        return args

    def result(self, response: httpx.Response) -> T:
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = body if "error" in body else body.get("detail", response.text)
            except (ValueError, AttributeError, TypeError):
                detail = response.text
            raise ControlError(self.method, str(response.request.url), response.status_code,
                               detail)
        return self.parse(response.json())


class Sync:
    """Mode marker: operations return their result."""


class Async:
    """Mode marker: operations return an awaitable of their result."""


M = TypeVar("M", Sync, Async)


class _Part(Generic[M]):
    """Something whose operations are sent by one client (the client itself or a group)."""

    def __init__(self, send: Callable[[Call[Any]], Any]) -> None:
        self._send = send


class operation(Generic[P, T]):  # noqa: N801 (used as a decorator, like `property`)
    """Turns `def op(self, ...) -> Call[T]` into a method that sends the call: returning `T` on a
    sync client and `Awaitable[T]` on an async one. The request is built and parsed once, here."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__
        signature = inspect.signature(build)
        self._signature = signature.replace(parameters=list(signature.parameters.values())[1:])

    @overload
    def __get__(self, part: None, owner: type) -> operation[P, T]: ...
    @overload
    def __get__(self, part: _Part[Sync], owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, part: _Part[Async], owner: type) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, part: _Part[Any] | None, owner: type) -> Any:
        if part is None:
            return self
        build = self._build

        def send(*args: Any, **kwargs: Any) -> Any:
            return part._send(build(part, *args, **kwargs))

        functools.update_wrapper(send, build)
        send.__signature__ = self._signature  # type: ignore[attr-defined]
        return send


def _json(value: BaseModel | Mapping[str, Any]) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return dict(value)


def _none(_: Any) -> None:
    return None


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def _tenant_path(tenant_id: str) -> str:
    return f"/tenants/{quote(tenant_id, safe='')}"


# -- the operations, by group -------------------------------------------------------------------
class Faults(_Part[M]):
    """Installed faults (`/_sim/faults`)."""

    @operation
    def add(self, spec: FaultSpec | Mapping[str, Any]) -> Call[InstalledFault]:
        """Install a fault; the answer carries its id (to remove it) and hit counts. A mapping is
        validated by the fake, so its error names the bad field."""
        return Call("POST", "/faults", InstalledFault.model_validate, _json(spec))

    @operation
    def list(self) -> Call[builtins.list[InstalledFault]]:
        """Every installed fault, oldest first, with how often it matched and hit."""
        return Call("GET", "/faults", lambda data: [InstalledFault.model_validate(f)
                                                    for f in data])

    @operation
    def remove(self, fault_id: str) -> Call[None]:
        """Remove one fault; an unknown id is a `ControlError` (404)."""
        return Call("DELETE", f"/faults/{quote(fault_id, safe='')}", _none)

    @operation
    def clear(self) -> Call[None]:
        return Call("DELETE", "/faults", _none)


class LatencyProfile(_Part[M]):
    """The base latency every request gets before faults add theirs (`/_sim/latency`)."""

    @operation
    def get(self) -> Call[Latency | None]:
        return Call("GET", "/latency", _latency)

    @operation
    def set(self, latency: Latency | Mapping[str, Any] | None) -> Call[Latency | None]:
        """Set the profile; None removes it."""
        return Call("PUT", "/latency", _latency, None if latency is None else _json(latency))


def _latency(data: Any) -> Latency | None:
    return None if data is None else Latency.model_validate(data)


class RequestLimits(_Part[M]):
    """Per-tenant rate and concurrency limits (`/_sim/limits`)."""

    @operation
    def get(self) -> Call[Limits]:
        return Call("GET", "/limits", Limits.model_validate)

    @operation
    def set(self, limits: Limits | Mapping[str, Any]) -> Call[Limits]:
        return Call("PUT", "/limits", Limits.model_validate, _json(limits))


class SimulatedClock(_Part[M]):
    """The fake's business time (`/_sim/clock`): moving it runs what falls due on the way."""

    @operation
    def now(self) -> Call[float]:
        return Call("GET", "/clock", lambda data: float(data["now"]))

    @operation
    def describe(self) -> Call[ClockState]:
        return Call("GET", "/clock", ClockState.model_validate)

    @operation
    def advance(self, seconds: float) -> Call[ClockState]:
        """Move time forward; renewals, dunning and webhook retries due meanwhile run in order."""
        return Call("POST", "/clock/advance", ClockState.model_validate, {"seconds": seconds})

    @operation
    def set(self, epoch: float) -> Call[ClockState]:
        """Move time to an absolute unix time (never backwards)."""
        return Call("POST", "/clock/set", ClockState.model_validate, {"epoch": epoch})


class SeedControl(_Part[M]):
    """The seed every id, data and fault/latency draw derives from (`/_sim/seed`)."""

    @operation
    def get(self) -> Call[int]:
        return Call("GET", "/seed", _seed)

    @operation
    def set(self, seed: int) -> Call[int]:
        """Re-seed every random stream (state is kept; see `reset(seed=...)` for a fresh fake)."""
        return Call("PUT", "/seed", _seed, {"seed": seed})


def _seed(data: Any) -> int:
    return int(data["seed"])


class Journals(_Part[M]):
    """What the fake saw and sent (`/_sim/journal/…`), oldest first, for assertions."""

    @operation
    def requests(self, *, tenant: str | None = None, path: str | None = None,
                 method: str | None = None, status: int | None = None,
                 limit: int | None = None) -> Call[list[RequestEntry]]:
        """Requests, filtered; `path` is a glob, `limit` keeps the newest N."""
        return Call("GET", "/journal/requests", list, params={
            "tenant": tenant, "path": path, "method": method, "status": status, "limit": limit})

    @operation
    def webhooks(self, *, tenant: str | None = None, event_type: str | None = None,
                 outcome: str | None = None,
                 limit: int | None = None) -> Call[list[WebhookAttempt]]:
        """Webhook delivery attempts, filtered (outcome: delivered, failed, dropped, …)."""
        return Call("GET", "/journal/webhooks", list, params={
            "tenant": tenant, "event_type": event_type, "outcome": outcome, "limit": limit})

    @operation
    def clear_requests(self) -> Call[None]:
        return Call("DELETE", "/journal/requests", _none)

    @operation
    def clear_webhooks(self) -> Call[None]:
        return Call("DELETE", "/journal/webhooks", _none)


class _Control(_Part[M]):
    """The operations of the control plane; `ControlClient` and `AsyncControlClient` send them."""

    faults: Faults[M]
    latency: LatencyProfile[M]
    limits: RequestLimits[M]
    clock: SimulatedClock[M]
    seed: SeedControl[M]
    journal: Journals[M]

    def __init__(self, send: Callable[[Call[Any]], Any]) -> None:
        super().__init__(send)
        self.faults, self.latency, self.limits = Faults(send), LatencyProfile(send), \
            RequestLimits(send)
        self.clock, self.seed, self.journal = SimulatedClock(send), SeedControl(send), \
            Journals(send)

    @operation
    def health(self) -> Call[Health]:
        """Liveness and identity: which vendor, which seed, what time."""
        return Call("GET", "/health", Health.model_validate)

    # -- tenants --------------------------------------------------------------------------------
    @operation
    def tenants(self) -> Call[list[TenantSummary]]:
        return Call("GET", "/tenants", lambda data: [TenantSummary.model_validate(t)
                                                     for t in data])

    @operation
    def tenant_state(self, tenant_id: str) -> Call[dict[str, Any]]:
        """A tenant's state as a snapshot (what `restore_tenant` takes back)."""
        return Call("GET", f"{_tenant_path(tenant_id)}/state", dict)

    @operation
    def declare_tenant(self, tenant_id: str, settings: Mapping[str, Any] | None = None,
                       schema: Mapping[str, Any] | Path | None = None, *,
                       replace: bool = False) -> Call[DeclaredTenant]:
        """Declare a tenant, or update one, with settings (credentials, webhooks, dunning, …)
        and a per-merchant schema; the fake sets it up as it would from its config file.
        Settings merge into a declared tenant's unless `replace`. A `Path` schema is a YAML file
        read here and sent inline, since the fake may not see our files."""
        inline = (yaml.safe_load(schema.read_text(encoding="utf-8")) if isinstance(schema, Path)
                  else schema)
        return Call("PUT", _tenant_path(tenant_id), DeclaredTenant.model_validate,
                    {"settings": dict(settings or {}),
                     "schema": None if inline is None else dict(inline), "replace": replace})

    @operation
    def reset_tenant(self, tenant_id: str) -> Call[None]:
        """Empty a tenant's state (it stays declared)."""
        return Call("POST", f"{_tenant_path(tenant_id)}/reset", _none)

    @operation
    def restore_tenant(self, tenant_id: str, snapshot: Mapping[str, Any]) -> Call[None]:
        """Replace a tenant's state with a snapshot taken by `tenant_state`."""
        return Call("POST", f"{_tenant_path(tenant_id)}/restore", _none, dict(snapshot))

    # -- whole fake -----------------------------------------------------------------------------
    @operation
    def snapshot(self, target: str | Path) -> Call[None]:
        """Save every tenant's state: a `str` is a snapshot's name, kept in the fake's state
        folder; a `Path` is a file written here (session tokens are left out of it)."""
        if isinstance(target, Path):
            return Call("GET", "/snapshot", lambda data: _write_json(target, data))
        return Call("POST", "/snapshot", _none, {"name": target})

    @operation
    def restore(self, source: str | Path) -> Call[None]:
        """Restore every tenant's state from what `snapshot` saved: a name (`str`) or a file
        (`Path`, read here and sent inline)."""
        if isinstance(source, Path):
            return Call("POST", "/restore", _none,
                        {"tenants": json.loads(source.read_text(encoding="utf-8"))})
        return Call("POST", "/restore", _none, {"name": source})

    @operation
    def reset(self, seed: int | None = None) -> Call[ResetResult]:
        """Return the fake to its just-started state (tenants, clock, faults, journals, webhooks),
        re-seeded with `seed` if given, so one running fake serves many independent tests."""
        return Call("POST", "/reset", ResetResult.model_validate, {"seed": seed})

    @operation
    def flush_webhooks(self) -> Call[FlushResult]:
        """Attempt every webhook delivery that is due now, instead of waiting for the sender."""
        return Call("POST", "/webhooks/flush", FlushResult.model_validate)

    # -- provider states ------------------------------------------------------------------------
    @operation
    def states(self) -> Call[list[ProviderStateInfo]]:
        """The named setups this fake offers (what Pact's `given(...)` names)."""
        return Call("GET", "/states", lambda data: [ProviderStateInfo.model_validate(s)
                                                    for s in data])

    @operation
    def set_state(self, name: str, params: Mapping[str, Any] | None = None,
                  tenant: str | None = None) -> Call[StateSetup]:
        """Set up a named state with the ids in `params`; the answer lists what it created."""
        return Call("POST", "/states", StateSetup.model_validate,
                    {"state": name, "params": dict(params or {}), "action": "setup",
                     "tenant": tenant})


# -- the two clients ----------------------------------------------------------------------------
def _http_args(target: str | ASGIApp, verify: Verify, timeout: float,
               token: str | None) -> dict[str, Any]:
    token = token or os.environ.get(TOKEN_ENV) or None
    common = {"timeout": timeout, "trust_env": False,
              "headers": {TOKEN_HEADER: token} if token else {}}
    if isinstance(target, str):
        base = target.rstrip("/")
        if isinstance(verify, str | Path):  # a CA file: httpx wants it as an SSL context
            verify = ssl.create_default_context(cafile=str(verify))
        return {"base_url": base + PREFIX, "verify": verify, **common}
    return {"base_url": IN_PROCESS_URL + PREFIX, "transport": httpx.ASGITransport(app=target),
            **common}


class ControlClient(_Control[Sync]):
    """Blocking control client: `ControlClient(url, verify=ca_file)` for a fake on loopback,
    `ControlClient(app)` for an ASGI app in this process (run on a loop in a thread). Close it
    (or use `with`): an idle keep-alive connection holds up a served fake's shutdown, and the
    in-process loop's thread runs until closed. `token`: the fake's control token (default:
    $LANDSCAPE_CONTROL_TOKEN)."""

    def __init__(self, target: str | ASGIApp, *, verify: Verify = True, timeout: float = 30.0,
                 token: str | None = None) -> None:
        super().__init__(self._send_call)
        self.url = target.rstrip("/") if isinstance(target, str) else IN_PROCESS_URL
        self._stack = ExitStack()
        self._http: httpx.Client | None = None
        self._inner: AsyncControlClient | None = None
        if isinstance(target, str):
            self._http = self._stack.enter_context(
                httpx.Client(**_http_args(target, verify, timeout, token)))
        else:
            self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
            self._inner = AsyncControlClient(target, timeout=timeout, token=token)
            self._stack.callback(self._portal.call, self._inner.aclose)

    def _send_call(self, call: Call[T]) -> T:
        if self._inner is not None:
            return self._portal.call(self._inner._send_call, call)
        assert self._http is not None
        try:
            response = self._http.request(call.method, call.path, **call.request_args())
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from exc
        return call.result(response)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class AsyncControlClient(_Control[Async]):
    """Async control client: `AsyncControlClient(url, verify=ca_file)` for a fake on loopback,
    `AsyncControlClient(app)` for an ASGI app in this process (httpx's ASGITransport).
    `token`: the fake's control token (default: $LANDSCAPE_CONTROL_TOKEN)."""

    def __init__(self, target: str | ASGIApp, *, verify: Verify = True, timeout: float = 30.0,
                 token: str | None = None) -> None:
        super().__init__(self._send_call)
        self.url = target.rstrip("/") if isinstance(target, str) else IN_PROCESS_URL
        self._http = httpx.AsyncClient(**_http_args(target, verify, timeout, token))

    async def _send_call(self, call: Call[T]) -> T:
        try:
            response = await self._http.request(call.method, call.path, **call.request_args())
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from exc
        return call.result(response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()
