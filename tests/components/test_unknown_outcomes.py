"""A retry whose answer never came back is an unknown outcome, not a failure: the engine holds
the invoice (no new attempt), and on its next touch finds out what happened (the payment, found
by the idempotency key in its metadata) or sends the same request under the same key, which
Stripe runs at most once. Either way the card is charged once."""

from __future__ import annotations

import pytest

from harness.reference_merchant import ALTERNATE_KEY, INVOICE, AcmeWorld
from simulators.core.faults import FaultSpec, Match
from simulators.core.virtual_time import run

SEED = 5
KEY = f"stripe:{INVOICE}"
TRIES = 4  # the connector's RetryPolicy.attempts: every try of the first attempt is lost


@pytest.mark.parametrize("kind, committed", [
    ("drop_after", True),    # the charge happened; every answer was lost on the way back
    ("drop_before", False),  # nothing reached Stripe; the connection died on the way there
])
def test_an_unknown_outcome_is_resolved_before_anything_else_and_charges_once(
        kind: str, committed: bool) -> None:
    async def scenario() -> tuple[list[str], list[str], list[str], int]:
        async with AcmeWorld(seed=SEED) as acme:
            await acme.card_on_alternate_mid()
            stripe = acme.world.fakes["stripe"]
            stripe.faults.add(FaultSpec(kind=kind, first_n=TRIES, match=Match(
                method="POST", path="/v1/payment_intents", tenant=ALTERNATE_KEY)),
                acme.world.clock.now())
            await acme.failed_renewal()
            first = [a.status.value for a in acme.recovery.store.attempts(KEY)]
            scheduled = [k for k, _ in acme.recovery.store.scheduled_retries()]
            await acme.world.advance(120)  # past the technical retry delay
            await acme.recovery.engine.run_due_retries()
            after = [a.status.value for a in acme.recovery.store.attempts(KEY)]
            charges = await acme.stripe("GET", "/v1/charges", ALTERNATE_KEY)
            paid = sum(c["status"] == "succeeded" for c in charges["data"])
            return first, scheduled, after, paid

    first, scheduled, after, paid = run(scenario())
    assert first == ["unknown"]          # not "failed": money may have moved
    assert scheduled == [KEY]            # held, and looked at again shortly
    assert after == ["succeeded"]        # resolved as the same attempt, no second attempt
    assert paid == 1
