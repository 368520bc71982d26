"""Reconciliation reads the ERP's invoices with one SuiteQL query, not one record read each.

It used to ask SuiteQL for the ids of the invoices that carry a billing invoice id and then GET
every invoice from the record API: against NetSuite's latency (600 ms median in the topologies)
and the account's 5 requests in flight, a load run's 480 invoices took minutes to reconcile.
Now the columns it needs (`foreigntotal`, `foreignamountunpaid`, `status`, `entity`,
`currency` and the key field) come with the query, paged by the connector; the snapshot, and so
the report, are what the record-by-record reading made of the same ERP. In-process on virtual
time, what NetSuite was sent is read from the fake's journal.
"""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

import pytest

from components.context import erp_entry_of
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
    """The ERP's invoices as reconciliation used to read them: the ids by SuiteQL, then each
    invoice from the record API (the payments as `collect._erp` reads them)."""
    ns = d.vendors.netsuite
    assert ns is not None
    key_field = d.vendors.erp_invoice_key_field
    rows = await ns.suiteql(
        f"SELECT id FROM transaction WHERE type = 'CustInvc' AND {key_field} IS NOT NULL")
    invoices = []
    for record in await asyncio.gather(*(ns.get("invoice", str(row["id"])) for row in rows)):
        entry = await erp_entry_of(ns, d.settings.billing, str(record.get(key_field)), record)
        invoices.append(ErpInvoice(
            invoice_key=entry["invoice_key"], erp_invoice_id=entry["erp_invoice_id"],
            amount_total=round(float(record.get("total") or 0) * 100),
            amount_remaining=int(entry["amount_remaining"] or 0),
            currency=str(entry["currency"] or "usd").lower(), status=str(entry["status"]),
            customer_id=entry["erp_customer_id"]))
    _, payments = await READ_ERP(d)
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
    for n in range(EXTRA):
        customer = str(euro["id"]) if n % 4 == 3 else "101"
        amount = 10.0 + n + 0.33 * (n % 3)
        invoice_id = await ns.create("invoice", {
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
    await acme.settle()


def sent(acme: AcmeWorld, since: int) -> list[dict[str, Any]]:
    return acme.world.fakes["netsuite"].journal.entries()[since:]


def invoice_reads(entries: list[dict[str, Any]]) -> int:
    return sum(1 for e in entries if e.get("method") == "GET"
               and fnmatch.fnmatchcase(e.get("path", ""), f"{RECORD}/invoice/*"))


def suiteql_posts(entries: list[dict[str, Any]]) -> int:
    return sum(1 for e in entries if e.get("method") == "POST" and e.get("path") == SUITEQL)


def test_reconciliation_reads_the_erp_invoices_with_one_suiteql_query(
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
    assert len(invoices) == EXTRA + 1 and len(payments) >= EXTRA * 2 // 5 + 1
    assert {i.status for i in invoices} == {"Open", "Paid In Full"}
    assert {i.currency for i in invoices} == {"usd", "eur"}
    assert any(0 < i.amount_remaining < i.amount_total for i in invoices)
    # no invoice is read from the record API any more: one query for the invoices and one for
    # the payments' ids (each under a page); the payments are still read one by one (their
    # apply sublist is not in SuiteQL's transaction table), and each currency at most once
    for entries in (got["erp_sent"], got["reconcile_sent"]):
        assert invoice_reads(entries) == 0
        assert suiteql_posts(entries) == 2
    assert invoice_reads(got["before_sent"]) == EXTRA + 1
    assert len(got["reconcile_sent"]) < len(got["before_sent"]) - EXTRA
    # and reconciliation comes to the same report (the ERP read, acme's recovery matched)
    assert got["report"]["unreachable"] == [] and got["report"]["matched"]
    assert got["report"] == got["before"]
