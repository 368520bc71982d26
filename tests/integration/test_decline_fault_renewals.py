"""A `decline` fault also declines the charges the fake Stripe makes by itself (a renewal's
collection, a dunning retry: no request), and counts a hit only when it declined a charge: not on
a request another fault answered (a 503) or one that never charged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from simulators.core.virtual_time import run
from simulators.landscape import Landscape

KEY = "sk_test_decline_renewals"
HOUR = 3600
DAY = 86400

Scenario = Callable[[Landscape, httpx.AsyncClient], Awaitable[Any]]


def in_world(scenario: Scenario) -> Any:
    async def main() -> Any:
        world = Landscape(["stripe"], seed=11)
        async with world, world.client(auth=(KEY, "")) as http:
            return await scenario(world, http)
    return run(main())


async def api(http: httpx.AsyncClient, world: Landscape, method: str, path: str,
              data: dict[str, Any] | None = None, status: int = 200) -> Any:
    response = await http.request(method, world.url("stripe") + path, data=data)
    assert response.status_code == status, response.text
    return response.json()


async def add_fault(http: httpx.AsyncClient, world: Landscape, **spec: Any) -> str:
    response = await http.post(world.url("stripe") + "/_sim/faults", json=spec)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def fault(http: httpx.AsyncClient, world: Landscape, fault_id: str) -> dict[str, Any]:
    listed = (await http.get(world.url("stripe") + "/_sim/faults")).json()
    [found] = [f for f in listed if f["id"] == fault_id]
    return dict(found)


async def subscribe(http: httpx.AsyncClient, world: Landscape) -> dict[str, Any]:
    """A customer with a good card (4242), subscribed monthly to $20: the first invoice paid."""
    customer = await api(http, world, "POST", "/v1/customers", {"email": "ada@example.com"})
    await api(http, world, "POST", "/v1/payment_methods/pm_card_visa/attach",
              {"customer": customer["id"]})
    pm = (await api(http, world, "GET", f"/v1/payment_methods?customer={customer['id']}"
                    "&type=card"))["data"][0]["id"]
    await api(http, world, "POST", f"/v1/customers/{customer['id']}",
              {"invoice_settings[default_payment_method]": pm})
    price = await api(http, world, "POST", "/v1/prices", {
        "unit_amount": "2000", "currency": "usd", "recurring[interval]": "month",
        "product_data[name]": "Pro plan"})
    sub = await api(http, world, "POST", "/v1/subscriptions", {
        "customer": customer["id"], "items[0][price]": price["id"],
        "expand[0]": "latest_invoice"})
    assert sub["status"] == "active" and sub["latest_invoice"]["status"] == "paid"
    return dict(sub)


async def renew(http: httpx.AsyncClient, world: Landscape,
                sub: dict[str, Any]) -> dict[str, Any]:
    """Advance the shared clock past the renewal (finalized an hour after the period ends, then
    collected), but not as far as the first retry (3 days later); the renewal invoice."""
    await world.advance(sub["current_period_end"] - world.clock.now() + 2 * HOUR)
    latest = (await api(http, world, "GET", f"/v1/subscriptions/{sub['id']}"))["latest_invoice"]
    assert latest != sub["latest_invoice"]["id"]
    invoice = await api(http, world, "GET", f"/v1/invoices/{latest}")
    assert invoice["billing_reason"] == "subscription_cycle"
    return dict(invoice)


async def failed_invoices(http: httpx.AsyncClient, world: Landscape) -> list[str]:
    listed = await api(http, world, "GET", "/v1/events?type=invoice.payment_failed&limit=100")
    return [e["data"]["object"]["id"] for e in listed["data"]]


def test_a_match_everything_decline_fault_declines_the_renewal() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sub = await subscribe(http, world)
        decline = await add_fault(http, world, kind="decline", code="insufficient_funds")
        renewal = await renew(http, world, sub)
        assert (renewal["status"], renewal["paid"], renewal["attempted"],
                renewal["attempt_count"]) == ("open", False, True, 1)
        assert renewal["next_payment_attempt"] == (
            renewal["status_transitions"]["finalized_at"] + 3 * DAY)
        intent = await api(http, world, "GET", f"/v1/payment_intents/{renewal['payment_intent']}")
        error = intent["last_payment_error"]
        assert intent["status"] == "requires_payment_method"
        assert (error["type"], error["code"], error["decline_code"]) == (
            "card_error", "card_declined", "insufficient_funds")
        charge = await api(http, world, "GET", f"/v1/charges/{renewal['charge']}")
        assert (charge["status"], charge["failure_code"], charge["outcome"]["reason"]) == (
            "failed", "card_declined", "insufficient_funds")
        assert await failed_invoices(http, world) == [renewal["id"]]
        assert (await api(http, world, "GET", f"/v1/subscriptions/{sub['id']}"))["status"] == \
            "past_due"
        # the GETs above matched the fault too, but only the renewal's charge was declined
        assert (await fault(http, world, decline))["hits"] == 1

    in_world(scenario)


def test_without_the_fault_the_renewal_is_paid() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sub = await subscribe(http, world)
        renewal = await renew(http, world, sub)
        assert (renewal["status"], renewal["paid"], renewal["attempt_count"]) == (
            "paid", True, 1)
        assert await failed_invoices(http, world) == []

    in_world(scenario)


def test_a_decline_fault_for_other_requests_leaves_the_renewal_alone() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sub = await subscribe(http, world)
        other = await add_fault(http, world, kind="decline", code="insufficient_funds",
                                match={"path": "/v1/payment_intents*"})
        never = await add_fault(http, world, kind="decline", code="insufficient_funds",
                                probability=0)
        renewal = await renew(http, world, sub)
        assert renewal["status"] == "paid"
        assert (await fault(http, world, other))["hits"] == 0
        assert (await fault(http, world, never))["hits"] == 0

    in_world(scenario)


def test_a_decline_fault_matching_the_invoice_pay_path_declines_the_renewal() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sub = await subscribe(http, world)
        decline = await add_fault(http, world, kind="decline", code="do_not_honor",
                                  match={"method": "POST", "path": "/v1/invoices/*/pay"})
        renewal = await renew(http, world, sub)
        intent = await api(http, world, "GET", f"/v1/payment_intents/{renewal['payment_intent']}")
        assert renewal["status"] == "open"
        assert intent["last_payment_error"]["decline_code"] == "do_not_honor"
        assert (await fault(http, world, decline))["hits"] == 1

    in_world(scenario)


def test_first_n_1_declines_the_renewal_and_the_dunning_retry_succeeds() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        sub = await subscribe(http, world)
        decline = await add_fault(http, world, kind="decline", code="insufficient_funds",
                                  first_n=1)
        renewal = await renew(http, world, sub)
        assert (renewal["status"], renewal["attempt_count"]) == ("open", 1)
        assert (await api(http, world, "GET", f"/v1/subscriptions/{sub['id']}"))["status"] == \
            "past_due"
        await world.advance(renewal["next_payment_attempt"] - world.clock.now() + 60)
        retried = await api(http, world, "GET", f"/v1/invoices/{renewal['id']}")
        assert (retried["status"], retried["paid"], retried["attempt_count"]) == (
            "paid", True, 2)
        assert (await api(http, world, "GET", f"/v1/subscriptions/{sub['id']}"))["status"] == \
            "active"
        assert await failed_invoices(http, world) == [renewal["id"]]
        assert (await fault(http, world, decline))["hits"] == 1

    in_world(scenario)


def test_a_decline_on_a_request_answered_503_is_not_a_hit() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        customer = await api(http, world, "POST", "/v1/customers")
        confirm = {"amount": "2000", "currency": "usd", "customer": customer["id"],
                   "payment_method": "pm_card_visa", "confirm": "true"}
        # the decline is installed first, so its directive is set before the 503 answers
        decline = await add_fault(http, world, kind="decline", code="insufficient_funds",
                                  match={"path": "/v1/payment_intents"})
        outage = await add_fault(http, world, kind="http_error", status=503,
                                 match={"path": "/v1/payment_intents"})
        await api(http, world, "POST", "/v1/payment_intents", confirm, status=503)
        assert (await fault(http, world, outage))["hits"] == 1
        assert ((await fault(http, world, decline))["matched"],
                (await fault(http, world, decline))["hits"]) == (1, 0)
        # once the outage is gone: a request that matched the decline but charged nothing
        # (an unconfirmed PaymentIntent) is no hit either ...
        assert (await http.delete(world.url("stripe") + f"/_sim/faults/{outage}")).is_success
        await api(http, world, "POST", "/v1/payment_intents",
                  {"amount": "2000", "currency": "usd"})
        assert (await fault(http, world, decline))["hits"] == 0
        # ... and a charge is declined, and counts
        error = (await api(http, world, "POST", "/v1/payment_intents", confirm,
                           status=402))["error"]
        assert error["decline_code"] == "insufficient_funds"
        assert (await fault(http, world, decline))["hits"] == 1

    in_world(scenario)


def test_advancing_the_clock_says_what_ran_on_the_way() -> None:
    """`POST /_sim/clock/advance` (and so `landscape clock advance`) answers with the work that
    fell due, by kind: the renewal and its finalization."""
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> dict[str, Any]:
        await subscribe(http, world)
        moved = await http.post(world.url("stripe") + "/_sim/clock/advance",
                                json={"seconds": 32 * DAY})
        assert moved.status_code == 200, moved.text
        quiet = await http.post(world.url("stripe") + "/_sim/clock/advance",
                                json={"seconds": 60})
        return {"moved": moved.json()["ran"], "quiet": quiet.json()["ran"]}

    ran = in_world(scenario)
    assert ran["moved"] == {"renew": 1, "finalize": 1}  # finalizing the renewal collects it
    assert ran["quiet"] == {}
