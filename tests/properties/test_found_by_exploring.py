"""What the explorations found in the reference engine, each replayed as a fixed scenario.

1. The long profile (seed 2026, chunk seed 1137341950): the engine killed between admitting a
   failure event to its inbox and deciding it lost the decline, as every redelivery and the
   catch-up were then dropped as duplicates. An admitted event is now only a duplicate once
   its decision is recorded (or while its handler's lease runs: `INBOX_LEASE_SECONDS`).
2. The `pays_by_hand` rule: a payment_failed delivered late (a delay, a redelivery) made the
   engine trust the event's days-old copy of the invoice and charge a customer whose bank
   transfer was already recorded. An event's copy is trusted for `EVENT_COPY_TRUSTED_FOR`
   (60 s) only; an older one is read again.
"""

from __future__ import annotations

from harness.explore import CUSTOMERS, DEFAULT_TOPOLOGY, SETTLED, explore
from harness.explore_world import DAY, world
from harness.scenario_run import Planned


def test_an_engine_killed_mid_decision_decides_the_decline_when_it_is_back() -> None:
    w = world(DEFAULT_TOPOLOGY, CUSTOMERS, (), None, False)
    w.reset(0)
    customer = next(c for c in w.customers["acme"] if c.index == 1)
    fired = [Planned(w.now(), customer, "insufficient_funds", False)]
    w.run(w.renewal_fails(customer, "insufficient_funds", False))
    w.run(w.clear_faults("netsuite"))  # a step: the webhook reaches the engine, admitted
    w.run(w.kill("acme", "recovery"))  # ... and the engine dies before deciding
    w.run(w.advance(DAY))  # Stripe's redeliveries all fail, then it gives up
    reconciliation = w.run(w.quiet())  # back: the catch-up finds the event
    found = w.judge(fired, reconciliation)
    assert not any(found.get(i) for i in SETTLED), {i: found[i] for i in SETTLED if found[i]}
    engine = w.stage.merchants["acme"].recovery.engine
    assert [o.status for o in engine.recent if o.invoice_key == customer.invoice_key] \
        == ["recovered"]


CHARGEBEE = "netsuite-customrecord-chargebee-stripe"


def test_a_late_failure_event_does_not_charge_an_invoice_paid_by_hand_meanwhile() -> None:
    w = world(CHARGEBEE, CUSTOMERS, (), None, False)
    w.reset(0)
    customer = w.customers[next(iter(w.customers))][0]
    w.run(w.fault("chargebee", {"kind": "webhook_delay", "seconds": 2 * DAY, "first_n": 1}))
    fired = [Planned(w.now(), customer, "insufficient_funds", True)]
    w.run(w.renewal_fails(customer, "insufficient_funds", True))  # declines on every MID
    reference = w.run(w.pays_by_hand(customer))  # a bank transfer, recorded in Chargebee
    assert reference
    w.run(w.funds_arrive(customer))  # the card would now be charged...
    w.run(w.advance(3 * DAY))  # ... when the payment_failed, two days late, arrives
    by_hand = {customer.invoice_key: reference}
    found = w.judge(fired, w.run(w.quiet()), by_hand)
    assert not any(found.get(i) for i in SETTLED), {i: found[i] for i in SETTLED if found[i]}


def test_customers_paying_by_hand_while_webhooks_are_late_are_never_charged_twice() -> None:
    webhooks = ("webhook_delay", "webhook_reorder", "webhook_duplicate")
    stats = explore(CHARGEBEE, seed=3, scenarios=200, steps=8, kinds=webhooks,
                    rules=("renewal_fails", "pays_by_hand", "funds_arrive", "advance",
                           "inject_fault"))
    assert not stats.failures, stats.failures
    assert stats.rules["pays_by_hand"] and stats.rules["funds_arrive"]
