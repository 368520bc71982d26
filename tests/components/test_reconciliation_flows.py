"""Three-way reconciliation against the fakes: after a recovery the books agree; each class of
drift planted in a vendor is found, and the repairable ones are repaired idempotently (the
repairs go through the outbox, a second run queues nothing new, and the books agree again)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from harness.reference_merchant import (
    ALTERNATE_KEY,
    INVOICE,
    NETSUITE_ACCOUNT,
    STRIPE_CUSTOMER,
    AcmeWorld,
)
from simulators.core.virtual_time import run

KEY = f"stripe:{INVOICE}"
SEED = 11


async def recovered(acme: AcmeWorld, lose: str | None = None) -> str:
    """Recover acme's renewal through the alternate MID and send the write-backs, except the
    one to `lose` (a write-back lost on the way: dead-lettered, never replayed)."""
    await acme.card_on_alternate_mid()
    await acme.failed_renewal()
    [attempt] = acme.recovery.store.attempts(KEY)
    if lose is not None:
        for message in acme.sync.store.due_messages(acme.world.clock.now(), 100):
            assert message.id is not None
            if message.destination == lose:
                acme.sync.store.mark_dead(message.id, error="lost in the test")
            else:
                acme.sync.store.mark_retry(message.id, next_attempt_at=0, error="")
    await acme.sync.relay.drain()
    await acme.settle()
    await acme.world.advance(600)  # past the settle time: differences are drift, not transit
    assert attempt.charge_id is not None
    return attempt.charge_id


async def reconcile(acme: AcmeWorld, repair: bool = False) -> dict[str, Any]:
    response = await acme.http.post("http://sync.test/v1/reconcile", json={"repair": repair})
    assert response.status_code == 200, response.text
    return dict(response.json())


def classes(report: dict[str, Any]) -> list[str]:
    return sorted(d["class"] if "class" in d else d["drift_class"] for d in report["drifts"])


async def netsuite(acme: AcmeWorld, method: str, path: str, **kw: Any) -> Any:
    """The NetSuite record API, as the merchant's own staff or scripts would use it."""
    conn = acme.sync.deployment.vendors.netsuite
    assert conn is not None
    if method == "POST":
        return await conn.create(path, kw["json"])
    return await conn.get(path.split("/")[0], path.split("/")[1], expand=True)


def test_after_a_recovery_the_three_systems_agree() -> None:
    async def scenario() -> dict[str, Any]:
        async with AcmeWorld(seed=SEED) as acme:
            await recovered(acme)
            return await reconcile(acme)

    report = run(scenario())
    assert report["clean"], report["drifts"]
    assert report["matched"] == [KEY]


@pytest.mark.parametrize("lost, drift", [
    ("stripe", "billing_open_gateway_paid"),   # the out-of-band payment never reached Stripe
    ("netsuite", "erp_payment_missing"),       # the payment never reached the ERP
    ("salesforce", "crm_status_drift"),        # the CRM still says retrying (or nothing)
])
def test_a_lost_write_back_is_found_and_repaired_once(lost: str, drift: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with AcmeWorld(seed=SEED) as acme:
            await recovered(acme, lose=lost)
            found = await reconcile(acme, repair=True)
            again = await reconcile(acme, repair=True)  # before the repairs went out
            await acme.sync.relay.drain()
            await acme.settle()
            await acme.world.advance(600)
            return found, again, await reconcile(acme)

    found, again, after = run(scenario())
    assert classes(found) == [drift], found
    assert found["repairs_queued"] == 1
    assert again["repairs_queued"] == 0  # idempotent: the same repair is queued once
    assert after["clean"], after["drifts"]


Plant = Callable[[AcmeWorld, str], Awaitable[None]]


async def second_erp_payment(acme: AcmeWorld, payment_id: str) -> None:
    await netsuite(acme, "POST", "customerPayment", json={
        "customer": {"id": "101"}, "payment": 20.0, "memo": payment_id,
        "externalId": "manual-duplicate"})


async def erp_payment_with_other_amount(acme: AcmeWorld, payment_id: str) -> None:
    payments = await acme.sync.deployment.vendors.netsuite.suiteql(  # type: ignore[union-attr]
        "SELECT id FROM transaction WHERE type = 'CustPymt'")
    await acme.sync.deployment.vendors.netsuite.update(  # type: ignore[union-attr]
        "customerPayment", str(payments[0]["id"]), {"payment": 25.0})


async def erp_payment_of_nothing(acme: AcmeWorld, payment_id: str) -> None:
    await netsuite(acme, "POST", "customerPayment", json={
        "customer": {"id": "101"}, "payment": 20.0, "memo": "pi_NeverCharged0000000000",
        "externalId": "orphan-1"})


async def second_charge(acme: AcmeWorld, payment_id: str) -> None:
    customer = await acme.stripe("GET", "/v1/customers?email=jenny.rosen%40example.com",
                                 key=ALTERNATE_KEY)
    [found] = customer["data"]
    await acme.stripe("POST", "/v1/payment_intents", key=ALTERNATE_KEY, data={
        "amount": 2000, "currency": "usd", "customer": found["id"], "confirm": "true",
        "off_session": "true", "payment_method": found["invoice_settings"][
            "default_payment_method"], "metadata[invoice_key]": KEY})


async def charge_in_another_currency(acme: AcmeWorld, payment_id: str) -> None:
    customer = await acme.stripe("GET", "/v1/customers?email=jenny.rosen%40example.com",
                                 key=ALTERNATE_KEY)
    [found] = customer["data"]
    await acme.stripe("POST", "/v1/payment_intents", key=ALTERNATE_KEY, data={
        "amount": 1800, "currency": "eur", "customer": found["id"], "confirm": "true",
        "off_session": "true", "payment_method": found["invoice_settings"][
            "default_payment_method"], "metadata[invoice_key]": KEY})


@pytest.mark.parametrize("plant, drift", [
    (second_erp_payment, "erp_payment_duplicate"),
    (erp_payment_with_other_amount, "erp_amount_mismatch"),
    (erp_payment_of_nothing, "erp_payment_orphan"),
    (second_charge, "gateway_duplicate_charge"),
    (charge_in_another_currency, "currency_mismatch"),
])
def test_drift_with_money_in_the_books_goes_to_a_human(plant: Plant, drift: str) -> None:
    async def scenario() -> tuple[dict[str, Any], int]:
        async with AcmeWorld(seed=SEED) as acme:
            payment_id = await recovered(acme)
            await plant(acme, payment_id)
            await acme.world.advance(600)
            report = await reconcile(acme, repair=True)
            return report, acme.sync.store.outbox_depth()

    report, depth = run(scenario())
    assert drift in classes(report), report
    planted = [d for d in report["drifts"] if (d.get("class") or d.get("drift_class")) == drift]
    assert all(d["needs_human"] and not d["repair"] for d in planted), planted
    assert depth == 0  # nothing is "repaired" automatically when money is in the books


def test_ids_are_the_fakes_own() -> None:
    # the reference merchant's ids are the ones the provider states create (guards the setup)
    assert NETSUITE_ACCOUNT == "1234567_SB1" and STRIPE_CUSTOMER.startswith("cus_")
