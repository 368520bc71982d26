"""What a vendor package gives the engine, and what the engine gives a vendor's handlers.

A vendor package (stripe, chargebee, netsuite, salesforce) subclasses `Vendor`: it names its
routes, says how a request is authenticated and which tenant it belongs to, and renders its own
native error bodies. Everything cross-cutting (journal, limits, latency, faults, idempotency,
webhooks, clock, control plane) is done by the engine for every vendor alike.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import APIRouter
from starlette.requests import Request

from simulators.core.clock import Clock
from simulators.core.limits import LimitState
from simulators.core.randomness import Seeds
from simulators.core.scheduler import Work
from simulators.core.schemas import SchemaRules
from simulators.core.states import ProviderState
from simulators.core.tenancy import Tenant, TenantRegistry
from simulators.core.webhooks import WebhookDispatcher


class VendorError(Exception):
    """A response in the vendor's own error format, raised by models and routes.

    `store_idempotent=False` marks errors raised before the endpoint "began executing"
    (parameter validation): Stripe stores no idempotent result for those.
    """

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None,
                 *, store_idempotent: bool = True) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.store_idempotent = store_idempotent

    def encode(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


class NativeErrors(ABC):
    """The vendor's own bodies for the failures the engine injects or enforces."""

    content_type = "application/json"
    max_body_bytes: int | None = None  # the vendor's documented body limit (None: the fake's)

    @abstractmethod
    def http_error(self, status: int, code: str | None = None,
                   message: str | None = None) -> VendorError:
        """Any status (500, 503, 400, …) with the vendor's body; `code` is vendor-specific."""

    @abstractmethod
    def rate_limited(self, retry_after: float | None) -> VendorError:
        """The vendor's request-rate rejection (Stripe 429, Salesforce 403, …)."""

    def concurrency_limited(self, limit: int) -> VendorError:
        """The vendor's concurrent-request rejection; by default the same as the rate limit."""
        return self.rate_limited(None)

    @abstractmethod
    def unauthorized(self, reason: str = "") -> VendorError:
        """Bad, missing or expired credentials."""

    @abstractmethod
    def not_found(self, path: str) -> VendorError:
        """A path the vendor does not serve."""

    def method_not_allowed(self, method: str, path: str) -> VendorError:
        return self.not_found(path)

    def request_too_large(self, limit: int) -> VendorError:
        """A request body over the fake's `limits.max_body_bytes`; by default the vendor's 413."""
        return self.http_error(413, message=f"The request body is larger than {limit} bytes.")

    def internal_error(self, request_id: str) -> VendorError:
        """The fake itself failed (a bug, not an injected fault): the vendor's 500, naming the
        request so the body, the journal and the logged traceback can be matched."""
        return self.http_error(500, message=f"An unexpected error occurred. Error ID: "
                                            f"{request_id}")


@dataclass
class IdempotencyPolicy:
    """How a vendor replays requests that carry an idempotency key (see core/idempotency.py)."""

    header: str  # lower-case request header
    retention_seconds: float
    mismatch: Callable[[str], VendorError]  # the key was reused with other parameters
    in_flight: Callable[[str], VendorError]  # the key's first request is still running
    methods: tuple[str, ...] = ("POST",)
    max_key_length: int = 255
    too_long: Callable[[str], VendorError] | None = None
    replayed_header: tuple[str, str] | None = None


class Engine(Protocol):
    """The running fake as a vendor's hooks and handlers see it: what `Simulator`
    (core/simulator.py) gives them. A Protocol, so that this module, which the simulator is built
    on, does not import it back."""

    @property
    def vendor(self) -> Vendor: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def seeds(self) -> Seeds: ...
    @property
    def seed(self) -> int: ...
    @property
    def tenants(self) -> TenantRegistry: ...
    @property
    def webhooks(self) -> WebhookDispatcher: ...
    @property
    def limit_state(self) -> LimitState: ...


@dataclass
class RequestContext:
    """Per-request facts the pipeline hands to handlers via `request.state.sim`."""

    sim: Engine
    request_id: str
    tenant: Tenant | None
    credentials: dict[str, Any] = field(default_factory=dict)
    directives: dict[str, Any] = field(default_factory=dict)  # set by faults, e.g. "decline"
    idempotency_key: str | None = None  # set when this request holds the key (not on replays)
    idempotency_fingerprint: str = ""
    holds_idempotency_key: bool = False
    store_idempotent: bool = True

    @property
    def now(self) -> float:
        return self.sim.clock.now()


def context(request: Request) -> RequestContext:
    """The pipeline's context for this request (what a handler calls first)."""
    ctx = request.scope["state"]["sim"]
    if not isinstance(ctx, RequestContext):
        raise TypeError(f"no RequestContext on this request (found {type(ctx).__name__}): "
                        f"is the app wrapped in the pipeline (core/app.py build_app)?")
    return ctx


class Vendor(ABC):
    """One fake vendor: its routes, auth, native errors and clock-driven behaviour."""

    name: str
    title: str
    errors: NativeErrors
    idempotency: IdempotencyPolicy | None = None
    public_paths: tuple[str, ...] = ()  # path prefixes served without credentials
    schema_rules: SchemaRules | None = None  # its schema files' naming rules; None: no schemas
    default_port: int = 0  # where `landscape serve <vendor>` listens unless told (0: any free)

    @abstractmethod
    def router(self) -> APIRouter:
        """The vendor's wire API."""

    @abstractmethod
    def authenticate(self, sim: Engine, request: Request) -> tuple[Tenant, dict[str, Any]]:
        """Resolve the tenant and credentials of a request, or raise the vendor's 401."""

    def enforce_limits(self, sim: Engine, tenant: Tenant) -> None:
        """The vendor's own per-tenant limits (plan rate limits, account concurrency), checked
        at the pipeline's limits stage after the fake-wide ones; raise the vendor's error.
        `sim.limit_state.in_flight[tenant.id]` counts this tenant's other requests in flight."""
        return None

    def response_headers(self, ctx: RequestContext) -> dict[str, str]:
        """Headers on every response, errors included (e.g. Stripe's Request-Id)."""
        return {}

    def exception_handlers(self) -> dict[Any, Any]:
        """Extra exception handlers for the vendor's app (VendorError is handled already)."""
        return {}

    def openapi(self, generated: dict[str, Any]) -> dict[str, Any]:
        """The published OpenAPI document; FastAPI's generated one unless a vendor knows better."""
        return generated

    def scheduled_work(self) -> dict[str, Work[Engine]]:
        """What to do when a kind of scheduled work falls due (renew, retry, expire, …), by the
        kind a vendor gave `tenant.schedule(...)`; see core/scheduler.py."""
        return {}

    def default_tenants(self) -> dict[str, dict[str, Any]]:
        """Tenants (id -> settings) a fake starts with when its config declares none, e.g. a demo
        NetSuite account with known OAuth credentials. Documented in the vendor's README."""
        return {}

    def configure_tenant(self, sim: Engine, tenant: Tenant) -> None:
        """Called after a tenant is declared (from config or defaults), e.g. to index its schema."""
        return None

    def provider_states(self) -> dict[str, ProviderState[Engine]]:
        """Named setups (see core/states.py): what Pact verification and seeding call."""
        return {}

    def reset(self, sim: Engine) -> None:
        """Forget what the vendor holds outside tenant state (nonces, request windows, caches),
        so that `Simulator.reset` returns the fake to its just-started state."""
        return None
