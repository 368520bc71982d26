"""Events as the API lists them, and webhook endpoints (create, update, delete)."""

from __future__ import annotations

from typing import Any

from simulators.core.tenancy import Tenant
from simulators.stripe import versions
from simulators.stripe.errors import (
    invalid_request,
    missing_param,
    resource_missing,
)
from simulators.stripe.events import DELIVERY_OUTCOMES, EVENT_RETENTION, prune_events
from simulators.stripe.objects import apply_metadata, get_object
from simulators.stripe.payments_base import (
    Op,
    _text,
)


# -- events and webhook endpoints ---------------------------------------------------------------
def visible_events(sim: Any, tenant: Tenant) -> list[dict[str, Any]]:
    """Events of the last 30 days by the fake's clock, newest first; older ones are dropped
    (a test clock's event may be dated earlier than it was stored: filtered too)."""
    oldest = sim.clock.now() - EVENT_RETENTION
    events = prune_events(sim, tenant).objects
    return [e for e in reversed(events.values()) if e["created"] >= oldest]


def list_events(sim: Any, tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    import fnmatch

    found = visible_events(sim, tenant)
    if params.get("type"):
        found = [e for e in found if fnmatch.fnmatchcase(e["type"], params["type"])]
    types = params.get("types")
    if types:
        if params.get("type"):
            raise invalid_request("You cannot specify both the type and types parameters.",
                                  "types")
        types = types if isinstance(types, list) else [types]
        if len(types) > 20:
            raise invalid_request("You may specify at most 20 types.", "types")
        found = [e for e in found if e["type"] in types]
    success = params.get("delivery_success")
    if success not in (None, ""):
        wanted = str(success).lower() == "true"
        outcomes = tenant.collection(DELIVERY_OUTCOMES)
        found = [e for e in found if e["id"] in outcomes and outcomes[e["id"]] == wanted]
    return found


def get_event(sim: Any, tenant: Tenant, event_id: str) -> dict[str, Any]:
    prune_events(sim, tenant)
    event = get_object(tenant, "event", event_id, label="event")
    if event["created"] < sim.clock.now() - EVENT_RETENTION:
        raise resource_missing("event", event_id)
    return event


def _enabled_events(raw: Any, allowed: set[str] | None) -> list[str]:
    if raw in (None, ""):
        raise missing_param("enabled_events")
    events = raw if isinstance(raw, list) else [raw]
    for i, name in enumerate(events):
        if allowed is not None and name != "*" and name not in allowed:
            raise invalid_request(f"Invalid enabled_events[{i}]: must be one of "
                                  f"{', '.join(sorted(allowed)[:5])}, …", f"enabled_events[{i}]")
    return list(events)


def _check_url(url: Any) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_request(f"Invalid URL: {url}. URLs must begin with http:// or https://",
                              "url")
    return str(url)


def create_webhook_endpoint(op: Op, params: dict[str, Any],
                            allowed_events: set[str] | None = None, *,
                            endpoint_id: str | None = None,
                            secret: str | None = None) -> dict[str, Any]:
    """`endpoint_id`, `secret`: chosen ones (provider states); Stripe generates both otherwise."""
    if not params.get("url"):
        raise missing_param("url")
    url = _check_url(params["url"])
    enabled = _enabled_events(params.get("enabled_events"), allowed_events)
    version = params.get("api_version") or None
    if version is not None and not versions.known(str(version)):
        raise invalid_request(f"Invalid Stripe API version: {version}", "api_version")
    endpoint: dict[str, Any] = {
        "id": endpoint_id or op.id("we"), "object": "webhook_endpoint",
        "api_version": version, "application": None,
        "created": op.now, "description": _text(params.get("description")),
        "enabled_events": enabled, "livemode": False, "metadata": {},
        "secret": secret or "whsec_" + op.sim.seeds.token(f"ids:{op.tenant.id}", 32),
        "status": "enabled", "url": url,
    }
    apply_metadata(endpoint, params.get("metadata"))
    op.tenant.collection("webhook_endpoint")[endpoint["id"]] = endpoint
    return endpoint


def public_endpoint(endpoint: dict[str, Any]) -> dict[str, Any]:
    """The secret is shown only in the create response."""
    return {k: v for k, v in endpoint.items() if k != "secret"}


def update_webhook_endpoint(op: Op, endpoint_id: str, params: dict[str, Any],
                            allowed_events: set[str] | None = None) -> dict[str, Any]:
    endpoint = get_object(op.tenant, "webhook_endpoint", endpoint_id,
                          label="webhook endpoint", param="webhook_endpoint")
    if "url" in params:
        endpoint["url"] = _check_url(params["url"])
    if "enabled_events" in params:
        endpoint["enabled_events"] = _enabled_events(params["enabled_events"], allowed_events)
    if "description" in params:
        endpoint["description"] = _text(params["description"])
    if params.get("disabled") not in (None, ""):
        disabled = str(params["disabled"]).lower() == "true"
        endpoint["status"] = "disabled" if disabled else "enabled"
    apply_metadata(endpoint, params.get("metadata"))
    return endpoint


def delete_webhook_endpoint(op: Op, endpoint_id: str) -> dict[str, Any]:
    get_object(op.tenant, "webhook_endpoint", endpoint_id, label="webhook endpoint",
               param="webhook_endpoint")
    del op.tenant.collection("webhook_endpoint")[endpoint_id]
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}
