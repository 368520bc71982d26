"""Reconciliation has a deadline: against a NetSuite that is down it used to retry on for about
five minutes and then fail as a whole; now it stops at `reconcile.deadline_seconds` and reports
NetSuite unreachable in its result (not clean), with the rest reconciled as if the merchant had
no ERP and nothing queued for NetSuite. In-process on virtual time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from harness.reference_merchant import AcmeWorld, acme_settings
from simulators.core.faults import FaultSpec, Match
from simulators.core.virtual_time import run

SEED = 7


async def reconcile_during(acme: AcmeWorld, **fault: Any) -> tuple[dict[str, Any], float]:
    acme.world.fakes["netsuite"].faults.add(
        FaultSpec(match=Match(path="/services/rest/*"), window_end=3 * 3600, **fault),
        acme.world.clock.now())
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await acme.sync.reconcile(None, True)
    return result, loop.time() - started


@pytest.mark.parametrize(("fault", "error"), [
    ({"kind": "brownout", "status": 503}, "unavailable"),  # the connector gives up: fast
    # every read hangs: the connector would wait 5 s a try, 4 tries a read, read after read
    ({"kind": "hang", "seconds": 3600}, "deadline (10 s)"),
], ids=["netsuite_503", "netsuite_hangs"])
def test_reconciliation_reports_a_down_netsuite_unreachable_within_its_deadline(
        fault: dict[str, Any], error: str) -> None:
    async def scenario() -> tuple[dict[str, Any], float, int]:
        settings = acme_settings(reconcile={"deadline_seconds": 10})
        async with AcmeWorld(seed=SEED, settings=settings) as acme:
            await acme.card_on_alternate_mid()
            await acme.failed_renewal()
            await acme.sync.relay.drain()  # Stripe and Salesforce get theirs; NetSuite is up
            await acme.world.advance(3600)
            depth = acme.sync.store.outbox_depth()
            result, took = await reconcile_during(acme, **fault)
            return result, took, acme.sync.store.outbox_depth() - depth

    result, took, queued = run(scenario())
    assert took <= 10 + 1, took  # the deadline, not the connector's retries, decided
    [unreachable] = result["unreachable"]
    assert (unreachable["system"], unreachable["vendor"]) == ("erp", "netsuite")
    assert error in unreachable["error"], unreachable
    assert result["clean"] is False
    # the rest was reconciled (the recovered invoice matched gateway ↔ billing ↔ CRM) and
    # nothing was queued for the ERP it could not see
    assert result["matched"] and queued == result["repairs_queued"] == 0


def test_without_a_reachable_gateway_nothing_is_judged() -> None:
    async def scenario() -> dict[str, Any]:
        async with AcmeWorld(seed=SEED, settings=acme_settings(
                reconcile={"deadline_seconds": 30})) as acme:
            await acme.card_on_alternate_mid()
            await acme.failed_renewal()
            acme.world.fakes["stripe"].faults.add(
                FaultSpec(kind="brownout", status=503, window_end=3600),
                acme.world.clock.now())
            return await acme.sync.reconcile(None, True)

    result = run(scenario())
    assert [u["system"] for u in result["unreachable"]] == ["gateway"]
    assert (result["clean"], result["drifts"], result["matched"], result["repairs_queued"]) == (
        False, [], [], 0)


def test_the_deadline_setting_is_checked() -> None:
    from components.settings import SettingsError

    with pytest.raises(SettingsError, match="reconcile.deadline_seconds: Input should be "
                                            "greater than 0"):
        acme_settings(reconcile={"deadline_seconds": 0})
