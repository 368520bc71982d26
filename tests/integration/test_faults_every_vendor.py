"""Every engine fault kind on every fake, answered in that vendor's own error format."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest


@dataclass
class Recipe:
    login: Callable[[str], dict[str, str]]  # fake url -> headers of an authenticated request
    path: str  # an authenticated read
    native: Callable[[Any], bool]  # is this body the vendor's error format?


def _stripe_login(url: str) -> dict[str, str]:
    return {"Authorization": "Bearer sk_test_matrix"}


def _chargebee_login(url: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(b"test_acme_demo_key:").decode()}


def _netsuite_login(url: str) -> dict[str, str]:
    token = httpx.post(f"{url}/services/rest/auth/oauth2/v1/token",
                       data={"grant_type": "client_credentials"},
                       auth=("demo-client-id", "demo-client-secret"))
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _salesforce_login(url: str) -> dict[str, str]:
    token = httpx.post(f"{url}/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": "3MVG9landscape.demo.consumer.key",
        "client_secret": "demo-consumer-secret"})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


RECIPES = {
    "stripe": Recipe(_stripe_login, "/v1/customers",
                     lambda b: isinstance(b, dict) and "type" in b.get("error", {})),
    "chargebee": Recipe(_chargebee_login, "/api/v2/customers",
                        lambda b: isinstance(b, dict) and "api_error_code" in b
                        and "http_status_code" in b),
    "netsuite": Recipe(_netsuite_login, "/services/rest/record/v1/customer",
                       lambda b: isinstance(b, dict) and "o:errorCode" in
                       b.get("o:errorDetails", [{}])[0]),
    "salesforce": Recipe(_salesforce_login, "/services/data/v59.0/sobjects/Account",
                         lambda b: isinstance(b, list) and "errorCode" in b[0]),
}
ERROR_FAULTS = [
    ({"kind": "http_error", "status": 500}, 500),
    ({"kind": "http_error", "status": 503}, 503),
    ({"kind": "brownout", "window_end": 60}, 503),
    ({"kind": "rate_limit", "retry_after": 3}, None),  # the vendor decides: 429 or 403
    ({"kind": "auth_expired"}, 401),
]


@pytest.fixture(params=list(RECIPES))
def vendor_fake(request, start_fake) -> tuple[str, Any, dict[str, str]]:
    fake = start_fake(request.param)
    return request.param, fake, RECIPES[request.param].login(fake.url)


def fault(fake, **spec) -> None:
    assert httpx.post(f"{fake.url}/_sim/faults", json=spec).status_code == 201


def read(fake, recipe: Recipe, headers: dict[str, str], timeout: float = 5) -> httpx.Response:
    return httpx.get(f"{fake.url}{recipe.path}", headers=headers, timeout=timeout)


@pytest.mark.parametrize("spec,status", ERROR_FAULTS, ids=[f[0]["kind"] + str(f[0].get("status",
                                                                                      ""))
                                                            for f in ERROR_FAULTS])
def test_error_faults_answer_natively(vendor_fake, spec, status) -> None:
    name, fake, headers = vendor_fake
    recipe = RECIPES[name]
    assert read(fake, recipe, headers).status_code == 200
    fault(fake, **spec, match={"path": recipe.path})
    response = read(fake, recipe, headers)
    assert response.status_code == (status or response.status_code)
    assert response.status_code >= 400 and recipe.native(response.json()), response.text
    if spec["kind"] == "rate_limit":
        assert response.status_code in (403, 429)


def test_concurrency_limit_answers_natively(vendor_fake) -> None:
    name, fake, headers = vendor_fake
    recipe = RECIPES[name]
    # the first request holds its slot for a second: time enough, on a busy machine, for the
    # other two to arrive while it is held (they start together at the barrier)
    fault(fake, kind="latency", latency={"kind": "fixed", "ms": 1000},
          match={"path": recipe.path})
    fault(fake, kind="concurrency_limit", limit=1, match={"path": recipe.path})
    results: list[httpx.Response] = []
    together = threading.Barrier(3)

    def send() -> None:
        together.wait()
        results.append(read(fake, recipe, headers))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rejected = [r for r in results if r.status_code != 200]
    assert len(rejected) == 2 and all(recipe.native(r.json()) for r in rejected)


def test_transport_faults(vendor_fake) -> None:
    name, fake, headers = vendor_fake
    recipe = RECIPES[name]
    for kind in ("drop_before", "drop_after"):
        fault(fake, kind=kind, first_n=1, match={"path": recipe.path})
        with pytest.raises(httpx.TransportError):
            read(fake, recipe, headers)
    fault(fake, kind="truncate", first_n=1, match={"path": recipe.path})
    with pytest.raises(httpx.TransportError):
        read(fake, recipe, headers)
    fault(fake, kind="hang", seconds=1, first_n=1, match={"path": recipe.path})
    with pytest.raises(httpx.ReadTimeout):
        read(fake, recipe, headers, timeout=0.2)
    fault(fake, kind="slow_body", chunk_delay_ms=20, first_n=1, match={"path": recipe.path})
    fault(fake, kind="latency", latency={"kind": "fixed", "ms": 100}, first_n=1,
          match={"path": recipe.path})
    started = time.perf_counter()
    assert read(fake, recipe, headers).status_code == 200
    assert time.perf_counter() - started >= 0.1
