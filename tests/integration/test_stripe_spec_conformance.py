"""Every response the Stripe payments tests produce validates against Stripe's official OpenAPI
spec: 200s against the operation's 200 schema, errors against its `error` schema.

The payments SDK and raw-HTTP tests are re-run here against a fake whose responses are recorded
on the way out; each recorded response of an operation the spec knows is validated with
`jsonschema`, `$ref`s resolved in the spec, OpenAPI 3.0 `nullable` turned into type unions,
and objects closed (`additionalProperties: false`) so fields Stripe does not have are caught too.
"""

from __future__ import annotations

import copy
import gzip
import inspect
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from tests.integration import test_stripe_billing_sdk as billing_tests
from tests.integration import test_stripe_http_errors as http_tests
from tests.integration import test_stripe_payments_sdk as sdk_tests
from tests.support.recording import module_tests

SPEC = Path(__file__).parents[2] / "simulators" / "stripe" / "spec" / "openapi.spec3.json.gz"


# -- the official spec as JSON Schema --------------------------------------------------------
def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable` -> `null` in the type; objects closed."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def spec() -> dict[str, Any]:
    with gzip.open(SPEC, "rt", encoding="utf-8") as handle:
        return json.load(handle)


@cache
def components() -> dict[str, Any]:
    return to_json_schema(spec()["components"])


@cache
def templates() -> list[tuple[re.Pattern[str], str]]:
    """Spec paths as regexes, literal segments first (`/v1/customers/search` before `{id}`)."""
    paths = sorted(spec()["paths"], key=lambda p: (p.count("{"), p))
    return [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"), p)
            for p in paths]


def operation_of(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for pattern, template in templates():
        if pattern.match(path):
            operation = spec()["paths"][template].get(method.lower())
            return (template, operation) if operation else None
    return None


def response_schema(operation: dict[str, Any], status: int) -> dict[str, Any]:
    responses = operation["responses"]
    chosen = responses.get(str(status)) or responses["default"]
    schema = to_json_schema(chosen["content"]["application/json"]["schema"])
    return {**schema, "components": components()}


def problems(method: str, path: str, status: int, body: Any) -> list[str]:
    found = operation_of(method, path)
    assert found, f"{method} {path} is not an operation of the spec"
    validator = jsonschema.Draft202012Validator(response_schema(found[1], status))
    return [f"{method} {path} -> {status}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(body)]


# -- replaying the payments tests on a recording fake --------------------------------------------
def _run(test: Any, start: Any, receiver: Any) -> None:
    """Call a test function of the other modules with their fixtures built here."""
    names = inspect.signature(test).parameters
    fake = start("stripe") if {"fake", "api"} & set(names) else None
    client = None
    args: dict[str, Any] = {}
    for name in names:
        if name == "fake":
            args[name] = fake
        elif name == "start_fake":
            args[name] = start
        elif name == "receiver":
            args[name] = receiver
        elif name == "api":
            client = httpx.Client(base_url=fake.url, timeout=10,
                                  headers={"Authorization": f"Bearer {http_tests.KEY}"})
            args[name] = client
        else:
            raise AssertionError(f"no fixture {name} for {test.__name__}")
    try:
        test(**args)
    finally:
        if client is not None:
            client.close()


def test_every_recorded_response_matches_the_official_spec(start_recorded_fake,
                                                           receiver) -> None:
    start = start_recorded_fake
    for test in module_tests(sdk_tests) + module_tests(http_tests) + module_tests(billing_tests):
        receiver.received.clear()
        _run(test, start, receiver)
    seen = [r for r in start.seen if r.path.startswith("/v1/")]
    checked: set[tuple[str, str, int]] = set()
    failures: list[str] = []
    for response in seen:
        found = operation_of(response.method, response.path)
        if found is None:  # an unrecognized URL: no operation to hold it to
            assert response.status == 404
            continue
        failures += problems(response.method, response.path, response.status,
                             json.loads(response.body))
        checked.add((response.method, found[0], response.status))
    assert len(seen) > 100 and not failures, "\n".join(failures[:20])
    operations = {(m, p) for m, p, _ in checked}
    for expected in [("POST", "/v1/customers"), ("GET", "/v1/customers"),
                     ("GET", "/v1/customers/{customer}"), ("DELETE", "/v1/customers/{customer}"),
                     ("POST", "/v1/payment_methods/{payment_method}/attach"),
                     ("GET", "/v1/customers/{customer}/payment_methods"),
                     ("POST", "/v1/payment_intents"), ("GET", "/v1/payment_intents/{intent}"),
                     ("POST", "/v1/payment_intents/{intent}/confirm"),
                     ("POST", "/v1/payment_intents/{intent}/cancel"),
                     ("GET", "/v1/charges"), ("GET", "/v1/charges/{charge}"),
                     ("POST", "/v1/refunds"), ("GET", "/v1/events"),
                     ("POST", "/v1/webhook_endpoints"),
                     ("POST", "/v1/webhook_endpoints/{webhook_endpoint}"),
                     ("POST", "/v1/subscriptions"), ("GET", "/v1/invoices/{invoice}"),
                     ("POST", "/v1/invoices/{invoice}/pay"),
                     ("POST", "/v1/test_helpers/test_clocks/{test_clock}/advance")]:
        assert expected in operations, f"no response recorded for {expected}"
    statuses = {s for _, _, s in checked}
    assert {200, 400, 401, 402, 404, 409, 429} <= statuses


def test_the_check_catches_a_broken_object(start_fake) -> None:
    fake = start_fake("stripe")
    headers = {"Authorization": "Bearer sk_test_conformance"}
    customer = httpx.post(f"{fake.url}/v1/customers", headers=headers,
                          data={"email": "v@example.com"}).json()
    assert problems("POST", "/v1/customers", 200, customer) == []
    broken = copy.deepcopy(customer)
    broken["livemode"] = "false"  # a string where Stripe sends a boolean
    del broken["created"]  # required
    broken["colour"] = "blue"  # not a customer field
    found = problems("POST", "/v1/customers", 200, broken)
    assert len(found) == 3, found
    error = httpx.get(f"{fake.url}/v1/customers/cus_x", headers=headers).json()
    assert problems("GET", "/v1/customers/cus_x", 404, error) == []
    assert problems("GET", "/v1/customers/cus_x", 404, {"error": {"message": "no type"}})


def test_published_openapi_is_the_official_spec_cut_to_what_is_served(start_fake) -> None:
    document = httpx.get(f"{start_fake('stripe').url}/_sim/openapi.json").json()
    paths = document["paths"]
    official = spec()["paths"]
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

