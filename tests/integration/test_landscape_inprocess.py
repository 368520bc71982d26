"""The in-process landscape: every fake on one virtual clock and one seed, webhooks delivered
through in-process transports, injected latency costing no wall time, and runs that replay
byte for byte from the seed."""

from __future__ import annotations

from harness.inprocess import decline_flows
from simulators.core.virtual_time import run
from simulators.landscape import Landscape

KEY = "sk_test_landscape_merchant"
LATENCY_MS = 500.0


def test_a_decline_reaches_the_merchant_as_a_verified_webhook_in_virtual_time() -> None:
    result = run(decline_flows(seed=7, latency_ms=LATENCY_MS))
    [(status, error)] = result["declines"]
    assert status == 402
    assert (error["code"], error["decline_code"]) == ("card_declined", "insufficient_funds")
    [event] = result["events"]
    assert event.type == "payment_intent.payment_failed"
    assert event.data.object.last_payment_error.decline_code == "insufficient_funds"
    # two requests (customer, payment intent) each waited 500 ms of simulated time ...
    assert result["sim_seconds"] >= 2 * LATENCY_MS / 1000
    # ... which the virtual clock skipped: well under the simulated time in wall time
    assert result["wall_seconds"] < result["sim_seconds"] / 2


def test_the_same_seed_replays_byte_for_byte_and_another_seed_differs() -> None:
    first, again, other = (run(decline_flows(seed=s)) for s in (7, 7, 8))
    assert first["journals"] == again["journals"]
    assert first["bodies"] == again["bodies"]
    assert first["bodies"] != other["bodies"]
    assert first["events"][0].id != other["events"][0].id


def test_reset_returns_every_fake_to_its_start() -> None:
    async def scenario() -> tuple[float, float, list[str], list[str]]:
        world = Landscape(["stripe"], seed=3)
        async with world, world.client(auth=(KEY, "")) as http:
            start = world.clock.now()
            first = (await http.post(f"{world.url('stripe')}/v1/customers")).json()["id"]
            await world.advance(3600)
            world.reset()
            after_reset = world.clock.now()
            again = (await http.post(f"{world.url('stripe')}/v1/customers")).json()["id"]
            listed = (await http.get(f"{world.url('stripe')}/v1/customers")).json()["data"]
        return start, after_reset, [first], [again] + [c["id"] for c in listed[1:]]

    start, after_reset, first, again = run(scenario())
    assert after_reset == start  # the clock is back where it started
    assert again == first  # same seed streams: the same id again, and no other customer
