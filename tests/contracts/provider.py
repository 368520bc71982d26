"""Provider side: each fake served on loopback as it is, its provider states set through its own
control plane, and Pact's verifier replaying the committed pacts (or a broker's) against it.

- `StateRelay` is the verifier's state-change URL. A state the fake names (GET /_sim/states) is
  set up by `POST /_sim/states`, and what it created goes back to the verifier, which fills the
  ids the fake chose into the request (provider-state generators). A state about the vendor's
  mood (rate limited, credentials expired, ...) is one of the fake's faults, `FAULT_STATES`: the
  answer is then the fake's own native error body. Teardown resets the fake.
- `Credentials` stands in for what a pact cannot carry: per-run secrets. NetSuite's OAuth 1.0a
  signature covers a nonce, a timestamp and the URL, and a Salesforce session is opened per run;
  so requests are re-signed, and the example session swapped for a live one, on their way in.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client
from pact import Verifier

from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.server import start_in_thread
from simulators.core.simulator import Simulator
from simulators.netsuite.vendor import DEMO_SETTINGS as NETSUITE_SETTINGS
from simulators.registry import create_vendor, load_schema
from simulators.salesforce.vendor import DEMO_ORG as SALESFORCE_ORG
from simulators.salesforce.vendor import DEMO_SETTINGS as SALESFORCE_SETTINGS
from tests.contracts.accounts import (
    CHARGEBEE_KEY,
    NETSUITE_ACCOUNT,
    NETSUITE_SCHEMA,
    NETSUITE_TBA,
    SALESFORCE_CLIENT,
    SALESFORCE_SCHEMA,
    SALESFORCE_SESSION,
    STRIPE_KEY,
)
from tests.contracts.pactfile import PACTS, ROOT

ASGI = Callable[..., Any]
SCHEMAS = ROOT / "scenarios" / "schemas"

# the tenant each provider's states are set up in (the one the consumer tests speak as)
TENANTS = {"stripe": STRIPE_KEY, "chargebee": CHARGEBEE_KEY, "netsuite": NETSUITE_ACCOUNT,
           "salesforce": SALESFORCE_ORG}

FAULT_STATES: dict[str, dict[str, Any]] = {
    "the account is rate limited": {"kind": "rate_limit", "retry_after": 1},
    "the account is at its concurrency limit": {"kind": "concurrency_limit", "limit": 0},
    "the API credentials have expired": {"kind": "auth_expired"},
    # the daily allocation counts REST API calls, not logins
    "the org has used its daily API requests": {"kind": "rate_limit",
                                                "match": {"path": "/services/data/*"}},
    # Stripe's answer to a second request under a key whose first is still running
    "a request with the same idempotency key is in flight": {
        "kind": "http_error", "status": 409, "code": "idempotency_key_in_use",
        "message": "There is currently another in-progress request using this Stripe token "
                   "(probably means you sent two requests with the same idempotency key). "
                   "Try again later."},
}


# states that are an earlier request, sent to the fake as a client would (its own idempotency
# records or notifications then follow): state -> what sends it, returning what it created
def _a_key_used_for_another_payment(fake: str) -> dict[str, Any]:
    answer = httpx.post(f"{fake}/v1/payment_intents", data={
        "amount": "999", "currency": "usd", "customer": "cus_PactOtherMid",
        "payment_method": "pm_PactOtherMid", "confirm": "true", "off_session": "true"},
        headers={"Authorization": f"Bearer {STRIPE_KEY}",
                 "Idempotency-Key": "recovery:stripe:in_1:1"})
    _ok(answer, "an idempotency key was used for another payment")
    return {}


def _a_payment_applied_to_the_invoice(fake: str) -> dict[str, Any]:
    answer = httpx.put(  # signed by `Credentials` on arrival, like any verifier request
        f"{fake}/services/rest/record/v1/customerPayment/eid:pact-payment-1",
        headers={"Authorization": "OAuth signed-on-arrival"}, json={
            "customer": {"id": "1001"}, "payment": 20.0, "memo": "paid by wire",
            "apply": {"items": [{"doc": {"id": "2001"}, "apply": True, "amount": 20.0}]}})
    _ok(answer, "a customer payment applied to the invoice")
    return {"payment_id": answer.headers["location"].rsplit("/", 1)[-1]}


PRIOR_REQUESTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "an idempotency key was used for another payment": _a_key_used_for_another_payment,
    "a customer payment applied to the invoice": _a_payment_applied_to_the_invoice,
}


def simulator(vendor: str) -> Simulator:
    """The fake with the contracts' tenants declared (so a reset keeps them)."""
    sim = Simulator(create_vendor(vendor), seed=1, clock=Clock.frozen())
    if vendor == "stripe":
        sim.tenants.declare(STRIPE_KEY, {})
    elif vendor == "chargebee":
        sim.tenants.declare(CHARGEBEE_KEY, {"api_key": CHARGEBEE_KEY})
    elif vendor == "netsuite":
        sim.tenants.declare(NETSUITE_ACCOUNT, dict(NETSUITE_SETTINGS),
                            load_schema(SCHEMAS / NETSUITE_SCHEMA))
    elif vendor == "salesforce":
        sim.tenants.declare(SALESFORCE_ORG, dict(SALESFORCE_SETTINGS),
                            load_schema(SCHEMAS / SALESFORCE_SCHEMA))
    sim.mark_started()
    return sim


# -- credentials ----------------------------------------------------------------------------------
class Credentials:
    """Re-signs NetSuite's OAuth 1.0a requests and opens a live Salesforce session for the
    example one; everything else passes as the verifier sent it."""

    def __init__(self, app: ASGI, vendor: str) -> None:
        self.app, self.vendor = app, vendor
        self.url = ""  # where the fake listens, once it does

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            auth = headers.get(b"authorization", b"").decode()
            if self.vendor == "netsuite" and auth.startswith("OAuth "):
                auth = _netsuite_signature(scope)
            elif self.vendor == "salesforce" and auth == f"Bearer {SALESFORCE_SESSION}":
                auth = f"Bearer {await self._salesforce_session()}"
            headers[b"authorization"] = auth.encode()
            scope = {**scope, "headers": [(k, v) for k, v in headers.items() if v]}
        await self.app(scope, receive, send)

    async def _salesforce_session(self) -> str:
        """A session opened over loopback like any client's (from a worker thread, so this
        server's loop stays free to answer it); a reset between interactions drops sessions."""
        answer = await asyncio.to_thread(httpx.post, f"{self.url}/services/oauth2/token", data={
            "grant_type": "client_credentials", **SALESFORCE_CLIENT})
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def _netsuite_signature(scope: dict[str, Any]) -> str:
    host = dict(scope["headers"]).get(b"host", b"").decode()
    query = scope.get("query_string", b"").decode()
    url = f"http://{host}{scope['path']}" + (f"?{query}" if query else "")
    client = Client(NETSUITE_TBA["consumer_key"], client_secret=NETSUITE_TBA["consumer_secret"],
                    resource_owner_key=NETSUITE_TBA["token_id"],
                    resource_owner_secret=NETSUITE_TBA["token_secret"], realm=NETSUITE_ACCOUNT,
                    signature_method=SIGNATURE_HMAC_SHA256)
    _, headers, _ = client.sign(url, scope["method"])
    return str(headers["Authorization"])


# -- provider states ------------------------------------------------------------------------------
class StateRelay:
    """The verifier's state-change URL, forwarding to one fake's control plane."""

    def __init__(self, fake_url: str, vendor: str) -> None:
        self.fake_url, self.vendor = fake_url, vendor
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                change = json.loads(self.rfile.read(int(self.headers["content-length"])))
                try:
                    status, answer = 200, relay.change(change)
                except StateFailed as failed:
                    status, answer = 500, {"error": str(failed)}
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/state"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def change(self, change: dict[str, Any]) -> dict[str, Any]:
        state, action = change.get("state") or "", change.get("action", "setup")
        params = change.get("params") or {}
        self.calls.append((state, action, params))
        control = f"{self.fake_url}/_sim"
        if not state:  # an interaction that needs no state: the fake as reset last time
            return {}
        if action == "teardown":
            _ok(httpx.post(f"{control}/reset", json={}), state)
            return {}
        if state in FAULT_STATES:
            _ok(httpx.post(f"{control}/faults", json=FAULT_STATES[state]), state)
            return {}
        if state in PRIOR_REQUESTS:
            return PRIOR_REQUESTS[state](self.fake_url)
        answer = httpx.post(f"{control}/states", json={
            "state": state, "params": params, "action": "setup",
            "tenant": TENANTS[self.vendor]})
        _ok(answer, state)
        return dict(answer.json()["created"])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class StateFailed(Exception):
    pass


def _ok(response: httpx.Response, state: str) -> None:
    if response.status_code >= 300:
        raise StateFailed(f"provider state {state!r}: the fake answered "
                          f"{response.status_code} {response.text}")


# -- serving and verifying ------------------------------------------------------------------------
@dataclass
class Served:
    vendor: str
    url: str
    sim: Simulator
    relay: StateRelay


@contextmanager
def serve(vendor: str, wrap: Callable[[ASGI], ASGI] | None = None) -> Iterator[Served]:
    """The fake on loopback (`wrap` puts something in front of it: see test_provider_breaks)."""
    sim = simulator(vendor)
    app: ASGI = build_app(sim)
    if wrap is not None:
        app = wrap(app)
    credentials = Credentials(app, vendor)
    server = start_in_thread(credentials)
    credentials.url = server.url
    relay = StateRelay(server.url, vendor)
    try:
        yield Served(vendor, server.url, sim, relay)
    finally:
        relay.stop()
        server.stop()


@dataclass
class Verification:
    passed: bool
    output: str
    results: dict[str, Any]


def pacts_for(provider: str) -> list[Path]:
    return sorted(PACTS.glob(f"*-{provider}.json"))


def verify(served: Served, provider: str | None = None, *,
           interaction: str | None = None) -> Verification:
    """Replay every committed pact with `provider` (or the broker's, see `broker`) against the
    fake; `interaction` limits it to one description."""
    provider = provider or served.vendor
    verifier = (Verifier(provider, host="127.0.0.1").add_transport(url=served.url)
                .state_handler(served.relay.url, teardown=True, body=True))
    _sources(verifier, provider)
    if interaction is not None:
        verifier.filter(interaction)
    return _run(verifier)


def verify_messages(provider: str,
                    producers: dict[str, Callable[[], dict[str, Any]]]) -> Verification:
    """Replay the message pacts of `provider`: each producer makes the fake emit the message
    and returns what it delivered."""
    verifier = Verifier(provider, host="127.0.0.1").message_handler(
        {name: (lambda make=make: make()) for name, make in producers.items()})
    _sources(verifier, provider)
    return _run(verifier)


def _sources(verifier: Verifier, provider: str) -> None:
    """The committed pacts, or a Pact Broker's when PACT_BROKER_BASE_URL is set (the verifier
    reads PACT_BROKER_TOKEN or PACT_BROKER_USERNAME/PASSWORD itself); with
    PACT_PUBLISH_RESULTS=1 the results go back to the broker under PACT_PROVIDER_VERSION."""
    if os.environ.get("PACT_BROKER_BASE_URL"):
        verifier.broker_source(os.environ["PACT_BROKER_BASE_URL"])
        if os.environ.get("PACT_PUBLISH_RESULTS") == "1":
            version = os.environ.get("PACT_PROVIDER_VERSION")
            if not version:
                raise RuntimeError("PACT_PUBLISH_RESULTS=1 needs PACT_PROVIDER_VERSION (e.g. the "
                                   "git commit) to publish verification results under")
            verifier.set_publish_options(version, branch=os.environ.get("PACT_PROVIDER_BRANCH"))
        return
    found = pacts_for(provider)
    if not found:
        raise RuntimeError(f"no pact in {PACTS} names the provider {provider!r}; run the "
                           "consumer tests first (`make pacts`)")
    for path in found:
        verifier.add_source(path)


def _run(verifier: Verifier) -> Verification:
    try:
        verifier.verify()
        passed = True
    except RuntimeError:
        passed = False
    return Verification(passed, verifier.output(strip_ansi=True), verifier.results)
