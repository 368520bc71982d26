"""Locust users for `landscape bench stripe`: a trivial endpoint and two fake-Stripe flows.

Each user class is one measured flow; the benchmark runs them one at a time, headless, against
127.0.0.1 (see harness/bench.py).
"""

from __future__ import annotations

import itertools

from locust import FastHttpUser, constant, task

KEY = {"Authorization": "Bearer sk_test_bench", "Content-Type": "application/x-www-form-urlencoded"}
_counter = itertools.count()


class TrivialUser(FastHttpUser):
    """The floor: one async JSON endpoint on the same uvicorn server setup, no pipeline."""

    wait_time = constant(0)

    @task
    def ping(self) -> None:
        self.client.get("/ping", name="trivial GET /ping")


class CustomerUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def create_and_retrieve(self) -> None:
        n = next(_counter)
        with self.client.post("/v1/customers", data=f"email=c{n}%40example.com&metadata[n]={n}",
                              headers=KEY, name="POST /v1/customers",
                              catch_response=True) as response:
            customer = response.json()["id"] if response.status_code == 200 else None
        if customer:
            self.client.get(f"/v1/customers/{customer}", headers=KEY,
                            name="GET /v1/customers/{id}")


class PaymentIntentUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def create_and_confirm(self) -> None:
        with self.client.post("/v1/payment_intents", headers=KEY,
                              data="amount=2000&currency=usd&payment_method=pm_card_visa",
                              name="POST /v1/payment_intents", catch_response=True) as response:
            intent = response.json()["id"] if response.status_code == 200 else None
        if intent:
            self.client.post(f"/v1/payment_intents/{intent}/confirm", headers=KEY, data="",
                             name="POST /v1/payment_intents/{id}/confirm")
