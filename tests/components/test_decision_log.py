"""The engine's decision log: each decline's final decision is kept in the store (one row per
handling) and read back over `GET /v1/invoices/{key}/decisions`, so "why was this invoice not
retried?" has an answer after the engine's memory is gone (a restart), and a run's judge counts
a decline decided without a webhook answer (found by the catch-up after the engine was down past
the billing system's redelivery) from it. In-process on virtual time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.recovery.service import RecoveryService
from components.store import open_store
from harness import invariants
from harness.reference_merchant import INVOICE, AcmeWorld, acme_settings
from harness.scenario import Scenario
from harness.scenario_run import Planned, Run
from harness.seeding import ProviderStates, renewal_fails, seed_topology
from harness.stage import InProcessStage
from harness.topology import load_topology
from simulators.core.virtual_time import run

DAY = 86400.0


def test_a_hard_decline_leaves_a_decision_read_over_the_api() -> None:
    async def scenario() -> tuple[list[Any], list[dict[str, Any]], str]:
        async with AcmeWorld(seed=7) as acme:
            await acme.failed_renewal(decline_code="stolen_card")
            key = f"stripe:{INVOICE}"
            answer = await acme.http.get(f"http://recovery.test/v1/invoices/{key}/decisions")
            assert answer.status_code == 200, answer.text
            return acme.recovery.store.decisions(key), answer.json(), key

    rows, served, key = run(scenario())
    [row] = rows
    assert (row.invoice_key, row.source, row.via) == (key, "stripe", "webhook")
    assert (row.action, row.reason, row.status) == ("no_retry", "hard_decline:stolen_card",
                                                    "not_retried")
    assert row.event_id and row.event_id.startswith("evt_")
    assert served == [row.to_dict()]


def test_a_decision_survives_an_engine_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        async with AcmeWorld(seed=7, settings=acme_settings(store=url)) as acme:
            await acme.failed_renewal(decline_code="lost_card")
            key = f"stripe:{INVOICE}"
            # the engine restarts: a new process, its memory empty, the store reopened
            restarted = RecoveryService(acme.settings, http=acme.http, store=open_store(url),
                                        now=acme.world.clock.now, seed=7)
            assert not restarted.engine.recent
            acme.world.mount("recovery-restarted.test", restarted.app)
            answer = await acme.http.get(
                f"http://recovery-restarted.test/v1/invoices/{key}/decisions")
            assert answer.status_code == 200, answer.text
            restarted.store.close()
            await restarted.deployment.aclose()
            return key, answer.json()

    key, served = run(scenario())
    [row] = served
    assert (row["invoice_key"], row["action"], row["reason"]) == (
        key, "no_retry", "hard_decline:lost_card")


def test_a_hard_decline_caught_up_after_the_redelivery_is_recorded_and_judged_decided() -> None:
    """The engine is down past Stripe's 3 days of redelivery; back, its catch-up finds the
    decline on the event list and decides it without a charge (a hard decline): no webhook was
    answered and no PaymentIntent made, so only the decision log tells that it was decided."""
    async def scenario() -> tuple[list[Any], dict[str, Any], list[dict[str, Any]]]:
        topology = load_topology("netsuite-stripe-salesforce")
        m = topology.merchants["acme"]
        async with InProcessStage(topology, poll_seconds=60) as stage:
            stripe = stage.world.fakes["stripe"]
            for mid in m.gateway.mids:  # live mode: Stripe redelivers for 3 days, then stops
                tenant = stripe.tenants.find(mid.api_key)
                assert tenant is not None
                tenant.settings["webhook_retries"] = "live"
            seeded = await seed_topology(topology, stage.http, stage.fakes, stage.components)
            customer = seeded.customers["acme"][0]
            await stage.sleep(60)
            await stage.kill("acme", "recovery")
            await renewal_fails(ProviderStates(stage.http, stage.fakes), m, customer,
                                "stolen_card")
            fired = [Planned(at=0.0, customer=customer, code="stolen_card",
                             alternate_declines=False)]
            await stage.sleep(3 * DAY + 2 * 3600)  # every redelivery refused, then no more
            await stage.restart("acme", "recovery")
            await stage.sleep(600)
            store = stage.stores["acme"]
            played = Run(stage, Scenario(name="decision-log", invariants=[]))
            played.customers, played.fired = seeded.customers, fired
            truth = await invariants.gather(stage, invariants.fired_keys(played))
            checks, _ = invariants.judge(played, truth, {})
            # without the decision log, the same run is judged a violation
            blind = {**truth, "decisions": {}}
            blind_checks, _ = invariants.judge(played, blind, {})
            return (store.decisions(customer.invoice_key),
                    next(c for c in checks if c["id"] == "every_decline_decided"),
                    [c for c in blind_checks if c["id"] == "every_decline_decided"])

    rows, check, blind = run(scenario())
    [row] = rows
    assert (row.via, row.action, row.reason) == ("catchup", "no_retry", "hard_decline:stolen_card")
    assert check["violations"] == [], check
    [blind_check] = blind
    assert len(blind_check["violations"]) == 1
