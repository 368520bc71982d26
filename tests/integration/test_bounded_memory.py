"""What a fake retains over many requests stays under its caps and retention (issue 11).

Counts, not bytes or timings: idempotency records, events, journal entries, tenants, sessions and
query locators, driven in-process on a controlled clock. `python -m harness.soak` measures bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.idempotency import COLLECTION as IDEMPOTENCY
from simulators.core.simulator import Simulator
from simulators.core.vendor import Vendor
from simulators.core.virtual_time import run
from simulators.landscape import Landscape
from simulators.netsuite.oauth1 import NonceCache
from simulators.salesforce.vendor import DEMO_ORG, DEMO_SETTINGS, SalesforceVendor
from simulators.stripe.vendor import StripeVendor

DAY = 86400.0
Client = httpx.AsyncClient


def fake(vendor: Vendor, **settings: Any) -> Simulator:
    sim = Simulator(vendor, seed=3, clock=Clock.frozen())
    sim.settings = settings
    sim.webhooks.transport = httpx.MockTransport(lambda _request: httpx.Response(200))
    return sim


def drive(sim: Simulator, scenario: Callable[[Client], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        transport = httpx.ASGITransport(app=build_app(sim))
        async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
            return await scenario(client)
    return asyncio.run(run())


def key_auth(key: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {key}"}
    return headers | ({"idempotency-key": idempotency_key} if idempotency_key else {})


def test_5000_keyed_requests_over_48_hours_retain_no_more_than_the_caps_allow() -> None:
    sim = fake(StripeVendor(), journal_max_entries=500, max_auto_tenants=30,
               max_objects_per_collection=120)
    keys = [f"sk_test_bounded_{n}" for n in range(40)]  # 10 more than the tenant cap
    step = 2 * DAY / 5000
    keyed_at: list[float] = []
    statuses: dict[str, set[int]] = {key: set() for key in keys}

    async def scenario(client: Client) -> None:
        for key in keys[:5]:  # some keys' events also go out as webhooks
            await client.post("/v1/webhook_endpoints", headers=key_auth(key),
                              data={"url": "https://merchant.test/hook", "enabled_events[]": "*"})
        for i in range(5000):
            key = keys[i % len(keys)]
            n = i - 5 if i % 5 == 4 else i  # every fifth is a retry of an earlier request
            response = await client.post("/v1/customers", data={"name": f"c{n}"},
                                         headers=key_auth(key, f"idem-{n}"))
            statuses[key].add(response.status_code)
            if response.status_code != 401:  # refused before its key was looked at
                keyed_at.append(sim.clock.now())
            await sim.advance(step)

    drive(sim, scenario)
    swept_at = keyed_at[-1]  # every keyed request drops the expired records first
    tenants = sim.tenants.all()
    assert len(tenants) == 30
    assert all(statuses[key] == {401} for key in keys[30:])  # as if the key did not exist
    assert {400, 200} == set().union(*(statuses[key] for key in keys[:30]))  # 400: cap reached
    records = [r for t in tenants for r in t.data.get(IDEMPOTENCY, {}).values()]
    assert records and all(swept_at - r["created"] < DAY for r in records)
    assert len(records) <= sum(1 for at in keyed_at if swept_at - at < DAY)
    for tenant in tenants:
        assert len(tenant.collection("customer")) <= 120
        assert len(tenant.collection("event")) <= 120
    assert (len(sim.journal), sim.journal.total) == (500, 5005)
    assert 0 < len(sim.webhooks.journal) <= 500


def test_an_idle_tenants_expired_keys_go_with_anyones_next_keyed_request() -> None:
    sim = fake(StripeVendor())

    async def scenario(client: Client) -> None:
        for n in range(3):
            await client.post("/v1/customers", headers=key_auth("sk_test_idle", f"k{n}"))
        await sim.advance(DAY + 1)
        await client.post("/v1/customers", headers=key_auth("sk_test_busy", "k"))

    drive(sim, scenario)
    assert sim.tenants.find("sk_test_idle").collection(IDEMPOTENCY) == {}
    assert list(sim.tenants.find("sk_test_busy").collection(IDEMPOTENCY)) == ["k"]


def test_events_past_30_days_are_dropped_not_hidden() -> None:
    sim = fake(StripeVendor())
    key = "sk_test_events"

    async def scenario(client: Client) -> list[Any]:
        await client.post("/v1/webhook_endpoints", headers=key_auth(key),
                          data={"url": "https://merchant.test/hook", "enabled_events[]": "*"})
        for _ in range(3):
            await client.post("/v1/customers", headers=key_auth(key))
        await sim.advance(31 * DAY)
        return (await client.get("/v1/events", headers=key_auth(key))).json()["data"]

    assert drive(sim, scenario) == []
    tenant = sim.tenants.find(key)
    assert tenant.collection("event") == {} and tenant.collection("_event_delivery") == {}


def test_a_full_collection_answers_with_the_vendors_error_and_events_keep_the_newest() -> None:
    sim = fake(StripeVendor(), max_objects_per_collection=5)
    key = "sk_test_full"

    async def scenario(client: Client) -> httpx.Response:
        ids = [(await client.post("/v1/customers", headers=key_auth(key))).json()["id"]
               for _ in range(5)]
        refused = await client.post("/v1/customers", headers=key_auth(key))
        for customer in ids[:3]:  # a deleted customer's stub replaces it: never refused
            assert (await client.delete(f"/v1/customers/{customer}",
                                        headers=key_auth(key))).status_code == 200
        return refused

    refused = drive(sim, scenario)
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "invalid_request_error"
    events = sim.tenants.find(key).collection("event")
    assert [e["type"] for e in events.values()] == ["customer.created"] * 2 + [
        "customer.deleted"] * 3


def test_salesforce_drops_idle_query_locators_and_sessions() -> None:
    sim = fake(SalesforceVendor())
    sim.declare_tenant(DEMO_ORG, dict(DEMO_SETTINGS))
    form = {"grant_type": "client_credentials", "client_id": DEMO_SETTINGS["client_id"],
            "client_secret": DEMO_SETTINGS["client_secret"]}
    v = "/services/data/v59.0"

    async def token(client: Client) -> dict[str, str]:
        issued = (await client.post("/services/oauth2/token", data=form)).json()
        return {"authorization": f"Bearer {issued['access_token']}"}

    async def scenario(client: Client) -> tuple[int, int]:
        auth = await token(client)
        await token(client)  # a session never used again
        records = [{"attributes": {"type": "Account"}, "Name": f"A{n}"} for n in range(200)]
        for _ in range(2):
            await client.post(f"{v}/composite/sobjects", headers=auth,
                              json={"allOrNone": True, "records": records})
        page = (await client.get(f"{v}/query", params={"q": "SELECT Id FROM Account"},
                                 headers={**auth, "sforce-query-options": "batchSize=200"})).json()
        await sim.advance(16 * 60)
        stale = await client.get(page["nextRecordsUrl"], headers=auth)
        await sim.advance(3 * 3600)
        await client.get(f"{v}/limits", headers=await token(client))
        return stale.status_code, len(sim.tenants.find(DEMO_ORG).collection("sessions"))

    stale_status, sessions = drive(sim, scenario)
    assert stale_status == 400
    assert sim.tenants.find(DEMO_ORG).collection("query_locators") == {}
    assert sessions == 1  # only the one just issued


def test_netsuite_nonce_memory_is_bounded_in_count() -> None:
    seen = NonceCache(max_skew=300, max_entries=3)
    assert [seen("c&t", f"nonce-{n}", 1000.0) for n in range(4)] == [False] * 4
    assert seen("c&t", "nonce-3", 1000.0) and not seen("c&t", "nonce-0", 1000.0)


def test_expired_netsuite_access_tokens_are_dropped() -> None:
    async def scenario() -> list[int]:
        world = Landscape(["netsuite"], seed=5)
        held = []
        async with world, world.client() as http:
            for _ in range(3):
                answer = await http.post(
                    world.url("netsuite") + "/services/rest/auth/oauth2/v1/token",
                    data={"grant_type": "client_credentials"},
                    auth=("demo-client-id", "demo-client-secret"))
                assert answer.status_code == 200
                tenant = world.fakes["netsuite"].tenants.get("1234567_SB1")
                assert tenant is not None
                held.append(len(tenant.collection("oauth2.tokens")))
                await world.advance(3601)  # past the token's hour
        return held

    assert run(scenario()) == [1, 1, 1]  # each new token finds the last one expired
