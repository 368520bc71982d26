"""Change notifications: what a merchant's user-event script would POST after a record changes.

NetSuite has no built-in webhooks (vendor facts §3.10): integrations poll `lastModifiedDate`
(REST `q=` or SuiteQL) or deploy an afterSubmit user-event script that calls out with N/https.
This module plays that script, per tenant, when `settings.notifications.url` is set:

    notifications:
      url: http://127.0.0.1:9000/netsuite-events
      record_types: [customer, invoice]   # optional; default every type
      headers: {X-Api-Key: "..."}         # optional, sent as is
      retries: [60, 300]                  # optional; N/https itself never retries

Body (JSON): {"eventId", "accountId", "recordType", "id", "type": "create|edit|delete",
"externalId", "lastModifiedDate", "occurredAt"}. Only requests through the record API notify;
NetSuite updating an invoice's amount due because a payment was applied runs no user event on
the invoice, so none is sent for it here either.
"""

from __future__ import annotations

import json
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.webhooks import Delivery
from simulators.netsuite.models import RecordType, timestamp


def notify(sim: Any, tenant: Tenant, rtype: RecordType, record: dict[str, Any],
           change: str) -> dict[str, Any] | None:
    """Queue the notification for one change (create, edit, delete), if the tenant wants it."""
    config = tenant.settings.get("notifications") or {}
    url = config.get("url")
    wanted = config.get("record_types")
    if not url or (wanted and rtype.name not in {w.lower() for w in wanted}):
        return None
    event_id = f"{tenant.id}-{tenant.next_number('notification')}"
    now = sim.clock.now()
    body = {"eventId": event_id, "accountId": tenant.id, "recordType": rtype.name,
            "id": record["id"], "type": change, "externalId": record.get("externalId"),
            "lastModifiedDate": record.get("lastModifiedDate"), "occurredAt": timestamp(now)}
    sim.webhooks.send(Delivery(
        tenant=tenant.id, endpoint=url, url=url, event_id=event_id,
        event_type=f"{rtype.name}.{change}", body=json.dumps(body).encode(),
        schedule=[float(s) for s in config.get("retries", [])],
        headers={"User-Agent": "Mozilla/5.0 (NetSuite SuiteScript N/https)",
                 **config.get("headers", {})}))
    return body
