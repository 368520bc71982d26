"""What the payments modules share: `Op` (who performs an operation: simulator, account, request
id, idempotency key, fault directives), `op_from`, small parameter helpers and the
live-customer lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext
from simulators.stripe.errors import (
    invalid_request,
    resource_missing,
)
from simulators.stripe.events import emit
from simulators.stripe.objects import get_object, new_id

TEST_CLOCKS = "test_helpers.test_clock"  # billing.py owns them


@dataclass
class Op:
    """Who performs an operation; events record the request id and idempotency key."""

    sim: Any
    tenant: Tenant
    request_id: str | None = None
    idempotency_key: str | None = None
    directives: dict[str, Any] = field(default_factory=dict)
    at: int | None = None  # a test clock's frozen_time, for objects of a test-clock customer

    @property
    def now(self) -> int:
        return self.at if self.at is not None else int(self.sim.clock.now())

    def on_clock_of(self, customer_id: str | None) -> None:
        """Objects of a customer on a test clock are created at the clock's frozen_time."""
        customer = self.tenant.collection("customer").get(customer_id or "") or {}
        clock = self.tenant.collection(TEST_CLOCKS).get(customer.get("test_clock") or "")
        self.at = int(clock["frozen_time"]) if clock else None

    def id(self, prefix: str) -> str:
        return new_id(self.sim, self.tenant, prefix)

    def emit(self, event_type: str, obj: dict[str, Any],
             previous: dict[str, Any] | None = None) -> dict[str, Any]:
        return emit(self.sim, self.tenant, event_type, obj, previous_attributes=previous,
                    request_id=self.request_id, idempotency_key=self.idempotency_key)


def op_from(ctx: RequestContext) -> Op:
    assert ctx.tenant is not None
    return Op(ctx.sim, ctx.tenant, ctx.request_id, ctx.idempotency_key, ctx.directives)


def _text(value: Any) -> str | None:
    """Stripe unsets a string with an empty value."""
    return None if value in (None, "") else str(value)


def _address(raw: Any) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object", "address")
    keys = ("city", "country", "line1", "line2", "postal_code", "state")
    return {k: _text(raw.get(k)) for k in keys}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`data.previous_attributes` of an `*.updated` event: old values of changed top fields."""
    return {k: before.get(k) for k in after if before.get(k) != after.get(k)}


def live_customer(tenant: Tenant, customer_id: str, param: str = "id") -> dict[str, Any]:
    """A customer that exists and is not deleted, or Stripe's 404 naming `param`."""
    customer = get_object(tenant, "customer", customer_id, param=param)
    if customer.get("deleted"):
        raise resource_missing("customer", customer_id, param)
    return customer
