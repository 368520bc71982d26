"""Schemathesis smoke run over every operation of the fake Stripe's published OpenAPI: random
valid and invalid requests must never get a server error (a 5xx the fault engine didn't inject)."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

KEY = {"Authorization": "Bearer sk_test_schemathesis"}


def test_no_operation_answers_a_server_error(start_fake) -> None:
    fake = start_fake("stripe", seed=5)
    document = httpx.get(f"{fake.url}/_sim/openapi.json").json()
    document["paths"] = {p: v for p, v in document["paths"].items() if p.startswith("/v1/")}
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=fake.url)
    server_errors: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case) -> None:
            response = case.call(headers=KEY)
            if response.status_code >= 500:
                server_errors.append(f"{response.status_code} {case.as_curl_command(KEY)}")

        call()
    assert len(operations) > 50
    assert not server_errors, "\n".join(server_errors[:10])
