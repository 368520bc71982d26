"""The fake Stripe against Stripe's official OpenAPI spec.

Every response a test's fake serves is held to the spec by the `start_fake` fixture
(tests/support/conformance.py): 200s against the operation's 200 schema, errors against its
`error` schema, `$ref`s resolved in the spec, OpenAPI 3.0 `nullable` turned into type unions,
and objects closed (`additionalProperties: false`) so fields Stripe does not have are caught
too. Here: that the check catches what it should, and that the published document is the
official spec cut to what the fake serves.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx

from tests.support.conformance import problems as all_problems
from tests.support.conformance import stripe_spec
from tests.support.recording import Recorded

JSON = {"content-type": "application/json"}


def problems(method: str, path: str, status: int, body: Any) -> list[str]:
    return all_problems("stripe", Recorded(method, path, "", status, JSON,
                                           json.dumps(body).encode()))


def test_the_check_catches_a_broken_object(start_fake) -> None:
    fake = start_fake("stripe")
    headers = {"Authorization": "Bearer sk_test_conformance"}
    customer = httpx.post(f"{fake.url}/v1/customers", headers=headers,
                          data={"email": "v@example.com"}).json()
    assert problems("POST", "/v1/customers", 200, customer) == []
    broken = copy.deepcopy(customer)
    broken["livemode"] = "false"  # a string where Stripe sends a boolean
    del broken["created"]  # required
    broken["colour"] = "blue"  # not a customer field: only the official (closed) check sees it
    found = problems("POST", "/v1/customers", 200, broken)
    official = [f for f in found if "Stripe's official spec" in f.split("]")[0]]
    assert len(official) == 3 and len(found) == 3, found  # the open document misses `colour`
    assert any("PostCustomers) -> 200: $.livemode: 'false' is not of type 'boolean'" in f
               for f in official), official
    assert any("$.colour" in f or "'colour' was unexpected" in f for f in official), official
    error = httpx.get(f"{fake.url}/v1/customers/cus_x", headers=headers).json()
    assert problems("GET", "/v1/customers/cus_x", 404, error) == []
    assert problems("GET", "/v1/customers/cus_x", 404, {"error": {"message": "no type"}})
    unknown = httpx.get(f"{fake.url}/v1/nothing_here", headers=headers)
    assert unknown.status_code == 404
    assert problems("GET", "/v1/nothing_here", 404, unknown.json()) == []
    assert problems("GET", "/v1/nothing_here", 200, {}), "only errors answer unknown paths"


def test_published_openapi_is_the_official_spec_cut_to_what_is_served(start_fake) -> None:
    document = httpx.get(f"{start_fake('stripe').url}/_sim/openapi.json", timeout=60).json()
    paths = document["paths"]
    official = stripe_spec()["paths"]
    served, original = paths["/v1/payment_intents"]["post"], official["/v1/payment_intents"]["post"]
    assert served["operationId"] == original["operationId"] == "PostPaymentIntents"
    form = "application/x-www-form-urlencoded"
    assert (served["requestBody"]["content"][form]["schema"]["properties"].keys()
            == original["requestBody"]["content"][form]["schema"]["properties"].keys())
    assert set(paths["/v1/customers/{customer}"]) == {"get", "post", "delete"}
    assert "/v1/customers/search" not in paths and "post" not in paths["/v1/charges"]
    assert "/_sim/faults" in paths and "/_sim/clock/advance" in paths
    assert "payment_intent" in document["components"]["schemas"]
    assert "FaultSpec" in document["components"]["schemas"]
    assert '"nullable"' not in json.dumps(document)
