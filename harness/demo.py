"""`landscape demo`, the main job, and `landscape walkthrough`, the Stripe SDK tour.

The demo plays the headline scenario on the default topology (two merchants on Stripe Billing
with two MIDs, NetSuite and Salesforce CPQ): a decline storm through a NetSuite brownout with
duplicated and reordered webhooks, in-process on virtual time. It then plays it again with the
ERP read on the hot path (naive) to show what the sync's cache buys, prints what was proved and
writes the HTML report. Exit 0 only if every invariant held.

The walkthrough starts `landscape serve stripe` as a real process on a free loopback port,
then, with the `stripe` SDK pointed at it by base address only: charges a card, meets a
decline, survives a connection dropped after commit thanks to the idempotency key, receives a
signed webhook, and watches a renewal invoice fail and get retried as a test clock advances.
Each step prints what it saw; the exit code is 0 only if every step saw what a real Stripe
account would show.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import stripe
from rich.console import Console

from harness.processes import start_process, stop_process
from harness.receiver import start_receiver

DAY = 86400
DEMO_SCENARIO = "headline"


def run_demo(seed: int | None, console: Console, report_dir: Path) -> int:
    from harness.report import print_summary, write_html
    from harness.scenario_run import run_scenario

    console.rule("[bold]landscape demo[/bold]: a decline storm through a NetSuite brownout")
    console.print("Two merchants (acme, hooli) on Stripe Billing with a primary and an alternate "
                  "MID, NetSuite and Salesforce CPQ; the reference recovery engine and sync "
                  "service beside them; everything in this process on virtual time.")
    started = time.perf_counter()
    result = run_scenario(DEMO_SCENARIO, seed=seed, say=console.print)
    console.print("again with the ERP read on the hot path (naive), for comparison …")
    naive = run_scenario(DEMO_SCENARIO, seed=seed, mode="naive")
    result["latency"]["naive"] = naive["latency"]["naive"]
    result["latency_percentiles"]["naive"] = naive["latency_percentiles"]["naive"]
    result["replay"] = "landscape demo" + (f" --seed {seed}" if seed is not None else "")
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "result.json").write_text(json.dumps(result, indent=1, default=str))
    html = write_html(result, report_dir / "report.html")
    print_summary(result, console)
    totals = {k: sum(m[k] for m in result["merchants"].values())
              for k in ("declines", "decisions", "recovered", "double_charges", "drift_found",
                        "drift_repaired")}
    cached, slow = (result["latency_percentiles"][k] for k in ("cached", "naive"))
    console.print(
        f"[bold]What was proved[/bold] (seed {result['seed']}): {totals['declines']} failed "
        f"renewals, {totals['decisions']} decided, {totals['recovered']} recovered, "
        f"{totals['double_charges']} double charges; drift found {totals['drift_found']}, "
        f"repaired {totals['drift_repaired']}; decision latency p50/p95/p99 "
        f"{cached['p50']:.0f}/{cached['p95']:.0f}/{cached['p99']:.0f} ms cached against "
        f"{slow['p50']:.0f}/{slow['p95']:.0f}/{slow['p99']:.0f} ms naive "
        f"(SLA {result['sla_ms']:.0f} ms); ground truth read from the fakes.")
    console.print(f"report: {html}  ·  {time.perf_counter() - started:.1f} s")
    return 0 if result["passed"] else 1


def run_stripe_walkthrough(seed: int, console: Console) -> int:
    fake = start_process([sys.executable, "-m", "harness.cli", "serve", "stripe", "--port", "0",
                          "--seed", str(seed)])
    receiver = start_receiver()
    failures = 0

    def step(title: str, action: Callable[[], str]) -> None:
        nonlocal failures
        try:
            console.print(f"[green]✓[/green] {title}: {action()}")
        except Exception as exc:  # a demo step that fails is reported, and the demo goes on
            failures += 1
            console.print(f"[red]✗[/red] {title}: {type(exc).__name__}: {exc}")

    try:
        console.print(f"[bold]fake Stripe[/bold] at {fake.url} (seed {seed}); the official "
                      f"stripe SDK {stripe.VERSION} talks to it by base address only\n")
        client = stripe.StripeClient("sk_test_demo_merchant", base_addresses={"api": fake.url},
                                     max_network_retries=2)
        state: dict = {}

        def webhook_endpoint() -> str:
            endpoint = client.v1.webhook_endpoints.create(params={
                "url": receiver.url, "enabled_events": [
                    "payment_intent.succeeded", "payment_intent.payment_failed",
                    "invoice.payment_failed", "invoice.paid"]})
            state["secret"] = endpoint.secret
            return f"{endpoint.id} → {receiver.url}"

        def charge() -> str:
            customer = client.v1.customers.create(params={"email": "ada@example.com"})
            client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
            state["customer"] = customer.id
            intent = client.v1.payment_intents.create(params={
                "amount": 4900, "currency": "usd", "customer": customer.id,
                "payment_method": "pm_card_visa", "confirm": True, "off_session": True})
            assert intent.status == "succeeded", intent.status
            return f"{intent.id} {intent.status}, charge {intent.latest_charge}"

        def decline() -> str:
            try:
                client.v1.payment_intents.create(params={
                    "amount": 4900, "currency": "usd", "customer": state["customer"],
                    "payment_method": "pm_card_visa_chargeDeclinedInsufficientFunds",
                    "confirm": True, "off_session": True})
            except stripe.CardError as exc:
                assert exc.code == "card_declined"
                return f"CardError code={exc.code} decline_code={exc.error.decline_code}"
            raise AssertionError("the declining card was charged")

        def dropped_after_commit() -> str:
            httpx.post(f"{fake.url}/_sim/faults", json={
                "kind": "drop_after", "first_n": 1,
                "match": {"method": "POST", "path": "/v1/payment_intents"}})
            before = len(client.v1.payment_intents.list(params={"limit": 100}).data)
            intent = client.v1.payment_intents.create(params={
                "amount": 1500, "currency": "usd", "payment_method": "pm_card_visa",
                "confirm": True})
            after = len(client.v1.payment_intents.list(params={"limit": 100}).data)
            journal = httpx.get(f"{fake.url}/_sim/journal/requests",
                                params={"path": "/v1/payment_intents", "method": "POST"}).json()
            outcomes = [e["outcome"] + (" (replayed)" if e.get("replayed") else "")
                        for e in journal[-2:]]
            assert after - before == 1, (before, after)
            return (f"SDK retried with the same Idempotency-Key → one PaymentIntent "
                    f"({intent.id}); fake saw: {', '.join(outcomes)}")

        def signed_webhook() -> str:
            received = receiver.wait_for(1)
            assert received, "no webhook arrived"
            first = received[0]
            event = stripe.Webhook.construct_event(first.body.decode(),
                                                   first.headers["Stripe-Signature"],
                                                   state["secret"])
            return f"{len(received)} deliveries; first {event.type} verified by construct_event"

        def renewal_retries() -> str:
            clock = client.v1.test_helpers.test_clocks.create(params={
                "frozen_time": int(time.time())})
            customer = client.v1.customers.create(params={"test_clock": clock.id})

            def make_default(token: str) -> None:
                method = client.v1.payment_methods.attach(token, params={"customer": customer.id})
                client.v1.customers.update(customer.id, params={
                    "invoice_settings": {"default_payment_method": method.id}})

            make_default("pm_card_visa")  # the first invoice is paid ...
            price = client.v1.prices.create(params={
                "unit_amount": 2900, "currency": "usd", "recurring": {"interval": "month"},
                "product_data": {"name": "Pro plan"}})
            subscription = client.v1.subscriptions.create(params={
                "customer": customer.id, "items": [{"price": price.id}]})
            trail = [f"created {subscription.status}"]
            make_default("pm_card_chargeCustomerFail")  # ... then the card starts failing
            frozen = clock.frozen_time
            for days in (32, 4, 6, 8):
                frozen += days * DAY
                client.v1.test_helpers.test_clocks.advance(clock.id,
                                                           params={"frozen_time": frozen})
                subscription = client.v1.subscriptions.retrieve(subscription.id)
                invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
                trail.append(f"+{days}d: sub {subscription.status}, invoice {invoice.status} "
                             f"attempts={invoice.attempt_count}")
            assert invoice.attempt_count >= 2, trail
            return "; ".join(trail)

        step("webhook endpoint", webhook_endpoint)
        step("charge a card", charge)
        step("decline", decline)
        step("connection dropped after commit", dropped_after_commit)
        step("signed webhook", signed_webhook)
        step("renewal fails and is retried on the test clock", renewal_retries)
    finally:
        receiver.stop()
        stop_process(fake)
    console.print(f"\n{'all steps passed' if not failures else f'{failures} step(s) failed'}; "
                  f"replay with: landscape demo --seed {seed}")
    return 1 if failures else 0
