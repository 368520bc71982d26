"""Topology and scenario files: the shipped ones load, every problem names the file, the key
and the fix, and what the fakes and the components are given agrees."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.settings import load_settings
from harness.scenario import ScenarioError, load_scenario, scenario_from_dict, shipped_scenarios
from harness.topology import (
    ROOT,
    ComponentUrls,
    TopologyError,
    load_topology,
    shipped_topologies,
    topology_from_dict,
)

SHIPPED = ROOT / "scenarios" / "topologies" / "netsuite-stripe-salesforce.yaml"


def minimal(**changes: object) -> dict:
    data = yaml.safe_load(SHIPPED.read_text())
    data.update(changes)
    return data


def urls(topology) -> dict[str, ComponentUrls]:
    return {m: ComponentUrls(recovery=f"http://r-{m}", sync=f"http://s-{m}")
            for m in topology.merchants}


@pytest.mark.parametrize("path", shipped_topologies(), ids=lambda p: p.stem)
def test_a_shipped_topology_loads_and_gives_every_fake_and_component_its_part(
        path: Path, tmp_path: Path) -> None:
    topology = load_topology(path.stem)  # by name, as `landscape run --topology` takes it
    fakes = {v: f"http://{v}.fake" for v in topology.vendors()}
    for vendor in topology.vendors():
        config = topology.fake_config(vendor, urls(topology))
        assert config.strict_tenants  # only the merchants' tenants exist
        declared = set(config.tenants)
        expected = {t for m in topology.merchants for t in topology.tenants(m).get(vendor, [])}
        assert declared == expected
    for merchant in topology.merchants:
        settings = topology.component_settings(merchant, fakes, store="sqlite://")
        written = tmp_path / f"{merchant}.yaml"
        written.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_none=True)))
        assert load_settings(written) == settings  # what `landscape up` writes loads back


def test_a_merchant_s_latency_and_faults_apply_to_its_tenants_only() -> None:
    topology = load_topology("netsuite-stripe-salesforce")
    faults = topology.fake_config("netsuite", urls(topology)).faults
    [hooli] = [f for f in faults if f.match.tenant == "7654321"]
    assert hooli.kind == "latency" and hooli.latency is not None and hooli.latency.ms == 200


def test_the_engine_owns_retries_unless_the_billing_system_does() -> None:
    topology = load_topology("netsuite-customrecord-chargebee-stripe")
    site = topology.fake_config("chargebee", urls(topology)).tenants["globex-test"]
    assert site.settings["dunning"] == {"retry_days": [], "on_exhausted": "active"}
    data = yaml.safe_load((ROOT / "scenarios/topologies/"
                           "netsuite-customrecord-chargebee-stripe.yaml").read_text())
    data["merchants"]["globex"]["billing"]["retries"] = "billing"
    billing_owned = topology_from_dict(data, "t.yaml", base=SHIPPED.parent)
    site = billing_owned.fake_config("chargebee", urls(billing_owned)).tenants["globex-test"]
    assert "dunning" not in site.settings
    fakes = {v: "http://x" for v in billing_owned.vendors()}
    assert billing_owned.component_settings("globex", fakes, store="sqlite://") \
        .chargebee.dunning is True


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["merchants"]["acme"].update(colour="blue"),
     "t.yaml: merchants.acme.colour: unknown key; check its spelling against "
     "scenarios/README.md"),
    (lambda d: d["merchants"]["acme"].pop("gateway"), "merchants.acme.gateway: required; add it"),
    (lambda d: d["merchants"]["hooli"]["gateway"]["mids"][0].update(
        api_key="sk_test_acme_primary"),
     "stripe tenant 'sk_test_acme_primary' also belongs to merchant acme; give each merchant "
     "its own"),
    (lambda d: d["merchants"]["acme"].update(mapping="../mappings/nope.yaml"),
     "merchants.acme.mapping: ") ,
    (lambda d: d["systems"].update(chargebee={"latency": {"kind": "fixed", "ms": 5}}),
     "systems.chargebee: no merchant uses chargebee"),
    (lambda d: d["merchants"]["acme"]["billing"].update(system="chargebee"),
     "merchants.acme.billing: Value error, chargebee billing needs site and api_key"),
])
def test_a_topology_problem_names_the_file_the_key_and_the_fix(change, expected: str) -> None:
    data = minimal()
    change(data)
    with pytest.raises(TopologyError) as caught:
        topology_from_dict(data, "t.yaml", base=SHIPPED.parent)
    assert expected in str(caught.value)
    if "nope.yaml" in str(data["merchants"]["acme"]["mapping"]):
        assert "does not exist; the path is relative to the topology file" in str(caught.value)


def test_a_malformed_topology_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nmerchants:\n  acme: [\n")
    with pytest.raises(TopologyError, match=r"bad.yaml: line \d+, column \d+: not valid YAML"):
        load_topology(path)


def test_an_unknown_protection_is_named_with_the_choices() -> None:
    with pytest.raises(TopologyError, match="unknown protection.*inbox, idempotency_key"):
        load_topology("netsuite-stripe-salesforce").without(["seatbelt"])


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.stem)
def test_a_shipped_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path.stem)
    assert scenario.description and scenario.invariants


@pytest.mark.parametrize(("data", "expected"), [
    ({"name": "x", "invariants": ["no_double_charge"]},
     "unknown invariant(s) no_double_charge; choose from one_charge_per_invoice"),
    ({"name": "x", "timeline": [{"at": 1, "kill": {"component": "recovery"},
                                 "restart": {"component": "recovery"}}]},
     "a step does exactly one thing"),
    ({"name": "x", "timeline": [{"at": 1, "fault": {"system": "stripe", "kind": "meteor"}}]},
     "timeline.0.fault.kind"),
    ({"name": "x", "declines": {"count": 0}}, "declines.count"),
])
def test_a_scenario_problem_names_the_key(data: dict, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data, "s.yaml")
    assert expected in str(caught.value) and "s.yaml" in str(caught.value)


def test_a_missing_scenario_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="no such scenario file; give a path or one of: "
                                            ".*headline"):
        load_scenario("headlines")
