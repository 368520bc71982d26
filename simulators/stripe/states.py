"""Provider states of the fake Stripe (see core/states.py): named setups, with the ids given.

Every object is made by the same model functions the API routes call, so it has the fields,
events and billing schedule an API-made one has. A state set up twice with the same params
finds its objects and returns the same ids (Pact verification sets a state up before every
interaction); an id that already names an object of another kind, or one that is not what the
state names (a card that succeeds where one that declines is asked for, an intent that did not
succeed), is a `StateError`. Each state takes the params of the states it builds on (a card
state takes the customer's), so one call sets up the whole chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simulators.core.simulator import Simulator
from simulators.core.states import (
    ParamSpec,
    ProviderState,
    StateError,
    describe_params,
    states_by_name,
    take_params,
)
from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext, VendorError
from simulators.stripe import billing, cards, models
from simulators.stripe.billing_catalog import create_price, create_product
from simulators.stripe.billing_invoices import _collect, _finalize
from simulators.stripe.billing_subscriptions import _renew

STATE_PRODUCT = "prod_ProviderStates"  # the one product behind every state's subscriptions
# decline_code -> the documented test card that declines with it. 0341 is Stripe's "attaches,
# then every charge fails" card; the others decline at attach time through the API, so the
# states attach them unverified, as cards that began declining after they were saved.
DECLINING_CARDS: dict[str, str] = {
    card.outcome.decline_code: number for number, card in cards.CARDS.items()
    if card.outcome.declined and card.outcome.decline_code}
DECLINING_CARDS["generic_decline"] = "4000000000000341"
SUCCEEDING_CARD = "4242424242424242"

# param -> (what it is, its default); None means "none unless given"
CUSTOMER: ParamSpec = {
    "customer_id": ("the customer's id (cus_…)", "cus_StateCustomer1"),
    "email": ("the customer's email", "jenny.rosen@example.com"),
    "name": ("the customer's name", "Jenny Rosen"),
}
GOOD_CARD = {**CUSTOMER, "payment_method_id": (
    "the card's PaymentMethod id (pm_…), made the customer's default payment method",
    "pm_StateCardSucceeds0000000")}
BAD_CARD = {**CUSTOMER, "payment_method_id": (
    "the card's PaymentMethod id (pm_…), made the customer's default payment method",
    "pm_StateCardDeclines0000000"), "decline_code": (
    "what every charge of the card fails with: one of " + ", ".join(sorted(DECLINING_CARDS)),
    "insufficient_funds")}
FAILED_RENEWAL = {
    **BAD_CARD,
    "subscription_id": ("the subscription's id (sub_…)", "sub_StatePastDueSubscription"),
    "invoice_id": ("the failed renewal invoice's id (in_…)", "in_StateFailedRenewal000000"),
    "amount": ("the price per period, in the currency's minor unit", 2000),
    "currency": ("three-letter ISO code, lower case", "usd"),
    "interval": ("the billing period: day, week, month or year", "month"),
}
SUCCEEDED_INTENT = {
    **GOOD_CARD,
    "payment_intent_id": ("the PaymentIntent's id (pi_…)", "pi_StateSucceededIntent0001"),
    "amount": ("the amount, in the currency's minor unit", 2000),
    "currency": ("three-letter ISO code, lower case", "usd"),
}
WEBHOOK_ENDPOINT = {
    "endpoint_id": ("the endpoint's id (we_…)", "we_StateWebhookEndpoint0000"),
    "url": ("where events are delivered (loopback only)",
            "http://127.0.0.1:9000/webhooks/stripe"),
    "secret": ("the signing secret (whsec_…); generated when not given, returned either way",
               None),
    "enabled_events": ("event types sent, a list", ["*"]),
}


@dataclass
class _Seeding(RequestContext):
    """A request context for objects a state creates in the past (a subscription a period
    old): no request id, and business time `at` instead of the clock's."""

    at: float = 0.0

    @property
    def now(self) -> float:
        return self.at






def _id(value: Any, prefix: str, param: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(rf"{prefix}_[A-Za-z0-9_]{{1,250}}", value):
        raise StateError(f"{param} must be a Stripe id starting with {prefix}_ (letters, digits, "
                         f"underscores), not {value!r}")
    return value


def _amount(value: Any, param: str = "amount") -> int:
    try:
        amount = int(value)
    except (TypeError, ValueError):
        amount = 0
    if isinstance(value, bool) or str(amount) != str(value).strip() or not 1 <= amount <= 99999999:
        raise StateError(f"{param} must be a whole number of minor units from 1 to 99999999, "
                         f"not {value!r}")
    return amount


def _currency(value: Any) -> str:
    currency = str(value).lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise StateError(f"currency must be a three-letter ISO code such as usd, not {value!r}")
    return currency


def _vendor_message(error: VendorError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    return str((body.get("error") or {}).get("message") or error)


def _guarded(name: str, setup: Any) -> Any:
    """Bad params the models reject (an invalid currency, a URL) become StateErrors."""
    def run(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return setup(sim, tenant, params)
        except VendorError as error:
            raise StateError(f"{name}: {_vendor_message(error)}") from None
    return run


# -- customers and cards ----------------------------------------------------------------------
def _customer(sim: Simulator, tenant: Tenant, p: dict[str, Any],
              given: dict[str, Any]) -> dict[str, Any]:
    customer_id = _id(p["customer_id"], "cus", "customer_id")
    existing = tenant.collection("customer").get(customer_id)
    if existing is not None:
        if existing.get("deleted"):
            raise StateError(f"customer {customer_id} was deleted; choose another customer_id")
        for name in ("email", "name"):
            if name in given and existing.get(name) != given[name]:
                raise StateError(f"customer {customer_id} exists with {name} "
                                 f"{existing.get(name)!r}, not {given[name]!r}")
        return existing
    fields = {name: p[name] for name in ("email", "name") if p[name] is not None}
    return models.create_customer(models.Op(sim, tenant), fields, customer_id=customer_id)


def _behaviour(decline_code: str | None) -> str:
    return f"declines with {decline_code}" if decline_code else "succeeds"


def _card(sim: Simulator, tenant: Tenant, p: dict[str, Any], given: dict[str, Any],
          decline_code: str | None) -> dict[str, Any]:
    """The customer's card, charging as asked, made the customer's default payment method."""
    customer = _customer(sim, tenant, p, given)
    pm_id = _id(p["payment_method_id"], "pm", "payment_method_id")
    if pm_id in cards.TOKENS:  # the API would read it as a test token and make a new card
        raise StateError(f"{pm_id} is a Stripe test token; choose another payment_method_id")
    op = models.Op(sim, tenant)
    pm = tenant.collection("payment_method").get(pm_id)
    if pm is not None:
        have = cards.card_for(models.card_number(tenant, pm_id)).outcome.decline_code
        if have != decline_code:
            raise StateError(f"{pm_id} is a card that {_behaviour(have)}, not one that "
                             f"{_behaviour(decline_code)}")
        if pm.get("customer") not in (None, customer["id"]):
            raise StateError(f"{pm_id} belongs to customer {pm['customer']}, not "
                             f"{customer['id']}")
    else:
        number = DECLINING_CARDS[decline_code] if decline_code else SUCCEEDING_CARD
        year = int(sim.clock.now() // (365.25 * 86400)) + 1970 + 3
        pm = models.create_payment_method(
            op, {"type": "card", "card": {"number": number, "exp_month": "12",
                                          "exp_year": str(year)}},
            payment_method_id=pm_id)
    if pm.get("customer") is None:
        models.attach_payment_method(op, pm_id, customer["id"], verify_card=False)
    # emits customer.updated only when the default changes, so a second setup is silent
    models.update_customer(op, customer["id"],
                           {"invoice_settings": {"default_payment_method": pm_id}})
    return pm


def _decline_code(value: Any) -> str:
    if value not in DECLINING_CARDS:
        raise StateError(f"no test card declines with {value!r}; decline_code is one of "
                         f"{', '.join(sorted(DECLINING_CARDS))}")
    return value


def a_customer(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
    p = take_params(params, CUSTOMER)
    return {"customer_id": _customer(sim, tenant, p, params)["id"]}


def a_customer_with_a_card_that_succeeds(sim: Simulator, tenant: Tenant,
                                         params: dict[str, Any]) -> dict[str, Any]:
    p = take_params(params, GOOD_CARD)
    pm = _card(sim, tenant, p, params, None)
    return {"customer_id": pm["customer"], "payment_method_id": pm["id"]}


def a_customer_with_a_card_that_declines(sim: Simulator, tenant: Tenant,
                                         params: dict[str, Any]) -> dict[str, Any]:
    p = take_params(params, BAD_CARD)
    pm = _card(sim, tenant, p, params, _decline_code(p["decline_code"]))
    return {"customer_id": pm["customer"], "payment_method_id": pm["id"],
            "decline_code": p["decline_code"]}


# -- billing ----------------------------------------------------------------------------------
def _failed_renewal_ids(sub: dict[str, Any], invoice: dict[str, Any],
                        tenant: Tenant) -> dict[str, Any]:
    intent = tenant.collection("payment_intent").get(invoice.get("payment_intent") or "") or {}
    error = intent.get("last_payment_error") or {}
    pm = error.get("payment_method") or {}
    return {"customer_id": sub["customer"], "subscription_id": sub["id"],
            "invoice_id": invoice["id"], "payment_intent_id": invoice.get("payment_intent"),
            "charge_id": invoice.get("charge"),
            "payment_method_id": pm.get("id") if isinstance(pm, dict) else pm,
            "decline_code": error.get("decline_code")}


def a_subscription_with_an_open_invoice_whose_payment_failed(
        sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
    """An active subscription a period old whose renewal invoice was just finalized and
    charged: the charge declined, so the invoice is open with attempt_count 1 and its next
    retry scheduled, and the subscription is past_due. Its first period was invoiced at $0
    (billing_cycle_anchor at the renewal, proration_behavior=none), so it never charged the
    card before the renewal did."""
    p = take_params(params, FAILED_RENEWAL)
    sub_id = _id(p["subscription_id"], "sub", "subscription_id")
    invoice_id = _id(p["invoice_id"], "in", "invoice_id")
    customer_id = _id(p["customer_id"], "cus", "customer_id")
    amount, decline_code = _amount(p["amount"]), _decline_code(p["decline_code"])
    currency = _currency(p["currency"])
    if p["interval"] not in ("day", "week", "month", "year"):
        raise StateError(f"interval must be day, week, month or year, not {p['interval']!r}")
    sub = tenant.collection(billing.SUBSCRIPTIONS).get(sub_id)
    invoice = tenant.collection(billing.INVOICES).get(invoice_id)
    if sub is not None or invoice is not None:  # set up before: check it is this state
        if sub is None or invoice is None or invoice.get("subscription") != sub_id:
            raise StateError(f"{sub_id if sub is not None else invoice_id} exists, but "
                             f"{invoice_id} is not the invoice of subscription {sub_id}")
        if sub["customer"] != customer_id:
            raise StateError(f"subscription {sub_id} belongs to customer {sub['customer']}, "
                             f"not {customer_id}")
        return _failed_renewal_ids(sub, invoice, tenant)
    pm = _card(sim, tenant, p, params, decline_code)
    now = int(sim.clock.now())
    # the renewal was created `finalize_after_seconds` ago, so it is finalized and charged now,
    # as Stripe does about an hour after invoice.created
    renewal = now - int(billing.settings(tenant)["finalize_after_seconds"])
    start = billing.add_interval(renewal, p["interval"], -1)
    while billing.add_interval(start, p["interval"], 1) < renewal:  # month ends clamp
        start += billing.DAY  # the anchor may be at most one period after the start
    anchor = renewal
    ctx = _Seeding(sim=sim, request_id=None, tenant=tenant, at=start)  # type: ignore[arg-type]
    if STATE_PRODUCT not in tenant.collection("product"):
        create_product(ctx, {"id": STATE_PRODUCT, "name": "Provider state plan"})
    price = create_price(ctx, {"product": STATE_PRODUCT, "currency": currency,
                               "unit_amount": amount,
                               "recurring": {"interval": p["interval"]}})
    sub = billing.create_subscription(
        ctx, {"customer": customer_id, "items": [{"price": price["id"]}],
              "billing_cycle_anchor": anchor, "proration_behavior": "none"},
        subscription_id=sub_id, at=start)
    _renew(sim, tenant, sub, anchor, invoice_id=invoice_id)
    invoice = tenant.collection(billing.INVOICES)[invoice_id]
    _finalize(sim, tenant, invoice, now)
    _collect(sim, tenant, invoice, now, automatic=True)
    ids = _failed_renewal_ids(sub, invoice, tenant)
    return {**ids, "payment_method_id": pm["id"]}


# -- payments and webhooks --------------------------------------------------------------------
def a_succeeded_payment_intent(sim: Simulator, tenant: Tenant,
                               params: dict[str, Any]) -> dict[str, Any]:
    p = take_params(params, SUCCEEDED_INTENT)
    intent_id = _id(p["payment_intent_id"], "pi", "payment_intent_id")
    customer_id = _id(p["customer_id"], "cus", "customer_id")
    amount, currency = _amount(p["amount"]), _currency(p["currency"])
    intent = tenant.collection("payment_intent").get(intent_id)
    if intent is None:
        pm = _card(sim, tenant, p, params, None)
        intent = models.create_payment_intent(
            models.Op(sim, tenant), {"amount": amount, "currency": currency,
                                     "customer": customer_id, "payment_method": pm["id"],
                                     "confirm": "true"}, intent_id=intent_id)
    wanted = {"status": "succeeded", "amount": amount, "currency": currency,
              "customer": customer_id}
    for name, value in wanted.items():
        if intent.get(name) != value:
            raise StateError(f"payment intent {intent_id} exists with {name} "
                             f"{intent.get(name)!r}, not {value!r}")
    return {"payment_intent_id": intent_id, "customer_id": customer_id,
            "payment_method_id": intent["payment_method"], "charge_id": intent["latest_charge"]}


def a_webhook_endpoint(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
    from simulators.stripe import openapi

    p = take_params(params, WEBHOOK_ENDPOINT)
    endpoint_id = _id(p["endpoint_id"], "we", "endpoint_id")
    secret = p["secret"]
    if secret is not None and not (isinstance(secret, str)
                                   and re.fullmatch(r"whsec_[A-Za-z0-9_]+", secret)):
        raise StateError(f"secret must start with whsec_ (letters, digits), not {secret!r}")
    events = p["enabled_events"]
    events = [events] if isinstance(events, str) else events
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events) or not events:
        raise StateError(f"enabled_events must be a list of event types, not {events!r}")
    endpoint = tenant.collection("webhook_endpoint").get(endpoint_id)
    if endpoint is None:
        endpoint = models.create_webhook_endpoint(
            models.Op(sim, tenant), {"url": p["url"], "enabled_events": list(events)},
            openapi.enum_of("/v1/webhook_endpoints", "post", "enabled_events"),
            endpoint_id=endpoint_id, secret=secret)
    for name, value in (("url", p["url"]), ("secret", secret)):
        if value is not None and endpoint[name] != value:
            raise StateError(f"webhook endpoint {endpoint_id} exists with another {name}")
    return {"endpoint_id": endpoint_id, "url": endpoint["url"], "secret": endpoint["secret"]}


def _state(name: str, description: str, setup: Any,
           spec: ParamSpec) -> ProviderState:
    return ProviderState(name, description, _guarded(name, setup), describe_params(spec))


STATES = states_by_name(
    _state("a customer", "A customer with an email and a name.", a_customer, CUSTOMER),
    _state("a customer with a card that succeeds",
           "A customer whose default payment method is a Visa test card (4242…) that every "
           "charge succeeds on.", a_customer_with_a_card_that_succeeds, GOOD_CARD),
    _state("a customer with a card that declines",
           "A customer whose default payment method is the test card declining with "
           "decline_code (card_declined, or expired_card / incorrect_cvc / processing_error "
           "for those codes) on every charge.", a_customer_with_a_card_that_declines, BAD_CARD),
    _state("a subscription with an open invoice whose payment failed",
           "What a recovery engine sees after a failed renewal: a past_due subscription whose "
           "latest invoice (billing_reason subscription_cycle) is open, attempt_count 1, "
           "next_payment_attempt on the account's retry schedule, its PaymentIntent "
           "requires_payment_method with last_payment_error.decline_code; the customer's "
           "declining card is the default payment method, so retries decline too.",
           a_subscription_with_an_open_invoice_whose_payment_failed, FAILED_RENEWAL),
    _state("a succeeded payment intent",
           "A PaymentIntent confirmed with the customer's succeeding card: status succeeded, "
           "with its succeeded charge (refundable).", a_succeeded_payment_intent,
           SUCCEEDED_INTENT),
    _state("a webhook endpoint",
           "An enabled webhook endpoint; every event of the account matching enabled_events "
           "is delivered to url, signed with secret.", a_webhook_endpoint, WEBHOOK_ENDPOINT),
)
