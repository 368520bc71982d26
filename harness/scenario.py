"""A scenario: a traffic and fault timeline, a quiet phase, then invariants.

One YAML file (`scenarios/scenarios/*.yaml`, format in `scenarios/README.md`):

    name: netsuite-brownout
    topology: netsuite-stripe-salesforce      # the default; `landscape run --topology` overrides
    declines: {count: 40, rate_per_second: 1}  # renewals that fail, spread over the merchants
    timeline:
      - {at: 10, fault: {system: netsuite, kind: brownout, status: 503, probability: 0.5,
                         window_end: 30}}
      - {at: 20, kill: {component: recovery}}
      - {at: 25, restart: {component: recovery}}
    quiet: 3600                                 # seconds for deliveries, retries and relays
    invariants: [one_charge_per_invoice, recoveries_reflected, reconciliation_clean, sla]

Errors name the file, the key and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.settings import SettingsError, read_yaml, validated
from harness.topology import ROOT
from simulators.core.faults import FaultSpec

SCENARIOS = ROOT / "scenarios" / "scenarios"
REFERENCE = "scenarios/README.md (Scenarios)"

INVARIANTS = {
    "one_charge_per_invoice": "at most one successful collection per invoice (gateway charges, "
                              "and payments recorded in the ERP or billing system by hand)",
    "one_charge_per_idempotency_key": "at most one successful charge per idempotency key",
    "every_decline_decided": "every failed renewal reached the engine and was answered",
    "recoveries_reflected": "every recovery is reflected in billing, the ERP and the CRM",
    "reconciliation_clean": "reconciliation is clean after the sync's repairs, and every dead "
                            "letter was superseded by one",
    "sla": "decision latency p99 under the topology's SLA",
    "tenants_isolated": "no merchant's data reached another merchant's tenants",
    "drift_reported": "the CRM schema drift was reported (dead letters naming the field), "
                      "not swallowed",
    "charges_trace_to_failures": "every recovery charge is for a renewal that really failed",
    "events_decided_once": "each failure event was acted on once: its copies and redeliveries "
                           "were answered as duplicates (engines that answer with their "
                           "decision, as the reference engine does)",
}
DEFAULT_INVARIANTS = ["one_charge_per_invoice", "one_charge_per_idempotency_key",
                      "every_decline_decided", "recoveries_reflected", "reconciliation_clean",
                      "sla", "tenants_isolated", "charges_trace_to_failures",
                      "events_decided_once"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Declines(_Strict):
    """Failed renewals: which customers, how fast, with which decline codes."""

    count: int = Field(40, ge=1, le=100_000, description="at most the seeded customers")
    rate_per_second: float = Field(1.0, gt=0)
    codes: dict[str, float] = Field(
        default_factory=lambda: {"insufficient_funds": 6.0, "generic_decline": 2.0,
                                 "processing_error": 1.0, "expired_card": 1.0,
                                 "stolen_card": 1.0},
        description="decline code → weight; codes the fake Stripe's test cards have")
    alternate_declines: float = Field(
        0.0, ge=0, le=1, description="share of customers whose card on the alternate MID "
        "declines too (the engine schedules a later retry)")
    funds_arrive_after: float | None = Field(
        None, gt=0, description="seconds after its decline when a customer's card charges "
        "again on every MID (the salary came in); default never")


class FaultStep(FaultSpec):
    system: Literal["stripe", "chargebee", "netsuite", "salesforce"]
    merchant: str | None = Field(None, description="only this merchant's tenant (default all)")


class ComponentStep(_Strict):
    component: Literal["recovery", "sync"]
    merchant: str | None = Field(None, description="default: every merchant's")


class ErpPayment(_Strict):
    count: int = Field(1, ge=1, description="invoices with a retry due, paid by hand in the "
                       "ERP (a customer who paid by wire this morning)")


class ForgedWebhooks(_Strict):
    count: int = Field(1, ge=1, description="failure webhooks for renewals that did not fail, "
                       "unsigned (Stripe) or with the wrong Basic credentials (Chargebee), sent "
                       "straight to each merchant's engine")


class RenameField(_Strict):
    system: Literal["salesforce"] = "salesforce"
    object: str
    field: str
    to: str


class Step(_Strict):
    at: float = Field(ge=0, description="seconds after the traffic starts")
    fault: FaultStep | None = None
    clear_faults: Literal["stripe", "chargebee", "netsuite", "salesforce"] | None = None
    kill: ComponentStep | None = None
    restart: ComponentStep | None = None
    erp_payment: ErpPayment | None = None
    expire_tokens: Literal["salesforce", "netsuite"] | None = None
    rename_field: RenameField | None = None
    forged_webhooks: ForgedWebhooks | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(actions) != 1:
            raise ValueError(f"a step does exactly one thing: {', '.join(ACTIONS)} (found "
                             f"{', '.join(actions) or 'none'}); split it into steps")
        return self

    @property
    def action(self) -> str:
        return next(name for name in ACTIONS if getattr(self, name) is not None)


ACTIONS = ("fault", "clear_faults", "kill", "restart", "erp_payment", "expire_tokens",
           "rename_field", "forged_webhooks")


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    topology: str = Field("netsuite-stripe-salesforce",
                          description="a shipped topology's name or a path")
    declines: Declines = Field(default_factory=Declines)
    warm_up: float = Field(5.0, ge=0, description="seconds between seeding and the traffic")
    timeline: list[Step] = Field(default_factory=list)
    quiet: float = Field(3600.0, ge=0, description="seconds after the last step and decline")
    invariants: list[str] = Field(default_factory=lambda: list(DEFAULT_INVARIANTS))
    _source: str = "<inline>"

    @model_validator(mode="after")
    def _known_invariants(self) -> Scenario:
        unknown = [name for name in self.invariants if name not in INVARIANTS]
        if unknown:
            raise ValueError(f"unknown invariant(s) {', '.join(unknown)}; choose from "
                             f"{', '.join(INVARIANTS)}")
        return self

    @property
    def source(self) -> str:
        return self._source


class ScenarioError(Exception):
    """A scenario problem a user can fix; the message names the file, the key and the fix."""


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    if not path.exists() and not path.suffix and (SCENARIOS / f"{path}.yaml").exists():
        path = SCENARIOS / f"{path}.yaml"  # a shipped scenario by name
    if not path.exists():
        names = ", ".join(p.stem for p in shipped_scenarios())
        raise ScenarioError(f"{path}: no such scenario file; give a path or one of: {names}")
    try:
        data = read_yaml(path, "a scenario YAML (see scenarios/scenarios/)")
    except SettingsError as exc:
        raise ScenarioError(str(exc)) from None
    return scenario_from_dict(data, str(path))


def scenario_from_dict(data: Any, source: str = "<inline>") -> Scenario:
    try:
        scenario = validated(Scenario, data, source, reference=REFERENCE, shape=(
            "a scenario is a mapping with name, declines, timeline, quiet and invariants"))
    except SettingsError as exc:
        raise ScenarioError(str(exc)) from None
    scenario._source = source
    return scenario


def shipped_scenarios() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml"))
