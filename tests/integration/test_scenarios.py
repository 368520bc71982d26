"""Scenarios on topologies, in-process on virtual time: every shipped scenario holds its
invariants on every shipped topology, a run replays exactly from its seed, and the invariants
catch what each protection prevents when it is switched off (ground truth from the fakes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.scenario import scenario_from_dict, shipped_scenarios
from harness.scenario_run import play, run_scenario
from harness.stage import InProcessStage
from harness.topology import load_topology, shipped_topologies
from simulators.core.virtual_time import run

SCENARIOS = [p.stem for p in shipped_scenarios()]
TOPOLOGIES = [p.stem for p in shipped_topologies()]


def failed(result: dict[str, Any]) -> dict[str, list[str]]:
    return {c["id"]: c["violations"] for c in result["invariants"] if not c["passed"]}


def replay_hint(result: dict[str, Any]) -> str:
    return f"seed {result['seed']}; replay: {result['replay']}; failed: {failed(result)}"


def test_the_shipped_scenarios_and_topologies_are_the_field_s() -> None:
    assert set(TOPOLOGIES) >= {"netsuite-stripe-salesforce", "salesforce-cpq-chargebee-stripe",
                               "netsuite-customrecord-chargebee-stripe"}
    assert set(SCENARIOS) >= {"decline-storm", "erp-manual-payment", "netsuite-brownout",
                              "duplicate-webhooks", "engine-killed", "tokens-expire",
                              "crm-schema-drift", "headline", "gateway-timeouts",
                              "forged-webhooks"}


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_holds_on_every_topology(scenario: str, topology: str) -> None:
    result = run_scenario(scenario, topology_ref=topology)
    assert result["passed"], replay_hint(result)
    merchants = result["merchants"].values()
    assert sum(m["declines"] for m in merchants) > 0
    assert sum(m["recovered"] for m in merchants) > 0  # the storm did recover something
    assert sum(m["double_charges"] for m in merchants) == 0


def test_a_run_replays_exactly_from_its_seed() -> None:
    first, again, other = (run_scenario("engine-killed", seed=seed) for seed in (11, 11, 12))
    for result in (first, again, other):
        result.pop("wall_seconds")
    as_text = [json.dumps(r, sort_keys=True, default=str) for r in (first, again, other)]
    assert as_text[0] == as_text[1]
    assert as_text[0] != as_text[2]
    assert first["replay"] == ("landscape run engine-killed --topology "
                               "netsuite-stripe-salesforce --seed 11")


def test_the_engine_killed_mid_storm_loses_no_decline() -> None:
    result = run_scenario("engine-killed")
    kinds = [e["kind"] for e in result["timeline"]["events"]]
    assert kinds.count("kill") == kinds.count("restart") == 2  # both merchants' engines
    merchants = result["merchants"].values()
    # the kill hit work in flight: those declines were answered on a later delivery
    assert sum(m["redelivered"] for m in merchants) > 0
    assert sum(m["decisions"] for m in merchants) == sum(m["declines"] for m in merchants)
    assert result["passed"], replay_hint(result)


def test_a_renamed_crm_field_is_reported_not_swallowed() -> None:
    result = run_scenario("crm-schema-drift")
    [drift] = [c for c in result["invariants"] if c["id"] == "drift_reported"]
    assert drift["passed"] and "naming Recovery_Status__c" in drift["detail"]
    assert int(drift["detail"].split(": ")[1].split()[0]) > 0  # write-backs dead-lettered
    [reflected] = [c for c in result["invariants"] if c["id"] == "recoveries_reflected"]
    assert "CRM skipped: its field was renamed" in reflected["detail"]


# -- each protection, switched off, lets its invariant fail ---------------------------------
def test_without_the_erp_paid_check_a_wire_payment_is_collected_again() -> None:
    result = run_scenario("erp-manual-payment", without=["erp_paid_check"])
    assert not result["passed"]
    violations = failed(result)["one_charge_per_invoice"]
    assert violations and all("a payment made by hand WIRE-" in v for v in violations)
    assert "--without erp_paid_check" in result["replay"]


def test_without_idempotency_keys_a_dropped_answer_charges_twice() -> None:
    result = run_scenario("gateway-timeouts", without=["idempotency_key"])
    assert "one_charge_per_invoice" in failed(result)
    assert sum(m["double_charges"] for m in result["merchants"].values()) > 0


def test_without_the_signature_check_a_forged_webhook_takes_a_customer_s_money() -> None:
    """Chargebee billing, its dunning off: the engine decides on the event's invoice, so only
    the Basic-auth check stands between a forged payment_failed and a charge. Reconciliation
    then finds money taken for an invoice billing never had (for a human: a refund)."""
    topology = "salesforce-cpq-chargebee-stripe"
    assert run_scenario("forged-webhooks", topology_ref=topology)["passed"]
    result = run_scenario("forged-webhooks", topology_ref=topology, without=["signature_check"])
    violations = failed(result)
    assert violations["charges_trace_to_failures"]
    assert all("(a forged webhook)" in v for v in violations["charges_trace_to_failures"])
    drifts = result["reconciliation"]["initech"]["drifts"]
    assert drifts and {d["class"] for d in drifts} == {"gateway_payment_orphan"}
    assert result["merchants"]["initech"]["needs_human"] == len(drifts)


def test_reading_netsuite_on_the_hot_path_misses_the_sla_in_a_brownout() -> None:
    cached = run_scenario("netsuite-brownout")
    naive = run_scenario("netsuite-brownout", mode="naive")
    assert cached["passed"], replay_hint(cached)
    assert "sla" in failed(naive)
    assert naive["latency_percentiles"]["naive"]["p99"] > \
        2 * cached["latency_percentiles"]["cached"]["p99"]


def test_a_sync_service_that_never_comes_back_fails_the_books() -> None:
    """The invariants see a component that stops: nothing is written back."""
    scenario = scenario_from_dict({
        "name": "sync-down", "declines": {"count": 10},
        "timeline": [{"at": 0, "kill": {"component": "sync"}}], "quiet": 300})

    async def scene() -> dict[str, Any]:
        async with InProcessStage(load_topology("netsuite-stripe-salesforce")) as stage:
            return await play(stage, scenario)

    result = run(scene())
    assert {"recoveries_reflected", "reconciliation_clean"} <= set(failed(result))
    assert "one_charge_per_invoice" not in failed(result)  # the engine still charged once
