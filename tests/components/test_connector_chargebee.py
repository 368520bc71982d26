"""The Chargebee connector against the fake Chargebee, in-process on virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from components.connectors.chargebee import ChargebeeConnector, derive_key
from components.connectors.errors import ErrorKind, VendorError
from components.connectors.retry import RetryPolicy
from simulators.core.faults import FaultSpec, Match
from simulators.core.virtual_time import run
from simulators.landscape import Landscape

SITE, KEY = "acme-test", "test_acme_demo_key"  # the fake's default site
IN_DUNNING = "a subscription in dunning"
INVOICE = "state_invoice_in_dunning"
RECORD = "/api/v2/invoices/*/record_payment"


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class World:
    def __init__(self, landscape: Landscape, http: httpx.AsyncClient, sleeps: Sleeps,
                 chargebee: ChargebeeConnector) -> None:
        self.landscape, self.http, self.sleeps, self.chargebee = (landscape, http, sleeps,
                                                                  chargebee)

    @property
    def fake(self) -> Any:
        return self.landscape.fakes["chargebee"]

    def fault(self, kind: str, path: str, method: str = "POST", **spec: Any) -> Any:
        return self.fake.faults.add(FaultSpec(kind=kind, match=Match(path=path, method=method),
                                              **spec), self.landscape.clock.now())

    async def state(self, name: str = IN_DUNNING, **params: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.landscape.url('chargebee')}/_sim/states",
                                        json={"state": name, "params": params, "tenant": SITE})
        assert response.status_code == 200, response.text
        return response.json()["created"]


def in_world(scenario: Callable[[World], Awaitable[Any]], **policy: Any) -> Any:
    async def main() -> Any:
        sleeps = Sleeps()
        async with Landscape(["chargebee"], seed=5) as landscape, landscape.client() as http:
            connector = ChargebeeConnector(SITE, KEY, base_url=landscape.url("chargebee"),
                                           http=http, policy=RetryPolicy(sleep=sleeps, **policy))
            try:
                return await scenario(World(landscape, http, sleeps, connector))
            finally:
                await connector.aclose()
    return run(main())


async def record(world: World, key: str, reference: str = "pi_Recovered1",
                 gateway_id: str = "ch_Recovered1") -> dict[str, Any]:
    return await world.chargebee.record_payment(
        INVOICE, amount=2000, reference_number=reference, id_at_gateway=gateway_id,
        comment="recovered by retry", idempotency_key=key)


def test_record_payment_survives_a_dropped_response_and_a_second_try() -> None:
    async def scenario(world: World) -> None:
        await world.state()
        world.fault("drop_after", RECORD, first_n=1)
        paid = await record(world, "record-1")
        assert paid["status"] == "paid" and len(paid["linked_payments"]) == 1
        assert len(world.sleeps) == 1  # the unknown outcome was retried under the same key
        # later, under another key (a restart, an expired key): the invoice is paid by us
        again = await record(world, "record-2")
        assert again["id"] == INVOICE and again["status"] == "paid"
        assert len(again["linked_payments"]) == 1
        txns = await world.chargebee.list_transactions(customer_id=paid["customer_id"])
        ours = [t for t in txns if t.get("reference_number") == "pi_Recovered1"]
        assert len(ours) == 1 and ours[0]["amount"] == 2000
        # another payment's reference on the paid invoice: not ours, a conflict
        with pytest.raises(VendorError) as raised:
            await record(world, "record-3", reference="pi_Other", gateway_id="ch_Other")
        assert raised.value.kind is ErrorKind.CONFLICT
        assert raised.value.code == "invoice_already_paid"

    in_world(scenario)


def test_a_429_waits_its_retry_after() -> None:
    async def scenario(world: World) -> None:
        await world.state()
        world.fault("rate_limit", "/api/v2/invoices/*", method="GET", retry_after=9, first_n=1)
        invoice = await world.chargebee.get_invoice(INVOICE)
        assert invoice["id"] == INVOICE and invoice["dunning_status"] == "in_progress"
        assert world.sleeps == [9.0]

    in_world(scenario)


def test_a_hung_read_times_out_and_is_retried() -> None:
    async def scenario(world: World) -> None:
        await world.state()
        world.fault("hang", "/api/v2/invoices/*", method="GET", seconds=60, first_n=1)
        invoice = await world.chargebee.get_invoice(INVOICE)
        assert invoice["id"] == INVOICE and len(world.sleeps) == 1

    in_world(scenario, timeout=5)


def test_a_decline_is_declined_and_not_retried() -> None:
    async def scenario(world: World) -> None:
        await world.state()
        with pytest.raises(VendorError) as raised:
            await world.chargebee.collect_payment(INVOICE, idempotency_key="collect-1")
        error = raised.value
        assert (error.kind, error.status) == (ErrorKind.DECLINED, 400)
        assert error.code == "payment_processing_failed" and error.body["type"] == "payment"
        assert "insufficient_funds" in error.message
        assert world.sleeps == []

    in_world(scenario)


def test_lists_follow_next_offset_up_to_the_cap() -> None:
    async def scenario(world: World) -> None:
        made = []
        for n in range(3):
            created = await world.state(customer_id=f"cust_{n}", subscription_id=f"sub_{n}",
                                        invoice_id=f"inv_{n}", payment_source_id=f"pm_{n}")
            made.append(created["invoice_id"])
        due = await world.chargebee.list_invoices(status="payment_due", page_size=2)
        assert sorted(i["id"] for i in due) == sorted(made)
        assert len(world.fake.journal.entries(path="/api/v2/invoices", method="GET")) == 2
        assert len(await world.chargebee.list_invoices(page_size=2, limit_total=2)) == 2
        assert await world.chargebee.list_invoices(status="paid") == []
        assert await world.chargebee.list_invoices(updated_after=2**40) == []

    in_world(scenario)


def test_stopping_dunning_twice_is_done_once() -> None:
    async def scenario(world: World) -> None:
        await world.state()
        stopped = await world.chargebee.stop_dunning(INVOICE, idempotency_key="stop-1")
        assert stopped["dunning_status"] == "stopped"
        again = await world.chargebee.stop_dunning(INVOICE, idempotency_key="stop-2")
        assert again["dunning_status"] == "stopped"

    in_world(scenario)


def test_pause_dunning_with_a_derived_key_replays() -> None:
    async def scenario(world: World) -> None:
        await world.state()
        until = int(world.landscape.clock.now()) + 86400
        world.fault("drop_after", "/api/v2/invoices/*/pause_dunning", first_n=1)
        paused = await world.chargebee.pause_dunning(INVOICE, expected_payment_date=until)
        assert paused["expected_payment_date"] == until
        posts = world.fake.journal.entries(path="/api/v2/invoices/*/pause_dunning")
        assert len({e["idempotency_key"] for e in posts}) == 1 and len(posts) == 2

    in_world(scenario)


def test_errors_by_kind() -> None:
    async def scenario(world: World) -> None:
        await world.state()
        with pytest.raises(VendorError) as missing:
            await world.chargebee.get_subscription("no_such_subscription")
        assert missing.value.kind is ErrorKind.NOT_FOUND
        wrong = ChargebeeConnector(SITE, "wrong_key", base_url=world.landscape.url("chargebee"),
                                   http=world.http, policy=RetryPolicy(sleep=world.sleeps))
        with pytest.raises(VendorError) as refused:
            await wrong.get_customer("state_customer_1")
        assert refused.value.kind is ErrorKind.AUTH
        await record(world, "record-1")
        with pytest.raises(VendorError) as mismatch:  # the same key, other parameters
            await world.chargebee.record_payment(INVOICE, amount=1, reference_number="x",
                                                 idempotency_key="record-1")
        assert (mismatch.value.kind, mismatch.value.status) == (ErrorKind.INVALID, 422)
        assert world.sleeps == []
        fault = world.fault("http_error", "/api/v2/customers/*", method="GET", status=503)
        with pytest.raises(VendorError) as down:
            await world.chargebee.get_customer("state_customer_1")
        assert down.value.kind is ErrorKind.UNAVAILABLE and fault.hits == 4
        world.fake.faults.remove(fault.id)
        world.fault("http_error", "/api/v2/customers/*", method="GET", status=429,
                    code="lock_timeout", first_n=1)
        customer = await world.chargebee.get_customer("state_customer_1")
        assert customer["id"] == "state_customer_1"

    in_world(scenario)


def test_derived_keys_are_stable_and_short() -> None:
    key = derive_key("/invoices/inv_1/stop_dunning", {})
    assert key == derive_key("/invoices/inv_1/stop_dunning", {})
    assert key != derive_key("/invoices/inv_2/stop_dunning", {})
    assert len(derive_key("/x" * 200, {"a": 1})) <= 100
