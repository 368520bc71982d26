"""Schemathesis against every fake: its vendor operations, described by the vendor's document.

Stripe is held to Stripe's official OpenAPI spec (2023-08-16, vendored), cut to the operations
the fake serves, with `Stripe-Version: 2023-08-16` sent. Chargebee, NetSuite and Salesforce are
held to the document each fake publishes at `/_sim/openapi.json` (Chargebee publishes no OpenAPI
spec in a package registry: see README.md). Positive cases must get no server error, a
documented status, content type, headers and body; negative cases must also be refused
(negative_data_rejection), and every 4xx must be the vendor's native error body.
"""

from __future__ import annotations

import copy
import gzip
import json
from typing import Any

import httpx
import pytest
from schemathesis import GenerationMode
from schemathesis import checks as st

from simulators.stripe.openapi import SPEC_FILE
from tests.schemathesis.profile import Profile
from tests.schemathesis.runner import Run, schema_of
from tests.schemathesis.vendors import STRIPE_VERSION, VENDORS, Vendor, native_error

METHODS = ("get", "post", "put", "patch", "delete")

# Operations exempt from negative_data_rejection, each with its reason: the document is stricter
# than anything known of the vendor (refusing would make the fake stricter than the vendor), or
# a known gap of the fake, noted for its owner. Every other check still applies to them (no 5xx,
# documented answers, native errors).
LENIENT: dict[str, dict[str, str]] = {
    "stripe": {},
    "chargebee": {},
    "netsuite": {},
    "salesforce": {
        # `allOrNone` in a DELETE's query: anything but "true" is false (Salesforce's answer
        # to another value is unsourced)
        "DELETE /services/data/{version}/composite/sobjects": "query flag",
        # a record without `attributes` is refused in its own result (success false), inside
        # the collection's 200, as Salesforce reports record-level errors
        "POST /services/data/{version}/composite/sobjects": "per-record errors",
        "PATCH /services/data/{version}/composite/sobjects": "per-record errors",
        # a subrequest missing its method, url or referenceId is answered in its own result
        # (found by the long profile); whether Salesforce refuses the whole request instead
        # is unsourced
        "POST /services/data/{version}/composite": "per-subrequest errors",
    },
}


def checks(vendor: Vendor) -> tuple[list[Any], list[Any]]:
    native = native_error(vendor)
    common = [st.not_a_server_error, st.status_code_conformance, st.content_type_conformance,
              st.response_schema_conformance, native]
    return ([*common, st.response_headers_conformance],
            [*common, st.negative_data_rejection])


# Header parameters left out of the runs. `Authorization`: the run authenticates every request
# itself (a mutated value would be overwritten, not sent). The others are optional hints whose
# malformed values the fakes ignore, as no source says the vendor refuses them.
UNGENERATED_HEADERS = {"authorization", "sforce-query-options", "chargebee-event-webhook",
                       "chargebee-idempotency-key"}


def vendor_document(document: dict[str, Any], vendor: Vendor) -> dict[str, Any]:
    """The vendor's operations, without the UNGENERATED_HEADERS."""
    doc = copy.deepcopy(document)
    doc["paths"] = {p: item for p, item in doc["paths"].items() if p.startswith(vendor.prefix)}
    shared = doc.get("components", {}).get("parameters", {})

    def generated(param: dict[str, Any]) -> bool:
        param = shared.get(param["$ref"].rsplit("/", 1)[-1], {}) if "$ref" in param else param
        return param.get("in") != "header" or param["name"].lower() not in UNGENERATED_HEADERS

    for item in doc["paths"].values():
        for holder in [item, *(op for m, op in item.items() if m in METHODS)]:
            if "parameters" in holder:
                holder["parameters"] = [p for p in holder["parameters"] if generated(p)]
    return doc


def official_stripe(published: dict[str, Any]) -> dict[str, Any]:
    """Stripe's official spec, cut to the (path, method)s the fake serves (operations of later
    API versions, absent from this spec, are left to the published document's runs). Its GET
    operations declare an empty form body (Stripe reads a GET's parameters from the query
    string only): those bodies are dropped, or every GET's negative cases would be bodies Stripe
    never reads."""
    with gzip.open(SPEC_FILE, "rt", encoding="utf-8") as handle:
        spec = json.load(handle)
    served = {(p, m) for p, item in published["paths"].items() if p.startswith("/v1/")
              for m in item if m in METHODS}
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if (path, method) in served:
                if method == "get":
                    operation.pop("requestBody", None)
                paths.setdefault(path, {})[method] = operation
    spec["paths"] = paths
    return spec


def fuzz(fake: Any, vendor: Vendor, document: dict[str, Any], profile: Profile,
         headers: dict[str, str] | None = None, examples: int | None = None) -> Run:
    session = vendor.session(fake.url)
    positive, negative = checks(vendor)
    run = Run(fake.url, session, profile, positive, negative,
              known=vendor.seed(fake.url, session), headers=headers or {})
    lenient = LENIENT[vendor.name]
    for operation in run.operations(schema_of(document, fake.url)):
        run.operation(operation, GenerationMode.POSITIVE, examples)
        if operation.label in lenient:
            run.negative = [c for c in negative if c is not st.negative_data_rejection]
        run.operation(operation, GenerationMode.NEGATIVE, examples)
        run.negative = negative
    return run


@pytest.mark.parametrize("name", ["chargebee", "netsuite", "salesforce"])
def test_published_document(start_fake: Any, profile: Profile, name: str) -> None:
    fake = start_fake(name)
    vendor = VENDORS[name]
    published = httpx.get(f"{fake.url}/_sim/openapi.json", timeout=60).json()
    run = fuzz(fake, vendor, vendor_document(published, vendor), profile)
    assert not run.failures, run.report()
    assert run.sent >= 10 * profile.examples
    assert {200, 400, 404} <= set(run.statuses), run.statuses  # reached past the refusals


def test_stripe_against_its_official_spec(start_fake: Any, profile: Profile) -> None:
    fake = start_fake("stripe")
    vendor = VENDORS["stripe"]
    published = httpx.get(f"{fake.url}/_sim/openapi.json", timeout=60).json()
    spec = official_stripe(published)
    assert len(spec["paths"]) > 30
    run = fuzz(fake, vendor, spec, profile, headers={"Stripe-Version": STRIPE_VERSION},
               examples=profile.few_examples)
    assert not run.failures, run.report()
    assert {200, 400, 404} <= set(run.statuses), run.statuses


def test_a_run_reports_what_it_finds(start_fake: Any, profile: Profile) -> None:
    """The run can fail: an injected 500 and a non-native error body are both reported."""
    fake = start_fake("chargebee")
    vendor = VENDORS["chargebee"]
    published = httpx.get(f"{fake.url}/_sim/openapi.json", timeout=60).json()
    schema = schema_of(vendor_document(published, vendor), fake.url)
    [listing] = [op.ok() for op in schema.get_all_operations()
                 if op.ok().label == "GET /api/v2/customers"]
    positive, _ = checks(vendor)
    run = Run(fake.url, vendor.session(fake.url), profile, positive, [])
    fault = {"kind": "http_error", "status": 500, "first_n": 1}
    assert httpx.post(f"{fake.url}/_sim/faults", json=fault).status_code == 201
    run.operation(listing, GenerationMode.POSITIVE, examples=3)
    assert len(run.failures) == 1 and "Server error" in run.failures[0], run.failures
    assert f"LANDSCAPE_SEED={profile.seed}" in run.report() and "replay: curl" in run.report()
    # Stripe's error shape is not Chargebee's
    stripe_like = native_error(VENDORS["stripe"])
    run = Run(fake.url, vendor.session(fake.url), profile, [stripe_like], [])
    run.operation(listing, GenerationMode.POSITIVE, examples=3)
    assert not run.failures  # 200s: nothing to judge
    del run.session.headers["Authorization"]  # anonymous: a 401
    run.operation(listing, GenerationMode.POSITIVE, examples=3)
    assert run.failures and "not stripe's native error" in run.failures[0], run.failures
