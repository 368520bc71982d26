"""The fake Chargebee's published OpenAPI document (`simulators/chargebee/openapi.py`) is valid,
lists exactly the routes the fake serves (tests/schemathesis/ runs Schemathesis against a live
fake). That it describes every response the tests see (successes and native errors) is
checked on every test's fake by the `start_fake` fixture; here, that the check catches what it
should, and the operations the other tests leave out."""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

import httpx
import jsonschema
import pytest
import schemathesis
from fastapi.routing import APIRoute

from simulators.chargebee.vendor import DEMO_KEY
from simulators.core.app import build_app
from simulators.core.control import control_router
from simulators.core.simulator import Simulator
from simulators.registry import create_vendor
from tests.integration import test_chargebee_http as http_tests
from tests.support import conformance
from tests.support.recording import Recorded

PREFIX = "/api/v2"
JSON = {"content-type": "application/json"}
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{DEMO_KEY}:".encode()).decode()}


def document() -> dict[str, Any]:
    sim = Simulator(create_vendor("chargebee"), seed=0)
    return build_app(sim).app.openapi()


def served_routes() -> set[tuple[str, str]]:
    """The routes `build_app` includes: the vendor's router and the control plane's."""
    routers = [create_vendor("chargebee").router(), control_router()]
    return {(method, route.path) for router in routers for route in router.routes
            if isinstance(route, APIRoute) for method in route.methods if method != "HEAD"}


def shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def problems(method: str, path: str, status: int, body: Any) -> list[str]:
    """What the `start_fake` fixture finds wrong with a response (tests/support/conformance.py)."""
    return conformance.problems("chargebee", Recorded(method, path, "", status, JSON,
                                                      json.dumps(body).encode()))


# -- 1. the document ------------------------------------------------------------------------------
def test_document_is_valid_openapi_and_lists_exactly_the_served_routes() -> None:
    doc = document()
    schemathesis.openapi.from_dict(doc).validate()  # the OpenAPI 3.1 meta-schema
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    documented = {(method.upper(), shape(path)) for path, item in doc["paths"].items()
                  for method in item if method in ("get", "post", "put", "delete", "patch")}
    served = {(method, shape(path)) for method, path in served_routes()}
    assert documented == served, (documented ^ served)
    vendor = {(m, p) for m, p in served if p.startswith(PREFIX)}
    assert len(vendor) == 37 and ("POST", "/api/v2/customers/{}/subscription_for_items") in vendor
    operation_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert doc["components"]["securitySchemes"]["basicAuth"] == {
        **doc["components"]["securitySchemes"]["basicAuth"], "type": "http", "scheme": "basic"}
    create = doc["paths"]["/api/v2/customers/{customer_id}/subscription_for_items"]["post"]
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert "subscription_items[item_price_id][0]" in form["required"]
    assert "^cf_[a-z0-9_]+$" in form["patternProperties"]
    assert {"400", "401", "404", "429", "500", "503"} <= set(create["responses"])
    broken = copy.deepcopy(doc)
    broken["paths"]["/api/v2/customers"]["get"]["responses"]["200"]["description"] = 7
    with pytest.raises(Exception):  # noqa: B017 - jsonschema_rs's ValidationError
        schemathesis.openapi.from_dict(broken).validate()


# -- 2. conformance ------------------------------------------------------------------------------
# Every response of every test's fake is held to the document by the `start_fake` fixture.
def _tour(site: http_tests.Site) -> None:
    """The operations the Chargebee tests leave out, with a filter, a sort and paging."""
    http_tests.catalog(site)
    customer = http_tests.customer_with(site, http_tests.GOOD)
    http_tests.subscribe(site, customer)
    source = site.get("/payment_sources", **{"customer_id[is]": customer}).json()
    source_id = source["list"][0]["payment_source"]["id"]
    gets = [f"/payment_sources/{source_id}", f"/customers/{customer}/subscriptions",
            "/item_families/cloud", "/items/pro", "/item_prices/pro-USD"]
    for path in gets:
        assert site.get(path).status_code == 200, path
    for path in ("/item_families", "/items", "/item_prices"):
        page = site.get(path, limit="1", **{"sort_by[asc]": "id"}).json()
        assert site.get(path, offset=page.get("next_offset", "")).status_code == 200
    endpoint = site.post("/webhook_endpoints", {"name": "ops", "url": "http://127.0.0.1:9/h",
                                                "enabled_events[0]": "customer_created"})
    endpoint_id = endpoint.json()["webhook_endpoint"]["id"]
    assert site.get("/webhook_endpoints").status_code == 200
    assert site.get(f"/webhook_endpoints/{endpoint_id}").status_code == 200
    assert site.post(f"/webhook_endpoints/{endpoint_id}", {"disabled": "true"}).status_code == 200
    assert site.post(f"/webhook_endpoints/{endpoint_id}/delete").status_code == 200


def test_operations_the_other_tests_leave_out_conform(start_fake) -> None:
    fake = start_fake("chargebee")
    _tour(http_tests.Site(fake, DEMO_KEY))


def test_the_check_catches_a_broken_body(start_fake) -> None:
    fake = start_fake("chargebee")
    client = httpx.Client(base_url=f"{fake.url}{PREFIX}", headers=AUTH)
    created = client.post("/customers", data={"first_name": "Ada", "card[number]":
                                              "4111111111111111", "card[expiry_month]": "1",
                                              "card[expiry_year]": "2099"}).json()
    assert problems("POST", f"{PREFIX}/customers", 200, created) == []
    broken = copy.deepcopy(created)
    broken["customer"]["net_term_days"] = "0"  # a string where Chargebee sends an integer
    del broken["customer"]["created_at"]  # required
    broken["customer"]["colour"] = "blue"  # not a customer field
    broken["card"]["object"] = "payment_source"  # the wrong object marker
    found = problems("POST", f"{PREFIX}/customers", 200, broken)
    sdk = [problem for problem in found if problem.startswith("[SDK types]")]
    assert len(found) - len(sdk) == 4 and len(sdk) == 4, found  # the document; the SDK's types
    custom = copy.deepcopy(created)
    custom["customer"]["cf_segment"] = "SMB"  # a site's custom field: described generically
    assert problems("POST", f"{PREFIX}/customers", 200, custom) == []
    listed = client.get("/customers").json()
    assert problems("GET", f"{PREFIX}/customers", 200, listed) == []
    assert problems("GET", f"{PREFIX}/customers", 200, {"list": [created["customer"]]})
    error = client.get("/customers/nobody").json()
    assert problems("GET", f"{PREFIX}/customers/nobody", 404, error) == []
    assert problems("GET", f"{PREFIX}/customers/nobody", 404,
                            {"error": {"message": "Stripe's shape"}})
    client.close()


@pytest.mark.parametrize("method,path,data,param", [
    ("POST", "/customers", {"card[number]": "4111111111111111", "card[expiry_month]": "1",
                            "card[expiry_year]": "0"}, "card[expiry_year]"),
    ("POST", "/item_prices", {"id": "p2", "name": "P", "item_id": "pro", "period": "100000",
                              "period_unit": "year"}, "period"),
    ("POST", "/item_prices", {"id": "p3", "name": "P", "item_id": "pro", "price": "-5"},
     "price"),
    ("GET", "/customers", {"created_at[between]": "[1]"}, "created_at[between]"),
    ("POST", "/customers", {"first_name[x]": "1"}, "first_name"),
    ("POST", "/customers", {"meta_data": "[1]"}, "meta_data"),
    ("POST", "/customers", {"billing_address[city][x]": "1"}, "billing_address[city]"),
    ("POST", "/customers/smoke/subscription_for_items", {
        "subscription_items[item_price_id][0]": "pro-USD",
        "subscription_items[quantity][0]": "-1"}, "subscription_items[quantity][0]"),
])
def test_inputs_that_crashed_the_fake_are_native_400s(start_fake, method, path, data,
                                                      param) -> None:
    """Found while writing the document: 500s, or stored as malformed objects (a dict for
    first_name, a negative quantity). Each is now Chargebee's 400 naming the parameter."""
    fake = start_fake("chargebee")
    with httpx.Client(base_url=f"{fake.url}{PREFIX}", headers=AUTH) as client:
        http_tests.catalog(http_tests.Site(fake, DEMO_KEY))
        client.post("/customers", data={"id": "smoke"})
        response = (client.post(path, data=data) if method == "POST"
                    else client.get(path, params=data))
    assert response.status_code == 400, response.text
    assert response.json()["param"] == param  # and the fixture checks the body's shape


def test_paging_a_list_sorted_by_name(start_fake) -> None:
    fake = start_fake("chargebee")
    site = http_tests.Site(fake, DEMO_KEY)
    http_tests.catalog(site)
    assert site.post("/items", {"id": "basic", "name": "Basic", "type": "plan",
                                "item_family_id": "cloud"}).status_code == 200
    first = site.get("/items", limit="1", **{"sort_by[asc]": "name"}).json()
    second = site.get("/items", limit="1", offset=first["next_offset"],
                      **{"sort_by[asc]": "name"}).json()  # a 400 before: offsets were floats
    assert [e["item"]["id"] for e in first["list"] + second["list"]] == ["basic", "pro"]
    assert "next_offset" not in second


# Schemathesis runs against a live fake: tests/schemathesis/ (positive, negative, stateful).
