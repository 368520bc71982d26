"""The sync service's cache feeds and its traceability: a merchant without NetSuite change
notifications is polled; a burst of notifications is read with a few grouped SuiteQL queries
and caches what a record read gives; and one correlation id follows a decline from the webhook
to each write-back in the structured logs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from components.connectors.errors import ErrorKind, VendorError
from components.context import ERP_INVOICE, erp_entry_of
from components.observability import JsonFormatter
from components.sync import feeds
from harness.reference_merchant import INVOICE, NETSUITE_ACCOUNT, AcmeWorld
from simulators.core.virtual_time import run
from tests.components.test_reconcile_erp_reads import (
    EXTRA,
    KEY_FIELD,
    SEED,
    SUITEQL,
    erp_with_invoices,
    sent,
)
from tests.components.test_recovery_flows import netsuite

KEY = f"stripe:{INVOICE}"


def test_without_notifications_polling_keeps_the_cache_current() -> None:
    async def scenario() -> tuple[Any, Any, int, Any]:
        async with AcmeWorld(seed=3) as acme:
            cached = acme.sync.store.cache_get(ERP_INVOICE, KEY)  # from the create notification
            tenant = acme.world.fakes["netsuite"].tenants.get(NETSUITE_ACCOUNT)
            assert tenant is not None
            tenant.settings.pop("notifications")  # a merchant with no user-event script
            netsuite = acme.sync.deployment.vendors.netsuite
            assert netsuite is not None
            await acme.world.advance(5)
            await netsuite.create("customerPayment", {
                "customer": {"id": "101"}, "payment": 20.0, "memo": "cheque 7",
                "apply": {"items": [{"doc": {"id": "501"}, "apply": True, "amount": 20.0}]}})
            await acme.settle()
            stale = acme.sync.store.cache_get(ERP_INVOICE, KEY)
            refreshed = await acme.sync.poll_erp()
            return cached, stale, refreshed, acme.sync.store.cache_get(ERP_INVOICE, KEY)

    cached, stale, refreshed, polled = run(scenario())
    assert cached["amount_remaining"] == 2000
    assert stale["amount_remaining"] == 2000  # nobody told the cache
    assert refreshed >= 1
    assert polled["amount_remaining"] == 0 and polled["erp_invoice_id"] == "501"


def test_one_correlation_id_follows_a_decline_to_its_write_backs() -> None:
    lines: list[dict[str, Any]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    logger = logging.getLogger("components")
    handler, level = Capture(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    async def scenario() -> None:
        async with AcmeWorld(seed=3) as acme:
            await acme.card_on_alternate_mid()
            await acme.failed_renewal()
            await acme.sync.relay.drain()

    try:
        run(scenario())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    [handled] = [line for line in lines if line["msg"] == "decline handled"]
    cid = handled["correlation_id"]
    assert cid.startswith("stripe:evt_")
    sent = [line for line in lines if line["msg"] == "write-back sent"]
    assert {line["destination"] for line in sent} == {"stripe", "netsuite", "salesforce"}
    assert {line["correlation_id"] for line in sent} == {cid}


# -- the feed's reads, grouped ----------------------------------------------------------------
def test_a_burst_of_notifications_is_read_with_a_few_queries_and_caches_what_a_read_gives(
) -> None:
    """Every invoice and payment of an ERP notified at once (what a decline storm's write-backs
    do): the feed reads them with a few SuiteQL queries, not one record read each, and the cache
    holds, for each invoice, what a record read makes of it."""
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], int]:
        async with AcmeWorld(seed=SEED) as acme:
            await erp_with_invoices(acme)  # its notifications went through the feed already
            ns, erp = netsuite(acme), acme.sync.erp
            assert erp is not None
            rows = await ns.suiteql("SELECT id, type FROM transaction ORDER BY id")
            oracle, cached = {}, {}
            for row in rows:
                if row["type"] != "CustInvc":
                    continue
                record = await ns.get("invoice", str(row["id"]))
                if record.get(KEY_FIELD):
                    entry = await erp_entry_of(ns, "stripe", str(record[KEY_FIELD]), record)
                    oracle[entry["invoice_key"]] = entry
                    cached[entry["invoice_key"]] = acme.sync.store.cache_get(
                        ERP_INVOICE, entry["invoice_key"])
            start = len(sent(acme, 0))
            kinds = {"CustInvc": "invoice", "CustPymt": "customerPayment"}
            refreshed = await asyncio.gather(*(erp.on_notification(
                {"recordType": kinds[row["type"]], "id": str(row["id"]), "type": "edit"})
                for row in rows))
            return oracle, cached, sent(acme, start), sum(refreshed)

    oracle, cached, burst, refreshed = run(scenario())
    assert len(oracle) == EXTRA + 1 and cached == oracle
    assert refreshed >= len(oracle)  # each invoice read again (and its entry put again)
    # ~55 invoices and ~20 payments: the first invoice alone, then the others together; the
    # payments' applications together, then the invoices they name
    assert [e["method"] for e in burst] == ["POST"] * len(burst)
    assert {e["path"] for e in burst} == {SUITEQL}
    assert len(burst) <= 4


def read_log(seconds: float, fail: set[str] | None = None) -> tuple[list[list[str]], Any]:
    reads: list[list[str]] = []

    async def read(ids: list[str]) -> dict[str, int]:
        reads.append(ids)
        await asyncio.sleep(seconds)
        if fail and fail & set(ids):
            raise VendorError("netsuite", ErrorKind.UNAVAILABLE, "503")
        return {i: 1 for i in ids}

    return reads, read


def test_an_id_asked_for_while_its_read_is_under_way_is_read_again_after_it() -> None:
    """A notification that arrives while the record is being read may be about a change the
    read missed: it waits for the next read, which has it (and what else came meanwhile)."""
    reads, read = read_log(1.0)
    grouped = feeds._Grouped(read)

    async def scenario() -> list[int]:
        first = asyncio.ensure_future(grouped.read(["7"]))
        await asyncio.sleep(0.5)  # the read of 7 is under way
        again = asyncio.ensure_future(grouped.read(["7", "8"]))
        also = asyncio.ensure_future(grouped.read(["8"]))  # shares the waiting read of 8
        return list(await asyncio.gather(first, again, also))

    assert run(scenario()) == [1, 2, 1]
    assert reads == [["7"], ["7", "8"]]


def test_a_failed_read_fails_its_callers_and_a_caller_gone_does_not_cancel_it() -> None:
    reads, read = read_log(1.0, fail={"9"})
    grouped = feeds._Grouped(read)

    async def scenario() -> tuple[Any, Any, int]:
        gone = asyncio.ensure_future(grouped.read(["1"]))
        stays = asyncio.ensure_future(grouped.read(["1", "2"]))
        await asyncio.sleep(0.1)
        gone.cancel()
        failing = await asyncio.gather(grouped.read(["9"]), grouped.read(["3", "9"]),
                                       return_exceptions=True)
        return failing[0], failing[1], await stays

    first, second, stayed = run(scenario())
    assert isinstance(first, VendorError) and isinstance(second, VendorError)
    assert stayed == 2 and reads == [["1", "2"], ["9", "3"]]
