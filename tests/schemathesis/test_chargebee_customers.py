"""The long profile's POST /customers finds on Chargebee (LANDSCAPE_PROFILE=long
LANDSCAPE_SEED=777), pinned by plain requests:

- an empty body: Chargebee's create-a-customer takes no required parameter, and the fake makes
  a customer, so the document no longer calls the body required;
- `id=` (empty): Chargebee makes the id, as for no `id` at all; the document now says so, and a
  subscription's chosen id is checked as a customer's is (`0*` was stored);
- a custom field generated as None or [] (or a filter member, or an unknown query parameter):
  form and query encoding send nothing for it, so the request the fake gets is valid. The runner
  no longer holds such a case to negative_data_rejection (`runner.sends_less_than_generated`).
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.schemathesis.runner import sends_less_than_generated
from tests.schemathesis.vendors import VENDORS


def test_an_empty_customer_create_is_valid_in_the_document_and_the_fake(
        start_fake: Any) -> None:
    fake = start_fake("chargebee")
    session = VENDORS["chargebee"].session(fake.url)
    document = httpx.get(f"{fake.url}/_sim/openapi.json", timeout=60).json()
    create = document["paths"]["/api/v2/customers"]["post"]
    assert create["requestBody"]["required"] is False
    for body in (None, {"id": ""}):
        made = session.post(f"{fake.url}/api/v2/customers", data=body)
        assert made.status_code == 200, made.text
        assert made.json()["customer"]["id"]  # made by Chargebee
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["properties"]["id"]["pattern"].endswith(")?$")  # empty allowed, `0*` not
    refused = session.post(f"{fake.url}/api/v2/customers", data={"id": "0*"})
    assert refused.status_code == 400 and refused.json()["param"] == "id", refused.text


def test_a_subscription_s_chosen_id_is_checked(start_fake: Any) -> None:
    fake = start_fake("chargebee")
    session = VENDORS["chargebee"].session(fake.url)
    customer = session.post(f"{fake.url}/api/v2/customers", data={}).json()["customer"]["id"]
    refused = session.post(
        f"{fake.url}/api/v2/customers/{customer}/subscription_for_items",
        data={"id": "0*", "subscription_items[item_price_id][0]": "no-such-price"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["param"] == "id", refused.text  # before the item price is looked up


class _Case:
    """What the runner reads of a schemathesis Case."""

    def __init__(self, query: Any = None, body: Any = None,
                 media_type: str | None = None) -> None:
        self.query, self.body, self.media_type = query, body, media_type


def test_a_case_with_values_encoding_drops_is_recognised() -> None:
    form = "application/x-www-form-urlencoded"
    for dropped in (_Case(body={"cf_0": None}, media_type=form),
                    _Case(body={"auto_collection": "on", "cf_x": []}, media_type=form),
                    _Case(query={"first_name": {"is": "a", "in": None}}),
                    _Case(query={"include_deleted": "false", "": []})):
        assert sends_less_than_generated(dropped), vars(dropped)
    for sent in (_Case(body={"cf_0": "x"}, media_type=form),
                 _Case(body={"note": None}, media_type="application/json"),  # JSON null
                 _Case(query={"limit": 1})):
        assert not sends_less_than_generated(sent), vars(sent)
