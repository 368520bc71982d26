"""Seed a topology's merchants with the same customers in every system, from one seed.

Each merchant gets `data.customers` customers (Faker, seeded from the topology's seed and the
merchant's name, so the same seed gives the same people, ids and amounts). For each customer:

- the gateway: a Stripe customer with a card that charges, on every MID (the engine finds the
  card on an alternate MID by the customer's email);
- billing: Chargebee's customer with its card (Stripe billing's customer is the primary MID's);
- the ERP: NetSuite's customer and the open renewal invoice, keyed by the billing invoice id
  as the merchant's mapping says (a custom body field, or externalId), plus the custom
  subscription record where the merchant keeps one;
- the CRM: Salesforce's Account, keyed by the billing customer id, and the subscription record
  (CPQ's SBQQ__Subscription__c, or the merchant's custom object).

Custom field names come from the merchant's mapping (`to_vendor`), so each schema variant gets
its own fields. Everything goes through the fakes' named provider states (`POST /_sim/states`),
the same calls Pact verification makes, over HTTP: in-process or to served fakes alike.

The billing system's subscription and renewal invoice are created when the renewal is charged
(`renewal_fails`): the provider state backdates the subscription one period, with the invoice
id the ERP and CRM already carry.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml
from faker import Faker

from components.mapping import MerchantMapping, load_mapping
from harness.topology import Merchant, Topology
from simulators.salesforce.ids import to18

PRICES = (1900, 2900, 4900, 9900, 19900)  # monthly plans, minor units
SEGMENTS = ("smb", "smb", "smb", "mid_market", "enterprise")


@dataclass(frozen=True)
class Customer:
    """One customer of a merchant, with its ids in every system."""

    merchant: str
    index: int
    company: str
    first_name: str
    last_name: str
    email: str
    segment: str
    amount: int        # the monthly renewal, minor units
    currency: str
    billing_customer: str
    subscription: str  # the billing system's subscription id
    invoice: str       # the billing system's renewal invoice id
    gateway: dict[str, tuple[str, str]]  # MID name → (Stripe customer id, payment method id)
    erp_customer: str = ""
    erp_invoice: str = ""
    erp_subscription: str = ""
    crm_account: str = ""
    billing: str = "stripe"

    @property
    def invoice_key(self) -> str:
        """The engine's key for the renewal invoice: `<billing system>:<invoice id>`."""
        return f"{self.billing}:{self.invoice}"


def _tag(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))[:8]


def plan(topology: Topology, merchant: str) -> list[Customer]:
    """The merchant's customers: the same list for the same topology seed, every time."""
    m = topology.merchants[merchant]
    seed = int.from_bytes(hashlib.sha256(f"{topology.seed}:{merchant}".encode()).digest()[:8])
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    tag = _tag(merchant)
    chargebee = m.billing.system == "chargebee"
    customers = []
    for i in range(1, m.data.customers + 1):
        first, last = fake.first_name(), fake.last_name()
        company = fake.company()
        domain = "".join(c for c in company.lower() if c.isalnum())[:20] or "example"
        gateway = {mid.name: (f"cus_{tag}{mid.name[:3].capitalize()}{i:06d}",
                              f"pm_{tag}{mid.name[:3].capitalize()}{i:06d}")
                   for mid in m.gateway.mids}
        primary = gateway[m.gateway.mids[0].name][0]
        customers.append(Customer(
            merchant=merchant, index=i, company=company, first_name=first, last_name=last,
            email=f"{first.lower()}.{last.lower()}.{i}@{domain}.example",
            segment=rng.choice(SEGMENTS), amount=rng.choice(PRICES), currency="usd",
            billing_customer=f"{merchant}_cus_{i:06d}" if chargebee else primary,
            subscription=f"{merchant}_sub_{i:06d}" if chargebee else f"sub_{tag}{i:010d}",
            invoice=f"{merchant}_inv_{i:06d}" if chargebee else f"in_{tag}{i:012d}",
            gateway=gateway,
            erp_customer=str(10_000 + i) if m.erp else "",
            erp_invoice=str(50_000 + i) if m.erp else "",
            erp_subscription=str(70_000 + i) if m.erp else "",
            crm_account=to18(f"001{tag[:4].upper():X<4}{i:08d}") if m.crm else "",
            billing=m.billing.system,
        ))
    return customers


@dataclass
class ProviderStates:
    """`POST /_sim/states` on the fakes at `fakes` (vendor → base URL)."""

    http: httpx.AsyncClient
    fakes: dict[str, str]
    calls: int = 0
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # tenant → schema (YAML)

    async def set_up(self, vendor: str, state: str, tenant: str,
                     params: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        response = await self.http.post(f"{self.fakes[vendor]}/_sim/states", json={
            "state": state, "tenant": tenant, "params": params})
        if response.status_code != 200:
            raise SeedingError(f"{vendor} ({tenant}): {state!r} failed with "
                               f"{response.status_code}: {response.text[:300]}")
        return dict(response.json().get("created") or {})


class SeedingError(Exception):
    """A provider state the fake refused (the message is the fake's)."""


@dataclass
class Seeded:
    customers: dict[str, list[Customer]] = field(default_factory=dict)
    calls: int = 0


async def seed_topology(topology: Topology, http: httpx.AsyncClient, fakes: dict[str, str],
                        components: dict[str, Any], *,
                        progress: Callable[[int, int], None] | None = None,
                        concurrency: int = 8) -> Seeded:
    """Seed every merchant; `components[merchant].recovery` receives Stripe's webhooks.
    `progress(done, total)` is called as customers complete."""
    states = ProviderStates(http, fakes, schemas={
        m.crm.org: yaml.safe_load(topology.path(m.crm.schema_file).read_text())
        for m in topology.merchants.values() if m.crm and m.crm.schema_file})
    seeded = Seeded({name: plan(topology, name) for name in topology.merchants})
    total = sum(len(c) for c in seeded.customers.values())
    done = 0
    gate = asyncio.Semaphore(concurrency)
    for name, m in topology.merchants.items():
        await _webhook_endpoint(states, topology, name, m, components[name].recovery)

    async def one(mapping: MerchantMapping, m: Merchant, customer: Customer) -> None:
        nonlocal done
        async with gate:
            await seed_customer(states, m, mapping, customer)
        done += 1
        if progress:
            progress(done, total)

    for name, customers in seeded.customers.items():
        m = topology.merchants[name]
        mapping = load_mapping(topology.path(m.mapping))
        await asyncio.gather(*(one(mapping, m, c) for c in customers))
    seeded.calls = states.calls
    return seeded


async def _webhook_endpoint(states: ProviderStates, topology: Topology, name: str, m: Merchant,
                            recovery_url: str) -> None:
    """Stripe billing sends invoice.payment_failed to the merchant's engine."""
    from harness.topology import webhook_secret

    if m.billing.system == "stripe":
        await states.set_up("stripe", "a webhook endpoint", m.gateway.mids[0].api_key, {
            "url": f"{recovery_url}/webhooks/stripe", "secret": webhook_secret(name, m),
            "enabled_events": ["invoice.payment_failed"]})


async def seed_customer(states: ProviderStates, m: Merchant, mapping: MerchantMapping,
                        c: Customer) -> None:
    for mid in m.gateway.mids:
        customer_id, pm = c.gateway[mid.name]
        await states.set_up("stripe", "a customer with a card that succeeds", mid.api_key, {
            "customer_id": customer_id, "email": c.email, "name": c.company,
            "payment_method_id": pm})
    canonical_customer = {"customer_id": c.billing_customer, "name": c.company,
                          "email": c.email, "segment": c.segment,
                          "erp_customer_id": c.erp_customer or None,
                          "crm_account_id": c.crm_account or None}
    if m.billing.system == "chargebee":
        fields = _vendor_fields(mapping, "chargebee", "customer", canonical_customer,
                                drop=("id", "company"))
        await states.set_up("chargebee", "a customer with a card", str(m.billing.site), {
            "customer_id": c.billing_customer, "first_name": c.first_name,
            "last_name": c.last_name, "email": c.email, "card": "succeeds",
            "payment_source_id": f"pm_{c.billing_customer}_card",
            "fields": {"company": c.company, **fields}})
    if m.erp:
        await _erp(states, m, mapping, c, canonical_customer)
    if m.crm:
        await _crm(states, m, mapping, c, canonical_customer)


async def _erp(states: ProviderStates, m: Merchant, mapping: MerchantMapping, c: Customer,
               canonical_customer: dict[str, Any]) -> None:
    assert m.erp is not None
    fields = _vendor_fields(mapping, "netsuite", "customer", canonical_customer,
                            drop=("id", "companyName", "email"))
    customer: dict[str, Any] = {"customer_id": c.erp_customer, "company_name": c.company,
                                "email": c.email}
    external = fields.pop("externalId", None)
    if external:
        customer["external_id"] = external
    if fields:
        customer["fields"] = fields
    invoice_fields = _vendor_fields(mapping, "netsuite", "invoice", {"invoice_id": c.invoice},
                                    drop=("id",))
    invoice: dict[str, Any] = {"invoice_id": c.erp_invoice, "amount": c.amount / 100}
    external = invoice_fields.pop("externalId", None)
    if external:
        invoice["invoice_external_id"] = external
    if invoice_fields:
        invoice["invoice_fields"] = invoice_fields
    await states.set_up("netsuite", "an open invoice", m.erp.account, {**customer, **invoice})
    if mapping.has("netsuite", "subscription"):
        record_fields = _vendor_fields(mapping, "netsuite", "subscription",
                                       {"subscription_id": c.subscription, "status": "active"},
                                       drop=("id",))
        await states.set_up("netsuite", "a custom subscription record", m.erp.account, {
            **customer, "record_type": mapping.object_name("netsuite", "subscription"),
            "record_id": c.erp_subscription, "record_fields": record_fields,
            "name": f"{c.company} subscription"})


async def _crm(states: ProviderStates, m: Merchant, mapping: MerchantMapping, c: Customer,
               canonical_customer: dict[str, Any]) -> None:
    assert m.crm is not None
    fields = _vendor_fields(mapping, "salesforce", "customer", canonical_customer,
                            drop=("Id", "Name"))
    account = {"account_id": c.crm_account, "name": c.company, "fields": fields}
    if not mapping.has("salesforce", "subscription"):
        await states.set_up("salesforce", "an account", m.crm.org, account)
        return
    record_fields = _vendor_fields(mapping, "salesforce", "subscription",
                                   {"subscription_id": c.subscription, "status": "active",
                                    "customer_id": c.billing_customer}, drop=("Id", "Name"))
    obj = mapping.object_name("salesforce", "subscription")
    params = {**account, "object": obj, "record_fields": record_fields}
    prefix = crm_key_prefixes(states.schemas.get(m.crm.org)).get(obj)
    if prefix:  # one record per customer (the state's default id is one per org)
        params["record_id"] = to18(f"{prefix}{c.crm_account[3:15]}")
    await states.set_up("salesforce", "a custom subscription record", m.crm.org, params)


def crm_key_prefixes(schema: dict[str, Any] | None) -> dict[str, str]:
    """Custom objects' key prefixes, from the org's schema file."""
    objects = (schema or {}).get("objects") or {}
    return {name: str(o["key_prefix"]) for name, o in objects.items()
            if isinstance(o, dict) and o.get("key_prefix")}


def _vendor_fields(mapping: MerchantMapping, vendor: str, entity: str,
                   canonical: dict[str, Any], drop: Iterable[str] = ()) -> dict[str, Any]:
    """The vendor's fields for `canonical` (only the canonical fields the mapping has; dotted
    lookups and system fields left out: the provider state links records itself)."""
    if not mapping.has(vendor, entity):
        return {}
    known = set(mapping.record(vendor, entity).fields)
    wanted = {k: v for k, v in canonical.items() if k in known and v is not None}
    out = mapping.to_vendor(vendor, entity, wanted)
    return {k: v for k, v in _flatten(out).items() if "." not in k and k not in set(drop)}


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    """`to_vendor` nests dotted fields (`metadata.x`, lookups); keep the top-level ones."""
    return {k: v for k, v in record.items() if not isinstance(v, dict)}


# -- what the storm does ------------------------------------------------------------------------
async def alternate_cards_decline(states: ProviderStates, m: Merchant, c: Customer) -> None:
    """The customer's card on every other MID declines too (insufficient funds), so the
    engine's retry on another MID fails as well."""
    for mid in m.gateway.mids[1:]:
        await states.set_up("stripe", "a customer with a card that declines", mid.api_key, {
            "customer_id": c.gateway[mid.name][0], "email": c.email, "name": c.company,
            "payment_method_id": f"pm_{c.invoice[-12:]}AltDec",
            "decline_code": "insufficient_funds"})


async def renewal_fails(states: ProviderStates, m: Merchant, c: Customer,
                        decline_code: str) -> dict[str, Any]:
    """The customer's renewal is charged and declines: the billing system opens the invoice
    and tells the engine (Stripe's invoice.payment_failed, Chargebee's payment_failed)."""
    if m.billing.system == "stripe":
        primary = m.gateway.mids[0]
        return await states.set_up(
            "stripe", "a subscription with an open invoice whose payment failed",
            primary.api_key, {
                "customer_id": c.gateway[primary.name][0], "email": c.email,
                "name": c.company, "payment_method_id": f"pm_{c.invoice[3:]}Dec",
                "decline_code": decline_code, "invoice_id": c.invoice,
                "subscription_id": c.subscription, "amount": c.amount,
                "currency": c.currency})
    return await states.set_up("chargebee", "a subscription in dunning", str(m.billing.site), {
        "customer_id": c.billing_customer, "email": c.email, "first_name": c.first_name,
        "last_name": c.last_name, "payment_source_id": f"pm_{c.invoice}_declines",
        "subscription_id": c.subscription, "invoice_id": c.invoice, "amount": c.amount,
        "currency": c.currency.upper()})


def seed_running(landscape: Any) -> Seeded:
    """`landscape up`'s seeding: every merchant's customers into the served fakes, with a
    progress bar."""
    from rich.progress import Progress

    async def seed() -> Seeded:
        async with httpx.AsyncClient(timeout=60) as http:
            with Progress(transient=True) as bar:
                task = bar.add_task("seeding customers", total=None)
                return await seed_topology(
                    landscape.topology, http, landscape.fakes, landscape.components,
                    progress=lambda done, total: bar.update(task, completed=done, total=total))

    seeded = asyncio.run(seed())
    counts = ", ".join(f"{name} {len(c)}" for name, c in seeded.customers.items())
    print(f"seeded customers: {counts} ({seeded.calls} provider-state calls)")
    return seeded
