"""Stripe events: the `evt_` objects behind `GET /v1/events` and webhook deliveries.

Every state change calls `emit`. The event is stored (listable for 30 days, then dropped, as are
the oldest beyond the fake's `max_objects_per_collection`) and delivered to each enabled webhook
endpoint of the account whose `enabled_events` match, signed with the endpoint's
`whsec_` secret exactly as Stripe signs (`Stripe-Signature: t=…,v1=HMAC-SHA256(t.body)`), in
the endpoint's `api_version` (the account's when it has none; see versions/).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from simulators.core.clock import Clock
from simulators.core.snapshot import copy_tree
from simulators.core.tenancy import AgeIndex, Tenant
from simulators.core.webhooks import Delivery, pretty_body
from simulators.stripe import versions
from simulators.stripe.objects import new_id

EVENT_RETENTION = 30 * 24 * 3600  # Stripe guarantees events (GET /v1/events) for 30 days
DELIVERY_OUTCOMES = "_event_delivery"  # event id -> every endpoint got it (delivery_success=)
# Sandbox: "3 times over a few hours"; live: exponential backoff for up to 3 days.
RETRY_SCHEDULES = {
    "sandbox": [3600.0, 3 * 3600.0, 6 * 3600.0],
    "live": [300.0, 1800.0, 3600.0, 2 * 3600.0, 4 * 3600.0, 8 * 3600.0, 16 * 3600.0,
             24 * 3600.0, 24 * 3600.0],
}


def sign_payload(secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _signer(secret: str):
    def sign(body: bytes, _sim_now: float) -> dict[str, str]:
        # Receivers check the timestamp against their own wall clock (the SDKs allow 300 s),
        # so the signature carries real time even when the fake's clock is controlled.
        return {"Stripe-Signature": sign_payload(secret, body, int(Clock.wall()))}
    return sign


def emit(sim: Any, tenant: Tenant, event_type: str, obj: dict[str, Any], *,
         previous_attributes: dict[str, Any] | None = None, request_id: str | None = None,
         idempotency_key: str | None = None, created: float | None = None) -> dict[str, Any]:
    """Record an event for `obj` and queue its webhook deliveries."""
    data: dict[str, Any] = {"object": copy_tree(obj)}
    if previous_attributes:
        data["previous_attributes"] = previous_attributes
    event = {  # as Stripe makes it: at the account's version of the time
        "id": new_id(sim, tenant, "evt"), "object": "event",
        "api_version": versions.account_version(tenant),
        "created": int(created if created is not None else sim.clock.now()), "data": data,
        "livemode": False, "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key}, "type": event_type,
    }
    events = prune_events(sim, tenant)
    _forget_outcomes(tenant, events.drop_oldest(tenant.caps.max_objects - 1))
    # a test clock's event may be dated ahead of the fake's clock: index it by now at the latest
    events.add(event["id"], event, at=min(event["created"], sim.clock.now()))
    endpoints = [e for e in tenant.collection("webhook_endpoint").values()
                 if e.get("status") == "enabled"
                 and ("*" in (e.get("enabled_events") or [])
                      or event_type in (e.get("enabled_events") or []))]
    if not endpoints:
        return event
    event["pending_webhooks"] = len(endpoints)  # as the delivered payload shows it
    schedule = RETRY_SCHEDULES[tenant.settings.get("webhook_retries", "sandbox")]
    bodies: dict[str, bytes] = {}
    for endpoint in endpoints:
        # each endpoint gets the event at its own version, else at the account's
        version = endpoint.get("api_version") or versions.account_version(tenant)
        if version not in bodies:
            payload = versions.render_event(event, tenant, version)
            bodies[version] = pretty_body(payload)
        body = bodies[version]
        sim.webhooks.send(Delivery(
            tenant=tenant.id, endpoint=endpoint["id"], url=endpoint["url"], event_id=event["id"],
            event_type=event_type, body=body, schedule=schedule,
            sign=_signer(endpoint["secret"]),
            headers={"User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
            on_result=lambda _d, ok, ev=event: _delivered(tenant, ev, ok)))
    return event


def prune_events(sim: Any, tenant: Tenant) -> AgeIndex:
    """Drop the events past retention (and their delivery outcomes); the tenant's events, oldest
    first. O(1) amortised per event: called on every emit and read."""
    events = tenant.by_age("event", "created")
    _forget_outcomes(tenant, events.drop_before(sim.clock.now() - EVENT_RETENTION))
    return events


def _forget_outcomes(tenant: Tenant, event_ids: list[str]) -> None:
    outcomes = tenant.data.get(DELIVERY_OUTCOMES, {})
    for event_id in event_ids:
        outcomes.pop(event_id, None)


def _delivered(tenant: Tenant, event: dict[str, Any], ok: bool) -> None:
    event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)
    if tenant.collection("event").get(event["id"]) is not event:
        return  # dropped (retention) while its deliveries were pending
    # for GET /v1/events?delivery_success=: true only if every endpoint got it
    outcomes = tenant.collection(DELIVERY_OUTCOMES)
    outcomes[event["id"]] = outcomes.get(event["id"], True) and ok
