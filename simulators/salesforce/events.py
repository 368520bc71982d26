"""Change notifications: the JSON callout a record-triggered Flow (HTTP Callout action) would make.

Salesforce has no plain JSON webhooks (Outbound Messages are SOAP; CDC needs the Pub/Sub API), so
orgs that push changes to an integration usually run a record-triggered Flow whose HTTP callout
posts a small JSON body. The fake sends one such callout per committed change when the tenant
settings ask for it::

    notifications:
      url: http://127.0.0.1:9000/salesforce   # loopback only
      objects: [Account, SBQQ__Subscription__c] # optional; default: every object
      headers: {Authorization: Bearer abc}      # optional, e.g. a Named Credential's header

Body (one change per request)::

    {"eventId": "…", "orgId": "00D…", "sobject": "Account", "id": "001…",
     "changeType": "CREATE" | "UPDATE" | "DELETE", "changedFields": ["Name", …],
     "SystemModstamp": "2024-05-31T12:00:00.000+0000", "commitTimestamp": 1717156800000,
     "commitUser": "005…"}

Failed deliveries are retried like Outbound Messages: intervals doubling from 15 s, capped at
2 h, given up after 24 h (on the simulated clock).
"""

from __future__ import annotations

import json
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.webhooks import Delivery
from simulators.salesforce.models import org_id, user_id

USER_AGENT = "SFDC-Callout/59.0"


def retry_schedule(first: float = 15.0, cap: float = 7200.0, total: float = 86400.0) -> list[float]:
    schedule: list[float] = []
    wait = first
    while sum(schedule) + wait <= total:
        schedule.append(wait)
        wait = min(cap, wait * 2)
    return schedule


RETRY_SCHEDULE = retry_schedule()


def wanted(settings: dict[str, Any], sobject: str) -> bool:
    objects = settings.get("objects")
    if not objects or "*" in objects:
        return True
    return sobject.casefold() in {o.casefold() for o in objects}


def notify(sim: Any, tenant: Tenant, changes: list[dict[str, Any]], now: float) -> None:
    """Queue one callout per committed change the tenant subscribed to."""
    settings = tenant.settings.get("notifications") or {}
    url = settings.get("url")
    if not url:
        return
    for change in changes:
        if not wanted(settings, change["sobject"]):
            continue
        event_id = f"{org_id(tenant)[:15]}-{tenant.next_number('notification'):010d}"
        body = {"eventId": event_id, "orgId": org_id(tenant), **change,
                "commitTimestamp": int(now * 1000), "commitUser": user_id(tenant)}
        sim.webhooks.send(Delivery(
            tenant=tenant.id, endpoint=url, url=url, event_id=event_id,
            event_type=f"{change['sobject']}.{change['changeType']}",
            body=json.dumps(body).encode(), schedule=RETRY_SCHEDULE,
            headers={"User-Agent": USER_AGENT, **(settings.get("headers") or {})}))
