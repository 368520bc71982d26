"""Hostile input over the in-process landscape: every fake answers it in its own format, with a
4xx (a 500 only where the fake itself fails), promptly, and without holding a body it refused."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request

from simulators import registry
from simulators.chargebee.vendor import DEMO_KEY
from simulators.core.limits import DEFAULT_MAX_BODY_BYTES, Limits
from simulators.core.pipeline import Pipeline
from simulators.core.virtual_time import run
from simulators.landscape import Landscape
from simulators.netsuite.vendor import DEMO_SETTINGS as NETSUITE
from simulators.salesforce.vendor import DEMO_SETTINGS as SALESFORCE

FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}
VENDORS = ("stripe", "chargebee", "netsuite", "salesforce")
# a create endpoint of each fake, and how its JSON fakes say the JSON was bad
CREATE = {"stripe": "/v1/customers", "chargebee": "/api/v2/customers",
          "netsuite": "/services/rest/record/v1/customer",
          "salesforce": "/services/data/v59.0/sobjects/Account"}
FORM_VENDORS = ("stripe", "chargebee")
Scenario = Callable[[Landscape, httpx.AsyncClient], Awaitable[Any]]


async def _credentials(world: Landscape, http: httpx.AsyncClient, vendor: str) -> dict[str, str]:
    """The Authorization header of each fake's demo tenant (tokens fetched in-process)."""
    if vendor == "stripe":
        return {"authorization": "Bearer sk_test_hostile"}
    if vendor == "chargebee":
        return {"authorization": "Basic " + base64.b64encode(f"{DEMO_KEY}:".encode()).decode()}
    if vendor == "netsuite":
        token = await http.post(world.url("netsuite") + "/services/rest/auth/oauth2/v1/token",
                                data={"grant_type": "client_credentials"},
                                auth=(NETSUITE["client_id"], NETSUITE["client_secret"]))
    else:
        token = await http.post(world.url("salesforce") + "/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": SALESFORCE["client_id"],
            "client_secret": SALESFORCE["client_secret"]})
    return {"authorization": f"Bearer {token.json()['access_token']}"}


def _in_landscape(scenario: Scenario, vendors: tuple[str, ...] = VENDORS) -> Any:
    async def main() -> Any:
        world = Landscape(vendors, seed=11)
        async with world, world.client() as http:
            return await scenario(world, http)
    return run(main())


async def _post(world: Landscape, http: httpx.AsyncClient, vendor: str, content: Any,
                headers: dict[str, str], path: str | None = None) -> httpx.Response:
    auth = await _credentials(world, http, vendor)
    return await http.post(world.url(vendor) + (path or CREATE[vendor]), content=content,
                           headers={**headers, **auth})


def _is_native(vendor: str, response: httpx.Response, status: int) -> dict[str, Any]:
    """The vendor's own error body (not a server's plain text); its one error detail."""
    assert response.status_code == status, response.text[:300]
    body = response.json()
    if vendor == "stripe":
        assert body["error"]["type"] in ("invalid_request_error", "api_error")
        return dict(body["error"])
    if vendor == "chargebee":
        assert body["http_status_code"] == status and body["api_error_code"]
        return dict(body)
    if vendor == "netsuite":
        assert body["status"] == status
        return dict(body["o:errorDetails"][0])
    [error] = body
    assert error["errorCode"]
    return dict(error)


# -- forms ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("vendor", FORM_VENDORS)
def test_twenty_thousand_repeated_pairs_are_answered_promptly(vendor: str) -> None:
    body = "&".join(["expand[]=customer"] * 20_000)

    async def scenario(world: Landscape, http: httpx.AsyncClient) -> tuple[float, Any]:
        started = time.perf_counter()
        response = await _post(world, http, vendor, body, FORM)
        return time.perf_counter() - started, response

    seconds, response = _in_landscape(scenario, (vendor,))
    print(f"\n{vendor}: 20,000 expand[] pairs answered {response.status_code} in {seconds:.3f}s")
    if response.status_code != 200:
        _is_native(vendor, response, 400)


LONG = "9" * 5000
# a 5,000-digit number where each fake reads an integer (Stripe's amount, Chargebee's net term)
LONG_NUMBER = {"stripe": ("/v1/payment_intents", f"amount={LONG}&currency=usd"),
               "chargebee": (None, f"net_term_days={LONG}")}


@pytest.mark.parametrize("vendor", FORM_VENDORS)
@pytest.mark.parametrize("case", ["deep-key", "long-index", "long-index-last", "long-number"])
def test_hostile_forms_get_the_vendors_400(vendor: str, case: str) -> None:
    path, body = {"deep-key": (None, "metadata" + "[a]" * 500 + "=1"),
                  "long-index": (None, f"expand[{LONG}]=x"),
                  "long-index-last": (None, f"a[x][{LONG}]=x"),  # Chargebee's style
                  "long-number": LONG_NUMBER[vendor]}[case]

    async def scenario(world: Landscape, http: httpx.AsyncClient) -> httpx.Response:
        return await _post(world, http, vendor, body, FORM, path)

    _is_native(vendor, _in_landscape(scenario, (vendor,)), 400)


# -- JSON -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("vendor", ["chargebee", "netsuite", "salesforce"])
@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"companyName": "x", "Name": "x", "balance": ' + "9" * 5000 + "}",
], ids=["100000-deep", "5000-digits"])
def test_hostile_json_gets_the_vendors_400(vendor: str, body: str) -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> httpx.Response:
        return await _post(world, http, vendor, body, JSON)

    error = _is_native(vendor, _in_landscape(scenario, (vendor,)), 400)
    code = {"chargebee": "api_error_code", "netsuite": "o:errorCode",
            "salesforce": "errorCode"}[vendor]
    assert error[code] == {"chargebee": "invalid_request", "netsuite": "INVALID_CONTENT",
                           "salesforce": "JSON_PARSER_ERROR"}[vendor]


def test_deep_json_with_an_idempotency_key_gets_stripes_own_body() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> httpx.Response:
        return await _post(world, http, "stripe", "[" * 100_000 + "]" * 100_000,
                           {**JSON, "idempotency-key": "deep-1"})

    response = _in_landscape(scenario, ("stripe",))
    # the idempotency fingerprint takes the body as opaque bytes; the fake refuses it in its
    # own format (it once crashed there with a plain-text 500)
    _is_native("stripe", response, 400)
    assert response.status_code == 400
    assert response.headers["request-id"]


# -- body size ------------------------------------------------------------------------------------
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_streamed_body_over_the_limit_is_refused_unread(
        vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    handled: list[str] = []
    original = Pipeline._run_handler

    async def counting(self: Pipeline, *args: Any) -> Any:
        handled.append(self.vendor.name)
        return await original(self, *args)

    monkeypatch.setattr(Pipeline, "_run_handler", counting)
    chunk, chunks = b"x" * 65_536, 200 * 16  # 200 MiB, streamed without a Content-Length
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(chunks):
            pulled += 1
            yield chunk

    async def scenario(world: Landscape, http: httpx.AsyncClient) -> httpx.Response:
        headers = {**JSON, **await _credentials(world, http, vendor)}
        handled.clear()  # the token requests ran handlers; the big body must not
        return await http.post(world.url(vendor) + CREATE[vendor], content=body(),
                               headers=headers)

    response = _in_landscape(scenario, (vendor,))
    _is_native(vendor, response, 413)
    # stopped at the limit: the vendor's documented one (NetSuite's 104 MB), else the default
    limit = registry.vendor_class(vendor).errors.max_body_bytes or DEFAULT_MAX_BODY_BYTES
    assert pulled <= limit // len(chunk) + 1
    assert handled == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_declared_length_over_the_configured_limit_is_refused(vendor: str) -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> httpx.Response:
        world.fakes[vendor].limits = Limits(max_body_bytes=1000)
        fine = await _post(world, http, vendor, json.dumps({"x": "y" * 900}), JSON)
        assert fine.status_code != 413
        return await _post(world, http, vendor, json.dumps({"x": "y" * 1000}), JSON)

    _is_native(vendor, _in_landscape(scenario, (vendor,)), 413)


# -- the fake's own failures ----------------------------------------------------------------------
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_failing_handler_gets_the_vendors_500_with_the_request_id(
        vendor: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    cls = registry.vendor_class(vendor)
    original = cls.router

    def router(self: Any) -> APIRouter:
        routes = original(self)

        @routes.post(CREATE[vendor].removeprefix(routes.prefix) + "/boom")
        async def boom(request: Request) -> None:
            raise RuntimeError("a bug in the fake")
        routes.routes.insert(0, routes.routes.pop())  # before the vendor's `{id}` routes
        return routes

    monkeypatch.setattr(cls, "router", router)

    async def scenario(world: Landscape, http: httpx.AsyncClient) -> tuple[Any, str]:
        response = await _post(world, http, vendor, "{}", JSON, CREATE[vendor] + "/boom")
        [entry] = world.fakes[vendor].journal.entries(path=CREATE[vendor] + "/boom")
        return response, entry["request_id"]

    response, request_id = _in_landscape(scenario, (vendor,))
    _is_native(vendor, response, 500)
    assert request_id in response.text
    [logged] = [r for r in caplog.records if r.name == "landscape.pipeline"]
    assert logged.exc_info is not None and request_id in logged.getMessage()


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_failure_outside_the_handler_gets_the_vendors_500(
        vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any) -> None:
        raise RuntimeError("a bug in the fake")

    async def scenario(world: Landscape, http: httpx.AsyncClient) -> httpx.Response:
        headers = {**JSON, **await _credentials(world, http, vendor)}
        monkeypatch.setattr(world.fakes[vendor].vendor, "enforce_limits", fail)
        return await http.post(world.url(vendor) + CREATE[vendor], content="{}",
                               headers=headers)

    response = _in_landscape(scenario, (vendor,))
    _is_native(vendor, response, 500)
    assert "Error ID: req_" in response.text


def test_an_overflowing_price_decimal_gets_stripes_400() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> httpx.Response:
        return await _post(world, http, "stripe",
                           "currency=usd&unit_amount_decimal=1e400&product_data[name]=P",
                           FORM, "/v1/prices")

    response = _in_landscape(scenario, ("stripe",))
    error = _is_native("stripe", response, 400)
    assert error["param"] == "unit_amount_decimal"
