"""The fake Salesforce's published OpenAPI (`/_sim/openapi.json`) is true.

1. It is valid OpenAPI 3.1 and lists exactly the routes the app serves: the concrete routes by
   path and method, and every resource behind the `/services/data/{version}/...` catch-all.
2. Every response of every test's fake matches the document (checked by the `start_fake`
   fixture, tests/support/conformance.py): a documented operation and status, the content type,
   the required headers and, with `jsonschema`, the body; requests to undocumented resources
   may only get Salesforce's errors. Here: that the check catches what it should, and the
   operations the other tests do not reach.
3. Schemathesis against a live fake: tests/schemathesis/.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import httpx
import jsonschema
import pytest
import schemathesis
from fastapi.routing import APIRoute

from simulators.core.app import build_app
from simulators.core.control import control_router
from simulators.core.simulator import Simulator
from simulators.registry import create_vendor
from simulators.salesforce.vendor import DEMO_SETTINGS
from tests.conftest import Fake
from tests.support import conformance
from tests.support.recording import Recorded

V = "/services/data/v59.0"
METHODS = ("get", "post", "patch", "delete", "put")
SAMPLE = {"version": "v59.0", "sobject": "Account", "id": "0015g00000000AAAAA",
          "field": "Id", "value": "x", "queryLocator": "01g5g00000000AAAAA-200"}


def _app() -> Any:
    return build_app(Simulator(create_vendor("salesforce"), seed=0)).app


@cache
def document() -> dict[str, Any]:
    return _app().openapi()


def vendor_paths() -> dict[str, Any]:
    return {p: item for p, item in document()["paths"].items() if not p.startswith("/_sim")}


def problems(method: str, path: str, status: int, body: bytes,
             headers: Any) -> list[str]:
    """What the `start_fake` fixture finds wrong with a response (tests/support/conformance.py)."""
    lowered = {k.lower(): v for k, v in dict(headers).items()}
    return conformance.problems("salesforce", Recorded(method, path, "", status, lowered, body))


# -- 1. the document ----------------------------------------------------------------------------

def test_document_is_valid_openapi_and_lists_exactly_the_served_routes(start_fake) -> None:
    published = httpx.get(f"{start_fake('salesforce').url}/_sim/openapi.json", timeout=60).json()
    assert published == json.loads(json.dumps(document()))
    assert published["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(copy.deepcopy(published)).validate()
    for schema in published["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    broken = copy.deepcopy(published)
    broken["paths"]["/services/data/{version}/query"]["get"]["responses"] = "none"
    with pytest.raises(Exception, match="is not of type"):
        schemathesis.openapi.from_dict(broken).validate()

    operation_ids = [op["operationId"] for item in published["paths"].values()
                     for m, op in item.items() if m in METHODS]
    assert len(operation_ids) == len(set(operation_ids))

    # the app is these two routers (simulators/core/app.py)
    vendor_router = create_vendor("salesforce").router()
    routes = [r for r in vendor_router.routes + control_router().routes
              if isinstance(r, APIRoute)]
    documented = {p: {m for m in item if m in METHODS} for p, item in vendor_paths().items()}
    control = {r.path for r in routes if r.path.startswith("/_sim")}
    assert control == {p for p in published["paths"] if p.startswith("/_sim")}
    concrete = [r for r in routes if r.include_in_schema and not r.path.startswith("/_sim")]
    catch_alls = [r for r in routes if not r.include_in_schema]
    assert len(catch_alls) == 2
    for route in concrete:  # the explicit routes: same path, methods and operation id
        methods = {m.lower() for m in route.methods} - {"head"}
        assert documented.pop(route.path) == methods, route.path
        for method in methods:
            assert published["paths"][route.path][method]["operationId"] == route.operation_id
    for path, methods in documented.items():  # the rest is served by the catch-alls
        concrete_path = path.format(**SAMPLE)
        served = [r for r in catch_alls if r.path_regex.match(concrete_path)]
        assert served and methods <= {m.lower() for m in served[0].methods}, path
        assert path.startswith("/services/data/{version}")
    assert {"/services/data/{version}/sobjects/{sobject}/{id}",
            "/services/data/{version}/query/{queryLocator}",
            "/services/data/{version}/composite/sobjects"} <= set(documented)


# -- 2. conformance -----------------------------------------------------------------------------
# Every response of every test's fake is held to the document by the `start_fake` fixture.

@contextmanager
def _session(fake: Fake) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, trust_env=False) as client:
        form = {"grant_type": "client_credentials", "client_id": DEMO_SETTINGS["client_id"],
                "client_secret": DEMO_SETTINGS["client_secret"]}
        token = client.post("/services/oauth2/token", data=form)
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


def _tour(start: Any) -> None:
    """Operations the other tests do not reach (directly, not through a composite)."""
    with _session(start("salesforce", controlled_clock=True)) as client:
        assert client.get("/services/data").status_code == 200
        assert client.get(f"{V}/sobjects/Account").status_code == 200
        made = client.post(f"{V}/sobjects/Account", json={"Name": "Tour"}).json()["id"]
        assert client.get(f"{V}/sobjects/Account/Id/{made}").status_code == 200
        for n in range(201):
            client.post(f"{V}/sobjects/Contact", json={"LastName": f"c{n}"})
        page = client.get(f"{V}/queryAll", params={"q": "SELECT Id FROM Contact"},
                          headers={"Sforce-Query-Options": "batchSize=200"}).json()
        assert client.get(page["nextRecordsUrl"]).status_code == 200
        assert client.delete(f"{V}/sobjects/Account/Id/{made}").status_code == 204


def test_operations_the_other_tests_leave_out_conform(start_fake) -> None:
    _tour(start_fake)


def test_the_check_catches_broken_responses(start_fake) -> None:
    with _session(start_fake("salesforce")) as http:
        created = http.post(f"{V}/sobjects/Account", json={"Name": "Acme"})
        url = f"{V}/sobjects/Account/{created.json()['id']}"
        record = http.get(url)
        missing = http.get(f"{V}/sobjects/Account/0015g00000000ZZAAA")
    for response, method, path in ((created, "POST", f"{V}/sobjects/Account"),
                                   (record, "GET", url), (missing, "GET", missing.url.path)):
        assert problems(method, path, response.status_code, response.content,
                        dict(response.headers)) == []

    def check(method: str, path: str, status: int, body: Any,
              headers: dict[str, str] | None = None) -> list[str]:
        headers = headers or {"content-type": "application/json", "sforce-limit-info": "x",
                              "location": "x"}
        return problems(method, path, status, json.dumps(body).encode(), headers)

    broken = {**record.json(), "Name": {"first": "A"}}  # a field value is never an object
    del broken["attributes"]  # required
    assert len(check("GET", url, 200, broken)) == 2
    saved = {**created.json(), "success": "true", "colour": "blue"}  # wrong type, extra field
    assert len(check("POST", f"{V}/sobjects/Account", 201, saved)) == 2
    assert check("GET", url, 404, {"errorCode": "NOT_FOUND"})  # an object, not a list
    assert check("GET", url, 404, [{"message": "no code"}])
    [no_header] = check("GET", url, 200, record.json(), {"content-type": "application/json"})
    assert no_header.endswith("-> 200: required header Sforce-Limit-Info is missing")
    assert check("GET", url, 200, record.json(), {"content-type": "text/html"})
    assert check("POST", "/services/oauth2/token", 400, {"error": "invalid_grant"})
    assert check("PUT", url, 200, {})  # an undocumented method may only be refused
    assert check("GET", f"{V}/nothing", 200, {})  # as may an undocumented resource


# Schemathesis runs against a live fake: tests/schemathesis/ (positive, negative, stateful).
