"""Seeding: the same customers from the same seed, and the same customer, subscription, invoice
and card in the gateway, billing, ERP and CRM, with each merchant's custom fields (read back
from the fakes' own state)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.seeding import plan, seed_topology
from harness.stage import InProcessStage
from harness.topology import load_topology
from simulators.core.virtual_time import run


def test_the_same_seed_gives_the_same_customers_and_another_seed_others() -> None:
    topology = load_topology("netsuite-stripe-salesforce")
    first, again = plan(topology, "acme"), plan(topology, "acme")
    assert first == again and len(first) == topology.merchants["acme"].data.customers
    topology.seed += 1
    other = plan(topology, "acme")
    assert [c.email for c in other] != [c.email for c in first]
    assert [c.invoice for c in other] == [c.invoice for c in first]  # ids by position
    assert len({c.email for c in first}) == len(first)


async def seeded_state(topology_name: str) -> tuple[Any, dict[tuple[str, str], Any]]:
    topology = load_topology(topology_name)
    async with InProcessStage(topology) as stage:
        progress: list[tuple[int, int]] = []
        seeded = await seed_topology(topology, stage.http, stage.fakes, stage.components,
                                     progress=lambda done, total: progress.append((done,
                                                                                   total)))
        assert progress[-1] == (sum(len(c) for c in seeded.customers.values()),) * 2
        state = {}
        for merchant in topology.merchants:
            for vendor, tenants in topology.tenants(merchant).items():
                for tenant in tenants:
                    answer = await stage.http.get(
                        f"{stage.fakes[vendor]}/_sim/tenants/{tenant}/state")
                    state[vendor, tenant] = answer.json()["data"]
        return seeded, state


def objects(data: dict[str, Any], collection: str) -> list[dict[str, Any]]:
    return list((data.get(collection) or {}).values())


def test_a_stripe_billing_merchant_is_the_same_everywhere() -> None:
    seeded, state = run(seeded_state("netsuite-stripe-salesforce"))
    c = seeded.customers["hooli"][3]
    for key, mid in (("sk_test_hooli_primary", "primary"), ("sk_test_hooli_alternate",
                                                             "alternate")):
        customer = state["stripe", key]["customer"][c.gateway[mid][0]]
        assert customer["email"] == c.email and customer["name"] == c.company
        assert customer["invoice_settings"]["default_payment_method"] == c.gateway[mid][1]
    netsuite = state["netsuite", "7654321"]
    [customer] = [r for r in objects(netsuite, "records.customer")
                  if r.get("custentity_stripe_customer_id") == c.billing_customer]
    assert (customer["companyName"], customer["email"], customer["custentity_segment"]) == \
        (c.company, c.email, c.segment)
    [invoice] = [r for r in objects(netsuite, "records.invoice")
                 if r.get("custbody_stripe_invoice_id") == c.invoice]
    assert invoice["amountRemaining"] == c.amount / 100
    assert invoice["entity"]["id"] == customer["id"]
    salesforce = state["salesforce", "00D5g00000HOOLIEAP"]
    [account] = [r for r in objects(salesforce, "sobject:Account")
                 if r.get("Stripe_Customer_Id__c") == c.billing_customer]
    assert account["Name"] == c.company
    [line] = [r for r in objects(salesforce, "sobject:SBQQ__Subscription__c")
              if r.get("External_Id__c") == c.subscription]
    assert line["SBQQ__Account__c"] == account["Id"]
    # isolated: nothing of hooli's in acme's tenants
    assert not any(c.email in str(state[v, t]) for v, t in state
                   if t in ("sk_test_acme_primary", "1234567_SB1", "00D5g00000DEMO1EAP"))


@pytest.mark.parametrize(("topology", "merchant"), [
    ("netsuite-customrecord-chargebee-stripe", "globex"),
    ("salesforce-cpq-chargebee-stripe", "initech"),
])
def test_a_chargebee_merchant_is_the_same_everywhere(topology: str, merchant: str) -> None:
    seeded, state = run(seeded_state(topology))
    c = seeded.customers[merchant][0]
    tenants = load_topology(topology).tenants(merchant)
    chargebee = state["chargebee", tenants["chargebee"][0]]
    customer = next(o for o in objects(chargebee, "customers") + objects(chargebee, "customer")
                    if o.get("id") == c.billing_customer)
    assert customer["email"] == c.email and customer.get("company") == c.company
    for key in tenants["stripe"]:  # the card vaulted on every MID under the same email
        assert any(o.get("email") == c.email for o in objects(state["stripe", key], "customer"))
    if "netsuite" in tenants:
        netsuite = state["netsuite", tenants["netsuite"][0]]
        [erp_customer] = [r for r in objects(netsuite, "records.customer")
                          if r.get("externalId") == c.billing_customer]
        [invoice] = [r for r in objects(netsuite, "records.invoice")
                     if r.get("externalId") == c.invoice]
        assert invoice["entity"]["id"] == erp_customer["id"]
        [record] = [r for r in objects(netsuite, "records.customrecord_subscription")
                    if r.get("custrecord_sub_external_id") == c.subscription]
        assert record
    if "salesforce" in tenants:
        salesforce = state["salesforce", tenants["salesforce"][0]]
        [account] = [r for r in objects(salesforce, "sobject:Account")
                     if r.get("Billing_Customer_Id__c") == c.billing_customer]
        assert account["Name"] == c.company
