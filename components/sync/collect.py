"""Gathering one merchant's reconciliation snapshot from the vendors' public APIs.

Gateway: every MID's PaymentIntents since `since` (the engine's carry `metadata.invoice_key`).
Billing: Stripe invoices (their own PaymentIntent is the payment they know; one paid out of
band, the gateway payment the engine's write-back named in its metadata), or Chargebee
invoices with the references of their transactions. ERP: NetSuite invoices that carry a billing
invoice id (their columns read with one paged SuiteQL query), and customer payments with what
they are applied to (memo = gateway payment id, as the engine writes them; their columns and
their applications read with two more). CRM: the recovery
status the mapping names, per billing customer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, TypeVar

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.stripe import (
    RECOVERY_PAYMENT_ID,
    invoice_paid_out_of_band,
    invoice_payment_refs,
)
from components.context import (
    ERP_PAYMENTS_QUERY,
    erp_entry_of,
    erp_invoices_query,
    erp_payment_links_query,
    invoice_record_of_row,
    payment_records_of_rows,
    resolve_currency,
)
from components.domain import invoice_key
from components.store import Store
from components.sync.reconcile import (
    BillingInvoice,
    CrmStatus,
    ErpInvoice,
    ErpPayment,
    GatewayPayment,
    Snapshot,
    Unreachable,
)
from components.systems import systems_of
from components.wiring import Deployment

LOG = logging.getLogger("components.sync")
T = TypeVar("T")
_CB_STATUS = {"paid": "paid", "voided": "void", "payment_due": "open", "not_paid": "open",
              "posted": "open"}


async def collect_snapshot(deployment: Deployment, store: Store, *, since: float,
                           now: float, deadline: float | None = None) -> Snapshot:
    """The snapshot; a system the merchant lacks (`components.systems`) is left out of it and
    marked absent, so reconciliation does not read its emptiness as drift.

    The reads take `deadline` seconds at most (default `reconcile.deadline_seconds`): a system
    whose reads fail, or are still going (a vendor down, the connector retrying), is marked
    unreachable instead of being waited for; after the gateway or the billing system, nothing
    more is read."""
    systems = systems_of(deployment.settings, deployment.mapping)
    budget = deadline if deadline is not None else \
        deployment.settings.reconcile.deadline_seconds
    reads = _Reads(asyncio.get_running_loop().time() + budget, budget)
    billing_vendor = deployment.settings.billing
    gateway = await reads.of("gateway", "stripe", _gateway(deployment, since))
    found = None if gateway is None else await reads.of(
        "billing", billing_vendor, _billing(deployment, store, since, gateway))
    billing, customers = found if found is not None else ([], {})
    erp_invoices: list[ErpInvoice] = []
    erp_payments: list[ErpPayment] = []
    crm: list[CrmStatus] = []
    if found is not None:
        erp = await reads.of("erp", "netsuite", _erp(deployment)) if systems.erp else None
        erp_invoices, erp_payments = erp if erp is not None else ([], [])
        # the same window as the gateway's: a recovery older than it has its charge outside
        # the window, and its ERP payment would otherwise read as an orphan (harness/explore)
        erp_payments = [p for p in erp_payments if not p.recorded_at or p.recorded_at >= since]
        if systems.crm:
            crm = await reads.of("crm", "salesforce",
                                 _crm(deployment, systems.crm_record, customers)) or []
    return Snapshot(gateway=tuple(gateway or ()), billing=tuple(billing),
                    erp_payments=tuple(erp_payments), erp_invoices=tuple(erp_invoices),
                    crm=tuple(crm), as_of=now, has_erp=systems.erp, has_crm=systems.crm,
                    unreachable=tuple(reads.unreachable))


class _Reads:
    """One reconciliation's reads under one deadline; what failed or ran out of time is noted."""

    def __init__(self, until: float, budget: float) -> None:
        self.until, self.budget = until, budget
        self.unreachable: list[Unreachable] = []

    async def of(self, system: str, vendor: str, reads: Awaitable[T]) -> T | None:
        try:
            async with asyncio.timeout_at(self.until):
                return await reads
        except TimeoutError:
            error = f"no answer within the reconciliation's deadline ({self.budget:g} s)"
        except (VendorError, UnknownOutcome) as failed:
            error = str(failed)
        self.unreachable.append(Unreachable(system, vendor, error))
        LOG.warning("reconciliation could not read %s (%s): %s", system, vendor, error)
        return None


async def _gateway(d: Deployment, since: float) -> list[GatewayPayment]:
    found = []
    for mid, stripe in d.vendors.mids.items():
        for intent in await stripe.list_payment_intents(created_gte=int(since),
                                                        with_charge=True):
            error = intent.get("last_payment_error") or {}
            charge = intent.get("latest_charge")
            if not isinstance(charge, dict):  # not expanded (or none yet)
                charge = {"id": charge} if charge else {}
            found.append(GatewayPayment(
                payment_id=intent["id"],
                invoice_key=(intent.get("metadata") or {}).get("invoice_key"),
                amount=int(intent["amount"]), currency=intent["currency"],
                status="failed" if intent["status"] == "requires_payment_method" and error
                else intent["status"], created_at=float(intent["created"]), mid=mid,
                charge_id=charge.get("id"), decline_code=error.get("decline_code"),
                amount_refunded=int(charge.get("amount_refunded") or 0)))
    return found


async def _billing(d: Deployment, store: Store, since: float,
                   gateway: list[GatewayPayment]) -> tuple[list[BillingInvoice],
                                                           dict[str, list[str]]]:
    """The billing invoices, and the keys of each customer's invoices that failed (the CRM's
    recovery status is about those). An invoice a succeeded gateway payment names but the time
    window missed (created before it, retried since) is read by id; one the billing system does
    not have at all stays out, and reconciliation calls the payment an orphan."""
    customers: dict[str, list[str]] = {}
    if d.settings.billing == "stripe":
        listed = await d.vendors.primary.list_invoices(created_gte=int(since))
        references: dict[str, str] = {}
    else:
        assert d.vendors.chargebee is not None
        references = {t["id"]: t.get("reference_number") or t.get("id_at_gateway") or t["id"]
                      for t in await d.vendors.chargebee.list_transactions(
                          updated_after=int(since))}
        listed = await d.vendors.chargebee.list_invoices(updated_after=int(since))
    invoices = [_billing_invoice(d.settings.billing, inv, store, customers, references)
                for inv in listed]
    known = {i.invoice_key for i in invoices}
    named = sorted({p.invoice_key for p in gateway if p.status == "succeeded"
                    and p.invoice_key and p.invoice_key not in known})
    for key in named:
        billing, _, invoice_id = key.partition(":")
        if billing != d.settings.billing:
            continue
        try:
            inv = await (d.vendors.primary.get_invoice(invoice_id) if billing == "stripe" else
                         d.vendors.chargebee.get_invoice(invoice_id))  # type: ignore[union-attr]
        except VendorError as error:
            if error.kind != ErrorKind.NOT_FOUND:
                raise
            continue
        invoices.append(_billing_invoice(billing, inv, store, customers, references))
    return invoices, customers


def _billing_invoice(billing: str, inv: dict[str, Any], store: Store,
                     customers: dict[str, list[str]],
                     references: dict[str, str]) -> BillingInvoice:
    if billing == "stripe":
        key = invoice_key("stripe", inv["id"])
        out_of_band = invoice_paid_out_of_band(inv)
        paid_by_stripe = inv["status"] == "paid" and not out_of_band
        intent = invoice_payment_refs(inv)[0]
        attempts = int(inv.get("attempt_count") or 0)
        # a paid invoice's last attempt succeeded, unless the engine's ledger says it failed
        failed = max(attempts - 1, 0) if paid_by_stripe else attempts
        if store.attempts(key):
            failed = max(failed, 1)
        if failed:
            customers.setdefault(inv["customer"], []).append(key)
        # paid by Stripe: its PaymentIntent; paid out of band by the engine's write-back: the
        # gateway payment it named on the invoice; by the merchant (a bank transfer): none
        recorded = (inv.get("metadata") or {}).get(RECOVERY_PAYMENT_ID)
        refs = (intent,) if paid_by_stripe and intent else \
            (str(recorded),) if out_of_band and recorded else ()
        return BillingInvoice(
            invoice_key=key, amount_due=int(inv["amount_due"]),
            amount_paid=int(inv["amount_paid"]), currency=inv["currency"],
            status=inv["status"], payment_refs=refs,
            paid_out_of_band=out_of_band, failed_attempts=failed,
            updated_at=float(inv.get("status_transitions", {}).get("paid_at") or
                             inv["created"]))
    key = invoice_key("chargebee", str(inv["id"]))
    if inv.get("dunning_attempts") or store.attempts(key):
        customers.setdefault(inv["customer_id"], []).append(key)
    refs = tuple(references.get(p["txn_id"], p["txn_id"])
                 for p in inv.get("linked_payments") or [] if p.get("txn_status") == "success")
    return BillingInvoice(
        invoice_key=key, amount_due=int(inv.get("amount_due") or 0),
        amount_paid=int(inv.get("amount_paid") or 0),
        currency=str(inv["currency_code"]).lower(),
        status=_CB_STATUS.get(inv["status"], "open"), payment_refs=refs,
        failed_attempts=sum(1 for a in inv.get("dunning_attempts") or []
                            if a.get("txn_status") != "success"),
        updated_at=float(inv.get("updated_at") or 0))


async def _erp(d: Deployment) -> tuple[list[ErpInvoice], list[ErpPayment]]:
    netsuite = d.vendors.netsuite
    if netsuite is None:
        return [], []
    exponent = d.mapping.currency_exponent if d.mapping else 2
    key_field = d.vendors.erp_invoice_key_field
    if not re.match(r"^\w+$", key_field):
        return [], []
    # one query (paged by the connector) for every invoice's columns, one for every customer
    # payment's and one for the invoices each payment is applied to (NetSuite's transaction
    # link rows), side by side, instead of one record read per invoice and per payment: at
    # NetSuite's latency and 5 requests in flight those took minutes
    invoice_rows, payment_rows, links = await asyncio.gather(
        netsuite.suiteql(erp_invoices_query(key_field)), netsuite.suiteql(ERP_PAYMENTS_QUERY),
        netsuite.suiteql(erp_payment_links_query()))
    invoices, by_erp_id = [], {}
    for row in invoice_rows:
        record = invoice_record_of_row(row, key_field)
        entry = await erp_entry_of(netsuite, d.settings.billing, str(record.get(key_field)),
                                   record)
        by_erp_id[entry["erp_invoice_id"]] = entry["invoice_key"]
        invoices.append(ErpInvoice(
            invoice_key=entry["invoice_key"], erp_invoice_id=entry["erp_invoice_id"],
            amount_total=round(float(record.get("total") or 0) * 10 ** exponent),
            amount_remaining=int(entry["amount_remaining"] or 0),
            currency=str(entry["currency"] or "usd").lower(), status=str(entry["status"]),
            customer_id=entry["erp_customer_id"]))
    payments = []
    for record in payment_records_of_rows(payment_rows, links):
        applied = tuple(str(item["doc"]["id"]) for item in
                        (record.get("apply") or {}).get("items") or []
                        if item.get("apply", True) and item.get("doc"))
        keys = {by_erp_id[i] for i in applied if i in by_erp_id}
        payments.append(ErpPayment(
            external_id=str(record.get("externalId") or record["id"]),
            invoice_key=next(iter(keys)) if len(keys) == 1 else None,
            amount=round(float(record.get("payment") or 0) * 10 ** exponent),
            currency=await resolve_currency(netsuite, record) or _currency(invoices),
            applied_to=applied,
            payment_ref=record.get("memo") or None, recorded_at=_stamp(record)))
    return invoices, payments


async def _crm(d: Deployment, record: str | None,
               customers: dict[str, list[str]]) -> list[CrmStatus]:
    """The recovery status on the CRM's `record` (the mapping entry `systems_of` found: it maps
    recovery_status and customer_id to the object's own fields)."""
    salesforce, mapping = d.salesforce, d.mapping
    if salesforce is None or mapping is None or record is None:
        return []
    rmap = mapping.record("salesforce", record)
    fields = {name: f.vendor_field for name, f in rmap.fields.items() if "." not in f.vendor_field}
    soql = (f"SELECT Id, {', '.join(sorted(set(fields.values()) - {'Id'}))}, SystemModstamp "
            f"FROM {rmap.object} WHERE {fields['customer_id']} != null")
    statuses = []
    for row in await salesforce.query(soql):
        canonical = mapping.from_vendor("salesforce", record, row)
        status, customer = canonical.get("recovery_status"), canonical.get("customer_id")
        for key in customers.get(str(customer), []):
            if status is not None:
                statuses.append(CrmStatus(invoice_key=key, recovery_status=str(status),
                                          customer_id=str(customer), updated_at=_stamp(row)))
    return statuses


def _currency(invoices: list[ErpInvoice]) -> str:
    """A payment that names no currency (an account without Multiple Currencies)."""
    return invoices[0].currency if invoices else "usd"


def _stamp(record: dict[str, Any]) -> float:
    for name in ("lastModifiedDate", "SystemModstamp", "createdDate"):
        value = record.get(name)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")
                                              .replace("+0000", "+00:00")).timestamp()
            except ValueError:
                continue
    return 0.0
