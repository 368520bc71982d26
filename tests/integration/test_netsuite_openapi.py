"""The fake NetSuite's published OpenAPI document (`/_sim/openapi.json`) is valid and lists exactly
the routes the fake serves (tests/schemathesis/ runs Schemathesis against a live fake). That it
is true of every response the tests see is checked on every test's fake by the `start_fake`
fixture (tests/support/conformance.py); here, that the check catches what it should.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

import jsonschema
import requests
import schemathesis
from fastapi.routing import APIRoute

from simulators.core.app import build_app
from simulators.core.control import control_router
from simulators.core.simulator import Simulator
from simulators.registry import create_vendor
from tests.integration import test_netsuite_http as http_tests
from tests.support import conformance
from tests.support.recording import Recorded

VENDOR_PREFIX = "/services/"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"


@cache
def document() -> dict[str, Any]:
    sim = Simulator(create_vendor("netsuite"), seed=0)
    return build_app(sim).app.openapi()


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


# -- 1. valid, and exactly the served routes ------------------------------------------------------
def test_document_is_valid_openapi_and_lists_exactly_the_served_routes() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(copy.deepcopy(doc)).validate()  # raises on an invalid doc
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    routes = [*create_vendor("netsuite").router().routes,
              *(r for r in control_router().routes if getattr(r, "include_in_schema", False))]
    served = {(_shape(r.path), m.lower()) for r in routes if isinstance(r, APIRoute)
              for m in r.methods if m != "HEAD"}
    documented = {(_shape(p), m) for p, item in doc["paths"].items() for m in item
                  if m in ("get", "post", "put", "patch", "delete")}
    assert documented == served
    vendor = {p for p, _ in documented if p.startswith(VENDOR_PREFIX)}
    assert len(vendor) == 7 and _shape(TOKEN_PATH) in vendor  # hidden from FastAPI, documented
    ids = [op["operationId"] for item in doc["paths"].values() for m, op in item.items()
           if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids))
    schemes = doc["components"]["securitySchemes"]
    assert schemes["tba"]["scheme"] == "OAuth" and schemes["oauth2"]["scheme"] == "bearer"
    one = doc["paths"]["/services/rest/record/v1/{recordType}/{id}"]
    record_type = one["parameters"][0]["schema"]["anyOf"]
    assert record_type[0]["enum"] == ["customer", "invoice", "customerPayment", "currency"]
    assert one["patch"]["responses"]["204"]["headers"]["Location"]["required"] is True
    assert "/_sim/faults" in doc["paths"] and "FaultSpec" in doc["components"]["schemas"]


# -- 2. conformance ------------------------------------------------------------------------------
# Every response of every test's fake is held to the document by the `start_fake` fixture.
def problems(method: str, path: str, status: int, body: bytes,
             headers: dict[str, str]) -> list[str]:
    """What the `start_fake` fixture finds wrong with a response (tests/support/conformance.py)."""
    return conformance.problems("netsuite", Recorded(method, path, "", status, headers, body))


def test_the_check_catches_broken_responses(start_fake: Any) -> None:
    fake = start_fake("netsuite")
    session = requests.Session()
    session.auth = http_tests.tba()
    url = f"{fake.url}/services/rest/record/v1/customer"
    created = session.post(url, json={"companyName": "Conformance", "creditLimit": 10})
    location = created.headers["Location"]
    path = location[len(fake.url):]
    got = session.get(location)
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert problems("GET", path, 200, got.content, headers) == []
    assert problems("POST", url[len(fake.url):], 204, b"", {"location": location}) == []
    broken = got.json()
    broken["creditLimit"] = "10"  # a string where NetSuite sends a number
    broken["colour"] = "blue"  # not a customer field (custom fields start with cust…)
    del broken["links"]  # required
    found = problems("GET", path, 200, json.dumps(broken).encode(), headers)
    assert len(found) == 3 and any("colour" in f for f in found), found
    assert problems("POST", url[len(fake.url):], 204, b"", {}) == [
        f"[published document] POST {url[len(fake.url):]} (createRecord) -> 204: required "
        "header Location is missing"]
    missing = session.get(f"{url}/999")
    error_headers = {k.lower(): v for k, v in missing.headers.items()}
    assert problems("GET", f"{path[:path.rfind('/')]}/999", 404, missing.content,
                    error_headers) == []
    not_netsuite = json.dumps({"error": {"message": "no"}}).encode()
    assert problems("GET", path, 404, not_netsuite, error_headers)
    assert problems("GET", path, 200, got.content, {"content-type": "text/html"})
    # a record is held to its own type's schema: a customer is not an invoice
    invoice = path.replace("/customer/", "/invoice/")
    assert problems("GET", invoice, 200, got.content, headers)
    # a path the document lacks may only get NetSuite's error
    assert problems("GET", "/services/rest/nothing", 404, missing.content, error_headers) == []
    assert problems("GET", "/services/rest/nothing", 200, got.content, headers)


def test_values_that_broke_reads_are_refused(start_fake: Any) -> None:
    """Bugs the document checks found: NaN/Infinity were stored (every later read answered 500),
    select values and `null`s were echoed raw, so responses broke the record schemas."""
    fake = start_fake("netsuite")
    session = requests.Session()
    session.auth = http_tests.tba()
    record = f"{fake.url}/services/rest/record/v1"
    cid = session.post(f"{record}/customer", json={"companyName": "N"}).headers["Location"]
    for kind, body in (
            ("customer", {"companyName": "x", "creditLimit": "nan"}),
            ("customer", {"companyName": "x", "emailPreference": {"foo": [1]}}),
            ("invoice", {"entity": {"id": "1"}, "item": {"items": [
                {"item": "1", "quantity": 1e300, "rate": 1e300}]}}),
            ("invoice", {"entity": {"id": "1"}, "item": {"items": [
                {"item": "1", "amount": 5, "description": {"a": 1}}]}}),
            ("customerPayment", {"customer": {"id": "1"}, "payment": "Infinity"})):
        refused = session.post(f"{record}/{kind}", json=body)
        assert refused.status_code == 400, (body, refused.text)
    literal = session.post(f"{record}/customer", data=b'{"companyName": "x", "creditLimit": NaN}',
                           headers={"Content-Type": "application/json"})
    assert literal.status_code == 400
    kept = session.post(f"{record}/customer", json={"companyName": "y", "email": None,
                                                    "emailPreference": "_default"})
    got = session.get(kept.headers["Location"]).json()
    assert "email" not in got and got["emailPreference"] == {"id": "_default"}
    assert session.get(cid).status_code == 200
    assert session.get(f"{record}/customer").json()["totalResults"] == 2


# Schemathesis runs against a live fake: tests/schemathesis/ (positive, negative, stateful).
