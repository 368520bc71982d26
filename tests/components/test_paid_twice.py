"""A customer who paid an invoice twice: the engine's recovery charge on the gateway, and a bank
transfer the merchant recorded in billing before the engine's write-back landed. Reconciliation
calls it `paid_twice` (a human decides the refund; nothing is written back), and tells the
engine's own out-of-band payment on Stripe from the merchant's by the gateway payment the
write-back names on the invoice (`metadata[recovery_payment_id]`)."""

from __future__ import annotations

from typing import Any

import pytest

from components.connectors.errors import VendorError
from components.connectors.stripe import RECOVERY_PAYMENT_ID
from harness.reference_merchant import (
    ALTERNATE_KEY,
    AMOUNT,
    GLOBEX_INVOICE,
    INVOICE,
    AcmeWorld,
)
from simulators.core.virtual_time import run
from tests.components.test_connector_stripe import FAILED_RENEWAL, World, in_world
from tests.components.test_partial_landscapes import (
    EngineRetriesWorld,
    chargebee_invoice,
    drift_classes,
    reconciled,
    recover,
)

SEED = 11


# -- the Stripe write-back names the payment it records ---------------------------------------
def test_the_out_of_band_write_back_names_its_payment_and_only_its_own() -> None:
    async def scenario(world: World) -> None:
        ours = (await world.state(FAILED_RENEWAL))["invoice_id"]
        paid = await world.stripe.pay_invoice_out_of_band(ours, idempotency_key="wb-1",
                                                          payment_id="pi_Ours")
        assert paid["status"] == "paid" and paid["metadata"][RECOVERY_PAYMENT_ID] == "pi_Ours"
        again = await world.stripe.pay_invoice_out_of_band(ours, idempotency_key="wb-1",
                                                           payment_id="pi_Ours")  # resent
        assert again["metadata"][RECOVERY_PAYMENT_ID] == "pi_Ours"
        assert (await world.stripe.get_invoice(ours))["metadata"] == {
            RECOVERY_PAYMENT_ID: "pi_Ours"}

        theirs = (await world.state(
            FAILED_RENEWAL, customer_id="cus_PaysByHand0001", invoice_id="in_PaidByHand0000001",
            subscription_id="sub_PaysByHand0001", payment_method_id="pm_PaysByHand0001")
        )["invoice_id"]
        assert theirs != ours
        # the merchant marks it paid (a bank transfer), then our write-back arrives
        await world.stripe.pay_invoice_out_of_band(theirs, idempotency_key="by-hand")
        late = await world.stripe.pay_invoice_out_of_band(theirs, idempotency_key="wb-2",
                                                          payment_id="pi_Ours")
        assert late["status"] == "paid" and RECOVERY_PAYMENT_ID not in (late["metadata"] or {})

    in_world(scenario)


def test_a_write_back_cut_off_between_its_two_writes_names_its_payment_when_resent() -> None:
    async def scenario(world: World) -> None:
        invoice_id = (await world.state(FAILED_RENEWAL))["invoice_id"]
        world.fault("http_error", path=f"/v1/invoices/{invoice_id}", status=400, first_n=1)
        with pytest.raises(VendorError):  # paid, but the metadata write refused
            await world.stripe.pay_invoice_out_of_band(invoice_id, idempotency_key="wb-1",
                                                       payment_id="pi_Ours")
        unnamed = await world.stripe.get_invoice(invoice_id)
        assert unnamed["status"] == "paid" and RECOVERY_PAYMENT_ID not in unnamed["metadata"]
        # the outbox sends the message again: the payment is replayed as ours, then named
        again = await world.stripe.pay_invoice_out_of_band(invoice_id, idempotency_key="wb-1",
                                                           payment_id="pi_Ours")
        assert again["metadata"][RECOVERY_PAYMENT_ID] == "pi_Ours"

    in_world(scenario)


# -- end to end: the bank transfer recorded before the engine's write-back lands -------------
async def acme_paid_by_hand_meanwhile(by_hand: bool, refund: bool = False
                                      ) -> tuple[dict[str, Any], dict[str, Any], str, int]:
    """`refund`: once reconciliation has said paid twice, the human refunds the engine's payment
    (on the MID it was charged on) and reconciliation runs again."""
    async with AcmeWorld(seed=SEED) as acme:
        await acme.card_on_alternate_mid()  # the customer's card works on the alternate MID
        await acme.failed_renewal()  # ... so the engine charges it there at once
        [attempt] = acme.recovery.store.attempts(f"stripe:{INVOICE}")
        assert attempt.charge_id is not None
        if by_hand:  # the merchant marks the invoice paid: the customer's bank transfer
            paid = await acme.stripe("POST", f"/v1/invoices/{INVOICE}/pay",
                                     data={"paid_out_of_band": "true"})
            assert paid["status"] == "paid", paid
        await acme.sync.relay.drain()  # the engine's write-backs, Stripe's now "already paid"
        await acme.settle()
        await acme.world.advance(600)  # past the settle time
        invoice = await acme.stripe("GET", f"/v1/invoices/{INVOICE}")
        report = await reconciled(acme, repair=True)
        if refund:
            assert drift_classes(report) == ["paid_twice"], report["drifts"]
            back = await acme.stripe("POST", "/v1/refunds", key=ALTERNATE_KEY,
                                     data={"payment_intent": attempt.charge_id})
            assert back["status"] == "succeeded", back
            report = await reconciled(acme, repair=True)
        return report, invoice, attempt.charge_id, acme.sync.store.outbox_depth()


def test_a_recovery_written_back_to_stripe_is_not_paid_twice() -> None:
    report, invoice, payment_id, _ = run(acme_paid_by_hand_meanwhile(by_hand=False))
    assert invoice["metadata"][RECOVERY_PAYMENT_ID] == payment_id
    assert report["clean"], report["drifts"]


def test_stripe_invoice_paid_by_hand_and_charged_by_the_engine_is_paid_twice() -> None:
    report, invoice, payment_id, depth = run(acme_paid_by_hand_meanwhile(by_hand=True))
    assert RECOVERY_PAYMENT_ID not in (invoice.get("metadata") or {})
    assert drift_classes(report) == ["paid_twice"], report["drifts"]
    [drift] = report["drifts"]
    assert drift["needs_human"] and drift["repair"] == [] and depth == 0
    assert report["repairs_queued"] == 0
    assert [p["payment_id"] for p in drift["evidence"]["gateway"]] == [payment_id]
    assert drift["evidence"]["billing"][0]["paid_out_of_band"]
    assert drift["evidence"]["billing"][0]["payment_refs"] == []


def test_paid_twice_refunded_leaves_only_the_books_to_correct() -> None:
    # what the drift asks of a human: refund the second money. The gateway's charge then shows
    # it refunded in full (the sync lists the intents with their charges): the customer is no
    # longer paid twice, but the ERP still books the engine's payment, which the books must
    # take out (tests/components/test_reconcile.py: once out, the invoice is clean)
    report, _, payment_id, depth = run(acme_paid_by_hand_meanwhile(by_hand=True, refund=True))
    assert drift_classes(report) == ["erp_payment_refunded"], report["drifts"]
    [drift] = report["drifts"]
    assert drift["needs_human"] and drift["repair"] == [] and depth == 0
    [paid] = drift["evidence"]["gateway"]
    assert paid["payment_id"] == payment_id and paid["amount_refunded"] == paid["amount"]
    assert [e["payment_ref"] for e in drift["evidence"]["erp"]] == [payment_id]


def test_chargebee_invoice_paid_by_bank_transfer_and_charged_by_the_engine_is_paid_twice(
        ) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        async with EngineRetriesWorld(seed=SEED) as globex:
            await recover(globex)  # the engine charged the alternate MID; write-backs queued
            chargebee = globex.sync.deployment.vendors.chargebee
            assert chargebee is not None
            await chargebee.record_payment(  # the merchant records the customer's transfer
                GLOBEX_INVOICE, amount=AMOUNT, payment_method="bank_transfer",
                reference_number="BT-2026-0042", idempotency_key="BT-2026-0042")
            await globex.sync.relay.drain()  # Chargebee: "already paid by another payment"
            await globex.settle()
            await globex.world.advance(600)
            invoice = await chargebee_invoice(globex)
            report = await reconciled(globex, repair=True)
            queued = [m.dedupe_key for m in globex.sync.store.due_messages(1e12, 100)]
            dead = [(m.dedupe_key, m.last_error) for m in globex.sync.store.dead_letters()]
            return report, invoice, queued, dead

    report, invoice, queued, dead = run(scenario())
    assert invoice["status"] == "paid"
    assert drift_classes(report) == ["paid_twice"], report["drifts"]
    [drift] = report["drifts"]
    assert drift["needs_human"] and drift["repair"] == [] and report["repairs_queued"] == 0
    # the engine's own record_payment is a dead letter at once (no retry can pay it now),
    # saying why; nothing of it is left queued
    assert not [k for k in queued if k.startswith("chargebee:recovered")], queued
    [(key, error)] = [(k, e) for k, e in dead if k.startswith("chargebee:recovered")]
    assert "already paid by another payment" in str(error) and "paid_twice" in str(error)
    assert drift["evidence"]["other_payment_refs"] == ["BT-2026-0042"]
    assert len(drift["evidence"]["gateway"]) == 1
    assert drift["evidence"]["gateway"][0]["payment_id"].startswith("pi_")
