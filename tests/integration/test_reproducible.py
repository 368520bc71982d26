"""Same seed, same requests, same outcomes: ids and fault draws replay exactly."""

from __future__ import annotations

import base64

import httpx

from tests.integration.test_faults_every_vendor import _salesforce_login


def _stripe_run(start_fake, seed: int) -> list:
    fake = start_fake("stripe", seed=seed)
    httpx.post(f"{fake.url}/_sim/faults", json={"kind": "http_error", "probability": 0.4,
                                                "match": {"path": "/v1/customers"}})
    key = {"Authorization": "Bearer sk_test_repro"}
    out = []
    for n in range(12):
        response = httpx.post(f"{fake.url}/v1/customers", data={"email": f"c{n}@x.io"},
                              headers=key)
        out.append(response.json().get("id") or response.status_code)
    return out


def test_stripe_ids_and_fault_draws_replay_from_the_seed(start_fake) -> None:
    first, again, other = (_stripe_run(start_fake, 21), _stripe_run(start_fake, 21),
                           _stripe_run(start_fake, 22))
    assert first == again and first != other
    assert 500 in first and any(isinstance(x, str) for x in first)


def test_chargebee_and_salesforce_ids_replay_from_the_seed(start_fake) -> None:
    def run(seed: int) -> list[str]:
        chargebee, salesforce = start_fake("chargebee", seed=seed), start_fake("salesforce",
                                                                              seed=seed)
        basic = {"Authorization": "Basic " + base64.b64encode(b"test_acme_demo_key:").decode()}
        ids = [httpx.post(f"{chargebee.url}/api/v2/customers", data={"first_name": "Ada"},
                          headers=basic).json()["customer"]["id"]]
        bearer = _salesforce_login(salesforce.url)
        ids.append(httpx.post(f"{salesforce.url}/services/data/v59.0/sobjects/Account",
                              json={"Name": "Acme"}, headers=bearer).json()["id"])
        return ids

    assert run(3) == run(3) != run(4)
