"""The sync service's cache feeds and its traceability: a merchant without NetSuite change
notifications is polled, and one correlation id follows a decline from the webhook to each
write-back in the structured logs."""

from __future__ import annotations

import json
import logging
from typing import Any

from components.context import ERP_INVOICE
from components.observability import JsonFormatter
from harness.reference_merchant import INVOICE, NETSUITE_ACCOUNT, AcmeWorld
from simulators.core.virtual_time import run

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
