"""Test clocks (create, advance, delete) and running the schedule: `run_schedule` for a test
clock's lane, `run_scheduled` / `SCHEDULED_WORK` for the core scheduler, `_work` dispatching
renewals, expiries, finalizations, collections and retries."""

from __future__ import annotations

from typing import Any

from simulators.core.scheduler import Scheduler
from simulators.core.tenancy import SCHEDULE, Tenant
from simulators.core.vendor import RequestContext
from simulators.stripe.billing_catalog import (
    text,
)
from simulators.stripe.billing_common import (
    CLOCK_LIFETIME,
    CLOCKS,
    CUSTOMERS,
    ENDED,
    INVOICES,
    MAX_STEPS,
    SUBSCRIPTIONS,
    add_interval,
)
from simulators.stripe.billing_invoices import _collect, _finalize, _retry
from simulators.stripe.billing_subscriptions import _expire_incomplete, _renew
from simulators.stripe.errors import invalid_request
from simulators.stripe.events import emit
from simulators.stripe.objects import get_object, integer, new_id

LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z: later has no calendar date to renew on

# -- test clocks ------------------------------------------------------------------------------
def create_test_clock(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    frozen = integer(params, "frozen_time", required=True, minimum=0, maximum=LAST_SECOND)
    now = int(ctx.now)
    clock = {"id": new_id(ctx, ctx.tenant, "clock"), "object": "test_helpers.test_clock",
             "created": now, "deletes_after": now + CLOCK_LIFETIME, "frozen_time": frozen,
             "livemode": False, "name": text(params, "name", max_length=300),
             "status": "ready"}
    ctx.tenant.collection(CLOCKS)[clock["id"]] = clock
    emit(ctx.sim, ctx.tenant, "test_helpers.test_clock.created", clock,
         request_id=ctx.request_id, idempotency_key=ctx.idempotency_key)
    return clock


def advance_test_clock(ctx: RequestContext, clock_id: str,
                       params: dict[str, Any]) -> dict[str, Any]:
    """Run everything due on the clock up to `frozen_time`, in time order. Stripe answers
    `advancing` and finishes in the background; the fake finishes before it answers (`ready`)."""
    sim, tenant = ctx.sim, ctx.tenant
    clock = get_object(tenant, CLOCKS, clock_id, label="test_clock")
    target = integer(params, "frozen_time", required=True, minimum=0, maximum=LAST_SECOND)
    if target <= clock["frozen_time"]:
        raise invalid_request("The frozen_time must be after the test clock's current "
                              f"frozen_time ({clock['frozen_time']}).", "frozen_time")
    limit = _advance_limit(tenant, clock)
    if target > limit:
        raise invalid_request("Cannot advance the test clock more than two intervals past the "
                              "shortest subscription interval on this test clock "
                              f"(at most {limit}).", "frozen_time")
    clock["status"] = "advancing"
    emit(sim, tenant, "test_helpers.test_clock.advancing", clock, request_id=ctx.request_id,
         idempotency_key=ctx.idempotency_key)
    run_schedule(sim, tenant, clock_id, target)
    clock["frozen_time"], clock["status"] = target, "ready"
    emit(sim, tenant, "test_helpers.test_clock.ready", clock)
    return clock


def _advance_limit(tenant: Tenant, clock: dict[str, Any]) -> int:
    frozen = int(clock["frozen_time"])
    limits = [add_interval(frozen, "year", 2)]
    for sub in tenant.collection(SUBSCRIPTIONS).values():
        if sub.get("test_clock") == clock["id"] and sub["status"] not in ENDED:
            for item in sub["items"]["data"]:
                recurring = item["price"]["recurring"]
                limits.append(add_interval(frozen, recurring["interval"],
                                           2 * int(recurring["interval_count"])))
    return min(limits)


def delete_test_clock(ctx: RequestContext, clock_id: str) -> dict[str, Any]:
    """Deleting a clock deletes the customers on it and their billing objects (as Stripe)."""
    tenant = ctx.tenant
    clock = get_object(tenant, CLOCKS, clock_id, label="test_clock")
    for name in (CUSTOMERS, SUBSCRIPTIONS, INVOICES):
        objects = tenant.collection(name)
        for oid in [oid for oid, o in objects.items() if o.get("test_clock") == clock_id]:
            del objects[oid]
    schedule = tenant.data.get(SCHEDULE, {})
    for oid in [oid for oid, e in schedule.items() if e.get("lane") == clock_id]:
        del schedule[oid]
    del tenant.collection(CLOCKS)[clock_id]
    emit(ctx.sim, tenant, "test_helpers.test_clock.deleted", clock, request_id=ctx.request_id,
         idempotency_key=ctx.idempotency_key)
    return {"id": clock_id, "object": "test_helpers.test_clock", "deleted": True}


# -- the schedule -----------------------------------------------------------------------------
def run_scheduled(sim: Any, tenant: Tenant, object_id: str, entry: dict[str, Any]) -> None:
    """The core scheduler's callback for work on the fake's own clock."""
    _work(sim, tenant, object_id, int(entry["at"]), entry)


SCHEDULED_WORK = dict.fromkeys(("renew", "expire", "finalize", "collect", "retry"),
                               run_scheduled)


def run_schedule(sim: Any, tenant: Tenant, clock_id: str, until: int) -> None:
    """Do the work due on one test clock up to `until`, earliest first, each at its own time."""
    clock = tenant.collection(CLOCKS)[clock_id]
    for _ in range(MAX_STEPS):
        due = Scheduler.due_in_lane(tenant, clock_id, until)
        if due is None:
            return
        oid, entry = due
        clock["frozen_time"] = max(int(clock["frozen_time"]), int(entry["at"]))
        _work(sim, tenant, oid, int(entry["at"]), entry)


def _work(sim: Any, tenant: Tenant, object_id: str, at: int, entry: dict[str, Any]) -> None:
    kind = entry["kind"]
    if kind in ("renew", "expire"):
        sub = tenant.collection(SUBSCRIPTIONS).get(object_id)
        if sub is None or sub["status"] in ENDED:
            return
        if kind == "expire":
            if sub["status"] == "incomplete":
                _expire_incomplete(sim, tenant, sub, at)
            return
        _renew(sim, tenant, sub, at)
        return
    invoice = tenant.collection(INVOICES).get(object_id)
    if invoice is None:
        return
    if kind == "finalize" and invoice["status"] == "draft":
        _finalize(sim, tenant, invoice, at)
        if invoice["status"] == "open" and invoice["auto_advance"]:
            _collect(sim, tenant, invoice, at, automatic=True)
    elif kind == "collect" and invoice["status"] == "open":
        _collect(sim, tenant, invoice, at, automatic=True)
    elif kind == "retry" and invoice["status"] == "open":
        _retry(sim, tenant, invoice, at, int(entry.get("slot", 0)))
