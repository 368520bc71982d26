"""Locust users for `landscape bench` (harness/bench.py runs them: one user class per flow,
against a fake started as a real process; the credentials are the fakes' demo tenants, passed in
LANDSCAPE_BENCH as JSON)."""

import base64
import itertools
import json
import os

from locust import FastHttpUser, constant, task
from oauthlib.oauth1 import Client as OAuth1Client

_SETTINGS = json.loads(os.environ.get("LANDSCAPE_BENCH", "{}"))
_counter = itertools.count()
STRIPE = {"Authorization": "Bearer sk_test_bench",
           "Content-Type": "application/x-www-form-urlencoded"}
CHARGEBEE = {"Authorization": "Basic "
             + base64.b64encode(f"{_SETTINGS.get('chargebee_key', '')}:".encode()).decode(),
              "Content-Type": "application/x-www-form-urlencoded"}
NETSUITE = _SETTINGS.get("netsuite", {})
SALESFORCE = _SETTINGS.get("salesforce", {})
SF = _SETTINGS.get("salesforce_api", "")


class TrivialUser(FastHttpUser):
    """The floor: one async JSON endpoint on the same uvicorn server setup, no pipeline."""

    wait_time = constant(0)

    @task
    def ping(self):
        self.client.get("/ping", name="GET /ping")


class StripeCustomerUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def create_and_retrieve(self):
        n = next(_counter)
        with self.client.post("/v1/customers", data=f"email=c{n}%40example.com&metadata[n]={n}",
                              headers=STRIPE, name="POST /v1/customers",
                              catch_response=True) as response:
            customer = response.json()["id"] if response.status_code == 200 else None
        if customer:
            self.client.get(f"/v1/customers/{customer}", headers=STRIPE,
                            name="GET /v1/customers/{id}")


class StripePaymentIntentUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def create_and_confirm(self):
        with self.client.post("/v1/payment_intents", headers=STRIPE,
                              data="amount=2000&currency=usd&payment_method=pm_card_visa",
                              name="POST /v1/payment_intents", catch_response=True) as response:
            intent = response.json()["id"] if response.status_code == 200 else None
        if intent:
            self.client.post(f"/v1/payment_intents/{intent}/confirm", headers=STRIPE, data="",
                             name="POST /v1/payment_intents/{id}/confirm")


class ChargebeeCustomerUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def create_and_retrieve(self):
        n = next(_counter)
        with self.client.post("/api/v2/customers", headers=CHARGEBEE,
                              data=f"email=c{n}%40example.com&first_name=Bench{n}",
                              name="POST /api/v2/customers", catch_response=True) as response:
            customer = (response.json()["customer"]["id"] if response.status_code == 200
                        else None)
        if customer:
            self.client.get(f"/api/v2/customers/{customer}", headers=CHARGEBEE,
                            name="GET /api/v2/customers/{id}")


class NetSuiteCustomerUser(FastHttpUser):
    """Token-based auth: every request signed with OAuth 1.0a (HMAC-SHA256), fresh nonce."""

    wait_time = constant(0)

    def on_start(self):
        self.oauth = OAuth1Client(NETSUITE["consumer_key"], NETSUITE["consumer_secret"],
                                  NETSUITE["token_id"], NETSUITE["token_secret"],
                                  signature_method="HMAC-SHA256", realm=NETSUITE["account"])

    def signed(self, method, path):
        _, headers, _ = self.oauth.sign(self.host + path, method, None,
                                        {"Content-Type": "application/json"})
        return headers

    @task
    def create_and_get(self):
        n = next(_counter)
        path = "/services/rest/record/v1/customer"
        body = json.dumps({"companyName": f"Bench {n}", "email": f"c{n}@example.com"})
        with self.client.post(path, data=body, headers=self.signed("POST", path),
                              name="POST /record/v1/customer", catch_response=True) as response:
            location = response.headers.get("Location") if response.status_code == 204 else None
        if location:
            record = path + "/" + location.rsplit("/", 1)[1]
            self.client.get(record, headers=self.signed("GET", record),
                            name="GET /record/v1/customer/{id}")


class SalesforceAccountUser(FastHttpUser):
    """OAuth client credentials once per user (not measured), then create + GET an Account."""

    wait_time = constant(0)

    def on_start(self):
        with self.client.post("/services/oauth2/token", data={
                "grant_type": "client_credentials", "client_id": SALESFORCE["client_id"],
                "client_secret": SALESFORCE["client_secret"]},
                name="POST /services/oauth2/token", catch_response=True) as response:
            token = response.json()["access_token"]
        self.auth = {"Authorization": f"Bearer {token}"}

    @task
    def create_and_get(self):
        n = next(_counter)
        with self.client.post(f"{SF}/sobjects/Account", json={"Name": f"Bench {n}"},
                              headers=self.auth, name="POST /sobjects/Account",
                              catch_response=True) as response:
            account = response.json()["id"] if response.status_code == 201 else None
        if account:
            self.client.get(f"{SF}/sobjects/Account/{account}", headers=self.auth,
                            name="GET /sobjects/Account/{id}")
