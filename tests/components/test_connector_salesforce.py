"""The Salesforce connector against the fake Salesforce: OAuth sessions renewed once, upserts by
external id, SOQL paging, the daily API budget and error kinds, in-process on virtual time (and
once over loopback HTTP)."""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.salesforce import SalesforceConnector
from simulators.core.faults import FaultSpec, Match
from simulators.core.virtual_time import run
from simulators.landscape import Landscape
from simulators.salesforce.vendor import DEMO_ORG, DEMO_SETTINGS

T = TypeVar("T")
V = "/services/data/v62.0"
SCHEMA = {"vendor": "salesforce", "name": "connector-test", "objects": {"Account": {"fields": {
    "Stripe_Customer_Id__c": {"type": "string", "length": 255, "external_id": True,
                              "unique": True},
    "Legacy_Id__c": {"type": "string", "length": 64, "external_id": True},  # not unique
}}}}


def in_landscape(scenario: Callable[[Landscape, httpx.AsyncClient], Awaitable[T]],
                 **settings: Any) -> T:
    async def main() -> T:
        world = Landscape(["salesforce"], seed=1)
        sim = world.fakes["salesforce"]
        sim.declare_tenant(DEMO_ORG, {**DEMO_SETTINGS, **settings},
                           sim.load_schema(SCHEMA, "connector test"))
        async with world, world.client() as http:
            return await scenario(world, http)
    return run(main())


def connect(world: Landscape, http: httpx.AsyncClient, **options: Any) -> SalesforceConnector:
    options.setdefault("client_id", DEMO_SETTINGS["client_id"])
    options.setdefault("client_secret", DEMO_SETTINGS["client_secret"])
    return SalesforceConnector(base_url=world.url("salesforce"), http=http, **options)


def requests_to(world: Landscape, path: str = f"{V}/*") -> list[int]:
    return [e.get("status") for e in world.fakes["salesforce"].journal.entries()
            if fnmatch.fnmatchcase(e["path"], path)]


def fault(world: Landscape, **spec: Any) -> None:
    world.fakes["salesforce"].faults.add(FaultSpec(**spec), world.clock.now())


async def expire_by_clock(world: Landscape, http: httpx.AsyncClient,
                          sf: SalesforceConnector) -> None:
    await world.advance(DEMO_SETTINGS["session_timeout_seconds"] + 1)


async def expire_by_revoke(world: Landscape, http: httpx.AsyncClient,
                           sf: SalesforceConnector) -> None:
    # the connector's session is the org's only one; revoke it as an admin would
    [token] = world.fakes["salesforce"].tenants.find(DEMO_ORG).collection("sessions")
    response = await http.post(f"{world.url('salesforce')}/services/oauth2/revoke",
                               data={"token": token})
    assert response.status_code == 200


async def expire_by_fault(world: Landscape, http: httpx.AsyncClient,
                          sf: SalesforceConnector) -> None:
    fault(world, kind="auth_expired", first_n=1, match=Match(path=f"{V}/*"))


@pytest.mark.parametrize("expire", [expire_by_clock, expire_by_revoke, expire_by_fault])
def test_an_expired_session_is_renewed_once_and_the_call_succeeds(
        expire: Callable[..., Awaitable[None]]) -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http)
        account = await sf.create("Account", {"Name": "Initech"})
        assert sf.instance_url == world.url("salesforce") and sf.session_refreshes == 0
        await expire(world, http, sf)
        assert (await sf.get("Account", account, ["Name"]))["Name"] == "Initech"
        assert sf.session_refreshes == 1
        assert requests_to(world, f"{V}/sobjects/Account/*") == [401, 200]
    in_landscape(scenario)


def test_a_second_refusal_after_renewing_is_auth() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http)
        fault(world, kind="auth_expired", first_n=2, match=Match(path=f"{V}/*"))
        with pytest.raises(VendorError) as refused:
            await sf.query("SELECT Id FROM Account")
        assert (refused.value.kind, refused.value.code) == (ErrorKind.AUTH, "INVALID_SESSION_ID")
        assert sf.session_refreshes == 1

        wrong = connect(world, http, client_secret="not-the-secret")
        with pytest.raises(VendorError) as bad:
            await wrong.query("SELECT Id FROM Account")
        assert (bad.value.kind, bad.value.code) == (ErrorKind.AUTH, "invalid_client")
    in_landscape(scenario)


def test_password_grant() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http, username=DEMO_SETTINGS["username"],
                     password=DEMO_SETTINGS["password"] + DEMO_SETTINGS["security_token"])
        assert await sf.query("SELECT Id FROM Account") == []
        session = world.fakes["salesforce"].tenants.find(DEMO_ORG).collection("sessions")
        assert [s["grant"] for s in session.values()] == ["password"]
    in_landscape(scenario)


def test_upsert_by_external_id_creates_then_updates() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http)
        made, created = await sf.upsert("Account", "Stripe_Customer_Id__c", "cus_1",
                                        {"Name": "Globex"})
        again, created_again = await sf.upsert("Account", "Stripe_Customer_Id__c", "cus_1",
                                               {"Name": "Globex Corp"})
        assert (created, created_again, again) == (True, False, made)
        found = await sf.get_by_external_id("Account", "Stripe_Customer_Id__c", "cus_1")
        assert found is not None and (found["Id"], found["Name"]) == (made, "Globex Corp")
        assert found["attributes"]["type"] == "Account"  # records are kept as returned
        assert await sf.get_by_external_id("Account", "Stripe_Customer_Id__c", "cus_x") is None
        await sf.update("Account", made, {"Name": "Globex Inc"})
        assert (await sf.get("Account", made))["Name"] == "Globex Inc"
    in_landscape(scenario)


def test_several_matches_are_a_conflict_that_is_not_retried() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http)
        for name in ("A", "B"):
            await sf.create("Account", {"Name": name, "Legacy_Id__c": "L-1"})
        for call in (sf.upsert("Account", "Legacy_Id__c", "L-1", {"Name": "C"}),
                     sf.get_by_external_id("Account", "Legacy_Id__c", "L-1")):
            with pytest.raises(VendorError) as many:
                await call
            assert (many.value.kind, many.value.code, many.value.status) == (
                ErrorKind.CONFLICT, "MULTIPLE_CHOICES", 300)
        assert requests_to(world, f"{V}/sobjects/Account/Legacy_Id__c/*") == [300, 300]
    in_landscape(scenario)


def test_query_follows_next_records_url() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http)
        token = await http.post(f"{world.url('salesforce')}/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": DEMO_SETTINGS["client_id"],
            "client_secret": DEMO_SETTINGS["client_secret"]})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for start in range(0, 450, 150):  # 450 accounts in three sObject Collections calls
            records = [{"attributes": {"type": "Account"}, "Name": f"Account {n:03}"}
                       for n in range(start, start + 150)]
            response = await http.post(f"{world.url('salesforce')}{V}/composite/sobjects",
                                       json={"records": records}, headers=headers)
            assert response.status_code == 200, response.text
        soql = "SELECT Id, Name FROM Account ORDER BY Name"
        rows = await sf.query(soql, batch_size=200)
        assert [r["Name"] for r in rows] == [f"Account {n:03}" for n in range(450)]
        assert len(requests_to(world, f"{V}/query*")) == 3  # 200 + 200 + 50
        assert len(await sf.query(soql, batch_size=200, limit_total=300)) == 300
        stripped = await sf.query(soql, limit_total=1, strip_attributes=True)
        assert set(stripped[0]) == {"Id", "Name"}
    in_landscape(scenario)


def test_the_api_budget_reserve_refuses_before_sending() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http, reserve=0.9, now=world.clock.now)
        for _ in range(9):
            await sf.query("SELECT Id FROM Account")
        assert sf.api_usage == (9, 10)
        sent = len(requests_to(world))
        with pytest.raises(VendorError) as held:
            await sf.query("SELECT Id FROM Account")
        assert (held.value.kind, held.value.code) == (ErrorKind.RATE_LIMITED,
                                                      "API_BUDGET_RESERVED")
        assert len(requests_to(world)) == sent  # nothing was sent
        await world.advance(sf.recheck_after - 1)
        with pytest.raises(VendorError):
            await sf.query("SELECT Id FROM Account")  # the reading still holds

        await connect(world, http, reserve=1.0).query("SELECT Id FROM Account")  # the last call
        unaware = connect(world, http, reserve=1.0)  # has not seen the usage yet
        with pytest.raises(VendorError) as exceeded:
            await unaware.query("SELECT Id FROM Account")
        assert exceeded.value.kind is ErrorKind.RATE_LIMITED
        assert unaware.api_usage == (10, 10)  # learnt from the org's refusal ...
        assert requests_to(world)[-2:] == [200, 403]  # ... so it does not ask again

        await world.advance(86400)  # the rolling 24 h window has moved on
        assert await sf.query("SELECT Id FROM Account") == []  # an old reading is re-read
        assert sf.api_usage == (1, 10)
    in_landscape(scenario, daily_api_limit=10)


def test_a_request_limit_refusal_is_backed_off_and_retried() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http)
        fault(world, kind="rate_limit", first_n=1, match=Match(path=f"{V}/query"))
        before = world.clock.now()
        assert await sf.query("SELECT Id FROM Account") == []
        assert requests_to(world, f"{V}/query") == [403, 200]
        assert world.clock.now() > before  # it waited (no Retry-After: the policy's backoff)
    in_landscape(scenario)


def test_updated_since_lists_changed_ids() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http)
        start = world.clock.now()
        first = await sf.create("Account", {"Name": "First"})
        await world.advance(120)
        middle = world.clock.now()
        second = await sf.create("Account", {"Name": "Second"})
        await world.advance(120)
        assert await sf.updated_since("Account", start, world.clock.now()) == [first, second]
        assert await sf.updated_since("Account", middle, world.clock.now()) == [second]
    in_landscape(scenario)


def test_errors_map_to_kinds_and_5xx_are_retried_unless_a_create() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sf = connect(world, http)
        account = await sf.create("Account", {"Name": "Initech"})
        with pytest.raises(VendorError) as missing:
            await sf.get("Account", account[:-3] + "ZZZ")
        assert missing.value.kind is ErrorKind.NOT_FOUND
        with pytest.raises(VendorError) as invalid:
            await sf.update("Account", account, {"No_Such__c": 1})
        assert (invalid.value.kind, invalid.value.code) == (ErrorKind.INVALID, "INVALID_FIELD")

        fault(world, kind="brownout", status=503, window_end=60, first_n=2,
              match=Match(method="GET", path=f"{V}/sobjects/Account/*"))
        assert (await sf.get("Account", account))["Id"] == account
        assert requests_to(world, f"{V}/sobjects/Account/*")[-3:] == [503, 503, 200]

        fault(world, kind="http_error", status=500, after_commit=True, first_n=1,
              match=Match(method="POST", path=f"{V}/sobjects/Account"))
        with pytest.raises(UnknownOutcome):
            await sf.create("Account", {"Name": "Once"})
        rows = await sf.query("SELECT Id FROM Account WHERE Name = 'Once'")
        assert len(rows) == 1  # created once, and not again
    in_landscape(scenario)


def test_over_loopback_http(start_fake) -> None:
    fake = start_fake("salesforce")

    async def main() -> None:
        http = httpx.AsyncClient(trust_env=False)  # loopback: never through a proxy
        sf = SalesforceConnector(base_url=fake.url, client_id=DEMO_SETTINGS["client_id"],
                                 client_secret=DEMO_SETTINGS["client_secret"], http=http)
        try:
            account = await sf.create("Account", {"Name": "Loopback"})
            rows = await sf.query(f"SELECT Id, Name FROM Account WHERE Id = '{account}'")
            assert [(r["Id"], r["Name"]) for r in rows] == [(account, "Loopback")]
            assert sf.api_usage is not None and sf.api_usage[0] == 2
        finally:
            await sf.aclose()
            await http.aclose()
    asyncio.run(main())
