"""Stateful Schemathesis runs: chains of calls where one answer feeds the next (create a customer,
then read, update, subscribe and delete it), over the links Schemathesis infers from each
vendor's document (`schema.as_state_machine()`). Every scenario starts from a fresh fake:
`setup()` resets it (`POST /_sim/reset`) and recreates the known objects, so a scenario replays
exactly (without the reset, generated inputs that depend on earlier answers drift and
Hypothesis reports inconsistent data generation).

Besides the per-response checks, `use_after_free` (a deleted object still answers) and
`ensure_resource_availability` (a created object is not found) judge the chains.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis.core
import pytest
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks as st

from tests.schemathesis.profile import Profile
from tests.schemathesis.runner import HTTP_LAYER_REFUSAL, schema_of
from tests.schemathesis.test_fakes import official_stripe, vendor_document
from tests.schemathesis.vendors import STRIPE_VERSION, VENDORS, Vendor, native_error


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Hypothesis draws the scenarios from `seed` (what pytest's --hypothesis-seed sets)."""
    before = hypothesis.core.global_force_seed
    hypothesis.core.global_force_seed = seed
    try:
        yield
    finally:
        hypothesis.core.global_force_seed = before


COLLECTION_READ = re.compile(r"/composite/sobjects/[^/]+$")
# Stripe's DELETE of a subscription cancels it: the canceled subscription is still read with 200
# (docs.stripe.com/api/subscriptions/cancel returns it, `status: canceled`), not a use after free
CANCELLED_NOT_DELETED = re.compile(r"^/v1/subscriptions/[^/]+$")

# path parameters a generator can guess without a link (an API version, a type name)
NOT_IDS = {"version", "sobject", "recordType", "targetType", "field"}


def machine(schema: Any, url: str, vendor: Vendor, headers: dict[str, str]) -> Any:
    checks = [st.not_a_server_error, st.status_code_conformance, st.content_type_conformance,
              st.response_schema_conformance, native_error(vendor), st.use_after_free,
              st.ensure_resource_availability]

    class Chains(schema.as_state_machine()):  # type: ignore[misc]
        calls = 0
        linked = 0  # 2xx answers addressed by an id: one an earlier answer gave (a link)

        def setup(self) -> None:
            reset = httpx.post(f"{url}/_sim/reset", json={}, timeout=10)
            assert reset.status_code == 200, reset.text
            self.session = vendor.session(url)  # a reset ends the sessions too
            vendor.seed(url, self.session)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": url, "session": self.session, "headers": headers,
                    "allow_redirects": False}

        def validate_response(self, response: Any, case: Any,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            type(self).calls += 1
            addressed = set(case.path_parameters or {}) - NOT_IDS
            if response.status_code < 300 and addressed:
                type(self).linked += 1
            if response.status_code == 400 and response.content == HTTP_LAYER_REFUSAL:
                return  # see runner.HTTP_LAYER_REFUSAL
            judged = checks
            if COLLECTION_READ.search(case.path) or CANCELLED_NOT_DELETED.match(case.path):
                # Salesforce's SObject Collections read answers 200 with `null` in the place of
                # a record it does not find (deleted or never made): not a use after free
                judged = [c for c in checks if c is not st.use_after_free]
            case.validate_response(response, checks=judged, recorder=self.recorder)

    return Chains


@pytest.mark.parametrize("name", ["stripe", "chargebee", "netsuite", "salesforce"])
def test_linked_operations(start_fake: Any, profile: Profile, name: str) -> None:
    fake = start_fake(name)
    vendor = VENDORS[name]
    published = httpx.get(f"{fake.url}/_sim/openapi.json", timeout=60).json()
    headers = {"Stripe-Version": STRIPE_VERSION} if name == "stripe" else {}
    document = official_stripe(published) if name == "stripe" else vendor_document(published,
                                                                                  vendor)
    if name == "salesforce":
        # a generator cannot guess an org's sObjects and their required fields: chains work on
        # Accounts, created with a Name (the document describes any sObject's record)
        document["components"]["parameters"]["sobject"]["schema"]["enum"] = ["Account"]
        document["components"]["schemas"]["RecordInput"] = {
            "type": "object", "required": ["Name"], "additionalProperties": False,
            "properties": {"Name": {"type": "string", "minLength": 1, "maxLength": 80}}}
    schema = schema_of(document, fake.url)
    # the chains authenticate with the vendor's session, not with generated credentials
    schema.config.generation.update(with_security_parameters=False)
    Chains = machine(schema, fake.url, vendor, headers)
    run = settings(max_examples=profile.stateful_examples,
                   stateful_step_count=profile.stateful_steps, deadline=None, database=None,
                   derandomize=False, phases=[Phase.generate, Phase.shrink],
                   suppress_health_check=list(HealthCheck))
    try:
        with seeded(profile.seed):
            Chains.run(settings=run)
    except BaseException as failure:
        raise AssertionError(f"seed {profile.seed}; replay: {profile.replay}") from failure
    assert Chains.calls >= profile.stateful_examples  # the chains ran
    assert Chains.linked > 0, "no chain reached an object an earlier call created"
