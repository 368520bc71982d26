"""The fake Stripe's error answers on the wire (raw HTTP, no SDK): status, body and headers as
Stripe sends them, for auth, routing, parameters, declines, idempotency, limits and expansion."""

from __future__ import annotations

import httpx
import pytest

KEY = "sk_test_http_errors"


@pytest.fixture
def fake(start_fake):
    return start_fake("stripe")


@pytest.fixture
def api(fake):
    with httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {KEY}"},
                      timeout=10) as client:
        yield client


def add_fault(fake, **spec) -> None:
    response = httpx.post(f"{fake.url}/_sim/faults", json=spec)
    assert response.status_code == 201, response.text


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["request-id"].startswith("req_")
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


def test_missing_and_invalid_keys(fake) -> None:
    missing = error_of(httpx.get(f"{fake.url}/v1/customers"), 401)
    assert missing["type"] == "invalid_request_error"
    assert missing["message"].startswith("You did not provide an API key.")
    invalid = error_of(httpx.get(f"{fake.url}/v1/customers",
                                 headers={"Authorization": "Bearer sk_live_abcdefgh1234"}), 401)
    assert invalid == {"type": "invalid_request_error",
                       "message": "Invalid API Key provided: sk_live_********1234"}
    basic = httpx.get(f"{fake.url}/v1/customers", auth=(KEY, ""))
    assert basic.status_code == 200 and basic.json()["object"] == "list"


def test_unrecognized_urls(api) -> None:
    error = error_of(api.get("/v1/nothing_here"), 404)
    assert error["message"].startswith("Unrecognized request URL (GET: /v1/nothing_here).")
    error = error_of(api.delete("/v1/payment_intents/pi_123"), 404)
    assert error["message"].startswith("Unrecognized request URL (DELETE: "
                                       "/v1/payment_intents/pi_123).")


def test_unknown_missing_and_unsupported_parameters(api) -> None:
    error = error_of(api.post("/v1/customers", data={"emial": "x@example.com"}), 400)
    assert error == {"type": "invalid_request_error", "code": "parameter_unknown",
                     "param": "emial", "message": "Received unknown parameter: emial",
                     "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown"}
    error = error_of(api.post("/v1/payment_methods", data={"type": "card", "card[numbr]": "4"}),
                     400)
    assert (error["code"], error["param"]) == ("parameter_unknown", "card[numbr]")
    error = error_of(api.get("/v1/charges", params={"status": "failed"}), 400)
    assert (error["code"], error["param"]) == ("parameter_unknown", "status")
    error = error_of(api.post("/v1/payment_intents", data={"currency": "usd"}), 400)
    assert error["code"] == "parameter_missing" and error["param"] == "amount"
    assert error["message"] == "Missing required param: amount."
    error = error_of(api.post("/v1/payment_intents",
                              data={"amount": 100, "currency": "usd",
                                    "capture_method": "manual"}), 400)
    assert error["param"] == "capture_method" and "not supported" in error["message"]
    error = error_of(api.post("/v1/customers", data={"coupon": "X"}), 400)
    assert error["param"] == "coupon" and "not supported by this fake" in error["message"]


def test_validation_errors_store_no_idempotent_result(api) -> None:
    bad = api.post("/v1/customers", data={"emial": "x"}, headers={"Idempotency-Key": "k"})
    assert bad.status_code == 400
    good = api.post("/v1/customers", data={"email": "x@example.com"},
                    headers={"Idempotency-Key": "k"})
    assert good.status_code == 200 and good.json()["email"] == "x@example.com"


def test_missing_objects_name_the_parameter(api) -> None:
    error = error_of(api.get("/v1/customers/cus_nope"), 404)
    assert error == {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                     "message": "No such customer: 'cus_nope'",
                     "doc_url": "https://stripe.com/docs/error-codes/resource-missing"}
    error = error_of(api.post("/v1/payment_intents", data={
        "amount": 100, "currency": "usd", "customer": "cus_nope"}), 404)
    assert (error["param"], error["message"]) == ("customer", "No such customer: 'cus_nope'")
    error = error_of(api.post("/v1/payment_methods/pm_nope/attach",
                              data={"customer": "cus_nope"}), 404)
    assert error["param"] == "customer"
    error = error_of(api.get("/v1/customers", params={"starting_after": "cus_gone"}), 404)
    assert error["param"] == "starting_after"


def test_deleted_customer(api) -> None:
    customer = api.post("/v1/customers", data={"email": "d@example.com"}).json()
    gone = {"id": customer["id"], "object": "customer", "deleted": True}
    assert api.delete(f"/v1/customers/{customer['id']}").json() == gone
    assert api.get(f"/v1/customers/{customer['id']}").json() == gone
    assert error_of(api.post(f"/v1/customers/{customer['id']}", data={"name": "x"}),
                    404)["code"] == "resource_missing"
    assert api.get("/v1/customers").json()["data"] == []


def test_decline_shape(api) -> None:
    response = api.post("/v1/payment_intents", data={
        "amount": 500, "currency": "usd", "confirm": "true",
        "payment_method": "pm_card_chargeDeclinedExpiredCard"})
    error = error_of(response, 402)
    assert error["type"] == "card_error"
    assert (error["code"], error["decline_code"]) == ("expired_card", "expired_card")
    assert error["message"] == "Your card has expired."
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/expired-card"
    assert error["charge"].startswith("ch_")
    assert error["payment_method"]["object"] == "payment_method"
    intent = error["payment_intent"]
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["charge"] == error["charge"]
    assert intent["latest_charge"] == error["charge"]
    charge = api.get(f"/v1/charges/{error['charge']}").json()
    assert (charge["status"], charge["paid"], charge["failure_code"]) == (
        "failed", False, "expired_card")
    assert charge["outcome"]["type"] == "issuer_declined"


def test_unexpected_state(api) -> None:
    intent = api.post("/v1/payment_intents", data={
        "amount": 500, "currency": "usd", "confirm": "true",
        "payment_method": "pm_card_visa"}).json()
    error = error_of(api.post(f"/v1/payment_intents/{intent['id']}/confirm"), 400)
    assert error["code"] == "payment_intent_unexpected_state"
    assert error["message"] == ("You cannot confirm this PaymentIntent because it has already "
                                "succeeded after being previously confirmed.")
    assert error["payment_intent"]["status"] == "succeeded"
    error = error_of(api.post(f"/v1/payment_intents/{intent['id']}/cancel"), 400)
    assert error["code"] == "payment_intent_unexpected_state"
    fresh = api.post("/v1/payment_intents", data={"amount": 5, "currency": "usd"}).json()
    assert fresh["status"] == "requires_payment_method"
    error = error_of(api.post(f"/v1/payment_intents/{fresh['id']}/confirm"), 400)
    assert "missing a payment method" in error["message"]
    canceled = api.post(f"/v1/payment_intents/{fresh['id']}/cancel",
                        data={"cancellation_reason": "abandoned"}).json()
    assert (canceled["status"], canceled["cancellation_reason"]) == ("canceled", "abandoned")


def test_rate_limit_fault(fake, api) -> None:
    add_fault(fake, kind="rate_limit", retry_after=3, first_n=1)
    response = api.get("/v1/customers")
    error = error_of(response, 429)
    assert error["code"] == "rate_limit" and response.headers["retry-after"] == "3"
    assert api.get("/v1/customers").status_code == 200


def test_decline_fault_forces_do_not_honor_on_a_good_card(fake, api) -> None:
    add_fault(fake, kind="decline", code="do_not_honor", first_n=1,
              match={"path": "/v1/payment_intents"})
    error = error_of(api.post("/v1/payment_intents", data={
        "amount": 800, "currency": "usd", "confirm": "true",
        "payment_method": "pm_card_visa"}), 402)
    assert (error["code"], error["decline_code"]) == ("card_declined", "do_not_honor")
    assert error["message"] == "Your card was declined."
    charge = api.get(f"/v1/charges/{error['charge']}").json()
    assert charge["outcome"]["reason"] == "do_not_honor"
    ok = api.post("/v1/payment_intents", data={"amount": 800, "currency": "usd",
                                               "confirm": "true", "payment_method": "pm_card_visa"})
    assert ok.status_code == 200 and ok.json()["status"] == "succeeded"


def test_expand(api) -> None:
    customer = api.post("/v1/customers", data={"email": "e@example.com"}).json()
    pm = api.post("/v1/payment_methods/pm_card_visa/attach",
                  data={"customer": customer["id"]}).json()
    intent = api.post("/v1/payment_intents", data={
        "amount": 300, "currency": "usd", "customer": customer["id"], "payment_method": pm["id"],
        "confirm": "true", "expand[]": ["latest_charge", "customer"]}).json()
    assert intent["customer"]["email"] == "e@example.com"
    assert intent["latest_charge"]["object"] == "charge"
    nested = api.get(f"/v1/payment_intents/{intent['id']}",
                     params={"expand[]": ["latest_charge.customer", "payment_method"]}).json()
    assert nested["latest_charge"]["customer"]["id"] == customer["id"]
    assert nested["payment_method"]["card"]["last4"] == "4242"
    listed = api.get("/v1/payment_intents", params={"expand[]": "data.customer"}).json()
    assert listed["data"][0]["customer"]["object"] == "customer"
    plain = api.get(f"/v1/payment_intents/{intent['id']}").json()
    assert plain["customer"] == customer["id"]
    error = error_of(api.get(f"/v1/payment_intents/{intent['id']}",
                             params={"expand[]": "amount"}), 400)
    assert error["param"] == "expand"


def test_request_id_on_success_and_error(api) -> None:
    ok = api.get("/v1/customers")
    bad = api.get("/v1/customers/cus_missing")
    ids = {ok.headers["request-id"], bad.headers["request-id"]}
    assert len(ids) == 2 and all(i.startswith("req_") for i in ids)


def test_events_window_and_webhook_endpoint_lifecycle(start_fake) -> None:
    fake = start_fake("stripe", controlled_clock=True)
    with httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {KEY}"}) as api:
        api.post("/v1/customers", data={"name": "old"})
        old = api.get("/v1/events").json()["data"][0]
        httpx.post(f"{fake.url}/_sim/clock/advance", json={"seconds": 31 * 86400})
        api.post("/v1/customers", data={"name": "new"})
        events = api.get("/v1/events").json()["data"]
        assert [e["data"]["object"]["name"] for e in events] == ["new"]
        assert error_of(api.get(f"/v1/events/{old['id']}"), 404)["code"] == "resource_missing"
        error = error_of(api.post("/v1/webhook_endpoints", data={
            "url": "http://127.0.0.1:9/hook", "enabled_events[]": "not.an.event"}), 400)
        assert error["param"] == "enabled_events[0]"
        endpoint = api.post("/v1/webhook_endpoints", data={
            "url": "http://127.0.0.1:9/hook", "enabled_events[]": "*"}).json()
        updated = api.post(f"/v1/webhook_endpoints/{endpoint['id']}",
                           data={"disabled": "true"}).json()
        assert updated["status"] == "disabled" and "secret" not in updated
        assert api.delete(f"/v1/webhook_endpoints/{endpoint['id']}").json()["deleted"] is True
        assert api.get("/v1/webhook_endpoints").json()["data"] == []


def test_card_numbers_and_payment_method_lifecycle(api) -> None:
    customer = api.post("/v1/customers").json()["id"]
    card = {"type": "card", "card[exp_month]": "12", "card[exp_year]": "2040",
            "card[cvc]": "123"}
    error = error_of(api.post("/v1/payment_methods",
                              data={**card, "card[number]": "4242424242424241"}), 402)
    assert (error["type"], error["code"]) == ("card_error", "incorrect_number")
    visa = api.post("/v1/payment_methods", data={**card, "card[number]": "4242424242424242"})
    assert visa.json()["card"]["last4"] == "4242" and visa.json()["customer"] is None
    fails_later = api.post("/v1/payment_methods",
                           data={**card, "card[number]": "4000000000000341"}).json()
    for pm in (visa.json()["id"], fails_later["id"]):
        attached = api.post(f"/v1/payment_methods/{pm}/attach", data={"customer": customer})
        assert attached.status_code == 200 and attached.json()["customer"] == customer
    listed = api.get("/v1/payment_methods", params={"customer": customer, "type": "card"}).json()
    assert [p["id"] for p in listed["data"]] == [fails_later["id"], visa.json()["id"]]
    declined = error_of(api.post("/v1/payment_intents", data={
        "amount": 100, "currency": "usd", "customer": customer, "confirm": "true",
        "off_session": "true", "payment_method": fails_later["id"]}), 402)
    assert declined["decline_code"] == "generic_decline"
    detached = api.post(f"/v1/payment_methods/{visa.json()['id']}/detach").json()
    assert detached["customer"] is None
    listed = api.get(f"/v1/customers/{customer}/payment_methods").json()
    assert [p["id"] for p in listed["data"]] == [fails_later["id"]]
    error = error_of(api.post(f"/v1/payment_methods/{visa.json()['id']}/detach"), 400)
    assert error["param"] == "payment_method"


def test_customer_created_with_a_default_payment_method(api) -> None:
    customer = api.post("/v1/customers", data={
        "payment_method": "pm_card_visa",
        "invoice_settings[default_payment_method]": "pm_card_visa"}).json()
    default = customer["invoice_settings"]["default_payment_method"]
    assert default.startswith("pm_") and default != "pm_card_visa"
    assert api.get(f"/v1/payment_methods/{default}").json()["customer"] == customer["id"]
    error = error_of(api.post("/v1/customers", data={
        "invoice_settings[default_payment_method]": default}), 400)
    assert error["param"] == "invoice_settings[default_payment_method]"
    declined = error_of(api.post("/v1/customers", data={
        "payment_method": "pm_card_visa_chargeDeclined"}), 402)
    assert declined["decline_code"] == "generic_decline"
    assert len(api.get("/v1/customers").json()["data"]) == 1  # the failed creates left nothing
