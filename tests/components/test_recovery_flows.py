"""The recovery engine and the sync service end to end, in-process on virtual time.

acme (Stripe Billing, a primary and an alternate MID, NetSuite, Salesforce) and globex (Chargebee
billing) from harness/reference_merchant.py. What happened is read back from the fakes: Stripe's
PaymentIntents and charges per MID, NetSuite records, Salesforce through SOQL; the engine's own
store only where the ledger itself is the point. Each protection is also switched off, to show
the failure it prevents. A failing test names its seed; RECOVERY_FLOWS_SEED=<n> runs another.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from components.connectors.netsuite import NetSuiteConnector
from components.connectors.salesforce import SalesforceConnector
from harness.reference_merchant import (
    ALTERNATE_KEY,
    AMOUNT,
    EMAIL,
    GLOBEX_INVOICE,
    GLOBEX_SITE_KEY,
    INVOICE,
    PRIMARY_KEY,
    STRIPE_CUSTOMER,
    SUBSCRIPTION,
    AcmeWorld,
    GlobexWorld,
    MerchantWorld,
    acme_settings,
    globex_settings,
)
from simulators.core.faults import FaultSpec, Match
from simulators.core.virtual_time import run

T = TypeVar("T")
SEED = int(os.environ.get("RECOVERY_FLOWS_SEED", "7"))
KEY = f"stripe:{INVOICE}"
ERP_INVOICE_ID = "501"
DAY = 86400.0
PRIMARY_ONLY = {"mids": [{"name": "primary", "api_key": PRIMARY_KEY}]}
ENGINE_URL = "http://recovery.test/webhooks/stripe"


def play(scenario: Coroutine[Any, Any, T]) -> T:
    """Run a scenario on a virtual-time loop; a failure says which seed to replay."""
    try:
        return run(scenario)
    except BaseException as exc:
        exc.add_note(f"landscape seed {SEED}: replay with RECOVERY_FLOWS_SEED={SEED}")
        print(f"recovery flow failed with seed {SEED}")
        raise


# -- what the engine answered ----------------------------------------------------------------
def answers(world: MerchantWorld) -> list[dict[str, Any]]:
    """Every webhook answer of the engine from now on (status and body), in arrival order
    (the fakes deliver concurrently: an answer is listed when its request arrives)."""
    got: list[dict[str, Any]] = []
    service = world.recovery
    for name in ("stripe_webhook", "chargebee_webhook"):
        async def spy(payload: bytes, credential: str | None,
                      handler: Any = getattr(service, name)) -> tuple[int, Any]:
            answer: dict[str, Any] = {}
            got.append(answer)
            status, body = await handler(payload, credential)
            answer.update({"http_status": status, **body})
            return status, body
        setattr(service, name, spy)
    return got


def decided(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(d["action"], d["reason"]) for d in answer["decisions"]]


def fault(world: MerchantWorld, vendor: str, **spec: Any) -> None:
    world.world.fakes[vendor].faults.add(FaultSpec(**spec), world.world.clock.now())


# -- the truth, from the fakes ---------------------------------------------------------------
async def intents(world: MerchantWorld, key: str) -> list[dict[str, Any]]:
    page = await world.stripe("GET", "/v1/payment_intents", key, params={"limit": 100})
    return list(page["data"])


async def succeeded(world: MerchantWorld, key: str) -> list[dict[str, Any]]:
    """The MID's charges that took money (the fake's charges, not the engine's ledger)."""
    page = await world.stripe("GET", "/v1/charges", key, params={"limit": 100})
    return [c for c in page["data"] if c["status"] == "succeeded"]


def netsuite(world: MerchantWorld) -> NetSuiteConnector:
    connector = world.sync.deployment.vendors.netsuite
    assert connector is not None
    return connector


def salesforce(world: MerchantWorld) -> SalesforceConnector:
    connector = world.sync.deployment.salesforce
    assert connector is not None
    return connector


async def erp_invoice(world: MerchantWorld) -> dict[str, Any]:
    return await netsuite(world).get("invoice", ERP_INVOICE_ID)


async def erp_payments(world: MerchantWorld) -> list[dict[str, Any]]:
    return await netsuite(world).suiteql("SELECT id FROM transaction WHERE type = 'CustPymt'")


def ref_name(value: Any) -> Any:
    return value.get("refName") if isinstance(value, dict) else value


async def crm_account(world: MerchantWorld) -> dict[str, Any]:
    [account] = await salesforce(world).query(
        "SELECT Id, Recovery_Status__c, Recovery_Attempts__c, Last_Decline_Code__c FROM Account "
        f"WHERE Stripe_Customer_Id__c = '{STRIPE_CUSTOMER}'")
    return account


async def manual_payment_in_erp(world: MerchantWorld) -> None:
    """Accounts receivable applies a cheque to invoice 501 through NetSuite's record API; the
    user-event notification reaches the sync service, which refreshes the cache."""
    await netsuite(world).create("customerPayment", {
        "customer": {"id": "101"}, "payment": AMOUNT / 100, "memo": "cheque 1042",
        "apply": {"items": [{"doc": {"id": ERP_INVOICE_ID}, "apply": True,
                             "amount": AMOUNT / 100}]}})
    await world.settle()


# -- 1. soft decline, recovered on the alternate MID -----------------------------------------
@pytest.mark.parametrize("mode", ["cached", "naive"])
def test_soft_decline_is_recovered_through_the_alternate_mid(mode: str) -> None:
    async def scenario() -> None:
        async with AcmeWorld(seed=SEED, settings=acme_settings(mode=mode)) as acme:
            await acme.card_on_alternate_mid()
            got = answers(acme)
            erp_reads = len(acme.world.fakes["netsuite"].journal.entries())
            await acme.failed_renewal()
            hot_path_erp_reads = len(acme.world.fakes["netsuite"].journal.entries()) - erp_reads

            [answer] = got
            # the same decision in both modes: the primary's insufficient_funds goes to the
            # untried alternate at once
            assert decided(answer) == [("retry_now", "untried_mid:insufficient_funds")]
            assert answer["status"] == "recovered"
            live = acme.recovery.metrics.registry.get_sample_value(
                "context_reads_total", {"source": "erp_live"})
            if mode == "naive":
                assert hot_path_erp_reads > 0 and live == 1.0
            else:  # the ERP answered from the cache: NetSuite saw nothing
                assert hot_path_erp_reads == 0 and live is None

            taken = await succeeded(acme, PRIMARY_KEY) + await succeeded(acme, ALTERNATE_KEY)
            assert [c["amount"] for c in taken] == [AMOUNT]
            assert taken == await succeeded(acme, ALTERNATE_KEY)

            report = await acme.sync.relay.drain()
            assert (report.sent, report.dead) == (3, 0), report.errors
            await acme.settle()
            invoice = await acme.stripe("GET", f"/v1/invoices/{INVOICE}")
            assert invoice["status"] == "paid" and invoice["paid_out_of_band"] is True
            erp = await erp_invoice(acme)
            assert erp["amountRemaining"] == 0
            assert ref_name(erp["custbody_recovery_status"]) == "recovered"
            assert len(await erp_payments(acme)) == 1
            assert (await crm_account(acme))["Recovery_Status__c"] == "recovered"

    play(scenario())


# -- 2. hard decline, not retried --------------------------------------------------------------
@pytest.mark.parametrize("code", ["stolen_card", "lost_card"])
def test_hard_decline_is_not_retried_and_written_back_as_failed(code: str) -> None:
    async def scenario() -> None:
        async with AcmeWorld(seed=SEED) as acme:
            await acme.card_on_alternate_mid()  # a card that would work: still not tried
            got = answers(acme)
            await acme.failed_renewal(decline_code=code)

            assert [decided(a) for a in got] == [[("no_retry", f"hard_decline:{code}")]]
            assert len(await intents(acme, PRIMARY_KEY)) == 1  # the renewal's own
            assert await intents(acme, ALTERNATE_KEY) == []
            assert acme.recovery.store.attempts(KEY) == []
            assert acme.recovery.store.scheduled_retries() == []

            report = await acme.sync.relay.drain()
            assert (report.sent, report.dead) == (2, 0), report.errors
            erp = await erp_invoice(acme)
            assert ref_name(erp["custbody_recovery_status"]) == "failed"
            assert erp["custbody_last_decline_code"] == code
            assert erp["amountRemaining"] == AMOUNT / 100
            account = await crm_account(acme)
            assert (account["Recovery_Status__c"], account["Last_Decline_Code__c"]) == (
                "failed", code)

    play(scenario())


# -- 3. duplicated and reordered webhooks --------------------------------------------------------
def test_a_duplicated_webhook_is_processed_once() -> None:
    async def scenario() -> None:
        async with AcmeWorld(seed=SEED) as acme:
            await acme.card_on_alternate_mid()
            fault(acme, "stripe", kind="webhook_duplicate", copies=2, match=Match(url=ENGINE_URL))
            got = answers(acme)
            await acme.failed_renewal()

            assert len(got) == 3  # the delivery and its two copies all reached the engine
            assert got[0]["status"] == "recovered"
            assert [a.get("dropped") for a in got[1:]] == ["duplicate", "duplicate"]
            assert len(acme.recovery.store.attempts(KEY)) == 1
            assert len(await intents(acme, ALTERNATE_KEY)) == 1

    play(scenario())


async def stale_after_newer(acme: AcmeWorld, gap: float) -> list[dict[str, Any]]:
    """The renewal's invoice.payment_failed is held back (webhook_reorder) while the merchant
    retries the invoice `gap` seconds later and it fails again: the newer event arrives first."""
    fault(acme, "stripe", kind="webhook_reorder", seconds=10 * DAY, first_n=1,
          match=Match(url=ENGINE_URL))
    got = answers(acme)
    await acme.failed_renewal()
    assert got == []  # held
    await acme.world.advance(gap)
    await acme.stripe("POST", f"/v1/invoices/{INVOICE}/pay")  # declines again
    await acme.settle()
    return got


def test_a_stale_event_after_a_newer_one_is_dropped() -> None:
    async def scenario() -> None:
        async with AcmeWorld(seed=SEED) as acme:
            await acme.card_on_alternate_mid()
            got = await stale_after_newer(acme, 30)

            newer, older = got[0], got[1]
            assert newer["status"] == "recovered"
            assert older.get("dropped") == "stale"
            assert len(acme.recovery.store.attempts(KEY)) == 1
            assert len(await succeeded(acme, ALTERNATE_KEY)) == 1

    play(scenario())


# -- 4. a manual payment in the ERP stops a due retry ---------------------------------------
async def paid_in_erp_before_the_retry(check: bool) -> tuple[list[Any], list[dict[str, Any]]]:
    settings = acme_settings(stripe=PRIMARY_ONLY, protections={"erp_paid_check": check})
    async with AcmeWorld(seed=SEED, settings=settings) as acme:
        got = answers(acme)
        await acme.failed_renewal()
        [(action, reason)] = decided(got[0])
        assert (action, reason) == ("retry_later", "scheduled_retry:insufficient_funds")
        [(_, retry_at)] = acme.recovery.store.scheduled_retries()
        # by the retry the customer's card works again: only the ERP check can stop the charge
        await acme.card_on_mid(PRIMARY_KEY, customer_id=STRIPE_CUSTOMER)
        await manual_payment_in_erp(acme)  # "this morning"
        await acme.world.advance(retry_at - acme.world.clock.now() + 60)
        outcomes = await acme.recovery.engine.run_due_retries()
        return ([decided(o.to_dict()) for o in outcomes],
                await succeeded(acme, PRIMARY_KEY))


def test_a_manual_payment_in_netsuite_stops_a_due_retry() -> None:
    decisions, charges = play(paid_in_erp_before_the_retry(check=True))
    assert decisions == [[("no_retry", "paid_in_erp")]]
    assert charges == []


# -- 5. Chargebee's dunning owns the invoice -------------------------------------------------
async def chargebee_dunning(check: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                 dict[str, Any]]:
    settings = globex_settings(protections={"dunning_check": check})
    async with GlobexWorld(seed=SEED, settings=settings) as globex:
        await globex.card_on_alternate_mid()  # the customer's card on the engine's MIDs works
        got = answers(globex)
        await globex.renewal_in_dunning()
        taken = await succeeded(globex, PRIMARY_KEY) + await succeeded(globex, ALTERNATE_KEY)
        response = await globex.http.get(f"http://chargebee.fake/api/v2/invoices/{GLOBEX_INVOICE}",
                                         auth=(GLOBEX_SITE_KEY, ""))
        return got, taken, response.json()["invoice"]


def test_a_chargebee_dunning_run_in_flight_is_respected() -> None:
    got, taken, invoice = play(chargebee_dunning(check=True))
    assert [decided(a) for a in got] == [[("no_retry", "billing_dunning_in_flight")]]
    assert taken == []
    assert (invoice["status"], invoice["dunning_status"]) == ("payment_due", "in_progress")


# -- 6. a post-commit drop on the retry ------------------------------------------------------
async def dropped_after_commit(
        idempotency: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    settings = acme_settings(protections={"idempotency_key": idempotency})
    async with AcmeWorld(seed=SEED, settings=settings) as acme:
        await acme.card_on_alternate_mid()
        # the alternate MID charges the card, then the connection drops before the answer
        fault(acme, "stripe", kind="drop_after", first_n=1,
              match=Match(method="POST", path="/v1/payment_intents", tenant=ALTERNATE_KEY))
        got = answers(acme)
        await acme.failed_renewal()
        assert [a["status"] for a in got] == ["recovered"]
        posts = acme.world.fakes["stripe"].journal.entries(
            tenant=ALTERNATE_KEY, method="POST", path="/v1/payment_intents")
        return (await succeeded(acme, ALTERNATE_KEY), posts,
                acme.recovery.store.attempts(KEY))


def test_a_post_commit_drop_on_the_retry_charges_once() -> None:
    taken, posts, attempts = play(dropped_after_commit(idempotency=True))
    assert len(taken) == 1
    assert len(posts) == 2  # the dropped one and the connector's retry, with the same key
    assert posts[0]["idempotency_key"] == posts[1]["idempotency_key"] == f"recovery:{KEY}:1"
    assert posts[1].get("replayed") is True
    [attempt] = attempts
    assert attempt.charge_id == taken[0]["payment_intent"]


# -- 7. an expired Salesforce session -----------------------------------------------------------
def test_an_expired_salesforce_session_is_refreshed_during_write_back() -> None:
    async def scenario() -> None:
        async with AcmeWorld(seed=SEED) as acme:
            await acme.card_on_alternate_mid()
            await acme.failed_renewal()
            # the session the sync service holds expires under it (not the token request)
            fault(acme, "salesforce", kind="auth_expired", first_n=1,
                  match=Match(path="/services/data/*"))
            report = await acme.sync.relay.drain()
            assert (report.sent, report.retried, report.dead) == (3, 0, 0), report.errors
            assert salesforce(acme).session_refreshes == 1
            assert (await crm_account(acme))["Recovery_Status__c"] == "recovered"

    play(scenario())


# -- 8. a NetSuite brownout --------------------------------------------------------------------
def test_a_netsuite_brownout_is_absorbed_by_the_outbox_and_drained_after() -> None:
    async def scenario() -> None:
        async with AcmeWorld(seed=SEED) as acme:
            await acme.card_on_alternate_mid()
            await acme.failed_renewal()
            fault(acme, "netsuite", kind="brownout", status=503, window_end=600,
                  match=Match(path="/services/rest/*"))
            during = await acme.sync.relay.drain()
            assert during.retried >= 1 and during.dead == 0, during.errors
            assert during.sent == 2  # Stripe and Salesforce did not wait for NetSuite
            assert acme.sync.store.outbox_depth() > 0

            await acme.world.advance(15 * 60)
            after = await acme.sync.relay.drain()
            assert (after.sent, after.dead) == (1, 0), after.errors
            assert acme.sync.store.outbox_depth() == 0
            assert acme.sync.store.dead_letters() == []
            await acme.settle()
            assert len(await erp_payments(acme)) == 1
            assert (await erp_invoice(acme))["amountRemaining"] == 0

    play(scenario())


# -- a vendor outage on the hot path -------------------------------------------------------------
def test_a_decline_is_not_lost_when_stripe_is_down_as_it_arrives() -> None:
    async def scenario() -> None:
        async with AcmeWorld(seed=SEED) as acme:
            await acme.card_on_alternate_mid()
            # reading the failed payment's card fails for five minutes
            fault(acme, "stripe", kind="brownout", status=503, window_end=300,
                  match=Match(method="GET", path="/v1/payment_intents/*"))
            got = answers(acme)
            await acme.failed_renewal()
            assert got[0]["http_status"] == 502
            assert decided(got[0]) == [("retry_later", "vendor_error:unavailable")]

            await acme.world.advance(3600)  # Stripe redelivers the event: already in the inbox
            await acme.settle()
            assert got[1].get("dropped") == "duplicate"
            [outcome] = await acme.recovery.engine.run_due_retries()  # the engine's own retry
            assert outcome.status == "recovered"
            assert len(await succeeded(acme, ALTERNATE_KEY)) == 1
            assert acme.recovery.store.scheduled_retries() == []

    play(scenario())


# -- 9. each protection switched off -----------------------------------------------------------
@pytest.mark.parametrize("on", [True, False], ids=["inbox_on", "inbox_off"])
def test_without_the_inbox_a_stale_event_retries_right_after_a_newer_decline(on: bool) -> None:
    async def scenario() -> None:
        settings = acme_settings(stripe=PRIMARY_ONLY, protections={"inbox": on})
        async with AcmeWorld(seed=SEED, settings=settings) as acme:
            # the renewal's event arrives two days late, after a newer decline set the schedule
            got = await stale_after_newer(acme, 2 * DAY)
            assert decided(got[0]) == [("retry_later", "scheduled_retry:insufficient_funds")]
            tried = len(await intents(acme, PRIMARY_KEY)) - 2  # the renewal's and the merchant's
            if on:
                assert got[1].get("dropped") == "stale"
                assert tried == 0 and acme.recovery.store.attempts(KEY) == []
            else:  # the stale event's day-1 retry is "due": the card is hit again at once
                assert decided(got[1])[0] == ("retry_now", "scheduled_retry:insufficient_funds")
                assert tried == 1 and len(acme.recovery.store.attempts(KEY)) == 1

    play(scenario())


@pytest.mark.parametrize("on", [True, False], ids=["idempotency_on", "idempotency_off"])
def test_without_idempotency_keys_a_post_commit_drop_charges_twice(on: bool) -> None:
    taken, _, _ = play(dropped_after_commit(idempotency=on))
    assert len(taken) == (1 if on else 2)


@pytest.mark.parametrize("on", [True, False], ids=["dunning_check_on", "dunning_check_off"])
def test_without_the_dunning_check_the_engine_retries_during_chargebee_dunning(on: bool) -> None:
    got, taken, invoice = play(chargebee_dunning(check=on))
    assert invoice["dunning_status"] == "in_progress"  # Chargebee still owns the retries
    if on:
        assert taken == []
    else:
        assert [decided(a)[0][0] for a in got] == ["retry_now"]
        assert [c["amount"] for c in taken] == [AMOUNT]


@pytest.mark.parametrize("on", [True, False], ids=["erp_paid_check_on", "erp_paid_check_off"])
def test_without_the_erp_paid_check_a_paid_invoice_is_charged_again(on: bool) -> None:
    decisions, charges = play(paid_in_erp_before_the_retry(check=on))
    if on:
        assert decisions == [[("no_retry", "paid_in_erp")]] and charges == []
    else:
        assert decisions[0][0][0] == "retry_now"
        assert [c["amount"] for c in charges] == [AMOUNT]  # paid twice: cheque and card


def forged_event(event: dict[str, Any]) -> tuple[bytes, str]:
    """Stripe's own event under a new id, signed with a secret that is not the endpoint's."""
    body = json.dumps({**event, "id": "evt_Forged0000000000000001"}).encode()
    stamp = int(time.time())  # Stripe signs with wall time whatever the fake's clock says
    digest = hmac.new(b"whsec_not_the_endpoint_secret", f"{stamp}.".encode() + body,
                      hashlib.sha256).hexdigest()
    return body, f"t={stamp},v1={digest}"


@pytest.mark.parametrize("on", [True, False], ids=["signature_check_on", "signature_check_off"])
def test_without_the_signature_check_a_forged_webhook_is_acted_on(on: bool) -> None:
    async def scenario() -> None:
        settings = acme_settings(protections={"signature_check": on})
        async with AcmeWorld(seed=SEED, settings=settings) as acme:
            await acme.card_on_alternate_mid()
            # a declined renewal whose genuine delivery is not run (no settle): only the
            # forgery reaches the engine
            await acme.state("stripe", "a subscription with an open invoice whose payment "
                             "failed", {"customer_id": STRIPE_CUSTOMER, "email": EMAIL,
                                        "invoice_id": INVOICE, "subscription_id": SUBSCRIPTION,
                                        "amount": AMOUNT}, PRIMARY_KEY)
            events = await acme.stripe("GET", "/v1/events",
                                       params={"type": "invoice.payment_failed"})
            body, signature = forged_event(events["data"][0])
            response = await acme.http.post(ENGINE_URL, content=body, headers={
                "Stripe-Signature": signature, "Content-Type": "application/json"})
            attempts = acme.recovery.store.attempts(KEY)
            taken = await succeeded(acme, ALTERNATE_KEY)
            if on:
                assert response.status_code == 400, response.text
                assert attempts == [] and taken == []
            else:
                assert response.status_code == 200, response.text
                assert response.json()["status"] == "recovered"
                assert len(attempts) == 1 and len(taken) == 1

    play(scenario())
