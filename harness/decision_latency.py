"""Decision latency of the reference engine, cached against naive, on realistic vendor latency.

    python -m harness.decision_latency --declines 200 --seed 7

Each decline is a Stripe renewal that failed on the primary MID (`invoice.payment_failed`
delivered to the engine); the engine reads the failed payment, reads the ERP context (naive:
NetSuite on the hot path; cached: the local cache the sync service keeps from NetSuite's change
notifications), decides, and, for soft declines, charges the card on the alternate MID. Decision
latency runs from receipt of the webhook to the known result of that charge (or to the decision
not to retry), as the SLA defines it.

Everything runs in one process on virtual time: the vendors' latency is drawn from the profiles
below (seeded) and costs no wall time, so the simulated percentiles are the design's cost given
those vendors, and the wall time per decline is our own processing (engine + fakes).

Latency profiles (lognormal; no vendor publishes percentiles, so these are assumptions, stated
and configurable with --profile vendor=median_ms:p99_ms):
- Stripe API reads and writes 80 ms median, p99 250 ms; a card authorization (PaymentIntent
  confirm, invoice pay) 300 ms median, p99 800 ms: payment orchestrators target authorization
  under 300 ms with p99 at 2-3x p50 (orchestrasolutions.com/fast-api-response-payment-experience)
  and p95 under 800 ms (finantrix.com glossary, payment processing latency percentiles).
- NetSuite REST 600 ms median, p99 2,500 ms: SuiteTalk REST is the slow system of the four
  (governed concurrency, server-side scripts on records); no published figure found.
- Salesforce REST 150 ms median, p99 600 ms; Chargebee 250 ms median, p99 800 ms (assumed).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from harness.reference_merchant import ALTERNATE_KEY, NETSUITE_ACCOUNT, PRIMARY_KEY, AcmeWorld
from harness.reference_merchant import acme_settings as _acme_settings
from simulators.core.faults import FaultSpec, Match
from simulators.core.latency import Latency
from simulators.core.virtual_time import run

PROFILES: dict[str, tuple[float, float]] = {
    "stripe": (80, 250), "stripe_authorization": (300, 800), "netsuite": (600, 2500),
    "salesforce": (150, 600), "chargebee": (250, 800),
}
SOFT_EVERY = 2  # every 2nd decline is soft (recovered on the alternate MID), the rest hard


def _lognormal(median: float, p99: float) -> Latency:
    return Latency(kind="lognormal", median_ms=median, p99_ms=p99)


def apply_profiles(acme: AcmeWorld, profiles: dict[str, tuple[float, float]]) -> None:
    for vendor in ("stripe", "netsuite", "salesforce", "chargebee"):
        acme.world.fakes[vendor].latency = _lognormal(*profiles[vendor])
    stripe = acme.world.fakes["stripe"]
    extra = profiles["stripe_authorization"]
    base = profiles["stripe"]
    for path in ("/v1/payment_intents", "/v1/invoices/*/pay"):
        # the authorization's own latency on top of the API's (medians add up roughly)
        stripe.faults.add(FaultSpec(kind="latency", match=Match(method="POST", path=path),
                                    latency=_lognormal(max(extra[0] - base[0], 1),
                                                       max(extra[1] - base[1], 2))),
                          acme.world.clock.now())


async def _declines(mode: str, count: int, seed: int,
                    profiles: dict[str, tuple[float, float]]) -> dict[str, Any]:
    acme = AcmeWorld(seed=seed, settings=_acme_settings(mode=mode))
    outcomes: list[dict[str, Any]] = []
    wall = 0.0
    async with acme:
        for i in range(count):  # the merchant's data, before the vendors slow down
            email = f"customer{i}@example.com"
            await acme.state("netsuite", "an open invoice", {
                "customer_id": str(2000 + i), "company_name": f"Customer {i}", "email": email,
                "invoice_id": str(9000 + i), "amount": 20.0,
                "invoice_fields": {"custbody_stripe_invoice_id": _invoice(i)}}, NETSUITE_ACCOUNT)
            await acme.state("stripe", "a customer with a card that succeeds", {
                "customer_id": f"cus_BenchAlt{i:06d}", "email": email,
                "payment_method_id": f"pm_BenchAlt{i:06d}"}, ALTERNATE_KEY)
        await acme.settle()
        apply_profiles(acme, profiles)
        for i in range(count):
            code = "insufficient_funds" if i % SOFT_EVERY == 0 else "stolen_card"
            started = time.perf_counter()
            await acme.state("stripe", "a subscription with an open invoice whose payment "
                             "failed", {
                                 "customer_id": f"cus_Bench{i:06d}",
                                 "email": f"customer{i}@example.com",
                                 "payment_method_id": f"pm_Bench{i:06d}",
                                 "decline_code": code, "invoice_id": _invoice(i),
                                 "subscription_id": f"sub_Bench{i:06d}", "amount": 2000},
                             PRIMARY_KEY)
            await acme.settle()
            wall += time.perf_counter() - started
        outcomes = [o.to_dict() for o in acme.recovery.engine.recent]
    return {"outcomes": outcomes, "wall": wall}


def _invoice(i: int) -> str:
    return f"in_Bench{i:019d}"


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--declines", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="append", default=[],
                        help="vendor=median_ms:p99_ms, e.g. netsuite=400:1500")
    args = parser.parse_args(argv)
    profiles = dict(PROFILES)
    for item in args.profile:
        vendor, _, numbers = item.partition("=")
        median, _, p99 = numbers.partition(":")
        if vendor not in profiles or not median or not p99:
            parser.error(f"--profile {item!r}: use vendor=median_ms:p99_ms with vendor one of "
                         f"{', '.join(profiles)}")
        profiles[vendor] = (float(median), float(p99))
    print(f"decision latency, {args.declines} declines (half soft → alternate MID, half hard), "
          f"seed {args.seed}; profiles (median/p99 ms): "
          + ", ".join(f"{k} {m:g}/{p:g}" for k, (m, p) in profiles.items()))
    print(f"{'mode':8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'recovered':>9} {'wall ms/decline':>16}")
    for mode in ("naive", "cached"):
        result = run(_declines(mode, args.declines, args.seed, profiles))
        outcomes = result["outcomes"]
        if len(outcomes) != args.declines:
            print(f"{mode}: expected {args.declines} outcomes, got {len(outcomes)}; replay with "
                  f"python -m harness.decision_latency --declines {args.declines} "
                  f"--seed {args.seed}")
            return 1
        stats = percentiles([o["latency_ms"] for o in outcomes])
        recovered = sum(o["status"] == "recovered" for o in outcomes)
        print(f"{mode:8} {stats['p50']:8.0f} {stats['p95']:8.0f} {stats['p99']:8.0f} "
              f"{stats['max']:8.0f} {recovered:9d} "
              f"{result['wall'] * 1000 / args.declines:16.1f}")
    print("simulated time (vendor latency as drawn); SLA: p99 < 1000 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
