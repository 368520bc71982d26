"""The decline → webhook flow on the in-process landscape, and its figures.

One flow: a customer is created on the fake Stripe, a PaymentIntent with a card that declines
(insufficient funds) is confirmed, and the merchant's webhook endpoint, mounted in the same
process, receives `payment_intent.payment_failed` and verifies its signature with the official
`stripe` SDK. Every request to the fake waits an injected latency on the virtual clock.

    python -m harness.inprocess [--flows 200] [--latency-ms 500] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators.core.virtual_time import run
from simulators.landscape import Landscape

MERCHANT_KEY = "sk_test_landscape_merchant"
DECLINING_CARD = "pm_card_visa_chargeDeclinedInsufficientFunds"


class StripeReceiver:
    """A merchant's webhook endpoint: verifies each delivery with the official SDK."""

    def __init__(self) -> None:
        self.secret = ""
        self.events: list[Any] = []
        self.bodies: list[bytes] = []
        self.arrived = asyncio.Event()

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        event = stripe.Webhook.construct_event(
            body.decode(), request.headers["stripe-signature"], self.secret)
        self.events.append(event)
        self.bodies.append(body)
        self.arrived.set()
        return Response(status_code=200)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/stripe", self.receive, methods=["POST"])])


async def decline_flows(seed: int, flows: int = 1, latency_ms: float = 500.0) -> dict[str, Any]:
    """Run `flows` decline → verified-webhook flows; returns what happened and how long it took
    in simulated and in wall time (the setup of the landscape is not timed)."""
    receiver = StripeReceiver()
    async with Landscape(seed=seed) as world:
        hook_url = world.mount("merchant.test", receiver.app()) + "/stripe"
        api = world.url("stripe")
        async with world.client(auth=(MERCHANT_KEY, "")) as http:
            endpoint = (await http.post(f"{api}/v1/webhook_endpoints", data={
                "url": hook_url, "enabled_events[]": "payment_intent.payment_failed"})).json()
            receiver.secret = endpoint["secret"]
            await http.put(f"{api}/_sim/latency", json={"kind": "fixed", "ms": latency_ms})
            started_sim, started_wall = world.clock.now(), time.perf_counter()
            declines = []
            for _ in range(flows):
                receiver.arrived.clear()
                customer = (await http.post(f"{api}/v1/customers")).json()
                answer = await http.post(f"{api}/v1/payment_intents", data={
                    "amount": 4200, "currency": "usd", "customer": customer["id"],
                    "payment_method": DECLINING_CARD, "confirm": "true", "off_session": "true"})
                declines.append((answer.status_code, answer.json()["error"]))
                await asyncio.wait_for(receiver.arrived.wait(), timeout=60)
            sim_seconds = world.clock.now() - started_sim
            wall_seconds = time.perf_counter() - started_wall
        journals = {name: [sim.journal.entries(), sim.webhooks.journal.entries()]
                    for name, sim in world.fakes.items()}
    return {"declines": declines, "events": receiver.events, "bodies": receiver.bodies,
            "sim_seconds": sim_seconds, "wall_seconds": wall_seconds,
            "journals": json.dumps(journals, sort_keys=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=500.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = run(decline_flows(args.seed, args.flows, args.latency_ms))
    sim, wall = result["sim_seconds"], result["wall_seconds"]
    print(f"{args.flows} decline -> verified webhook flows, {args.latency_ms:g} ms injected "
          f"per request, seed {args.seed}")
    print(f"  simulated time {sim:.1f} s, wall time {wall:.2f} s "
          f"(wall/simulated = {wall / sim:.4f})")
    print(f"  {args.flows / wall:.0f} flows/s in-process "
          f"({wall / args.flows * 1000:.2f} ms of wall time per flow)")


if __name__ == "__main__":
    main()
