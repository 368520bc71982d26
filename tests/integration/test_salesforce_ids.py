"""Salesforce record ids are unique across orgs, as real ones are (simulators/salesforce/ids.py):
the 15/18-char forms, key prefixes and case checksum stay; ids a provider state gives stay too."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from simulators.client import ControlClient
from simulators.core.tenancy import Tenant
from simulators.salesforce import ids

V = "/services/data/v59.0"
ORGS = {ids.org_id(name): {"client_id": f"3MVG9{name}", "client_secret": f"{name}-secret"}
        for name in ("ALPHA", "BRAVO")}


@contextmanager
def login(url: str, settings: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, trust_env=False) as client:
        token = client.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", **settings}).json()["access_token"]
        client.headers["authorization"] = f"Bearer {token}"
        yield client


def create(client: httpx.Client, sobject: str, body: dict[str, Any]) -> str:
    response = client.post(f"{V}/sobjects/{sobject}", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_two_orgs_in_one_fake_never_issue_the_same_id(start_fake) -> None:
    fake = start_fake("salesforce", controlled_clock=True)
    with ControlClient(fake.url) as control:
        for org, settings in ORGS.items():
            control.declare_tenant(org, settings)
    made: dict[str, list[str]] = {}
    for org, settings in ORGS.items():
        with login(fake.url, settings) as sf:
            accounts = [create(sf, "Account", {"Name": f"Acme {i}"}) for i in range(3)]
            contact = create(sf, "Contact", {"LastName": "Ada", "AccountId": accounts[0]})
            made[org] = [*accounts, contact]
    first, second = made.values()
    assert not set(first) & set(second)
    assert not {i[:15].lower() for i in first} & {i[:15].lower() for i in second}
    for record_id in first + second:
        assert len(record_id) == 18 and ids.normalize(record_id) == record_id
        assert ids.to18(record_id[:15]) == record_id  # the case checksum
    assert {ids.prefix(i) for i in first} == {"001", "003"}


def test_ids_differ_across_many_orgs_and_follow_the_format() -> None:
    orgs = [Tenant(ids.org_id(f"ORG{n}"), "salesforce") for n in range(200)]
    first = [ids.new_id(org, "001") for org in orgs]
    assert len(set(first)) == len(orgs)
    assert all(i.startswith("0015g") and ids.normalize(i) == i for i in first)
    # a tenant named by something other than an org id, or with an org_id setting
    named = Tenant("acme", "salesforce")
    configured = Tenant("acme", "salesforce", settings={"org_id": ids.org_id("ALPHA")})
    assert ids.new_id(named, "001") != ids.new_id(configured, "001")
    assert ids.org_tag(configured) == ids.org_tag(Tenant(ids.org_id("ALPHA"), "salesforce"))


def test_reserving_an_id_of_this_orgs_shape_moves_its_sequence_past_it() -> None:
    org = Tenant(ids.org_id("ALPHA"), "salesforce")
    next_one = ids.to18("001" + ids.RECORD_POD + ids.org_tag(org) + "000001")
    ids.reserve(org, next_one)
    assert ids.new_id(org, "001") != next_one
    other = Tenant(ids.org_id("BRAVO"), "salesforce")
    ids.reserve(other, next_one)  # another org's id: no gap in this org's sequence
    assert other.counters.get("id:001") is None


def test_provider_states_keep_the_ids_they_give(start_fake) -> None:
    fake = start_fake("salesforce", controlled_clock=True)
    account = ids.to18("001Ab0000000Xyz")
    with ControlClient(fake.url) as control:
        for org, settings in ORGS.items():
            control.declare_tenant(org, settings)
            made = control.set_state("an account", {"account_id": account}, tenant=org)
            assert made.created == {"account_id": account}  # the same id in both: as given
    org, settings = next(iter(ORGS.items()))
    with login(fake.url, settings) as sf:
        assert sf.get(f"{V}/sobjects/Account/{account}").json()["Id"] == account
        assert create(sf, "Account", {"Name": "Later"}) != account
