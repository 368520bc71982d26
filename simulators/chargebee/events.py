"""Chargebee events: the `ev_` objects behind `GET /events` and webhook deliveries.

A webhook body is the event itself (`id`, `occurred_at`, `source`, `object: "event"`,
`api_version: "v2"`, `content: {resource: {...}}`, `event_type`, `webhook_status`). Chargebee
signs nothing: a receiver authenticates with the HTTP Basic credentials set on the endpoint.
Endpoints come from the site's settings (`webhooks: [{url, basic_auth_username,
basic_auth_password, enabled_events}]`) and from `POST /webhook_endpoints`. Failed deliveries
are retried on Chargebee's schedule (+2 min, +6 min, +30 min, +1 h, +5 h, +1 day, +2 days).
Events are kept 90 days (then dropped on the site's next event), and at most the fake's
`max_objects_per_collection`, oldest dropped first.
"""

from __future__ import annotations

from typing import Any

from simulators.core.snapshot import copy_tree
from simulators.core.tenancy import Tenant
from simulators.core.webhooks import Delivery, pretty_body

RETRY_SCHEDULE = [120.0, 360.0, 1800.0, 3600.0, 5 * 3600.0, 86400.0, 2 * 86400.0]
# [U] for the API: Chargebee's docs say events older than 90 days are not shown in the web UI
EVENT_RETENTION = 90 * 86400.0
USER_AGENT = "ChargeBee"


def endpoints(tenant: Tenant) -> list[dict[str, Any]]:
    """Enabled endpoints: the site's configured URLs, then those created through the API."""
    found = []
    for i, hook in enumerate(tenant.settings.get("webhooks") or []):
        if isinstance(hook, str):
            hook = {"url": hook}
        found.append({"id": f"settings_{i}", **hook})
    found += [e for e in tenant.collection("webhook_endpoint").values() if not e.get("disabled")]
    return found


def emit(sim: Any, tenant: Tenant, event_type: str, content: dict[str, Any], *, now: float,
         source: str = "api", webhooks: bool = True) -> dict[str, Any]:
    """Record an event and queue its webhook deliveries (unless the request disabled them)."""
    from simulators.chargebee.models import new_id

    event: dict[str, Any] = {
        "id": new_id(sim, tenant, "ev"), "occurred_at": int(now), "source": source,
        "object": "event", "api_version": "v2",
        "content": {name: copy_tree(obj) for name, obj in content.items() if obj is not None},
        "event_type": event_type, "webhook_status": "not_configured", "webhooks": [],
    }
    if source == "api":
        event["user"] = "api"
    events = tenant.by_age("event", "occurred_at")
    events.drop_before(now - EVENT_RETENTION)
    events.drop_oldest(tenant.caps.max_objects - 1)
    events.add(event["id"], event)
    targets = [e for e in endpoints(tenant) if _wants(e, event_type)] if webhooks else []
    if not targets:
        return event
    event["webhook_status"] = "scheduled"
    event["webhooks"] = [{"id": e["id"], "webhook_status": "scheduled", "object": "webhook"}
                         for e in targets]
    body = pretty_body(event)
    for endpoint in targets:
        user = endpoint.get("basic_auth_username")
        sim.webhooks.send(Delivery(
            tenant=tenant.id, endpoint=endpoint["id"], url=endpoint["url"], event_id=event["id"],
            event_type=event_type, body=body, schedule=RETRY_SCHEDULE,
            headers={"User-Agent": USER_AGENT},
            auth=(user, endpoint.get("basic_auth_password") or "") if user else None,
            on_result=lambda d, ok, ev=event: _delivered(ev, d.endpoint, ok)))
    return event


def _wants(endpoint: dict[str, Any], event_type: str) -> bool:
    enabled = endpoint.get("enabled_events") or []
    return not enabled or event_type in enabled


def _delivered(event: dict[str, Any], endpoint_id: str, ok: bool) -> None:
    status = "succeeded" if ok else "failed"
    for hook in event["webhooks"]:
        if hook["id"] == endpoint_id:
            hook["webhook_status"] = status
    statuses = {h["webhook_status"] for h in event["webhooks"]}
    event["webhook_status"] = ("failed" if "failed" in statuses else
                               "scheduled" if "scheduled" in statuses else "succeeded")
