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

Reconciliation reads every invoice at once with SuiteQL (`ERP_INVOICES_QUERY`) instead of one
record read per invoice; `invoice_record_of_row` puts a row in the record API's names, so the
same `erp_entry` serves both. SuiteQL names the amounts `foreigntotal` and `foreignamountunpaid`
(in the transaction's currency), references by id, and the status by its letter alone
(`INVOICE_STATUS_NAMES`). The sync's cache feed reads the invoices a change notification names
with the same query (`ids`), so a cached entry is what reconciliation reads.

Its customer payments come the same way, with two paged queries instead of one record read each
(`ERP_PAYMENTS_QUERY`, the payments' columns, and `ERP_PAYMENT_LINKS_QUERY`, the invoices each is
applied to: the `NextTransactionLineLink` rows of link type `Payment`, one per applied line);
`payment_records_of_rows` puts them in the record API's names, `apply` sublist included. Not one
join: the link rows are read on their own, so each query stays a single table scan (the fake
evaluates a join by trying every pair, and a load run's ~880 transactions by ~440 link rows
would pass its row budget). SuiteQL
renders a datetime to the minute in the account's date format, so the modification time is
asked for with `TO_CHAR` to the second; it is read as UTC, the fake account's time zone (a real
account renders it in its own zone).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


# SuiteQL's transaction.status is the status's letter without its type ("B", where a saved
# search says "CustInvc:B"); the record API gives {"id": "paidInFull", "refName": "Paid In
# Full"}. An invoice's letters in NetSuite's words; a letter not listed is kept as it is.
INVOICE_STATUS_NAMES = {"A": "Open", "B": "Paid In Full"}
# an invoice's columns for `erp_entry`, and the total (SuiteQL's names for the record API's
# id, entity, total, amountRemaining, status and currency)
INVOICE_COLUMNS = ("id, foreigntotal, foreignamountunpaid, status, entity, currency, "
                   "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS modified")
ERP_INVOICES_QUERY = ("SELECT {columns}, {key_field} FROM transaction WHERE type = 'CustInvc' "
                      "AND {key_field} IS NOT NULL{ids} ORDER BY id")
# at most this many ids in one `id IN (...)`: NetSuite's SuiteQL is Oracle's dialect, whose IN
# list takes 1,000 at most
IDS_PER_QUERY = 500

# a customer payment's columns (SuiteQL's names for the record API's id, externalId, the
# amount (`payment`, the payment's total), memo, currency and lastModifiedDate, to the second),
# and what each payment is applied to, in the order of its apply lines; both ordered by unique
# keys, so that their pages do not shift
ERP_PAYMENTS_QUERY = ("SELECT id, externalid, foreigntotal, memo, currency, "
                      "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS modified "
                      "FROM transaction WHERE type = 'CustPymt' ORDER BY id")
ERP_PAYMENT_LINKS_QUERY = ("SELECT nextdoc, nextline, previousdoc FROM NextTransactionLineLink "
                           "WHERE nexttype = 'CustPymt' AND linktype = 'Payment'{ids} "
                           "ORDER BY nextdoc, nextline")

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


def erp_invoices_query(key_field: str, ids: Sequence[str] | None = None) -> str:
    """The SuiteQL query for every invoice that carries a billing invoice id in `key_field` (a
    field name, checked: never spliced unless it is a plain word), or only those of `ids`
    (internal ids, digits: checked), with the columns `invoice_record_of_row` reads; ordered by
    id, so that its pages do not shift."""
    if not re.match(r"^\w+$", key_field):
        raise ValueError(f"not a field name: {key_field!r}")
    return ERP_INVOICES_QUERY.format(columns=INVOICE_COLUMNS, key_field=key_field,
                                     ids=_ids_in("id", ids))


def erp_payment_links_query(payment_ids: Sequence[str] | None = None) -> str:
    """`ERP_PAYMENT_LINKS_QUERY`: what every customer payment is applied to, or only those of
    `payment_ids` (digits: checked)."""
    return ERP_PAYMENT_LINKS_QUERY.format(ids=_ids_in("nextdoc", payment_ids))


def _ids_in(column: str, ids: Sequence[str] | None) -> str:
    if ids is None:
        return ""
    if not ids or len(ids) > IDS_PER_QUERY or not all(str(i).isdigit() for i in ids):
        raise ValueError(f"1 to {IDS_PER_QUERY} internal ids (digits), got {list(ids)[:5]}")
    return f" AND {column} IN ({', '.join(str(int(i)) for i in ids)})"


def invoice_record_of_row(row: dict[str, Any], key_field: str) -> dict[str, Any]:
    """A SuiteQL row of `erp_invoices_query` in the record API's names (what `erp_entry` reads,
    and `total`). SuiteQL answers with lower-case column names, values as text, references as
    ids; a column whose value is null is left out of the row."""
    code = row.get("status")
    return {
        "id": row.get("id"),
        key_field: row.get(key_field.lower()),
        "entity": row.get("entity"),
        "total": row.get("foreigntotal"),
        "amountRemaining": row.get("foreignamountunpaid"),
        "status": None if code is None else
        {"id": code, "refName": INVOICE_STATUS_NAMES.get(str(code), code)},
        "currency": row.get("currency"),
        "lastModifiedDate": None if row.get("modified") is None else f"{row['modified']}Z",
    }


def payment_applications(links: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The rows of `erp_payment_links_query` as payment id -> the invoice ids it is applied
    to, in the order of its lines."""
    applied: dict[str, list[str]] = {}
    for link in links:
        if link.get("nextdoc") is not None and link.get("previousdoc") is not None:
            applied.setdefault(str(link["nextdoc"]), []).append(str(link["previousdoc"]))
    return applied


def payment_records_of_rows(payments: list[dict[str, Any]],
                            links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of `ERP_PAYMENTS_QUERY` in the record API's names (what a read of the payment
    with `expandSubResources=true` gives of `id`, `externalId`, `payment`, `memo`, `currency`,
    `lastModifiedDate` and the applied lines of `apply`), each with the invoices the rows of
    `ERP_PAYMENT_LINKS_QUERY` apply it to, in their order. A link to a payment not among
    `payments` (made between the two queries) is left out."""
    applied = payment_applications(links)
    records = []
    for row in payments:
        modified = row.get("modified")
        records.append({
            "id": row.get("id"), "externalId": row.get("externalid"),
            "payment": row.get("foreigntotal"), "memo": row.get("memo"),
            "currency": row.get("currency"),
            "lastModifiedDate": None if modified is None else f"{modified}Z",
            "apply": {"items": [{"doc": {"id": doc}, "apply": True}
                                for doc in applied.get(str(row.get("id")), [])]}})
    return records


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
