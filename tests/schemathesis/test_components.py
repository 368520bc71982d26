"""Schemathesis against the system under test's HTTP APIs: the recovery service and the sync
service (FastAPI apps; their documents are at /openapi.json), served by uvicorn on loopback in
front of real fakes, as `python -m components.recovery` serves them.

Positive cases must get no server error (a 502/503 only when a vendor the request needed
failed, which the fakes here never do), documented statuses, content types and bodies; negative
cases must be refused with a documented 4xx and the services' error body.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from schemathesis import checks as st
from schemathesis.checks import CheckContext

from components.recovery.service import RecoveryService
from components.sync.service import SyncService
from harness.reference_merchant import NETSUITE_ACCOUNT, SALESFORCE_ORG, SCHEMAS, acme_settings
from simulators.core.server import RunningServer, start_in_thread
from simulators.netsuite.vendor import DEMO_SETTINGS as NETSUITE_DEMO
from simulators.salesforce.vendor import DEMO_SETTINGS as SALESFORCE_DEMO
from tests.schemathesis.profile import Profile
from tests.schemathesis.runner import Run, schema_of


@schemathesis.check
def component_error(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """A 4xx is JSON naming what is wrong: `{"error": ...}` or FastAPI's `{"detail": ...}`."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and ({"error", "detail"} & set(body)), response.text[:300]
    return None


POSITIVE = [st.not_a_server_error, st.status_code_conformance, st.content_type_conformance,
            st.response_schema_conformance, component_error]
NEGATIVE = [st.not_a_server_error, st.status_code_conformance, st.content_type_conformance,
            st.response_schema_conformance, st.negative_data_rejection, component_error]


def _declare(url: str, tenant: str, settings: dict[str, Any], schema: str) -> None:
    import yaml

    response = httpx.put(f"{url}/_sim/tenants/{tenant}", timeout=10, json={
        "settings": settings, "schema": yaml.safe_load((SCHEMAS / schema).read_text())})
    assert response.status_code == 200, response.text


@pytest.fixture
def services(start_fake: Any, tmp_path: Path) -> Iterator[dict[str, RunningServer]]:
    stripe, netsuite, salesforce = (start_fake(v) for v in ("stripe", "netsuite", "salesforce"))
    _declare(netsuite.url, NETSUITE_ACCOUNT, NETSUITE_DEMO, "netsuite-recovery-fields.yaml")
    _declare(salesforce.url, SALESFORCE_ORG, SALESFORCE_DEMO, "salesforce-cpq.yaml")
    settings = acme_settings(store=f"sqlite:///{tmp_path / 'store.db'}",
                             stripe={"base_url": stripe.url},
                             netsuite={"base_url": netsuite.url},
                             salesforce={"base_url": salesforce.url})
    running = {"recovery": start_in_thread(RecoveryService(settings).app),
               "sync": start_in_thread(SyncService(settings).app)}
    yield running
    for server in running.values():
        server.stop()


@pytest.mark.parametrize("name", ["recovery", "sync"])
def test_component_api(services: dict[str, RunningServer], profile: Profile, name: str) -> None:
    url = services[name].url
    document = httpx.get(f"{url}/openapi.json", timeout=60).json()
    run = Run(url, requests.Session(), profile, POSITIVE, NEGATIVE,
              known={"invoice_key": "stripe:in_missing"})
    operations = run.all(schema_of(document, url))
    assert len(operations) >= 6
    assert not run.failures, run.report()
    assert 200 in run.statuses and 422 in run.statuses, run.statuses
