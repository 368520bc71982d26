"""The NetSuite connector against the fake NetSuite: TBA, concurrency governance, retries,
idempotent payment write-back and SuiteQL paging, in-process on virtual time (and once over
loopback HTTP)."""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.netsuite import NetSuiteConnector
from components.connectors.retry import RetryPolicy
from simulators.core.faults import FaultSpec, Match
from simulators.core.latency import Latency
from simulators.core.virtual_time import run
from simulators.landscape import Landscape
from simulators.netsuite.vendor import DEMO_ACCOUNT, DEMO_SETTINGS
from simulators.registry import load_schema

SCHEMAS = Path(__file__).resolve().parents[2] / "scenarios" / "schemas"
RECORD = "/services/rest/record/v1"
T = TypeVar("T")
Scenario = Callable[[Landscape, httpx.AsyncClient], Awaitable[T]]


def credentials(**override: str) -> dict[str, str]:
    names = ("consumer_key", "consumer_secret", "token_id", "token_secret")
    return {**{name: DEMO_SETTINGS[name] for name in names}, **override}


def in_landscape(scenario: Scenario[T], *, schema: str | None = None) -> T:
    async def main() -> T:
        world = Landscape(["netsuite"], seed=1)
        if schema:
            world.fakes["netsuite"].declare_tenant(DEMO_ACCOUNT, dict(DEMO_SETTINGS),
                                                   load_schema(SCHEMAS / schema))
        async with world, world.client() as http:
            return await scenario(world, http)
    return run(main())


def connect(world: Landscape, http: httpx.AsyncClient, **options: Any) -> NetSuiteConnector:
    options.setdefault("policy", RetryPolicy())
    return NetSuiteConnector(DEMO_ACCOUNT, **credentials(**options.pop("creds", {})),
                             base_url=world.url("netsuite"), http=http, **options)


async def state(world: Landscape, http: httpx.AsyncClient, name: str,
                **params: Any) -> dict[str, Any]:
    response = await http.post(f"{world.url('netsuite')}/_sim/states",
                               json={"state": name, "params": params, "tenant": DEMO_ACCOUNT})
    assert response.status_code == 200, response.text
    return response.json()["created"]


def statuses(world: Landscape, path: str = "*") -> list[int]:
    return [e.get("status") for e in world.fakes["netsuite"].journal.entries()
            if fnmatch.fnmatchcase(e["path"], path)]


def fault(world: Landscape, **spec: Any) -> None:
    sim = world.fakes["netsuite"]
    sim.faults.add(FaultSpec(**spec), world.clock.now())


def test_tba_signs_each_request_and_a_bad_secret_is_auth() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        await state(world, http, "a customer", customer_id="501", company_name="Globex")
        ns = connect(world, http)
        customer = await ns.get("customer", "501")
        again = await ns.get("customer", "501")  # a fresh nonce: not refused as a replay
        assert customer["companyName"] == again["companyName"] == "Globex"

        wrong = connect(world, http, creds={"token_secret": "not-the-secret"})
        with pytest.raises(VendorError) as refused:
            await wrong.get("customer", "501")
        assert (refused.value.kind, refused.value.code, refused.value.status) == (
            ErrorKind.AUTH, "INVALID_LOGIN", 401)
        assert statuses(world).count(401) == 1  # not retried

        stale = connect(world, http, now=lambda: time.time() - 3600)  # a clock an hour behind
        with pytest.raises(VendorError) as late:
            await stale.get("customer", "501")
        assert late.value.kind is ErrorKind.AUTH
    in_landscape(scenario)


@pytest.mark.parametrize(("concurrency", "refused"), [(5, False), (10, True)])
def test_the_semaphore_keeps_concurrent_requests_under_the_account_limit(
        concurrency: int, refused: bool) -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> list[int]:
        await state(world, http, "a customer", customer_id="501")
        world.fakes["netsuite"].latency = Latency(kind="fixed", ms=100)  # requests overlap
        ns = connect(world, http, concurrency=concurrency, policy=RetryPolicy(attempts=10))
        found = await asyncio.gather(*(ns.get("customer", "501") for _ in range(10)))
        assert [c["id"] for c in found] == ["501"] * 10
        return statuses(world, f"{RECORD}/customer/*")

    seen = in_landscape(scenario)
    assert seen.count(200) == 10
    assert (429 in seen) is refused  # with 10 slots the account refuses some, and we retry them


def test_a_brownout_is_absorbed_by_retries() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        await state(world, http, "a customer", customer_id="501")
        fault(world, kind="brownout", status=503, window_end=60, first_n=2,
              match=Match(method="GET", path=f"{RECORD}/customer/*"))
        assert (await connect(world, http).get("customer", "501"))["id"] == "501"
        assert statuses(world, f"{RECORD}/customer/*") == [503, 503, 200]
    in_landscape(scenario)


def test_a_hung_read_times_out_and_is_retried_and_no_route_is_unavailable() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        await state(world, http, "a customer", customer_id="501")
        fault(world, kind="hang", seconds=60, first_n=1,
              match=Match(method="GET", path=f"{RECORD}/customer/*"))
        ns = connect(world, http, policy=RetryPolicy(timeout=5))
        before = world.clock.now()
        assert (await ns.get("customer", "501"))["id"] == "501"
        assert 5 <= world.clock.now() - before < 60  # our timeout, not the hang, ended it

        nowhere = NetSuiteConnector(DEMO_ACCOUNT, **credentials(), base_url="http://nowhere.fake",
                                    http=http, policy=RetryPolicy(attempts=2))
        with pytest.raises(VendorError) as down:
            await nowhere.get("customer", "501")
        assert down.value.kind is ErrorKind.UNAVAILABLE
    in_landscape(scenario)


def test_apply_payment_twice_after_a_dropped_answer_applies_it_once() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        await state(world, http, "an open invoice", customer_id="501", invoice_id="601",
                    amount=100.0)
        fault(world, kind="drop_after", first_n=1,
              match=Match(method="PUT", path=f"{RECORD}/customerPayment/eid:*"))
        once = connect(world, http, policy=RetryPolicy(attempts=1))
        payment = {"external_id": "rcv_pi_123", "customer_id": "501", "invoice_id": "601",
                   "amount": 40.0, "memo": "Recovered by retry",
                   "fields": {"custbody_stripe_charge_id": "ch_123",
                              "custbody_recovered_by_retry": True}}
        with pytest.raises(UnknownOutcome):  # applied, but the answer was lost
            await once.apply_payment(**payment)
        first = await once.apply_payment(**payment)
        again = await connect(world, http).apply_payment(**payment)
        assert first == again and first is not None

        ns = connect(world, http)
        invoice = await ns.get("invoice", "601")
        assert (invoice["amountRemaining"], invoice["amountPaid"]) == (60.0, 40.0)
        stored = await ns.get_by_external_id("customerPayment", "rcv_pi_123")
        assert stored is not None and stored["id"] == first
        assert stored["custbody_stripe_charge_id"] == "ch_123" and stored["memo"] == payment["memo"]
        rows = await ns.suiteql("SELECT id FROM transaction WHERE type = 'CustPymt'")
        assert [str(r["id"]) for r in rows] == [first]
    in_landscape(scenario, schema="netsuite-recovery-fields.yaml")


def test_suiteql_follows_pages_up_to_the_total_asked() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        for n in range(7):
            await state(world, http, "a customer", customer_id=str(501 + n),
                        company_name=f"Customer {n}")
        ns = connect(world, http)
        query = "SELECT id, companyname FROM customer ORDER BY id"
        rows = await ns.suiteql(query, page_size=3)
        assert [int(r["id"]) for r in rows] == list(range(501, 508))
        assert len(statuses(world, "/services/rest/query/v1/suiteql")) == 3
        assert len(await ns.suiteql(query, page_size=2, limit_total=5)) == 5
    in_landscape(scenario)


def test_records_created_upserted_updated_and_polled_by_change() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        ns = connect(world, http)
        start = world.clock.now()
        made = await ns.create("customer", {"companyName": "Initech"})
        assert (await ns.get("customer", made))["companyName"] == "Initech"
        assert await ns.get_by_external_id("customer", "cus_missing") is None

        upserted = await ns.upsert("customer", "cus 1a", {"companyName": "Globex"})
        assert await ns.upsert("customer", "cus 1a", {"companyName": "Globex Corp"}) == upserted
        found = await ns.get_by_external_id("customer", "cus 1a")
        assert found is not None and found["companyName"] == "Globex Corp"
        assert sorted(await ns.changed_since("customer", start - 1)) == sorted([made, upserted])

        await world.advance(60)
        await ns.update("customer", made, {"comments": "recovered"})
        assert await ns.changed_since("customer", world.clock.now() - 30) == [made]
    in_landscape(scenario)


def test_vendor_errors_map_to_kinds_and_a_create_is_not_repeated() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        ns = connect(world, http)
        with pytest.raises(VendorError) as missing:
            await ns.get("customer", "999")
        assert (missing.value.kind, missing.value.code) == (ErrorKind.NOT_FOUND, "NONEXISTENT_ID")
        with pytest.raises(VendorError) as invalid:
            await ns.create("customer", {"companyName": "X", "noSuchField": 1})
        assert (invalid.value.kind, invalid.value.code) == (ErrorKind.INVALID, "INVALID_CONTENT")

        fault(world, kind="http_error", status=500, first_n=1, after_commit=True,
              match=Match(method="POST", path=f"{RECORD}/customer"))
        with pytest.raises(UnknownOutcome):  # it was created, and must not be created twice
            await ns.create("customer", {"companyName": "Once"})
        assert statuses(world, f"{RECORD}/customer")[-1] == 500
        rows = await ns.suiteql("SELECT id FROM customer WHERE companyname = 'Once'")
        assert len(rows) == 1

        fault(world, kind="rate_limit", retry_after=2, first_n=1,
              match=Match(method="GET", path=f"{RECORD}/customer/*"))
        before = world.clock.now()
        with pytest.raises(VendorError):
            await ns.get("customer", "999")  # 429 (waits Retry-After), then 404
        assert world.clock.now() - before >= 2
    in_landscape(scenario)


def test_over_loopback_http(start_fake) -> None:
    fake = start_fake("netsuite")

    async def main() -> None:
        http = httpx.AsyncClient(trust_env=False)  # loopback: never through a proxy
        ns = NetSuiteConnector(DEMO_ACCOUNT, **credentials(), base_url=fake.url, http=http)
        try:
            made = await ns.upsert("customer", "cus_loopback", {"companyName": "Loopback"})
            assert made is not None
            assert (await ns.get("customer", made))["companyName"] == "Loopback"
            rows = await ns.suiteql("SELECT id FROM customer WHERE externalid = 'cus_loopback'")
            assert [str(r["id"]) for r in rows] == [made]
        finally:
            await ns.aclose()
            await http.aclose()
    asyncio.run(main())
