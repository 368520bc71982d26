"""Merchants with part of the landscape: no ERP, or no CRM, through the real in-process fakes.

initech (no ERP): Chargebee billing, Salesforce CPQ accounts keyed by the Chargebee customer id
(scenarios/mappings/initech-chargebee-salesforce-cpq.yaml), Stripe with two MIDs. globex without
a CRM: Chargebee, NetSuite with its custom subscription record, Stripe with two MIDs. In both the
engine owns the retries (Chargebee's dunning gives up at once and keeps the subscription
active), recovers a soft decline on the alternate MID, queues write-backs only to the systems
the merchant has (none dead-lettered), and reconciliation of what is there comes out clean. What
happened is read back from the fakes; the absent system's fake sees no request at all.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import yaml

from components.domain import OutboxMessage
from components.mapping import load_mapping
from components.settings import ComponentSettings
from components.sync.reconcile import BillingInvoice, GatewayPayment, Snapshot, reconcile
from components.systems import Systems, systems_of
from harness.reference_merchant import (
    ALTERNATE_KEY,
    AMOUNT,
    GLOBEX_CUSTOMER,
    GLOBEX_INVOICE,
    GLOBEX_SITE,
    GLOBEX_SITE_KEY,
    GLOBEX_SUBSCRIPTION,
    MAPPINGS,
    PRIMARY_KEY,
    SALESFORCE_ORG,
    SCHEMAS,
    GlobexWorld,
    MerchantWorld,
    acme_settings,
    globex_settings,
)
from simulators.core.simulator import Simulator
from simulators.core.virtual_time import run
from tests.components.test_recovery_flows import netsuite, salesforce

T = TypeVar("T")
SEED = 13
KEY = f"chargebee:{GLOBEX_INVOICE}"
INITECH_MAPPING = MAPPINGS / "initech-chargebee-salesforce-cpq.yaml"
# Chargebee's dunning ends at once and keeps the subscription active: the engine owns retries.
ENGINE_OWNS_RETRIES = {"dunning": {"retry_days": [], "on_exhausted": "active"}}


def play(scenario: Coroutine[Any, Any, T]) -> T:
    try:
        return run(scenario)
    except BaseException as exc:
        exc.add_note(f"landscape seed {SEED}")
        raise


def initech_settings(**overrides: Any) -> ComponentSettings:
    """No ERP: globex's Chargebee site and Stripe MIDs, Salesforce CPQ, no netsuite section."""
    return globex_settings(**{"merchant": "initech", "mapping": str(INITECH_MAPPING),
                              "netsuite": None, **overrides})


def no_crm_settings(**overrides: Any) -> ComponentSettings:
    """No CRM: globex (Chargebee, NetSuite custom record) with no salesforce section."""
    return globex_settings(**{"salesforce": None, **overrides})


@dataclass
class EngineRetriesWorld(GlobexWorld):
    """globex's landscape with Chargebee's dunning off; set up per its settings' systems (no
    NetSuite invoice without an ERP, no Salesforce record without a CRM)."""

    settings: ComponentSettings = field(default_factory=no_crm_settings)

    def declare_tenants(self, fakes: dict[str, Simulator]) -> None:
        super().declare_tenants(fakes)
        fakes["chargebee"].declare_tenant(GLOBEX_SITE, ENGINE_OWNS_RETRIES)


@dataclass
class InitechWorld(EngineRetriesWorld):
    """Salesforce CPQ (salesforce-cpq-chargebee schema): an Account carrying the Chargebee
    customer id, with a CPQ subscription line; no ERP."""

    settings: ComponentSettings = field(default_factory=initech_settings)

    def declare_tenants(self, fakes: dict[str, Simulator]) -> None:
        super().declare_tenants(fakes)
        salesforce = fakes["salesforce"]
        path = SCHEMAS / "salesforce-cpq-chargebee.yaml"
        salesforce.declare_tenant(SALESFORCE_ORG, None,
                                  salesforce.load_schema(yaml.safe_load(path.read_text()),
                                                         str(path)))

    async def set_up_crm(self) -> None:
        await self.state("salesforce", "a custom subscription record", {
            "name": "Initech", "fields": {"Billing_Customer_Id__c": GLOBEX_CUSTOMER},
            "object": "SBQQ__Subscription__c",
            "record_fields": {"External_Id__c": GLOBEX_SUBSCRIPTION}}, SALESFORCE_ORG)


# -- what the engine answered, and the fakes' truth ------------------------------------------
def answers(world: MerchantWorld) -> list[dict[str, Any]]:
    """Every Chargebee webhook answer of the engine from now on."""
    got: list[dict[str, Any]] = []
    handler = world.recovery.chargebee_webhook

    async def spy(payload: bytes, authorization: str | None) -> tuple[int, Any]:
        status, body = await handler(payload, authorization)
        got.append({"http_status": status, **body})
        return status, body
    world.recovery.chargebee_webhook = spy  # type: ignore[method-assign]
    return got


def decided(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(d["action"], d["reason"]) for d in answer["decisions"]]


async def succeeded(world: MerchantWorld, key: str) -> list[dict[str, Any]]:
    page = await world.stripe("GET", "/v1/charges", key, params={"limit": 100})
    return [c for c in page["data"] if c["status"] == "succeeded"]


async def chargebee_invoice(world: MerchantWorld) -> dict[str, Any]:
    response = await world.http.get(f"{world.world.url('chargebee')}/api/v2/invoices/"
                                    f"{GLOBEX_INVOICE}", auth=(GLOBEX_SITE_KEY, ""))
    return dict(response.json()["invoice"])


def requests_to(world: MerchantWorld, vendor: str) -> list[dict[str, Any]]:
    """The vendor API requests the fake served (provider set-up is not among them)."""
    return [e for e in world.world.fakes[vendor].journal.entries()
            if not str(e.get("path", "")).startswith("/_sim")]


async def recover(world: EngineRetriesWorld) -> list[dict[str, Any]]:
    """The renewal declines in Chargebee (insufficient_funds), whose dunning gives up at once;
    the engine retries on the alternate MID, where the customer's card works."""
    await world.card_on_alternate_mid()
    got = answers(world)
    await world.renewal_in_dunning()
    return got


async def reconciled(world: MerchantWorld, repair: bool = False) -> dict[str, Any]:
    response = await world.http.post("http://sync.test/v1/reconcile", json={"repair": repair})
    assert response.status_code == 200, response.text
    return dict(response.json())


def drift_classes(report: dict[str, Any]) -> list[str]:
    return sorted(d["drift_class"] for d in report["drifts"])


async def lose(world: MerchantWorld, destination: str) -> None:
    """The write-back to `destination` is lost on its way (dead-lettered, never replayed)."""
    for message in world.sync.store.due_messages(world.world.clock.now(), 100):
        assert message.id is not None
        if message.destination == destination:
            world.sync.store.mark_dead(message.id, error="lost in the test")
        else:
            world.sync.store.mark_retry(message.id, next_attempt_at=0, error="")


# -- which systems a merchant has: the one decision ------------------------------------------
def test_the_systems_a_merchant_has_come_from_its_settings_and_mapping() -> None:
    def of(settings: ComponentSettings) -> Systems:
        return systems_of(settings, load_mapping(settings.mapping) if settings.mapping else None)

    assert of(acme_settings()) == Systems(erp=True, crm=True, crm_record="subscription_recovery")
    assert of(initech_settings()) == Systems(erp=False, crm=True,
                                             crm_record="subscription_recovery")
    assert of(no_crm_settings()) == Systems(erp=True, crm=False)
    # globex's Salesforce Subscription__c maps no recovery status: nothing to write or compare
    assert of(globex_settings()) == Systems(erp=True, crm=False)
    assert of(acme_settings(mapping=None)) == Systems(erp=True, crm=False)
    assert of(initech_settings(salesforce=None)) == Systems(erp=False, crm=False)


# -- no ERP: Chargebee + Salesforce CPQ + Stripe ---------------------------------------------
def test_without_an_erp_a_soft_decline_is_recovered_written_back_and_reconciled() -> None:
    async def scenario() -> None:
        async with InitechWorld(seed=SEED) as initech:
            got = await recover(initech)
            [answer] = got
            assert decided(answer) == [("retry_now", "untried_mid:insufficient_funds")]
            assert answer["status"] == "recovered"
            taken = await succeeded(initech, PRIMARY_KEY) + await succeeded(initech,
                                                                            ALTERNATE_KEY)
            assert taken == await succeeded(initech, ALTERNATE_KEY)
            assert [c["amount"] for c in taken] == [AMOUNT]

            report = await initech.sync.relay.drain()
            assert (report.sent, report.dead) == (2, 0), report.errors  # Chargebee, Salesforce
            assert initech.sync.store.dead_letters() == []
            assert initech.sync.store.outbox_depth() == 0
            await initech.settle()
            invoice = await chargebee_invoice(initech)
            assert (invoice["status"], invoice["amount_due"]) == ("paid", 0)
            [account] = await salesforce(initech).query(
                "SELECT Id, Recovery_Status__c, Recovery_Attempts__c, Recovered_Amount__c "
                f"FROM Account WHERE Billing_Customer_Id__c = '{GLOBEX_CUSTOMER}'")
            assert (account["Recovery_Status__c"], account["Recovered_Amount__c"]) == (
                "recovered", AMOUNT / 100)
            assert requests_to(initech, "salesforce")
            assert requests_to(initech, "netsuite") == []  # no ERP: never asked

            await initech.world.advance(600)  # past the settle time
            after = await reconciled(initech)
            assert after["clean"], after["drifts"]
            assert after["matched"] == [KEY]
            health = (await initech.http.get("http://sync.test/healthz")).json()
            assert (health["erp"], health["crm"], health["dead_letters"]) == (False, True, 0)
            assert requests_to(initech, "netsuite") == []

    play(scenario())


@pytest.mark.parametrize("lost, drift", [
    ("chargebee", "billing_open_gateway_paid"),  # the recorded payment never reached billing
    ("salesforce", "crm_status_drift"),          # the CRM never heard of the recovery
])
def test_without_an_erp_a_lost_write_back_is_repaired_and_no_erp_drift_is_made_up(
        lost: str, drift: str) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with InitechWorld(seed=SEED) as initech:
            await recover(initech)
            await lose(initech, lost)
            await initech.sync.relay.drain()
            await initech.world.advance(600)
            found = await reconciled(initech, repair=True)
            await initech.sync.relay.drain()
            await initech.settle()
            await initech.world.advance(600)
            after = await reconciled(initech)
            assert requests_to(initech, "netsuite") == []
            return found, after

    found, after = play(scenario())
    # the payment is in no ERP, and that is no drift: the merchant has none
    assert drift_classes(found) == [drift], found
    assert found["repairs_queued"] == 1
    assert after["clean"], after["drifts"]


def test_without_an_erp_the_sync_service_takes_no_erp_notifications() -> None:
    async def scenario() -> int:
        async with InitechWorld(seed=SEED) as initech:
            assert initech.sync.erp is None
            assert await initech.sync.poll_erp() == 0
            response = await initech.http.post("http://sync.test/notifications/netsuite",
                                               json={"eventId": "1"})
            return response.status_code

    assert play(scenario()) == 404


def test_a_write_back_queued_for_an_absent_system_is_dead_lettered_with_the_reason() -> None:
    """The engine queues none; one left from before a settings change has nowhere to go."""
    async def scenario() -> tuple[Any, list[str]]:
        async with InitechWorld(seed=SEED) as initech:
            initech.sync.store.enqueue([OutboxMessage(
                destination="netsuite", kind="apply_payment", dedupe_key="netsuite:old",
                payload={"invoice_key": KEY, "amount": AMOUNT, "payment_id": "pi_1"})],
                at=initech.sync.now())
            report = await initech.sync.relay.drain()
            return report, [m.last_error or "" for m in initech.sync.store.dead_letters()]

    report, errors = play(scenario())
    assert (report.sent, report.dead) == (0, 1)
    assert errors == ["the merchant has no ERP: no netsuite section in the settings"]


# -- no CRM: Chargebee + NetSuite custom record + Stripe -------------------------------------
def test_without_a_crm_a_soft_decline_is_recovered_written_back_and_reconciled() -> None:
    async def scenario() -> None:
        async with EngineRetriesWorld(seed=SEED) as globex:
            got = await recover(globex)
            [answer] = got
            assert decided(answer) == [("retry_now", "untried_mid:insufficient_funds")]
            assert answer["status"] == "recovered"
            assert [c["amount"] for c in await succeeded(globex, ALTERNATE_KEY)] == [AMOUNT]
            assert await succeeded(globex, PRIMARY_KEY) == []

            report = await globex.sync.relay.drain()
            assert (report.sent, report.dead) == (2, 0), report.errors  # Chargebee, NetSuite
            assert globex.sync.store.dead_letters() == []
            assert globex.sync.store.outbox_depth() == 0
            await globex.settle()
            assert (await chargebee_invoice(globex))["status"] == "paid"
            erp = await netsuite(globex).get_by_external_id("invoice", GLOBEX_INVOICE)
            assert erp is not None and erp["amountRemaining"] == 0
            payments = await netsuite(globex).suiteql(
                "SELECT id FROM transaction WHERE type = 'CustPymt'")
            assert len(payments) == 1
            assert requests_to(globex, "netsuite")
            assert requests_to(globex, "salesforce") == []  # no CRM: never asked

            await globex.world.advance(600)
            after = await reconciled(globex)
            assert after["clean"], after["drifts"]
            assert after["matched"] == [KEY]
            health = (await globex.http.get("http://sync.test/healthz")).json()
            assert (health["erp"], health["crm"], health["dead_letters"]) == (True, False, 0)
            assert requests_to(globex, "salesforce") == []

    play(scenario())


def test_without_a_crm_a_lost_erp_write_back_is_the_only_drift() -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with EngineRetriesWorld(seed=SEED) as globex:
            await recover(globex)
            await lose(globex, "netsuite")
            await globex.sync.relay.drain()
            await globex.world.advance(600)
            found = await reconciled(globex, repair=True)
            await globex.sync.relay.drain()
            await globex.settle()
            await globex.world.advance(600)
            return found, await reconciled(globex)

    found, after = play(scenario())
    assert drift_classes(found) == ["erp_payment_missing"], found  # and no CRM status drift
    assert found["repairs_queued"] == 1
    assert after["clean"], after["drifts"]


# -- the pure reconciliation: an absent system's emptiness is not drift ----------------------
@pytest.mark.parametrize("has_erp, has_crm, expected", [
    (True, True, ["crm_status_drift", "erp_payment_missing"]),
    (False, True, ["crm_status_drift"]),
    (True, False, ["erp_payment_missing"]),
    (False, False, []),
])
def test_an_absent_system_is_not_compared(has_erp: bool, has_crm: bool,
                                          expected: list[str]) -> None:
    paid = GatewayPayment("pi_1", KEY, AMOUNT, "usd", "succeeded", created_at=0.0,
                          mid="alternate")
    bill = BillingInvoice(KEY, amount_due=0, amount_paid=AMOUNT, currency="usd", status="paid",
                          payment_refs=("pi_1",), failed_attempts=1)
    report = reconcile(Snapshot((paid,), (bill,), (), (), (), as_of=3600.0, has_erp=has_erp,
                                has_crm=has_crm))
    assert sorted(d.drift_class for d in report.drifts) == expected
    assert report.matched == ([] if expected else [KEY])
    repaired = {m.destination for m in report.repairs()}
    assert repaired == {name for name, present in (("netsuite", has_erp),
                                                   ("salesforce", has_crm)) if present}
