"""A merchant topology: which systems each merchant runs, how they behave, and the components
beside them. One YAML file (`scenarios/topologies/*.yaml`, format in `scenarios/README.md`).

From it come, for the same topology in-process or as real processes:
- each fake's config (`fake_config`): a tenant per merchant with its credentials and schema,
  the fake's latency, limits and faults, and each merchant's own (matched on its tenant);
- each merchant's components settings (`component_settings`): the reference engine and sync
  service read them; a team's own service gets the same values as environment variables.

Errors name the file, the key and the fix; nothing starts from a topology that does not load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from components.mapping import MappingError, load_mapping
from components.settings import (
    ComponentSettings,
    SettingsError,
    read_yaml,
    settings_from_dict,
    validated,
)
from simulators.core.config import FakeConfig, TenantConfig
from simulators.core.faults import FaultSpec, Match
from simulators.core.latency import Latency
from simulators.core.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGIES = ROOT / "scenarios" / "topologies"
DEFAULT_TOPOLOGY = TOPOLOGIES / "netsuite-stripe-salesforce.yaml"
REFERENCE = "scenarios/README.md (Topologies)"
# When the engine owns the retries (one retry owner per invoice), the billing system's are off:
# Stripe leaves a failed renewal open and past_due, Chargebee's dunning ends at once and keeps
# the subscription active.
ENGINE_OWNS_RETRIES: dict[str, dict[str, Any]] = {
    "stripe": {"billing": {"retry_days": [], "invoice_after_final_attempt": "open",
                           "subscription_after_final_attempt": "past_due"}},
    "chargebee": {"dunning": {"retry_days": [], "on_exhausted": "active"}},
}


class TopologyError(Exception):
    """A topology problem a user can fix; the message names the file, the key and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Behaviour(_Strict):
    """How one merchant's tenant on a fake behaves, on top of the fake's own profile."""

    latency: Latency | None = Field(None, description="extra latency for this tenant's calls")
    faults: list[FaultSpec] = Field(default_factory=list,
                                    description="matched on this merchant's tenant")


class Mid(_Strict):
    name: str
    api_key: str = Field(pattern=r"^sk_test_\w+$")


class Gateway(Behaviour):
    system: Literal["stripe"] = "stripe"
    mids: list[Mid] = Field(min_length=1, description="routing order: the primary first")
    webhook_secret: str | None = Field(None, description="default whsec_<merchant>_landscape")


class Billing(Behaviour):
    system: Literal["stripe", "chargebee"]
    # chargebee
    site: str | None = None
    api_key: str | None = None
    schema_file: str | None = Field(None, alias="schema")
    webhook_username: str | None = None
    webhook_password: str | None = None
    retries: Literal["engine", "billing"] = Field(
        "engine", description="who retries failed renewals: the recovery engine (the billing "
        "system's own retries off: Stripe Smart Retries, Chargebee dunning) or the billing "
        "system (the engine stands back while its dunning runs)")

    @model_validator(mode="after")
    def _chargebee_site(self) -> Billing:
        if self.system == "chargebee" and not (self.site and self.api_key):
            raise ValueError("chargebee billing needs site and api_key (the site's API key)")
        return self


class Erp(Behaviour):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)  # account: 7654321
    system: Literal["netsuite"] = "netsuite"
    account: str = Field(description="the NetSuite account id, e.g. 1234567_SB1")
    schema_file: str | None = Field(None, alias="schema")
    consumer_key: str | None = None
    consumer_secret: str | None = None
    token_id: str | None = None
    token_secret: str | None = None
    concurrency: int = Field(5, ge=1, description="the account's concurrency limit")
    notifications: bool = Field(True, description="a user-event script calls the sync service "
                                "on every change (false: the sync polls)")


class Crm(Behaviour):
    system: Literal["salesforce"] = "salesforce"
    org: str = Field(pattern=r"^00D\w{12}(\w{3})?$", description="the org id (00D…)")
    schema_file: str | None = Field(None, alias="schema")
    client_id: str | None = None
    client_secret: str | None = None


class Component(_Strict):
    """How to start one component: the reference service by default, or a team's own."""

    command: list[str] | None = Field(None, description="default: the reference service. "
                                      "{port}, {config} and {run_dir} are filled in")
    env: dict[str, str] = Field(default_factory=dict)
    health: str = Field("/healthz", description="path answered 200 once it is ready")


class Components(_Strict):
    recovery: Component = Field(default_factory=Component)
    sync: Component = Field(default_factory=Component)
    settings: dict[str, Any] = Field(default_factory=dict, description="merged into the "
                                     "components settings: mode, protections, policy, outbox")


class Data(_Strict):
    customers: int = Field(20, ge=1, le=100_000, description="customers seeded in every system")


class Merchant(_Strict):
    gateway: Gateway
    billing: Billing
    erp: Erp | None = None
    crm: Crm | None = None
    mapping: str = Field(description="field mapping file, relative to the topology")
    data: Data = Field(default_factory=Data)
    components: Components = Field(default_factory=Components)


class SystemProfile(_Strict):
    """A fake as a whole: what every merchant on it sees."""

    latency: Latency | None = None
    limits: Limits = Field(default_factory=Limits)
    faults: list[FaultSpec] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict, description="fake-wide settings")


VendorName = Literal["stripe", "chargebee", "netsuite", "salesforce"]


class Topology(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    seed: int = 7
    sla_ms: float = Field(1000, gt=0, description="decision latency the p99 must stay under")
    systems: dict[VendorName, SystemProfile] = Field(default_factory=dict)
    merchants: dict[str, Merchant] = Field(min_length=1)
    _base: Path = PrivateAttr(default=ROOT)
    _source: str = PrivateAttr(default="<inline>")

    # -- reading ----------------------------------------------------------------------------
    @property
    def source(self) -> str:
        return self._source

    def path(self, relative: str) -> Path:
        """A file named in the topology, relative to the topology file."""
        return (self._base / relative).resolve()

    def vendors(self) -> list[str]:
        """The fakes this topology needs, in a stable order."""
        used = {"stripe"}
        for m in self.merchants.values():
            used.add(m.billing.system)
            used.update(s.system for s in (m.erp, m.crm) if s is not None)
        return [v for v in ("stripe", "chargebee", "netsuite", "salesforce") if v in used]

    def tenants(self, merchant: str) -> dict[str, list[str]]:
        """Each vendor's tenant ids for `merchant` (Stripe: one per MID)."""
        m = self.merchants[merchant]
        out: dict[str, list[str]] = {"stripe": [mid.api_key for mid in m.gateway.mids]}
        if m.billing.system == "chargebee":
            out["chargebee"] = [str(m.billing.site)]
        if m.erp:
            out["netsuite"] = [m.erp.account]
        if m.crm:
            out["salesforce"] = [m.crm.org]
        return out

    def without(self, protections: list[str]) -> Topology:
        """This topology with the named protections off for every merchant's components (to
        show what each one prevents)."""
        from components.settings import Protections

        unknown = [p for p in protections if p not in Protections.model_fields]
        if unknown:
            raise TopologyError(f"unknown protection(s) {', '.join(unknown)}; choose from "
                                f"{', '.join(Protections.model_fields)}")
        copy = self.model_copy(deep=True)
        copy._base, copy._source = self._base, self._source
        for m in copy.merchants.values():
            current = dict(m.components.settings.get("protections") or {})
            m.components.settings["protections"] = {**current, **dict.fromkeys(protections,
                                                                               False)}
        return copy

    # -- what the fakes are given -----------------------------------------------------------
    def fake_config(self, vendor: str, components: dict[str, ComponentUrls]) -> FakeConfig:
        """`vendor`'s config: the fake's profile, and per merchant a tenant with credentials,
        schema, webhook targets (`components`: each merchant's service URLs) and behaviour."""
        profile = self.systems.get(vendor, SystemProfile())  # type: ignore[call-overload]
        faults = list(profile.faults)
        tenants: dict[str, TenantConfig] = {}
        for name, m in self.merchants.items():
            urls = components[name]
            for tenant_id, settings, schema, behaviour in self._tenants_of(name, m, vendor, urls):
                tenants[tenant_id] = TenantConfig.model_validate(
                    {"schema": str(self.path(schema)) if schema else None,
                     "settings": settings})
                faults.extend(_for_tenant(behaviour, tenant_id))
        return FakeConfig(seed=self.seed, latency=profile.latency, limits=profile.limits,
                          faults=faults, strict_tenants=True, tenants=tenants,
                          settings=dict(profile.settings))

    def _tenants_of(self, name: str, m: Merchant, vendor: str,
                    urls: ComponentUrls) -> list[tuple[str, dict[str, Any], str | None,
                                                       Behaviour]]:
        if vendor == "stripe":
            account: dict[str, Any] = (ENGINE_OWNS_RETRIES["stripe"]
                                       if _engine_retries(m, "stripe") else {})
            behaviour: Behaviour = m.gateway
            if m.billing.system == "stripe":  # billing latency/faults apply to the same account
                behaviour = Behaviour(latency=m.gateway.latency or m.billing.latency,
                                      faults=[*m.gateway.faults, *m.billing.faults])
            return [(mid.api_key, dict(account), None, behaviour) for mid in m.gateway.mids]
        if vendor == "chargebee" and m.billing.system == "chargebee":
            user, password = _chargebee_webhook(name, m.billing)
            return [(str(m.billing.site), {
                **(ENGINE_OWNS_RETRIES["chargebee"] if _engine_retries(m, "chargebee") else {}),
                "api_key": m.billing.api_key,
                "webhooks": [{"url": f"{urls.recovery}/webhooks/chargebee",
                              "basic_auth_username": user, "basic_auth_password": password,
                              "enabled_events": ["payment_failed"]}]},
                m.billing.schema_file, m.billing)]
        if vendor == "netsuite" and m.erp:
            settings: dict[str, Any] = {
                **_netsuite_credentials(name, m.erp), "client_id": f"{name}-client-id",
                        "client_secret": f"{name}-client-secret",
                        "concurrency_limit": m.erp.concurrency}
            if m.erp.notifications:
                settings["notifications"] = {"url": f"{urls.sync}/notifications/netsuite"}
            return [(m.erp.account, settings, m.erp.schema_file, m.erp)]
        if vendor == "salesforce" and m.crm:
            client_id, secret = _salesforce_credentials(name, m.crm)
            return [(m.crm.org, {"client_id": client_id, "client_secret": secret,
                                 "username": f"integration@{name}.landscape.test",
                                 "password": f"{name}-password",
                                 "security_token": f"{name.upper()}TOKEN"},
                     m.crm.schema_file, m.crm)]
        return []

    # -- what the components are given ------------------------------------------------------
    def component_settings(self, merchant: str, fakes: dict[str, str], *,
                           store: str) -> ComponentSettings:
        """The merchant's components settings against fakes at `fakes` (vendor → base URL)."""
        m = self.merchants[merchant]
        data: dict[str, Any] = {
            "merchant": merchant, "billing": m.billing.system, "store": store,
            "mapping": str(self.path(m.mapping)),
            "stripe": {"base_url": fakes["stripe"], "webhook_secret": webhook_secret(merchant, m),
                       "mids": [mid.model_dump() for mid in m.gateway.mids]},
        }
        if m.billing.system == "chargebee":
            user, password = _chargebee_webhook(merchant, m.billing)
            data["chargebee"] = {"base_url": fakes["chargebee"], "site": m.billing.site,
                                 "api_key": m.billing.api_key, "webhook_username": user,
                                 "webhook_password": password,
                                 "dunning": m.billing.retries == "billing"}
        if m.erp:
            data["netsuite"] = {"base_url": fakes["netsuite"], "account": m.erp.account,
                                "concurrency": m.erp.concurrency,
                                **_netsuite_credentials(merchant, m.erp)}
            if not m.erp.notifications:
                data["sync"] = {"poll_seconds": 30.0}
        if m.crm:
            client_id, secret = _salesforce_credentials(merchant, m.crm)
            data["salesforce"] = {"base_url": fakes["salesforce"], "client_id": client_id,
                                  "client_secret": secret}
        for key, value in m.components.settings.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        where = f"{self._source}: merchants.{merchant}.components.settings"
        try:
            return settings_from_dict(data, where)
        except SettingsError as exc:
            raise TopologyError(str(exc)) from None


class ComponentUrls(_Strict):
    recovery: str
    sync: str


def webhook_secret(name: str, m: Merchant) -> str:
    return m.gateway.webhook_secret or f"whsec_{name}_landscape"


def _engine_retries(m: Merchant, billing: str) -> bool:
    return m.billing.system == billing and m.billing.retries == "engine"


def _chargebee_webhook(name: str, billing: Billing) -> tuple[str, str]:
    return (billing.webhook_username or f"{name}-hooks",
            billing.webhook_password or f"{name}-hooks-password")


def _netsuite_credentials(name: str, erp: Erp) -> dict[str, str]:
    return {"consumer_key": erp.consumer_key or f"{name}-consumer-key",
            "consumer_secret": erp.consumer_secret or f"{name}-consumer-secret",
            "token_id": erp.token_id or f"{name}-token-id",
            "token_secret": erp.token_secret or f"{name}-token-secret"}


def _salesforce_credentials(name: str, crm: Crm) -> tuple[str, str]:
    return (crm.client_id or f"3MVG9landscape.{name}.consumer.key",
            crm.client_secret or f"{name}-consumer-secret")


def _for_tenant(behaviour: Behaviour, tenant_id: str) -> list[FaultSpec]:
    """A merchant's latency and faults as faults matched on its tenant."""
    faults = []
    if behaviour.latency is not None:
        faults.append(FaultSpec(kind="latency", latency=behaviour.latency,
                                match=Match(tenant=tenant_id)))
    for spec in behaviour.faults:
        faults.append(spec.model_copy(update={"match": spec.match.model_copy(
            update={"tenant": tenant_id})}))
    return faults


# -- loading --------------------------------------------------------------------------------
def load_topology(path: str | Path) -> Topology:
    """Read and check a topology file; TopologyError names the file, the key and the fix."""
    path = Path(path)
    if not path.exists() and not path.suffix and (TOPOLOGIES / f"{path}.yaml").exists():
        path = TOPOLOGIES / f"{path}.yaml"  # a shipped topology by name
    try:
        data = read_yaml(path, "a topology YAML (see scenarios/topologies/)")
    except SettingsError as exc:
        raise TopologyError(str(exc)) from None
    return topology_from_dict(data, str(path), base=path.resolve().parent)


def topology_from_dict(data: Any, source: str = "<inline>", *,
                       base: Path = ROOT) -> Topology:
    try:
        topology = validated(Topology, data, source, reference=REFERENCE, shape=(
            "a topology is a mapping with name, merchants and optionally systems and seed at "
            "the top level"))
    except SettingsError as exc:
        raise TopologyError(str(exc)) from None
    topology._base, topology._source = base, source
    _check(topology)
    return topology


def _check(t: Topology) -> None:
    """What a schema cannot say: files exist and load, tenants are the merchant's own."""
    owners: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for name, m in t.merchants.items():
        where = f"{t.source}: merchants.{name}"
        for vendor, ids in t.tenants(name).items():
            for tenant_id in ids:
                other = owners.setdefault((vendor, tenant_id), name)
                if other != name:
                    problems.append(f"{where}: {vendor} tenant {tenant_id!r} also belongs to "
                                    f"merchant {other}; give each merchant its own (merchants "
                                    f"are isolated from each other)")
        files = [("mapping", m.mapping), ("billing.schema", m.billing.schema_file),
                 ("erp.schema", m.erp.schema_file if m.erp else None),
                 ("crm.schema", m.crm.schema_file if m.crm else None)]
        for key, relative in files:
            if relative and not t.path(relative).is_file():
                problems.append(f"{where}.{key}: {t.path(relative)} does not exist; the path "
                                f"is relative to the topology file")
        if t.path(m.mapping).is_file():
            try:
                load_mapping(t.path(m.mapping))
            except MappingError as exc:
                problems.append(f"{where}.mapping: {exc}")
        if m.billing.system != "chargebee" and (m.billing.site or m.billing.api_key):
            problems.append(f"{where}.billing: site and api_key are for chargebee billing; "
                            f"remove them or set system: chargebee")
    for vendor in t.systems:
        if vendor not in t.vendors():
            problems.append(f"{t.source}: systems.{vendor}: no merchant uses {vendor}; remove "
                            f"the profile or add the system to a merchant")
    if problems:
        raise TopologyError("\n".join([f"{t.source}: {len(problems)} problem(s)",
                                       *("  " + p for p in problems)]))


def shipped_topologies() -> list[Path]:
    return sorted(TOPOLOGIES.glob("*.yaml"))
