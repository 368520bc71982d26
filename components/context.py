"""The ERP context of an invoice, read live from NetSuite (the naive hot path, and the sync
service's cache feed) or from the local cache (the cached hot path). One reader serves both, so
the cache holds exactly what a live read would have returned.

A cached entry is `{"invoice_key", "erp_invoice_id", "erp_customer_id", "amount_remaining"
(minor units), "currency", "status"}` under kind `erp_invoice`, versioned by the record's
lastModifiedDate, so an older notification never overwrites a newer read.

The currency is the ISO 4217 code in lower case ("usd"), or None when the ERP does not say. An
invoice names its currency by reference, `{"id": "1", "refName": "US Dollar"}`: the refName is
the currency record's name, so the code is read from the currency record (`symbol`), once per
currency (`NetSuiteConnector.currency_code`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Protocol

from components.domain import invoice_key

ERP_INVOICE = "erp_invoice"


class ErpReader(Protocol):
    async def get_by_external_id(self, record_type: str,
                                 external_id: str) -> dict[str, Any] | None: ...
    async def suiteql(self, query: str) -> list[dict[str, Any]]: ...
    async def get(self, record_type: str, record_id: str) -> dict[str, Any]: ...
    async def currency_code(self, reference: Any) -> str | None: ...


_SAFE_ID = re.compile(r"^[A-Za-z0-9_\-:.]{1,128}$")


def _version(record: dict[str, Any]) -> float:
    stamp = record.get("lastModifiedDate")
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return 0.0


def _minor(amount: Any, exponent: int = 2) -> int | None:
    if amount is None:
        return None
    return round(float(amount) * 10.0 ** exponent)


def _reference(value: Any, key: str) -> Any:
    """A NetSuite reference (`{"id", "refName"}`) or a plain value."""
    return value.get(key) if isinstance(value, dict) else value


def erp_entry(billing: str, billing_invoice_id: str, record: dict[str, Any],
              currency: str | None = None) -> dict[str, Any]:
    """The cache entry for a NetSuite invoice record (as the record API returns it), with its
    currency's ISO code as `resolve_currency` found it."""
    customer = _reference(record.get("entity"), "id")
    return {
        "invoice_key": invoice_key(billing, billing_invoice_id),
        "erp_invoice_id": str(record.get("id")),
        "erp_customer_id": None if customer is None else str(customer),
        "amount_remaining": _minor(record.get("amountRemaining")),
        "currency": currency,
        "status": _reference(record.get("status"), "refName"),
        "version": _version(record),
    }


async def resolve_currency(netsuite: ErpReader, record: dict[str, Any]) -> str | None:
    """The record's currency as an ISO code (lower case), or None if it names none."""
    return await netsuite.currency_code(record.get("currency"))


async def erp_entry_of(netsuite: ErpReader, billing: str, billing_invoice_id: str,
                       record: dict[str, Any]) -> dict[str, Any]:
    return erp_entry(billing, billing_invoice_id, record,
                     await resolve_currency(netsuite, record))


async def read_erp_invoice(netsuite: ErpReader, key_field: str, billing: str,
                           billing_invoice_id: str) -> dict[str, Any] | None:
    """Find the ERP invoice that carries the billing system's invoice id in `key_field`
    (`externalId`, or a custom body field such as custbody_stripe_invoice_id)."""
    if key_field == "externalId":
        record = await netsuite.get_by_external_id("invoice", billing_invoice_id)
        return await erp_entry_of(netsuite, billing, billing_invoice_id, record) \
            if record else None
    if not _SAFE_ID.match(billing_invoice_id) or not re.match(r"^\w+$", key_field):
        return None  # never splice an odd id into SuiteQL; such an invoice is not in the ERP
    rows = await netsuite.suiteql(
        f"SELECT id FROM transaction WHERE type = 'CustInvc' "
        f"AND {key_field} = '{billing_invoice_id}'")
    if not rows:
        return None
    record = await netsuite.get("invoice", str(rows[0]["id"]))
    return await erp_entry_of(netsuite, billing, billing_invoice_id, record)
