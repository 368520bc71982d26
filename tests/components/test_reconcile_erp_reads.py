"""Reconciliation reads the ERP's invoices and customer payments with SuiteQL, not one record
read each.

It used to ask SuiteQL for the ids of the invoices that carry a billing invoice id and of the
customer payments, and then GET every invoice and every payment (with its `apply` sublist) from
the record API: against NetSuite's latency (600 ms median in the topologies) and the account's
5 requests in flight, a load run's 480 invoices and 400 payments took minutes to reconcile.
Now the columns it needs come with three paged queries: the invoices' (`foreigntotal`,
`foreignamountunpaid`, `status`, `entity`, `currency` and the key field), the payments'
(`externalid`, `foreigntotal`, `memo`, `currency`, the modification time to the second) and the
invoices each payment is applied to (`NextTransactionLineLink`, link type `Payment`); the
snapshot, and so the report, are what the record-by-record reading made of the same ERP. In
process on virtual time, what NetSuite was sent is read from the fake's journal.
"""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

import pytest

from components.context import erp_entry_of, resolve_currency
from components.sync import collect
from components.sync.reconcile import ErpInvoice, ErpPayment
from components.wiring import Deployment
from harness.reference_merchant import AcmeWorld
from simulators.core.virtual_time import run
from tests.components.test_recovery_flows import netsuite

SEED = 7
RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
KEY_FIELD = "custbody_stripe_invoice_id"
EXTRA = 40  # invoices besides acme's own
READ_ERP = collect._erp  # as it is now (the test puts the old reading in its place too)


async def record_by_record(d: Deployment) -> tuple[list[ErpInvoice], list[ErpPayment]]:
    """The ERP as reconciliation used to read it: the ids of the invoices and of the customer
    payments by SuiteQL, then each invoice, and each payment with its sublists, from the
    record API."""
    ns = d.vendors.netsuite
    assert ns is not None
    key_field = d.vendors.erp_invoice_key_field
    rows = await ns.suiteql(
        f"SELECT id FROM transaction WHERE type = 'CustInvc' AND {key_field} IS NOT NULL")
    invoices, by_erp_id = [], {}
    for record in await asyncio.gather(*(ns.get("invoice", str(row["id"])) for row in rows)):
        entry = await erp_entry_of(ns, d.settings.billing, str(record.get(key_field)), record)
        by_erp_id[entry["erp_invoice_id"]] = entry["invoice_key"]
        invoices.append(ErpInvoice(
            invoice_key=entry["invoice_key"], erp_invoice_id=entry["erp_invoice_id"],
            amount_total=round(float(record.get("total") or 0) * 100),
            amount_remaining=int(entry["amount_remaining"] or 0),
            currency=str(entry["currency"] or "usd").lower(), status=str(entry["status"]),
            customer_id=entry["erp_customer_id"]))
    payments = []
    rows = await ns.suiteql("SELECT id FROM transaction WHERE type = 'CustPymt'")
    for record in await asyncio.gather(*(ns.get("customerPayment", str(row["id"]), expand=True)
                                         for row in rows)):
        applied = tuple(str(item["doc"]["id"]) for item in
                        (record.get("apply") or {}).get("items") or []
                        if item.get("apply", True) and item.get("doc"))
        keys = {by_erp_id[i] for i in applied if i in by_erp_id}
        payments.append(ErpPayment(
            external_id=str(record.get("externalId") or record["id"]),
            invoice_key=next(iter(keys)) if len(keys) == 1 else None,
            amount=round(float(record.get("payment") or 0) * 100),
            currency=await resolve_currency(ns, record) or collect._currency(invoices),
            applied_to=applied,
            payment_ref=record.get("memo") or None, recorded_at=collect._stamp(record)))
    return invoices, payments


async def erp_with_invoices(acme: AcmeWorld) -> None:
    """acme's renewal recovered and written back (its ERP invoice paid in full), and `EXTRA`
    more invoices keyed by a billing invoice id: open, partly paid, paid in full, in USD and in
    EUR; one more without a billing invoice id, which reconciliation leaves out."""
    await acme.card_on_alternate_mid()
    await acme.failed_renewal()
    await acme.sync.relay.drain()
    ns = netsuite(acme)
    await ns.create("customer", {"companyName": "Euro GmbH", "externalId": "c_eur",
                                 "currency": {"id": "4"}})
    [euro] = await ns.suiteql("SELECT id FROM customer WHERE externalid = 'c_eur'")
    ids: dict[int, str] = {}
    for n in range(EXTRA):
        customer = str(euro["id"]) if n % 4 == 3 else "101"
        amount = 10.0 + n + 0.33 * (n % 3)
        invoice_id = ids[n] = await ns.create("invoice", {
            "entity": {"id": customer}, KEY_FIELD: f"in_ErpRead{n:04d}",
            "item": {"items": [{"item": {"id": "1"}, "amount": amount}]}})
        if n % 5 in (1, 2):  # partly paid, or paid in full
            paid = amount / 2 if n % 5 == 1 else amount
            await ns.create("customerPayment", {
                "customer": {"id": customer}, "payment": paid, "memo": f"cheque {n}",
                "apply": {"items": [{"doc": {"id": invoice_id}, "apply": True,
                                     "amount": paid}]}})
    await ns.create("invoice", {"entity": {"id": "101"},
                                "item": {"items": [{"item": {"id": "1"}, "amount": 5.0}]}})
    await erp_payments(acme, ids, str(euro["id"]))
    await acme.settle()


async def erp_payments(acme: AcmeWorld, ids: dict[int, str], euro: str) -> None:
    """Customer payments of every shape reconciliation meets, made at times that are not whole
    minutes (SuiteQL renders a datetime to the minute unless asked otherwise): applied to two
    invoices (in EUR, with custom fields and an external id), part applied with a line not
    applied (`apply: false`), not applied at all, and re-applied by an update later on."""
    ns = netsuite(acme)
    await acme.world.advance(37)
    await ns.create("customerPayment", {  # invoices 3 and 19 are the Euro customer's, open
        "customer": {"id": euro}, "payment": 40.0, "externalId": "pay_TwoEuro",
        "memo": "pi_TwoEuro", "custbody_stripe_charge_id": "ch_TwoEuro",
        "custbody_recovered_by_retry": True,
        "apply": {"items": [{"doc": {"id": ids[19]}, "apply": True, "amount": 25.0},
                            {"doc": {"id": ids[3]}, "apply": True, "amount": 13.0}]}})
    await acme.world.advance(1)
    await ns.create("customerPayment", {
        "customer": {"id": "101"}, "payment": 30.0, "memo": "bank transfer",
        "apply": {"items": [{"doc": {"id": ids[4]}, "apply": False, "amount": 5.0},
                            {"doc": {"id": ids[5]}, "apply": True, "amount": 15.0},
                            {"doc": {"id": ids[8]}, "apply": True, "amount": 15.0}]}})
    await ns.create("customerPayment", {"customer": {"id": "101"}, "payment": 12.34})
    later = await ns.create("customerPayment", {
        "customer": {"id": "101"}, "payment": 9.5, "memo": "pi_Later",
        "apply": {"items": [{"doc": {"id": ids[9]}, "apply": True}]}})
    await acme.world.advance(3600 + 59)
    await ns.update("customerPayment", later, {"memo": "", "apply": {"items": [
        {"doc": {"id": ids[10]}, "apply": True, "amount": 4.5},
        {"doc": {"id": ids[9]}, "apply": True, "amount": 5.0}]}})


def sent(acme: AcmeWorld, since: int) -> list[dict[str, Any]]:
    return acme.world.fakes["netsuite"].journal.entries()[since:]


def invoice_reads(entries: list[dict[str, Any]]) -> int:
    return sum(1 for e in entries if e.get("method") == "GET"
               and fnmatch.fnmatchcase(e.get("path", ""), f"{RECORD}/invoice/*"))


def payment_reads(entries: list[dict[str, Any]]) -> int:
    return sum(1 for e in entries if e.get("method") == "GET"
               and fnmatch.fnmatchcase(e.get("path", ""), f"{RECORD}/customerPayment/*"))


def suiteql_posts(entries: list[dict[str, Any]]) -> int:
    return sum(1 for e in entries if e.get("method") == "POST" and e.get("path") == SUITEQL)


def test_reconciliation_reads_the_erp_with_three_suiteql_queries(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> dict[str, Any]:
        async with AcmeWorld(seed=SEED) as acme:
            await erp_with_invoices(acme)
            d = acme.sync.deployment
            journal = acme.world.fakes["netsuite"].journal
            start = len(journal.entries())
            now_read = await READ_ERP(d)
            erp_sent = sent(acme, start)
            then_read = await record_by_record(d)

            start = len(journal.entries())
            report = await acme.sync.reconcile(None, False)
            reconcile_sent = sent(acme, start)
            with monkeypatch.context() as patched:
                patched.setattr(collect, "_erp", record_by_record)
                start = len(journal.entries())
                before = await acme.sync.reconcile(None, False)
                before_sent = sent(acme, start)
            return {"now": now_read, "then": then_read, "erp_sent": erp_sent,
                    "report": report, "before": before, "reconcile_sent": reconcile_sent,
                    "before_sent": before_sent}

    got = run(scenario())
    invoices, payments = got["now"]
    # the same snapshot of the ERP as the record-by-record reading
    assert (invoices, payments) == got["then"]
    assert len(invoices) == EXTRA + 1 and len(payments) == EXTRA * 2 // 5 + 1 + 4
    assert {i.status for i in invoices} == {"Open", "Paid In Full"}
    assert {i.currency for i in invoices} == {"usd", "eur"}
    assert any(0 < i.amount_remaining < i.amount_total for i in invoices)
    # the payments of every shape, as the record API showed them
    by_id = {p.external_id: p for p in payments}
    two_euro = by_id["pay_TwoEuro"]
    assert (two_euro.currency, two_euro.amount, two_euro.payment_ref, two_euro.invoice_key,
            len(two_euro.applied_to)) == ("eur", 4000, "pi_TwoEuro", None, 2)
    assert sorted(len(p.applied_to) for p in payments).count(2) == 3
    assert [p.applied_to for p in payments].count(()) == 1
    assert {p.currency for p in payments} == {"usd", "eur"}
    assert {p.payment_ref for p in payments} >= {None, "bank transfer", "pi_TwoEuro"}
    assert acme_recovery(payments).invoice_key is not None
    assert any(p.recorded_at % 60 for p in payments)  # to the second, not to the minute
    assert len({p.recorded_at for p in payments}) >= 3
    # neither an invoice nor a payment is read from the record API any more: one query for
    # the invoices, one for the payments and one for their applications (each under a page),
    # and each currency record at most once (the connector keeps the codes: none by now)
    for entries in (got["erp_sent"], got["reconcile_sent"]):
        assert invoice_reads(entries) == 0 and payment_reads(entries) == 0
        assert suiteql_posts(entries) == 3
    assert len(got["reconcile_sent"]) == 3
    assert invoice_reads(got["before_sent"]) == EXTRA + 1
    assert payment_reads(got["before_sent"]) == len(payments)
    assert len(got["before_sent"]) == 2 + EXTRA + 1 + len(payments)
    # and reconciliation comes to the same report (the ERP read, acme's recovery matched)
    assert got["report"]["unreachable"] == [] and got["report"]["matched"]
    assert got["report"] == got["before"]


def acme_recovery(payments: list[ErpPayment]) -> ErpPayment:
    """The payment the sync wrote back for acme's recovered renewal (memo: the gateway's)."""
    [found] = [p for p in payments if (p.payment_ref or "").startswith("pi_")
               and p.external_id.startswith("recovery-")]
    return found
