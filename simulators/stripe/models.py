"""The payments side of the fake Stripe: customers, payment methods, payment intents, charges,
refunds, webhook endpoints, events. State and business rules only; routes.py does the wire.

Functions take an `Op` (who is asking: simulator, account, request id, idempotency key, fault
directives) and return the stored object (a dict, exactly as Stripe renders it) or raise a
`VendorError` in Stripe's format. Every state change emits its event via `events.emit`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext, VendorError
from simulators.stripe import cards
from simulators.stripe.errors import (
    card_error,
    invalid_request,
    missing_param,
    resource_missing,
    stripe_error,
    unexpected_state,
)
from simulators.stripe.events import emit
from simulators.stripe.objects import apply_metadata, get_object, new_id

TEST_CLOCKS = "test_helpers.test_clock"  # billing.py owns them
PM_CARDS = "_pm_card_numbers"  # pm id -> card number (what the fake needs, Stripe never shows)
EVENT_RETENTION = 30 * 24 * 3600  # GET /v1/events shows the last 30 days
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation",
              "requires_action", "processing")
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


@dataclass
class Op:
    """Who performs an operation; events record the request id and idempotency key."""

    sim: Any
    tenant: Tenant
    request_id: str | None = None
    idempotency_key: str | None = None
    directives: dict[str, Any] = field(default_factory=dict)
    at: int | None = None  # a test clock's frozen_time, for objects of a test-clock customer

    @property
    def now(self) -> int:
        return self.at if self.at is not None else int(self.sim.clock.now())

    def on_clock_of(self, customer_id: str | None) -> None:
        """Objects of a customer on a test clock are created at the clock's frozen_time."""
        customer = self.tenant.collection("customer").get(customer_id or "") or {}
        clock = self.tenant.collection(TEST_CLOCKS).get(customer.get("test_clock") or "")
        self.at = int(clock["frozen_time"]) if clock else None

    def id(self, prefix: str) -> str:
        return new_id(self.sim, self.tenant, prefix)

    def emit(self, event_type: str, obj: dict[str, Any],
             previous: dict[str, Any] | None = None) -> dict[str, Any]:
        return emit(self.sim, self.tenant, event_type, obj, previous_attributes=previous,
                    request_id=self.request_id, idempotency_key=self.idempotency_key)


def op_from(ctx: RequestContext) -> Op:
    assert ctx.tenant is not None
    return Op(ctx.sim, ctx.tenant, ctx.request_id, ctx.idempotency_key, ctx.directives)


def _text(value: Any) -> str | None:
    """Stripe unsets a string with an empty value."""
    return None if value in (None, "") else str(value)


def _address(raw: Any) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object", "address")
    keys = ("city", "country", "line1", "line2", "postal_code", "state")
    return {k: _text(raw.get(k)) for k in keys}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`data.previous_attributes` of an `*.updated` event: old values of changed top fields."""
    return {k: before.get(k) for k in after if before.get(k) != after.get(k)}


# -- customers --------------------------------------------------------------------------------
def live_customer(tenant: Tenant, customer_id: str, param: str = "id") -> dict[str, Any]:
    """A customer that exists and is not deleted, or Stripe's 404 naming `param`."""
    customer = get_object(tenant, "customer", customer_id, param=param)
    if customer.get("deleted"):
        raise resource_missing("customer", customer_id, param)
    return customer


def create_customer(op: Op, params: dict[str, Any], *,
                    customer_id: str | None = None) -> dict[str, Any]:
    """`customer_id`: a chosen id (provider states); Stripe assigns one otherwise."""
    customer: dict[str, Any] = {
        "id": customer_id or op.id("cus"), "object": "customer", "address": None, "balance": 0,
        "created": op.now, "currency": None, "default_source": None, "delinquent": False,
        "description": None, "discount": None, "email": None,
        "invoice_prefix": op.sim.seeds.token(f"ids:{op.tenant.id}", 8).upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                             "footer": None, "rendering_options": None},
        "livemode": False, "metadata": {}, "name": None, "next_invoice_sequence": 1,
        "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
        "test_clock": None,
    }
    if params.get("test_clock"):
        clock = get_object(op.tenant, TEST_CLOCKS, params["test_clock"], label="test_clock",
                           param="test_clock")
        customer["test_clock"] = params["test_clock"]
        op.at = customer["created"] = int(clock["frozen_time"])
    _set_customer_fields(op, customer, params)
    settings = params.get("invoice_settings")
    default = settings.get("default_payment_method") if isinstance(settings, dict) else None
    if default and default != params.get("payment_method"):  # a new customer has no other
        raise _not_attached(default)
    customers = op.tenant.collection("customer")
    customers[customer["id"]] = customer
    if params.get("payment_method"):
        try:
            pm = attach_payment_method(op, params["payment_method"], customer["id"],
                                       param="payment_method")
        except VendorError:
            del customers[customer["id"]]  # the create failed as a whole
            raise
        if default:
            customer["invoice_settings"]["default_payment_method"] = pm["id"]
    op.emit("customer.created", customer)
    return customer


def update_customer(op: Op, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
    customer = live_customer(op.tenant, customer_id)
    before = copy.deepcopy(customer)
    _set_customer_fields(op, customer, params)
    _set_default_payment_method(op, customer, params)
    previous = _changes(before, customer)
    if previous:
        op.emit("customer.updated", customer, previous)
    return customer


def _set_customer_fields(op: Op, customer: dict[str, Any], params: dict[str, Any]) -> None:
    for name in ("description", "email", "name", "phone", "invoice_prefix"):
        if name in params:
            customer[name] = _text(params[name])
    if "address" in params:
        customer["address"] = _address(params["address"])
    if "shipping" in params:
        shipping = params["shipping"]
        if shipping in (None, ""):
            customer["shipping"] = None
        else:
            if not isinstance(shipping, dict) or not shipping.get("name"):
                raise missing_param("shipping[name]")
            customer["shipping"] = {"address": _address(shipping.get("address") or {}),
                                    "name": shipping["name"], "phone": _text(shipping.get("phone"))}
    if "preferred_locales" in params:
        locales = params["preferred_locales"]
        customer["preferred_locales"] = [] if locales == "" else list(locales)
    if "tax_exempt" in params:
        if params["tax_exempt"] not in ("none", "exempt", "reverse", ""):
            raise invalid_request("Invalid tax_exempt: must be one of none, exempt, or reverse",
                                  "tax_exempt")
        customer["tax_exempt"] = params["tax_exempt"] or "none"
    for name in ("balance", "next_invoice_sequence"):
        if name in params:
            try:
                customer[name] = int(params[name])
            except (TypeError, ValueError):
                raise invalid_request(f"Invalid integer: {params[name]}", name,
                                      "parameter_invalid_integer") from None
    apply_metadata(customer, params.get("metadata"))
    settings = params.get("invoice_settings")
    if isinstance(settings, dict):
        for name in ("footer",):
            if name in settings:
                customer["invoice_settings"][name] = _text(settings[name])
        if "custom_fields" in settings:
            fields = settings["custom_fields"]
            customer["invoice_settings"]["custom_fields"] = (
                None if fields == "" else [{"name": f.get("name"), "value": f.get("value")}
                                           for f in fields])


def _set_default_payment_method(op: Op, customer: dict[str, Any],
                                params: dict[str, Any]) -> None:
    settings = params.get("invoice_settings")
    if not isinstance(settings, dict) or "default_payment_method" not in settings:
        return
    pm_id = settings["default_payment_method"]
    if pm_id in ("", None):
        customer["invoice_settings"]["default_payment_method"] = None
        return
    pm = op.tenant.collection("payment_method").get(pm_id)
    if pm is None or pm.get("customer") != customer["id"]:
        raise _not_attached(pm_id)
    customer["invoice_settings"]["default_payment_method"] = pm_id


def _not_attached(pm_id: str) -> VendorError:
    return stripe_error(
        400, "invalid_request_error",
        f"The customer does not have a payment method with the ID {pm_id}. The payment "
        "method must be attached to the customer.", code="resource_missing",
        param="invoice_settings[default_payment_method]", store_idempotent=False)


def delete_customer(op: Op, customer_id: str) -> dict[str, Any]:
    customer = live_customer(op.tenant, customer_id)
    stub = {"id": customer_id, "object": "customer", "deleted": True}
    for pm in op.tenant.collection("payment_method").values():
        if pm.get("customer") == customer_id:  # Stripe detaches them with the customer
            pm["customer"] = None
    op.tenant.collection("customer")[customer_id] = stub
    op.emit("customer.deleted", customer)
    return stub


def list_customers(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = [c for c in reversed(tenant.collection("customer").values()) if not c.get("deleted")]
    if params.get("email"):
        found = [c for c in found if c.get("email") == params["email"]]
    if params.get("test_clock"):
        found = [c for c in found if c.get("test_clock") == params["test_clock"]]
    return found


# -- payment methods --------------------------------------------------------------------------
def _new_card_method(op: Op, number: str, exp_month: int, exp_year: int, *,
                     cvc_check: str, billing: dict[str, Any] | None = None,
                     metadata: Any = None, pm_id: str | None = None) -> dict[str, Any]:
    card = cards.card_for(number)
    billing = billing or {}
    pm: dict[str, Any] = {
        "id": pm_id or op.id("pm"), "object": "payment_method",
        "billing_details": {"address": _address(billing.get("address")) or _address({}),
                            "email": _text(billing.get("email")),
                            "name": _text(billing.get("name")),
                            "phone": _text(billing.get("phone"))},
        "card": {"brand": card.brand,
                 "checks": {"address_line1_check": None, "address_postal_code_check": None,
                            "cvc_check": cvc_check},
                 "country": card.country, "exp_month": exp_month, "exp_year": exp_year,
                 "fingerprint": cards.fingerprint(op.tenant.id, number),
                 "funding": card.funding, "generated_from": None, "last4": number[-4:],
                 "networks": {"available": [card.brand], "preferred": None},
                 "three_d_secure_usage": {"supported": True}, "wallet": None},
        "created": op.now, "customer": None, "livemode": False, "metadata": {}, "type": "card",
    }
    apply_metadata(pm, metadata)
    op.tenant.collection("payment_method")[pm["id"]] = pm
    op.tenant.collection(PM_CARDS)[pm["id"]] = number
    return pm


def resolve_payment_method(op: Op, pm_id: Any, param: str = "payment_method") -> dict[str, Any]:
    """A stored PaymentMethod; a test token (`pm_card_visa`) makes a new one, as Stripe does."""
    if isinstance(pm_id, str) and pm_id in cards.TOKENS:
        year = int(op.sim.clock.now() // (365.25 * 86400)) + 1970 + 1
        return _new_card_method(op, cards.TOKENS[pm_id], 8, year, cvc_check="unchecked")
    return get_object(op.tenant, "payment_method", pm_id, label="PaymentMethod", param=param)


def card_number(tenant: Tenant, pm_id: str) -> str:
    return tenant.collection(PM_CARDS).get(pm_id, "4242424242424242")


def create_payment_method(op: Op, params: dict[str, Any], *,
                          payment_method_id: str | None = None) -> dict[str, Any]:
    """`payment_method_id`: a chosen id (provider states); Stripe assigns one otherwise."""
    kind = params.get("type")
    if not kind:
        raise missing_param("type")
    if kind != "card":
        raise invalid_request(f"The payment method type `{kind}` is not supported by this fake "
                              "(only `card`).", "type")
    card = params.get("card")
    if not isinstance(card, dict):
        raise missing_param("card")
    if card.get("token"):
        raise invalid_request("card[token] is not supported by this fake; use card[number] or "
                              "a test PaymentMethod such as pm_card_visa.", "card[token]")
    for name in ("number", "exp_month", "exp_year"):
        if not card.get(name):
            raise missing_param(f"card[{name}]")
    number = str(card["number"]).replace(" ", "")
    if not cards.luhn_ok(number):
        raise card_error("incorrect_number", None, cards.message_for(None, "incorrect_number"),
                         param="number")
    month, year = _expiry(card, op.now)
    cvc = card.get("cvc")
    if cvc not in (None, "") and not (str(cvc).isdigit() and len(str(cvc)) in (3, 4)):
        raise card_error("invalid_cvc", None, "Your card's security code is invalid.",
                         param="cvc")
    return _new_card_method(op, number, month, year,
                            cvc_check="unchecked",
                            billing=params.get("billing_details") or {},
                            metadata=params.get("metadata"), pm_id=payment_method_id)


def _expiry(card: dict[str, Any], now: int) -> tuple[int, int]:
    try:
        month = int(card["exp_month"])
    except (TypeError, ValueError):
        month = 0
    if not 1 <= month <= 12:
        raise card_error("invalid_expiry_month", None, "Your card's expiration month is invalid.",
                         param="exp_month")
    try:
        year = int(card["exp_year"])
    except (TypeError, ValueError):
        year = 0
    year = year + 2000 if 0 <= year < 100 else year
    this_year = int(now // (365.25 * 86400)) + 1970
    if year < this_year:
        raise card_error("invalid_expiry_year", None, "Your card's expiration year is in the past.",
                         param="exp_year")
    if year > this_year + 50:
        raise card_error("invalid_expiry_year", None, "Your card's expiration year is invalid.",
                         param="exp_year")
    return month, year


def update_payment_method(op: Op, pm_id: str, params: dict[str, Any]) -> dict[str, Any]:
    pm = get_object(op.tenant, "payment_method", pm_id, label="PaymentMethod")
    before = copy.deepcopy(pm)
    apply_metadata(pm, params.get("metadata"))
    card = params.get("card")
    if isinstance(card, dict):
        month, year = _expiry({"exp_month": card.get("exp_month", pm["card"]["exp_month"]),
                               "exp_year": card.get("exp_year", pm["card"]["exp_year"])}, op.now)
        pm["card"]["exp_month"], pm["card"]["exp_year"] = month, year
    billing = params.get("billing_details")
    if isinstance(billing, dict):
        details = pm["billing_details"]
        for name in ("email", "name", "phone"):
            if name in billing:
                details[name] = _text(billing[name])
        if "address" in billing:
            details["address"] = _address(billing["address"]) or _address({})
    previous = _changes(before, pm)
    if previous:
        op.emit("payment_method.updated", pm, previous)
    return pm


def attach_payment_method(op: Op, pm_id: Any, customer_id: Any, *, param: str = "customer",
                          verify_card: bool = True) -> dict[str, Any]:
    """`verify_card=False` (provider states only) attaches a declining test card as if it had
    started declining after it was saved, which the API cannot do (only 0341 attaches)."""
    if not customer_id:
        raise missing_param("customer")
    customer = live_customer(op.tenant, customer_id, param)
    pm = resolve_payment_method(op, pm_id, "payment_method")
    if pm.get("customer") == customer["id"]:
        return pm
    if pm.get("customer"):
        raise invalid_request("The payment method you provided has already been attached to a "
                              "customer.", "payment_method")
    # attaching verifies the card: declining test cards fail here, except 0341 (charges fail)
    card = cards.card_for(card_number(op.tenant, pm["id"]))
    if verify_card and card.outcome.declined and card.number != "4000000000000341":
        decline_code = card.outcome.decline_code
        raise card_error(card.outcome.code or "card_declined", decline_code,
                         cards.message_for(decline_code, card.outcome.code), param="")
    pm["customer"] = customer["id"]
    pm["card"]["checks"]["cvc_check"] = card.cvc_check
    op.emit("payment_method.attached", pm)
    return pm


def detach_payment_method(op: Op, pm_id: str) -> dict[str, Any]:
    pm = get_object(op.tenant, "payment_method", pm_id, label="PaymentMethod",
                    param="payment_method")
    if not pm.get("customer"):
        raise invalid_request("The payment method you provided is not attached to a customer so "
                              "detachment is impossible.", "payment_method")
    previous = {"customer": pm["customer"]}
    customer = op.tenant.collection("customer").get(pm["customer"])
    pm["customer"] = None
    if customer and customer.get("invoice_settings", {}).get("default_payment_method") == pm_id:
        customer["invoice_settings"]["default_payment_method"] = None
    op.emit("payment_method.detached", pm, previous)
    return pm


def list_payment_methods(tenant: Tenant, customer_id: str | None,
                         kind: str | None) -> list[dict[str, Any]]:
    found = list(reversed(tenant.collection("payment_method").values()))
    if customer_id is not None:
        found = [p for p in found if p.get("customer") == customer_id]
    if kind:
        found = [p for p in found if p.get("type") == kind]
    return found


# -- payment intents --------------------------------------------------------------------------
def _amount(params: dict[str, Any], required: bool) -> int | None:
    if params.get("amount") in (None, ""):
        if required:
            raise missing_param("amount")
        return None
    try:
        amount = int(params["amount"])
    except (TypeError, ValueError):
        raise invalid_request(f"Invalid integer: {params['amount']}", "amount",
                              "parameter_invalid_integer") from None
    if amount < 1:
        raise invalid_request("This value must be greater than or equal to 1.", "amount")
    if amount > 99999999:
        raise invalid_request("Amount must be no more than $999,999.99", "amount",
                              "amount_too_large")
    return amount


def _currency(params: dict[str, Any], required: bool) -> str | None:
    currency = params.get("currency")
    if not currency:
        if required:
            raise missing_param("currency")
        return None
    currency = str(currency).lower()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid_request(f"Invalid currency: {currency}. Stripe currently supports these "
                              "currencies: usd, eur, gbp, …", "currency")
    return currency


def create_payment_intent(op: Op, params: dict[str, Any], *,
                          intent_id: str | None = None) -> dict[str, Any]:
    """`intent_id`: a chosen id (provider states); Stripe assigns one otherwise."""
    amount = _amount(params, True)
    currency = _currency(params, True)
    if params.get("capture_method") not in (None, "", "automatic", "automatic_async"):
        raise invalid_request("capture_method=manual is not supported by this fake (only "
                              "automatic).", "capture_method")
    types = params.get("payment_method_types") or ["card"]
    if types != ["card"]:
        raise invalid_request(f"The payment method type provided: {types[0]} is invalid. This "
                              "fake supports only: card.", "payment_method_types")
    customer = params.get("customer") or None
    if customer:
        live_customer(op.tenant, customer, "customer")
        op.on_clock_of(customer)
    intent_id = intent_id or op.id("pi")
    intent: dict[str, Any] = {
        "id": intent_id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": None,
        "application_fee_amount": None, "automatic_payment_methods": None,
        "canceled_at": None, "cancellation_reason": None, "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{op.sim.seeds.token(f'ids:{op.tenant.id}', 25)}",
        "confirmation_method": params.get("confirmation_method") or "automatic",
        "created": op.now, "currency": currency, "customer": customer,
        "description": _text(params.get("description")), "invoice": params.get("invoice"),
        "last_payment_error": None, "latest_charge": None, "livemode": False, "metadata": {},
        "next_action": None, "on_behalf_of": None, "payment_method": None,
        "payment_method_options": {"card": {"installments": None, "mandate_options": None,
                                            "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "processing": None,
        "receipt_email": _text(params.get("receipt_email")), "review": None,
        "setup_future_usage": None, "shipping": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": "requires_payment_method",
        "transfer_data": None, "transfer_group": None,
    }
    auto = params.get("automatic_payment_methods")
    if isinstance(auto, dict) and str(auto.get("enabled")).lower() == "true":
        intent["automatic_payment_methods"] = {
            "allow_redirects": auto.get("allow_redirects") or "always", "enabled": True}
    for name in ("statement_descriptor", "statement_descriptor_suffix", "transfer_group"):
        intent[name] = _text(params.get(name))
    if params.get("setup_future_usage"):
        intent["setup_future_usage"] = params["setup_future_usage"]
    apply_metadata(intent, params.get("metadata"))
    if params.get("payment_method"):
        pm = resolve_payment_method(op, params["payment_method"])
        intent["payment_method"] = pm["id"]
        intent["status"] = "requires_confirmation"
    op.tenant.collection("payment_intent")[intent_id] = intent
    op.emit("payment_intent.created", intent)
    if str(params.get("confirm", "")).lower() == "true":
        _confirm(op, intent, params)
    return intent


def update_payment_intent(op: Op, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    intent = get_object(op.tenant, "payment_intent", intent_id, param="intent")
    if intent["status"] in ("succeeded", "canceled", "processing"):
        changing = [k for k in params if k not in ("expand", "metadata", "description",
                                                   "receipt_email", "shipping")]
        if changing:
            raise _unexpected(intent, f"This PaymentIntent's {changing[0]} could not be updated "
                              f"because it has a status of {intent['status']}. You may only "
                              "update the " + changing[0] + " of a PaymentIntent with one of the "
                              "following statuses: requires_payment_method, "
                              "requires_confirmation, requires_action.")
    before = copy.deepcopy(intent)
    amount = _amount(params, False)
    if amount is not None:
        intent["amount"] = amount
    currency = _currency(params, False)
    if currency:
        intent["currency"] = currency
    if "customer" in params:
        if params["customer"]:
            live_customer(op.tenant, params["customer"], "customer")
        intent["customer"] = params["customer"] or None
    for name in ("description", "receipt_email", "statement_descriptor",
                 "statement_descriptor_suffix", "transfer_group"):
        if name in params:
            intent[name] = _text(params[name])
    if params.get("setup_future_usage") is not None:
        intent["setup_future_usage"] = params["setup_future_usage"] or None
    if params.get("capture_method") not in (None, "", "automatic", "automatic_async"):
        raise invalid_request("capture_method=manual is not supported by this fake (only "
                              "automatic).", "capture_method")
    apply_metadata(intent, params.get("metadata"))
    if params.get("payment_method"):
        pm = resolve_payment_method(op, params["payment_method"])
        intent["payment_method"] = pm["id"]
        intent["status"] = "requires_confirmation"
        intent["last_payment_error"] = None
    previous = _changes(before, intent)
    if previous:
        op.emit("payment_intent.updated", intent, previous)
    return intent


def confirm_payment_intent(op: Op, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    intent = get_object(op.tenant, "payment_intent", intent_id, param="intent")
    op.on_clock_of(intent.get("customer"))
    if params.get("payment_method") and intent["status"] in CONFIRMABLE:
        intent["payment_method"] = resolve_payment_method(op, params["payment_method"])["id"]
    _confirm(op, intent, params)
    return intent


def _unexpected(intent: dict[str, Any], message: str) -> VendorError:
    return unexpected_state(message, payment_intent=copy.deepcopy(intent))


def _confirm(op: Op, intent: dict[str, Any], params: dict[str, Any]) -> None:
    """Confirm: charge the payment method; a decline raises the 402 after state is stored."""
    status = intent["status"]
    if status == "succeeded":
        raise _unexpected(intent, "You cannot confirm this PaymentIntent because it has already "
                          "succeeded after being previously confirmed.")
    if status not in CONFIRMABLE:
        raise _unexpected(intent, f"You cannot confirm this PaymentIntent because it has a status "
                          f"of {status}. Only a PaymentIntent with one of the following statuses "
                          "may be confirmed: requires_confirmation, requires_action, "
                          "requires_payment_method.")
    if not intent.get("payment_method"):
        if intent.get("customer"):
            message = (f"You cannot confirm this PaymentIntent because it's missing a payment "
                       f"method. To confirm the PaymentIntent with {intent['customer']}, specify "
                       "a payment method attached to this customer along with the customer ID.")
        else:
            message = ("You cannot confirm this PaymentIntent because it's missing a payment "
                       "method. You can either update the PaymentIntent with a payment method "
                       "and then confirm it again, or confirm it again directly with a payment "
                       "method.")
        raise _unexpected(intent, message)
    pm = get_object(op.tenant, "payment_method", intent["payment_method"],
                    label="PaymentMethod", param="payment_method")
    if pm.get("customer") and pm["customer"] != intent.get("customer"):
        raise invalid_request(
            f"The provided PaymentMethod is attached to a different Customer ({pm['customer']}) "
            "than the one on this PaymentIntent. Specify that Customer on the PaymentIntent.",
            "payment_method")
    outcome = _outcome(op, pm)
    charge = _create_charge(op, intent, pm, outcome)
    intent["latest_charge"] = charge["id"]
    if not outcome.declined:
        intent.update(status="succeeded", amount_received=intent["amount"],
                      last_payment_error=None)
        op.emit("charge.succeeded", charge)
        op.emit("payment_intent.succeeded", intent)
        return
    error = _decline_error(charge, pm, outcome)
    intent.update(status="requires_payment_method", payment_method=None,
                  last_payment_error=error)
    op.emit("charge.failed", charge)
    op.emit("payment_intent.payment_failed", intent)
    raise card_error(error["code"], error.get("decline_code"), error["message"],
                     charge=charge["id"], payment_intent=copy.deepcopy(intent),
                     payment_method=copy.deepcopy(pm))


def _outcome(op: Op, pm: dict[str, Any]) -> cards.Outcome:
    """The test card's outcome, unless a `decline` fault forces a decline code."""
    forced = op.directives.get("decline")
    if forced:
        decline_code = forced.get("code") or "generic_decline"
        code = decline_code if decline_code in ("expired_card", "incorrect_cvc",
                                                "processing_error") else "card_declined"
        return cards.decline(decline_code, code)
    return cards.card_for(card_number(op.tenant, pm["id"])).outcome


def _decline_error(charge: dict[str, Any], pm: dict[str, Any],
                   outcome: cards.Outcome) -> dict[str, Any]:
    code = outcome.code or "card_declined"
    error: dict[str, Any] = {
        "charge": charge["id"], "code": code, "decline_code": outcome.decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": charge["failure_message"], "payment_method": copy.deepcopy(pm),
        "type": "card_error"}
    return {k: v for k, v in error.items() if v is not None}


def _create_charge(op: Op, intent: dict[str, Any], pm: dict[str, Any],
                   outcome: cards.Outcome) -> dict[str, Any]:
    ok = not outcome.declined
    card = pm["card"]
    forced = op.directives.get("decline") or {}
    message = (forced.get("message") or cards.message_for(outcome.decline_code, outcome.code)
               if not ok else None)
    charge = {
        "id": op.id("ch"), "object": "charge", "amount": intent["amount"],
        "amount_captured": intent["amount"] if ok else 0, "amount_refunded": 0,
        "application": None, "application_fee": None, "application_fee_amount": None,
        "balance_transaction": None, "billing_details": copy.deepcopy(pm["billing_details"]),
        "calculated_statement_descriptor": "LANDSCAPE FAKE", "captured": ok,
        "created": op.now, "currency": intent["currency"], "customer": intent.get("customer"),
        "description": intent.get("description"), "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if ok else outcome.code, "failure_message": message,
        "fraud_details": {}, "invoice": intent.get("invoice"), "livemode": False,
        "metadata": copy.deepcopy(intent.get("metadata") or {}), "on_behalf_of": None,
        "outcome": {"network_status": outcome.network_status,
                    "reason": outcome.decline_code if not ok else None,
                    "risk_level": outcome.risk_level, "risk_score": 20,
                    "seller_message": cards.seller_message(outcome), "type": outcome.type},
        "paid": ok, "payment_intent": intent["id"], "payment_method": pm["id"],
        "payment_method_details": {
            "card": {"brand": card["brand"],
                     "checks": {"address_line1_check": None, "address_postal_code_check": None,
                                "cvc_check": card["checks"].get("cvc_check")},
                     "country": card["country"], "exp_month": card["exp_month"],
                     "exp_year": card["exp_year"], "fingerprint": card["fingerprint"],
                     "funding": card["funding"], "installments": None, "last4": card["last4"],
                     "mandate": None, "network": card["brand"],
                     "network_token": {"used": False}, "three_d_secure": None, "wallet": None},
            "type": "card"},
        "receipt_email": intent.get("receipt_email"), "receipt_number": None,
        "receipt_url": None, "refunded": False, "review": None, "shipping": None,
        "source_transfer": None, "statement_descriptor": intent.get("statement_descriptor"),
        "statement_descriptor_suffix": intent.get("statement_descriptor_suffix"),
        "status": "succeeded" if ok else "failed", "transfer_data": None,
        "transfer_group": intent.get("transfer_group"),
    }
    if outcome.type == "blocked":
        charge["outcome"]["reason"] = "highest_risk_level"
    op.tenant.collection("charge")[charge["id"]] = charge
    return charge


def cancel_payment_intent(op: Op, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    intent = get_object(op.tenant, "payment_intent", intent_id, param="intent")
    reason = params.get("cancellation_reason") or None
    if reason is not None and reason not in CANCELLATION_REASONS:
        raise invalid_request("Invalid cancellation_reason: must be one of duplicate, "
                              "fraudulent, requested_by_customer, or abandoned",
                              "cancellation_reason")
    if intent["status"] not in CANCELABLE:
        raise _unexpected(intent, f"You cannot cancel this PaymentIntent because it has a status "
                          f"of {intent['status']}. Only a PaymentIntent with one of the following "
                          "statuses may be canceled: requires_payment_method, requires_capture, "
                          "requires_confirmation, requires_action, processing.")
    intent.update(status="canceled", canceled_at=op.now, cancellation_reason=reason)
    op.emit("payment_intent.canceled", intent)
    return intent


def attempt_payment(sim: Any, tenant: Tenant, *, amount: int, currency: str,
                    customer: str | None, payment_method: str, description: str | None = None,
                    invoice: str | None = None, metadata: dict | None = None,
                    directives: dict | None = None, request_id: str | None = None,
                    idempotency_key: str | None = None, off_session: bool = True) -> dict:
    """Create and confirm a PaymentIntent (for billing's invoice payments).

    Returns the PaymentIntent dict: `succeeded`, or `requires_payment_method` with
    `last_payment_error` (and the failed charge as `latest_charge`). Never raises for a decline;
    raises a VendorError only for bad input (unknown customer or payment method).
    """
    op = Op(sim, tenant, request_id, idempotency_key, dict(directives or {}))
    params: dict[str, Any] = {"amount": amount, "currency": currency,
                              "payment_method": payment_method, "confirm": "true",
                              "off_session": "true" if off_session else "false"}
    if customer:
        params["customer"] = customer
    if description is not None:
        params["description"] = description
    if invoice is not None:
        params["invoice"] = invoice
    if metadata:
        params["metadata"] = {str(k): str(v) for k, v in metadata.items()}
    try:
        return create_payment_intent(op, params)
    except VendorError as error:
        body = error.body.get("error", {}) if isinstance(error.body, dict) else {}
        if error.status == 402 and isinstance(body.get("payment_intent"), dict):
            return tenant.collection("payment_intent")[body["payment_intent"]["id"]]
        raise


def list_payment_intents(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(reversed(tenant.collection("payment_intent").values()))
    if params.get("customer"):
        found = [p for p in found if p.get("customer") == params["customer"]]
    return found


# -- charges and refunds ----------------------------------------------------------------------
def list_charges(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(reversed(tenant.collection("charge").values()))
    for name in ("customer", "payment_intent", "transfer_group"):
        if params.get(name):
            found = [c for c in found if c.get(name) == params[name]]
    return found


def _money(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    text = f"{amount / 100:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def create_refund(op: Op, params: dict[str, Any]) -> dict[str, Any]:
    charge_id, intent_id = params.get("charge"), params.get("payment_intent")
    if not charge_id and not intent_id:
        raise invalid_request("One of the following params should be provided for this request: "
                              "payment_intent or charge.")
    if charge_id and intent_id:
        raise invalid_request("You cannot specify both the charge and payment_intent "
                              "parameters.", "payment_intent")
    if intent_id:
        intent = get_object(op.tenant, "payment_intent", intent_id, param="payment_intent")
        if intent["status"] != "succeeded" or not intent.get("latest_charge"):
            raise invalid_request(f"This PaymentIntent ({intent_id}) does not have a successful "
                                  "charge to refund.", "payment_intent")
        charge_id = intent["latest_charge"]
    charge = get_object(op.tenant, "charge", charge_id, param="charge")
    if charge["status"] != "succeeded":
        raise invalid_request(f"Charge {charge['id']} has not been captured and cannot be "
                              "refunded.", "charge")
    if charge["refunded"]:
        raise stripe_error(400, "invalid_request_error",
                           f"Charge {charge['id']} has already been refunded.",
                           code="charge_already_refunded")
    remaining = charge["amount"] - charge["amount_refunded"]
    amount = _amount(params, False)
    amount = remaining if amount is None else amount
    if amount > remaining:
        total = "charge amount" if charge["amount_refunded"] == 0 else \
            "unrefunded amount on charge"
        raise invalid_request(
            f"Refund amount ({_money(amount, charge['currency'])}) is greater than {total} "
            f"({_money(remaining, charge['currency'])})", "amount")
    reason = params.get("reason") or None
    if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
        raise invalid_request("Invalid reason: must be one of duplicate, fraudulent, or "
                              "requested_by_customer", "reason")
    refund: dict[str, Any] = {
        "id": op.id("re"), "object": "refund", "amount": amount, "balance_transaction": None,
        "charge": charge["id"], "created": op.now, "currency": charge["currency"],
        "metadata": {},
        "payment_intent": charge.get("payment_intent"), "reason": reason,
        "receipt_number": None, "source_transfer_reversal": None, "status": "succeeded",
        "transfer_reversal": None,
    }
    apply_metadata(refund, params.get("metadata"))
    op.tenant.collection("refund")[refund["id"]] = refund
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    op.emit("charge.refunded", charge, previous)
    op.emit("refund.created", refund)
    return refund


def list_refunds(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(reversed(tenant.collection("refund").values()))
    for name in ("charge", "payment_intent"):
        if params.get(name):
            found = [r for r in found if r.get(name) == params[name]]
    return found


# -- events and webhook endpoints ---------------------------------------------------------------
def visible_events(sim: Any, tenant: Tenant) -> list[dict[str, Any]]:
    """Events of the last 30 days by the fake's clock, newest first."""
    oldest = sim.clock.now() - EVENT_RETENTION
    return [e for e in reversed(tenant.collection("event").values()) if e["created"] >= oldest]


def list_events(sim: Any, tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    import fnmatch

    found = visible_events(sim, tenant)
    if params.get("type"):
        found = [e for e in found if fnmatch.fnmatchcase(e["type"], params["type"])]
    types = params.get("types")
    if types:
        if params.get("type"):
            raise invalid_request("You cannot specify both the type and types parameters.",
                                  "types")
        types = types if isinstance(types, list) else [types]
        if len(types) > 20:
            raise invalid_request("You may specify at most 20 types.", "types")
        found = [e for e in found if e["type"] in types]
    success = params.get("delivery_success")
    if success not in (None, ""):
        wanted = str(success).lower() == "true"
        outcomes = tenant.collection("_event_delivery")
        found = [e for e in found if e["id"] in outcomes and outcomes[e["id"]] == wanted]
    return found


def get_event(sim: Any, tenant: Tenant, event_id: str) -> dict[str, Any]:
    event = get_object(tenant, "event", event_id, label="event")
    if event["created"] < sim.clock.now() - EVENT_RETENTION:
        raise resource_missing("event", event_id)
    return event


def _enabled_events(raw: Any, allowed: set[str] | None) -> list[str]:
    if raw in (None, ""):
        raise missing_param("enabled_events")
    events = raw if isinstance(raw, list) else [raw]
    for i, name in enumerate(events):
        if allowed is not None and name != "*" and name not in allowed:
            raise invalid_request(f"Invalid enabled_events[{i}]: must be one of "
                                  f"{', '.join(sorted(allowed)[:5])}, …", f"enabled_events[{i}]")
    return list(events)


def _check_url(url: Any) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_request(f"Invalid URL: {url}. URLs must begin with http:// or https://",
                              "url")
    return str(url)


def create_webhook_endpoint(op: Op, params: dict[str, Any],
                            allowed_events: set[str] | None = None, *,
                            endpoint_id: str | None = None,
                            secret: str | None = None) -> dict[str, Any]:
    """`endpoint_id`, `secret`: chosen ones (provider states); Stripe generates both otherwise."""
    if not params.get("url"):
        raise missing_param("url")
    url = _check_url(params["url"])
    enabled = _enabled_events(params.get("enabled_events"), allowed_events)
    endpoint: dict[str, Any] = {
        "id": endpoint_id or op.id("we"), "object": "webhook_endpoint",
        "api_version": params.get("api_version") or None, "application": None,
        "created": op.now, "description": _text(params.get("description")),
        "enabled_events": enabled, "livemode": False, "metadata": {},
        "secret": secret or "whsec_" + op.sim.seeds.token(f"ids:{op.tenant.id}", 32),
        "status": "enabled", "url": url,
    }
    apply_metadata(endpoint, params.get("metadata"))
    op.tenant.collection("webhook_endpoint")[endpoint["id"]] = endpoint
    return endpoint


def public_endpoint(endpoint: dict[str, Any]) -> dict[str, Any]:
    """The secret is shown only in the create response."""
    return {k: v for k, v in endpoint.items() if k != "secret"}


def update_webhook_endpoint(op: Op, endpoint_id: str, params: dict[str, Any],
                            allowed_events: set[str] | None = None) -> dict[str, Any]:
    endpoint = get_object(op.tenant, "webhook_endpoint", endpoint_id,
                          label="webhook endpoint", param="webhook_endpoint")
    if "url" in params:
        endpoint["url"] = _check_url(params["url"])
    if "enabled_events" in params:
        endpoint["enabled_events"] = _enabled_events(params["enabled_events"], allowed_events)
    if "description" in params:
        endpoint["description"] = _text(params["description"])
    if params.get("disabled") not in (None, ""):
        disabled = str(params["disabled"]).lower() == "true"
        endpoint["status"] = "disabled" if disabled else "enabled"
    apply_metadata(endpoint, params.get("metadata"))
    return endpoint


def delete_webhook_endpoint(op: Op, endpoint_id: str) -> dict[str, Any]:
    get_object(op.tenant, "webhook_endpoint", endpoint_id, label="webhook endpoint",
               param="webhook_endpoint")
    del op.tenant.collection("webhook_endpoint")[endpoint_id]
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}
