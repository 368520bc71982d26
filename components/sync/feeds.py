"""The context cache's feeds: what keeps the hot path's local copy of the ERP current.

NetSuite has no webhooks; merchants send change notifications from a user-event script (one
JSON body per record write), or have none, and then the sync service polls
`lastModifiedDate`. Either way a change is a cue to re-read the record: the cache stores what a
live read returns (`components.context.erp_entry`), versioned by the record's own modification
time, so a late or duplicated notification never moves the cache backwards.

A customer payment does not fire the invoice's user event when it changes the amount due (as in
NetSuite), so a payment's notification refreshes the invoices it is applied to.
"""

from __future__ import annotations

import logging
from typing import Any

from components.connectors.netsuite import NetSuiteConnector
from components.context import ERP_INVOICE, erp_entry_of
from components.observability import log
from components.store import Store

LOG = logging.getLogger("components.sync")
INVOICE_TYPES = {"invoice"}
PAYMENT_TYPES = {"customerpayment"}


class ErpFeed:
    def __init__(self, store: Store, netsuite: NetSuiteConnector, *, billing: str,
                 key_field: str) -> None:
        self.store, self.netsuite = store, netsuite
        self.billing, self.key_field = billing, key_field
        self.refreshed = 0

    async def on_notification(self, body: dict[str, Any]) -> int:
        """One change notification; returns how many invoices were refreshed."""
        record_type = str(body.get("recordType", "")).lower()
        record_id = str(body.get("id", ""))
        if not record_id or body.get("type") == "delete":
            return 0
        if record_type in INVOICE_TYPES:
            return await self.refresh_invoice(record_id)
        if record_type in PAYMENT_TYPES:
            return await self.refresh_payment(record_id)
        return 0

    async def refresh_invoice(self, invoice_id: str) -> int:
        record = await self.netsuite.get("invoice", invoice_id)
        billing_id = record.get(self.key_field)
        if not billing_id:
            return 0  # an invoice the billing system did not make: not ours to recover
        entry = await erp_entry_of(self.netsuite, self.billing, str(billing_id), record)
        kept = self.store.cache_put(ERP_INVOICE, entry["invoice_key"], entry, entry["version"])
        self.refreshed += kept
        log(LOG, "erp invoice cached", invoice_key=entry["invoice_key"],
            amount_remaining=entry["amount_remaining"], kept=kept)
        return int(kept)

    async def refresh_payment(self, payment_id: str) -> int:
        payment = await self.netsuite.get("customerPayment", payment_id, expand=True)
        items = ((payment.get("apply") or {}).get("items")) or []
        refreshed = 0
        for item in items:
            doc = item.get("doc") or {}
            if doc.get("id") and item.get("apply", True):
                refreshed += await self.refresh_invoice(str(doc["id"]))
        return refreshed

    async def poll(self, since: float) -> int:
        """Merchants without notifications: everything modified since `since` (overlap the
        windows by a few seconds: NetSuite keeps whole seconds)."""
        refreshed = 0
        for invoice_id in await self.netsuite.changed_since("invoice", since):
            refreshed += await self.refresh_invoice(invoice_id)
        for payment_id in await self.netsuite.changed_since("customerPayment", since):
            refreshed += await self.refresh_payment(payment_id)
        return refreshed
