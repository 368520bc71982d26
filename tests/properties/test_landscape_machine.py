"""Hypothesis over the whole landscape (harness/explore.py): the reference components keep
every invariant through generated scenarios, and with a protection switched off the machine
finds the failure it protects against and shrinks it to a few steps.

A failure prints its steps, seed and the one command that replays it (the same exploration,
the same shrinking); LANDSCAPE_EXPLORE_SEED=<n> explores from another seed.
"""

from __future__ import annotations

import os
from typing import Any

from harness.explore import DEFAULT_TOPOLOGY, Stats, explore

SEED = int(os.environ.get("LANDSCAPE_EXPLORE_SEED", "1"))
CHARGEBEE = "netsuite-customrecord-chargebee-stripe"
SHORT = 5  # steps a shrunk failing scenario may have


def shown(stats: Stats) -> str:
    return "\n".join(f"{f['error']}\n  " + "\n  ".join(f["steps"])
                     + f"\n  seed {f['seed']}; replay: {f['replay']}" for f in stats.failures)


def found(stats: Stats, invariant: str) -> dict[str, Any]:
    """The shrunk failure, printed with its seed and replay command."""
    assert stats.failures, (f"no failure in {stats.scenarios} scenarios ({stats.steps} steps) "
                            f"from seed {stats.seed}")
    print(shown(stats))
    failure = stats.failures[0]
    assert invariant in failure["error"], failure["error"]
    assert 0 < len(failure["steps"]) <= SHORT, failure["steps"]
    return failure


# CI explores this many scenarios per run (with the webhook rules below: ~2,700 in all)
DEFAULT_SCENARIOS, CHARGEBEE_SCENARIOS = 1200, 800


def test_the_reference_components_keep_every_invariant() -> None:
    stats = explore(DEFAULT_TOPOLOGY, seed=SEED, scenarios=DEFAULT_SCENARIOS, steps=8)
    assert not stats.failures, shown(stats)
    assert stats.scenarios >= DEFAULT_SCENARIOS
    assert stats.rules["renewal_fails"] and stats.rules["crash"]


def test_the_reference_components_keep_every_invariant_on_chargebee_with_dunning() -> None:
    stats = explore(CHARGEBEE, seed=SEED, scenarios=CHARGEBEE_SCENARIOS, steps=8, dunning=True)
    assert not stats.failures, shown(stats)
    assert stats.scenarios >= CHARGEBEE_SCENARIOS and stats.rules["renewal_fails"]


def test_duplicated_delayed_and_reordered_webhooks_are_each_acted_on_once() -> None:
    webhooks = ("webhook_duplicate", "webhook_burst", "webhook_delay", "webhook_reorder")
    stats = explore(DEFAULT_TOPOLOGY, seed=SEED, scenarios=300, steps=6, kinds=webhooks,
                    rules=("renewal_fails", "inject_fault", "advance", "crash", "restart"))
    assert not stats.failures, shown(stats)
    assert stats.rules["inject_fault"] and stats.rules["renewal_fails"]


def test_without_idempotency_keys_a_post_commit_drop_is_charged_twice() -> None:
    stats = explore(DEFAULT_TOPOLOGY, without=("idempotency_key",), seed=SEED, scenarios=60,
                    steps=3, merchants=1, kinds=("drop_after",),
                    rules=("renewal_fails", "inject_fault"),
                    watch=("one_charge_per_invoice",))
    failure = found(stats, "one_charge_per_invoice")
    assert any("drop_after" in step for step in failure["steps"])


def test_without_the_dunning_check_the_engine_retries_while_dunning_owns_the_invoice() -> None:
    stats = explore(CHARGEBEE, without=("dunning_check",), seed=SEED, scenarios=40, steps=4,
                    merchants=1, dunning=True, rules=("renewal_fails", "advance"),
                    watch=("one_retry_owner",))
    failure = found(stats, "one_retry_owner")
    assert any("renewal_fails" in step for step in failure["steps"])


def test_without_the_inbox_a_duplicated_webhook_is_acted_on_twice() -> None:
    # the ledger still stops a second charge (no double charge here); what the inbox adds is
    # that a copy or redelivery of an event is never decided again
    stats = explore(DEFAULT_TOPOLOGY, without=("inbox",), seed=SEED, scenarios=60, steps=4,
                    merchants=1, kinds=("webhook_duplicate", "webhook_burst"),
                    rules=("renewal_fails", "inject_fault", "advance"),
                    watch=("events_decided_once",))
    failure = found(stats, "events_decided_once")
    assert any("webhook_" in step for step in failure["steps"])
