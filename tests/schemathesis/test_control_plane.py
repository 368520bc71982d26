"""Schemathesis against the control plane every fake shares (`/_sim/`, FastAPI's document,
published at `/_sim/openapi.json`), on the fake Chargebee with one declared tenant. A control
call may change what later calls see (a fault, latency, limits, the clock), so the fake is
reset (and the tenant declared again) after every call."""

from __future__ import annotations

from typing import Any

import httpx
import requests
from schemathesis import checks as st

from tests.schemathesis.profile import Profile
from tests.schemathesis.runner import Run, schema_of
from tests.schemathesis.test_components import component_error

POSITIVE = [st.not_a_server_error, st.status_code_conformance, st.content_type_conformance,
            st.response_schema_conformance, component_error]
NEGATIVE = [*POSITIVE, st.negative_data_rejection]


def test_control_plane(start_fake: Any, profile: Profile) -> None:
    fake = start_fake("chargebee")
    document = httpx.get(f"{fake.url}/_sim/openapi.json", timeout=60).json()
    document["paths"] = {p: i for p, i in document["paths"].items() if p.startswith("/_sim/")}
    client = httpx.Client(base_url=fake.url, timeout=10)

    tenant = "schemathesis-test"

    def reset() -> None:
        assert client.post("/_sim/reset", json={}).status_code == 200
        assert client.put(f"/_sim/tenants/{tenant}", json={}).status_code == 200

    reset()
    run = Run(fake.url, requests.Session(), profile, POSITIVE, NEGATIVE,
              known={"tenant_id": tenant}, after=reset)
    operations = run.all(schema_of(document, fake.url), profile.few_examples)
    client.close()
    assert len(operations) >= 25
    assert not run.failures, run.report()
    assert {200, 404, 422} <= set(run.statuses), run.statuses
