"""`python -m harness.soak`: the memory a fake keeps over a long run, on simulated time.

One fake Stripe in-process (no sockets), its clock moved on after every request, so a run spans
weeks and every retention and cap comes into play (idempotency keys 24 h, events 30 days,
journals, tenants; see simulators/README.md, "Retention and caps"). The traffic, over `--keys`
API keys: plain and keyed customer creates, replays of keyed creates, reads, event lists,
deletes of older customers (a working set per key), webhook deliveries to every key's endpoint,
and now and then a key never seen before (auto-created up to the tenant cap, then refused).

Every `--every` requests it prints what tracemalloc sees retained (after a full collection):
in total, per request so far, and per request since the last line. With retention working the
total flattens; what still grows is what a client keeps (deleted customers stay retrievable as
stubs, as on Stripe), bounded per tenant by `max_objects_per_collection`.

    python -m harness.soak --requests 200000 [--keys 200] [--seconds-per-request 30]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import tracemalloc
from collections import deque
from dataclasses import dataclass, field

import httpx

from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.idempotency import COLLECTION as IDEMPOTENCY
from simulators.core.simulator import Simulator
from simulators.stripe.vendor import StripeVendor

WORKING_SET = 20  # live customers a key keeps; older ones are deleted
HOOK_URL = "https://merchant.test/stripe"


@dataclass
class Traffic:
    """What the client remembers (bounded, so it is not what grows)."""

    keys: list[str]
    live: dict[str, deque[str]] = field(default_factory=dict)
    keyed: deque[tuple[str, int]] = field(default_factory=lambda: deque(maxlen=50))
    new_keys: int = 0


def retained_counts(sim: Simulator) -> dict[str, int]:
    """What the fake holds now, by kind: the figures the caps and retention bound."""
    tenants = sim.tenants.all()
    return {"tenants": len(tenants),
            "idempotency": sum(len(t.data.get(IDEMPOTENCY, {})) for t in tenants),
            "events": sum(len(t.data.get("event", {})) for t in tenants),
            "customers": sum(len(t.data.get("customer", {})) for t in tenants),
            "journal": len(sim.journal) + len(sim.webhooks.journal)}


async def one_request(client: httpx.AsyncClient, traffic: Traffic, i: int) -> int:
    """Request `i` of the mix; returns its status."""
    key = traffic.keys[i % len(traffic.keys)]
    auth = {"authorization": f"Bearer {key}"}
    live = traffic.live.setdefault(key, deque())
    kind = i % 10
    if i % 97 == 0:  # a key never seen before: a new tenant, until the cap
        traffic.new_keys += 1
        stranger = {"authorization": f"Bearer sk_test_soak_new_{traffic.new_keys}"}
        response = await client.post("/v1/customers", data={"name": "once"}, headers=stranger)
        return response.status_code
    if len(live) > WORKING_SET:  # churn: the key's oldest customer goes
        response = await client.delete(f"/v1/customers/{live.popleft()}", headers=auth)
        return response.status_code
    if kind in (0, 1, 2):
        response = await client.post("/v1/customers", data={"name": f"plain {i}"}, headers=auth)
    elif kind in (3, 4, 5):
        body = {"name": f"keyed {i}", "email": f"c{i}@example.test"}
        response = await client.post("/v1/customers", data=body,
                                     headers={**auth, "idempotency-key": f"soak-{i}"})
        traffic.keyed.append((key, i))
    elif kind == 6 and traffic.keyed:  # a retry of a keyed create: replayed within 24 h
        owner, n = traffic.keyed[i % len(traffic.keyed)]
        response = await client.post(
            "/v1/customers", data={"name": f"keyed {n}", "email": f"c{n}@example.test"},
            headers={"authorization": f"Bearer {owner}", "idempotency-key": f"soak-{n}"})
        return response.status_code
    elif kind == 7 and live:
        return (await client.get(f"/v1/customers/{live[-1]}", headers=auth)).status_code
    else:
        response = await client.get("/v1/events", params={"limit": 3}, headers=auth)
        return response.status_code
    if response.status_code == 200:
        live.append(response.json()["id"])
    return response.status_code


async def soak(requests: int, keys: int, step: float, every: int, seed: int) -> None:
    tracemalloc.start()
    sim = Simulator(StripeVendor(), seed=seed, clock=Clock.frozen())
    sim.webhooks.transport = httpx.MockTransport(lambda _request: httpx.Response(200))
    traffic = Traffic([f"sk_test_soak_{n}" for n in range(keys)])
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://stripe.fake") as client:
        for key in traffic.keys:  # every key's webhook endpoint gets every event
            await client.post("/v1/webhook_endpoints", headers={"authorization": f"Bearer {key}"},
                              data={"url": HOOK_URL, "enabled_events[]": "*"})
        gc.collect()
        baseline = last = tracemalloc.get_traced_memory()[0]
        statuses: dict[int, int] = {}
        started = time.perf_counter()
        print(f"{'requests':>9} {'sim days':>8} {'retained MB':>11} {'B/request':>9} "
              f"{'B/req since':>11}  counts")
        for i in range(1, requests + 1):
            status = await one_request(client, traffic, i)
            statuses[status] = statuses.get(status, 0) + 1
            await sim.advance(step)
            if i % every == 0 or i == requests:
                gc.collect()
                now = tracemalloc.get_traced_memory()[0]
                since = (now - last) / (every if i % every == 0 else i % every)
                days = i * step / 86400
                print(f"{i:>9} {days:>8.1f} {(now - baseline) / 1e6:>11.2f} "
                      f"{(now - baseline) / i:>9.0f} {since:>11.0f}  {retained_counts(sim)}",
                      flush=True)
                last = now
    print(f"statuses {dict(sorted(statuses.items()))}; "
          f"{time.perf_counter() - started:.0f} s wall")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=200, help="API keys the traffic rotates over")
    parser.add_argument("--seconds-per-request", type=float, default=30.0,
                        help="simulated time between requests (30 s: 200k requests ≈ 69 days)")
    parser.add_argument("--every", type=int, default=10_000, help="report interval (requests)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    asyncio.run(soak(args.requests, args.keys, args.seconds_per_request, args.every, args.seed))


if __name__ == "__main__":
    main()
