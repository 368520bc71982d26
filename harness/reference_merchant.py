"""Reference merchants in the in-process landscape with the reference components beside them.

"acme": Stripe Billing with a primary and an alternate MID, NetSuite receivables with recovery
fields (change notifications to the sync service), Salesforce CPQ accounts. "globex": billed in
Chargebee (its dunning owns the invoice until it gives up), cards vaulted on the same Stripe
MIDs for the engine's retries, NetSuite invoices keyed by the Chargebee invoice id.

    async with AcmeWorld(seed=7) as acme:
        await acme.failed_renewal()           # a renewal declined on the primary MID
        await acme.sync.relay.drain()         # write-backs out to Stripe, NetSuite, Salesforce

The fakes' due work (webhook deliveries, NetSuite notifications, billing schedules) runs only
in `settle()` and `world.advance()`, never in background runners: every step of a test is
explicit and a run is the same every time. The tests of the components and the
decision-latency benchmark both start from here; a merchant of your own starts from a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import yaml

from components.recovery.service import RecoveryService
from components.settings import ComponentSettings, settings_from_dict
from components.store import open_store
from components.sync.service import SyncService
from simulators.core.simulator import Simulator
from simulators.landscape import Landscape

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "scenarios" / "schemas"
MAPPINGS = ROOT / "scenarios" / "mappings"

PRIMARY_KEY = "sk_test_acme_primary"
ALTERNATE_KEY = "sk_test_acme_alternate"
WEBHOOK_SECRET = "whsec_acme_recovery_engine_secret"
NETSUITE_ACCOUNT = "1234567_SB1"
SALESFORCE_ORG = "00D5g00000DEMO1EAP"
EMAIL = "jenny.rosen@example.com"
STRIPE_CUSTOMER = "cus_StateCustomer1"
INVOICE = "in_StateFailedRenewal000000"
SUBSCRIPTION = "sub_StatePastDueSubscription"
AMOUNT = 2000
# Stripe leaves a failed renewal open and past_due with no automatic retry: the engine owns the
# retries (one retry owner per invoice), Stripe's Smart Retries are off.
ENGINE_OWNS_RETRIES = {"billing": {"retry_days": [], "invoice_after_final_attempt": "open",
                                   "subscription_after_final_attempt": "past_due"}}

# globex: Chargebee site, its webhook's Basic credentials, the subscription in dunning
GLOBEX_SITE_KEY = "test_globex_site_key"
GLOBEX_SITE = "globex-test"
GLOBEX_WEBHOOK_USER = "globex-hooks"
GLOBEX_WEBHOOK_PASSWORD = "globex-hooks-password"
GLOBEX_CUSTOMER = "globex_customer_1"
GLOBEX_INVOICE = "globex_invoice_1"
GLOBEX_SUBSCRIPTION = "globex_sub_1"


def _settings(defaults: dict[str, Any], overrides: dict[str, Any],
              source: str) -> ComponentSettings:
    """`defaults` with `overrides` merged one level deep (a section's keys, not the section)."""
    data = dict(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return settings_from_dict(data, source)


def _common(merchant: str, billing: str, mapping: str) -> dict[str, Any]:
    return {
        "merchant": merchant, "billing": billing, "mode": "cached", "store": "sqlite://",
        "mapping": str(MAPPINGS / mapping),
        "stripe": {"base_url": "http://stripe.fake", "webhook_secret": WEBHOOK_SECRET,
                   "mids": [{"name": "primary", "api_key": PRIMARY_KEY},
                            {"name": "alternate", "api_key": ALTERNATE_KEY}]},
        "netsuite": {"base_url": "http://netsuite.fake", "account": NETSUITE_ACCOUNT,
                     "consumer_key": "demo-consumer-key",
                     "consumer_secret": "demo-consumer-secret", "token_id": "demo-token-id",
                     "token_secret": "demo-token-secret"},
        "salesforce": {"base_url": "http://salesforce.fake",
                       "client_id": "3MVG9landscape.demo.consumer.key",
                       "client_secret": "demo-consumer-secret"},
    }


def acme_settings(**overrides: Any) -> ComponentSettings:
    """The components' settings for acme in the in-process landscape (hosts `<vendor>.fake`)."""
    return _settings(_common("acme", "stripe", "acme-stripe-netsuite-salesforce.yaml"),
                     overrides, "acme (harness/reference_merchant.py)")


def globex_settings(**overrides: Any) -> ComponentSettings:
    """globex's settings: Chargebee billing, the same two Stripe MIDs for the engine's retries."""
    data = {**_common("globex", "chargebee", "globex-chargebee-netsuite-salesforce.yaml"),
            "chargebee": {"base_url": "http://chargebee.fake", "site": GLOBEX_SITE,
                          "api_key": GLOBEX_SITE_KEY, "webhook_username": GLOBEX_WEBHOOK_USER,
                          "webhook_password": GLOBEX_WEBHOOK_PASSWORD}}
    return _settings(data, overrides, "globex (harness/reference_merchant.py)")


@dataclass
class MerchantWorld:
    """The landscape, the two services mounted at http://recovery.test and http://sync.test
    sharing one store, and the merchant's tenants; subclasses set up their merchant."""

    seed: int = 7
    settings: ComponentSettings = field(default_factory=acme_settings)
    world: Landscape = field(init=False)
    http: httpx.AsyncClient = field(init=False)
    recovery: RecoveryService = field(init=False)
    sync: SyncService = field(init=False)

    def __post_init__(self) -> None:
        self.world = Landscape(seed=self.seed)
        self.declare_tenants(self.world.fakes)
        self.http = self.world.client(timeout=30)
        store = open_store(self.settings.store)
        now = self.world.clock.now
        self.recovery = RecoveryService(self.settings, http=self.http, store=store, now=now,
                                        seed=self.seed)
        self.sync = SyncService(self.settings, http=self.http, store=store, now=now,
                                seed=self.seed)
        self.world.mount("recovery.test", self.recovery.app)
        self.world.mount("sync.test", self.sync.app)

    def declare_tenants(self, fakes: dict[str, Simulator]) -> None:
        raise NotImplementedError

    async def set_up(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        # The fakes' background runners stay off (`Landscape.__aenter__` is not called): all
        # work runs in `settle()` and `advance()`, so a test decides when time moves.
        await self.set_up()
        await self.settle()  # the sync service has cached the ERP's invoice before any decline
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.world.__aexit__(exc_type, exc, tb)  # closes the fakes' webhook clients
        await self.recovery.deployment.aclose()
        await self.sync.deployment.aclose()
        await self.http.aclose()

    async def state(self, vendor: str, name: str, params: dict[str, Any],
                    tenant: str) -> dict[str, Any]:
        response = await self.http.post(f"{self.world.url(vendor)}/_sim/states",
                                         json={"state": name, "params": params,
                                               "tenant": tenant})
        if response.status_code != 200:
            raise RuntimeError(f"{vendor} state {name!r}: {response.status_code} "
                               f"{response.text}")
        return dict(response.json()["created"])

    async def card_on_alternate_mid(self, behaviour: str = "succeeds",
                                    decline_code: str = "insufficient_funds") -> None:
        """The merchant vaulted the customer's card on the alternate MID too."""
        await self.card_on_mid(ALTERNATE_KEY, behaviour, decline_code)

    async def card_on_mid(self, key: str, behaviour: str = "succeeds",
                          decline_code: str = "insufficient_funds",
                          customer_id: str = "cus_AltMidCustomer1") -> None:
        """The customer's card vaulted on a MID's account under the same email (how the engine
        finds it there)."""
        params: dict[str, Any] = {"customer_id": customer_id, "email": EMAIL}
        if behaviour == "succeeds":
            await self.state("stripe", "a customer with a card that succeeds", params, key)
        else:
            await self.state("stripe", "a customer with a card that declines",
                             {**params, "decline_code": decline_code}, key)

    async def settle(self) -> None:
        """Let in-flight webhook deliveries and notifications finish (no simulated time)."""
        for _ in range(3):  # a delivery's handler may cause more deliveries
            await self.world.advance(0)

    async def stripe(self, method: str, path: str, key: str = PRIMARY_KEY,
                     **kwargs: Any) -> dict[str, Any]:
        response = await self.http.request(method, f"{self.world.url('stripe')}{path}",
                                           auth=(key, ""), **kwargs)
        return dict(response.json())


@dataclass
class AcmeWorld(MerchantWorld):
    settings: ComponentSettings = field(default_factory=acme_settings)

    def declare_tenants(self, fakes: dict[str, Simulator]) -> None:
        stripe, netsuite, salesforce = fakes["stripe"], fakes["netsuite"], fakes["salesforce"]
        for key in (PRIMARY_KEY, ALTERNATE_KEY):
            stripe.declare_tenant(key, ENGINE_OWNS_RETRIES)
        netsuite.declare_tenant(NETSUITE_ACCOUNT, {
            **_netsuite_demo(netsuite),
            "notifications": {"url": "http://sync.test/notifications/netsuite"}},
            _schema(netsuite, "netsuite-recovery-fields.yaml"))
        salesforce.declare_tenant(SALESFORCE_ORG, _salesforce_demo(salesforce),
                                  _schema(salesforce, "salesforce-cpq.yaml"))

    async def set_up(self) -> None:
        await self.state("stripe", "a webhook endpoint", {
            "url": "http://recovery.test/webhooks/stripe", "secret": WEBHOOK_SECRET,
            "enabled_events": ["invoice.payment_failed"]}, PRIMARY_KEY)
        await self.state("netsuite", "an open invoice", {
            "customer_id": "101", "company_name": "Rosen Labs", "email": EMAIL,
            "fields": {"custentity_stripe_customer_id": STRIPE_CUSTOMER},
            "invoice_id": "501", "amount": AMOUNT / 100,
            "invoice_fields": {"custbody_stripe_invoice_id": INVOICE}}, NETSUITE_ACCOUNT)
        await self.state("salesforce", "an account", {
            "name": "Rosen Labs", "fields": {"Stripe_Customer_Id__c": STRIPE_CUSTOMER}},
            SALESFORCE_ORG)

    async def failed_renewal(self, decline_code: str = "insufficient_funds") -> dict[str, Any]:
        """Acme's renewal declines on the primary MID: Stripe sends invoice.payment_failed to
        the engine (delivered and handled before this returns)."""
        created = await self.state("stripe", "a subscription with an open invoice whose "
                                   "payment failed", {
                                       "customer_id": STRIPE_CUSTOMER, "email": EMAIL,
                                       "decline_code": decline_code, "invoice_id": INVOICE,
                                       "subscription_id": SUBSCRIPTION, "amount": AMOUNT},
                                   PRIMARY_KEY)
        await self.settle()
        return created


@dataclass
class GlobexWorld(MerchantWorld):
    settings: ComponentSettings = field(default_factory=globex_settings)

    def declare_tenants(self, fakes: dict[str, Simulator]) -> None:
        stripe, chargebee = fakes["stripe"], fakes["chargebee"]
        netsuite, salesforce = fakes["netsuite"], fakes["salesforce"]
        for key in (PRIMARY_KEY, ALTERNATE_KEY):
            stripe.declare_tenant(key, ENGINE_OWNS_RETRIES)
        chargebee.declare_tenant(GLOBEX_SITE, {
            "api_key": GLOBEX_SITE_KEY,
            "webhooks": [{"url": "http://recovery.test/webhooks/chargebee",
                          "basic_auth_username": GLOBEX_WEBHOOK_USER,
                          "basic_auth_password": GLOBEX_WEBHOOK_PASSWORD,
                          "enabled_events": ["payment_failed"]}]},
            _schema(chargebee, "chargebee-custom-fields.yaml"))
        netsuite.declare_tenant(NETSUITE_ACCOUNT, {
            **_netsuite_demo(netsuite),
            "notifications": {"url": "http://sync.test/notifications/netsuite"}},
            _schema(netsuite, "netsuite-customrecord.yaml"))
        salesforce.declare_tenant(SALESFORCE_ORG, _salesforce_demo(salesforce),
                                  _schema(salesforce, "salesforce-plan-junction.yaml"))

    async def set_up(self) -> None:
        """The ERP's invoice and the CRM's subscription, each only when the settings have that
        system (a globex without an ERP or a CRM: `globex_settings(netsuite=None)`)."""
        if self.settings.netsuite is not None:
            await self.set_up_erp()
        if self.settings.salesforce is not None:
            await self.set_up_crm()

    async def set_up_erp(self) -> None:
        await self.state("netsuite", "an open invoice", {
            "customer_id": "101", "company_name": "Globex", "email": EMAIL,
            "external_id": GLOBEX_CUSTOMER, "invoice_id": "501", "amount": AMOUNT / 100,
            "invoice_external_id": GLOBEX_INVOICE}, NETSUITE_ACCOUNT)

    async def set_up_crm(self) -> None:
        await self.state("salesforce", "a custom subscription record", {
            "name": "Globex", "fields": {"Billing_Customer_Id__c": GLOBEX_CUSTOMER},
            "object": "Subscription__c",
            "record_fields": {"Billing_Subscription_Id__c": GLOBEX_SUBSCRIPTION,
                              "Status__c": "Active"}}, SALESFORCE_ORG)

    async def renewal_in_dunning(self) -> dict[str, Any]:
        """Globex's renewal declines in Chargebee, whose dunning now owns the invoice:
        payment_failed reaches the engine (handled before this returns)."""
        created = await self.state("chargebee", "a subscription in dunning", {
            "customer_id": GLOBEX_CUSTOMER, "email": EMAIL, "invoice_id": GLOBEX_INVOICE,
            "subscription_id": GLOBEX_SUBSCRIPTION, "amount": AMOUNT}, GLOBEX_SITE)
        await self.settle()
        return created


def _schema(sim: Any, name: str) -> Any:
    path = SCHEMAS / name
    return sim.load_schema(yaml.safe_load(path.read_text()), str(path))


def _netsuite_demo(sim: Any) -> dict[str, Any]:
    return dict(sim.vendor.default_tenants()[NETSUITE_ACCOUNT])


def _salesforce_demo(sim: Any) -> dict[str, Any]:
    return dict(sim.vendor.default_tenants()[SALESFORCE_ORG])
