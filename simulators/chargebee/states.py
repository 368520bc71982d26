"""Provider states of the fake Chargebee (see core/states.py): named setups, with the ids given.

Objects are made by the model functions the API routes call (customers, Test Gateway cards,
catalog, subscriptions, renewals and dunning), so they carry the fields, events and clock work of
API-made ones. A state set up twice with the same params finds its objects and returns the same
ids; an id taken by an object that is not what the state names (a card that succeeds where one
that declines is asked for, an invoice of another subscription) is a `StateError`. Each state
takes the params of the states it builds on.
"""

from __future__ import annotations

import re
from typing import Any

from simulators.chargebee import billing, models
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
from simulators.core.vendor import VendorError

# Test Gateway cards (https://chargebee.com/docs/chargebee-test-gateway.html)
CARDS = {"succeeds": "4111111111111111", "declines": models.DECLINE_CARD}
FAMILY, PLAN = "provider-states", "provider-state-plan"  # the catalog behind every state
TRIAL_DAYS = 14
ID_RE = re.compile(r"[A-Za-z0-9_\-@.]{1,50}")  # Chargebee's id rule

# param -> (what it is, its default; None: optional)
CUSTOMER: ParamSpec = {
    "customer_id": ("the customer's id", "state_customer_1"),
    "first_name": ("the customer's first name", "Ada"),
    "last_name": ("the customer's last name", "Lovelace"),
    "email": ("the customer's email", "ada@example.com"),
    "fields": ("more customer create params, e.g. the site's cf_ fields, as an object", None),
}
CARD = {
    **CUSTOMER,
    "card": ("what charging the card does: succeeds (4111 1111 1111 1111) or declines "
             "(4005 5192 0000 0004, insufficient_funds)", "succeeds"),
    "payment_source_id": ("the card's payment source id, made the customer's primary one",
                          "pm_state_card_<card>"),
}
IN_DUNNING = {
    **CUSTOMER,
    "payment_source_id": ("the declining card's payment source id", "pm_state_card_declines"),
    "subscription_id": ("the subscription's id", "state_sub_in_dunning"),
    "invoice_id": ("the unpaid invoice's id", "state_invoice_in_dunning"),
    "amount": ("the plan's price per month, in the currency's minor unit", 2000),
    "currency": ("the item price's currency code", "USD"),
}






def _id(value: Any, param: str) -> str:
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise StateError(f"{param} must be 1-50 letters, digits or _-@. characters, "
                         f"not {value!r}")
    return value


def _guarded(name: str, setup: Any) -> Any:
    """Bad params the models reject (a cf_ value, a currency) become StateErrors."""
    def run(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return setup(sim, tenant, params)
        except VendorError as error:
            body = error.body if isinstance(error.body, dict) else {}
            raise StateError(f"{name}: {body.get('message') or error}") from None
    return run


# -- customers and cards ----------------------------------------------------------------------
def _customer(sim: Simulator, tenant: Tenant, p: dict[str, Any]) -> dict[str, Any]:
    customer_id = _id(p["customer_id"], "customer_id")
    existing = tenant.collection("customer").get(customer_id)
    if existing is not None:
        if existing.get("deleted"):
            raise StateError(f"customer {customer_id} was deleted; choose another customer_id")
        return existing
    extra = p["fields"] or {}
    if not isinstance(extra, dict):
        raise StateError(f"fields must be an object of customer params, not {extra!r}")
    body = {**extra, "id": customer_id}
    body.update({k: p[k] for k in ("first_name", "last_name", "email") if p[k] is not None})
    return models.create_customer(sim, tenant, body, sim.clock.now())


def _card(sim: Simulator, tenant: Tenant, p: dict[str, Any], behaviour: str) -> dict[str, Any]:
    """The customer's card on the Test Gateway; a new one becomes the primary card."""
    customer = _customer(sim, tenant, p)
    source_id = _id(p["payment_source_id"], "payment_source_id")
    source = tenant.collection("payment_source").get(source_id)
    if source is not None:
        have = "declines" if tenant.collection("_vault").get(source_id) == models.DECLINE_CARD \
            else "succeeds"
        if have != behaviour:
            raise StateError(f"payment source {source_id} is a card that {have}, not one that "
                             f"{behaviour}")
        if source["customer_id"] != customer["id"]:
            raise StateError(f"payment source {source_id} belongs to customer "
                             f"{source['customer_id']}, not {customer['id']}")
        return source
    now = sim.clock.now()
    year = int(now // (365.25 * 86400)) + 1970 + 3
    return models.add_card(sim, tenant, customer,
                           {"number": CARDS[behaviour], "expiry_month": "12",
                            "expiry_year": str(year)},
                           now, replace_primary=True, source_id=source_id)


def a_customer(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
    return {"customer_id": _customer(sim, tenant, take_params(params, CUSTOMER))["id"]}


def a_customer_with_a_card(sim: Simulator, tenant: Tenant,
                           params: dict[str, Any]) -> dict[str, Any]:
    p = take_params(params, CARD)
    if p["card"] not in CARDS:
        raise StateError(f"card must be succeeds or declines, not {p['card']!r}")
    if "payment_source_id" not in params:
        p["payment_source_id"] = f"pm_state_card_{p['card']}"
    source = _card(sim, tenant, p, p["card"])
    return {"customer_id": source["customer_id"], "payment_source_id": source["id"],
            "card": p["card"]}


# -- subscriptions ----------------------------------------------------------------------------
def _plan_price(sim: Simulator, tenant: Tenant, amount: int, currency: str,
                at: float) -> str:
    """The monthly item price of `amount`, made once per site (catalog objects have ids)."""
    if FAMILY not in tenant.collection("item_family"):
        models.create_item_family(tenant, {"id": FAMILY, "name": "Provider states"}, at)
    if PLAN not in tenant.collection("item"):
        models.create_item(tenant, {"id": PLAN, "name": "Provider state plan", "type": "plan",
                                    "item_family_id": FAMILY}, at)
    price_id = f"{PLAN}-{currency}-{amount}-monthly"
    if price_id not in tenant.collection("item_price"):
        models.create_item_price(tenant, {
            "id": price_id, "name": f"Provider state plan {currency} {amount}", "item_id": PLAN,
            "price": str(amount), "currency_code": currency, "period_unit": "month",
            "pricing_model": "flat_fee"}, at)
    return price_id


def _dunning_ids(tenant: Tenant, sub: dict[str, Any], invoice: dict[str, Any]) -> dict[str, Any]:
    attempts = invoice.get("dunning_attempts") or [{}]
    txn = tenant.collection("transaction").get(attempts[-1].get("transaction_id") or "") or {}
    return {"customer_id": sub["customer_id"], "subscription_id": sub["id"],
            "invoice_id": invoice["id"], "payment_source_id": txn.get("payment_source_id"),
            "transaction_id": txn.get("id")}


def a_subscription_in_dunning(sim: Simulator, tenant: Tenant,
                              params: dict[str, Any]) -> dict[str, Any]:
    """A subscription whose 14-day trial ended now: the first charge declined on the customer's
    card, so its invoice is payment_due with dunning in progress (next_retry_at on the site's
    schedule, dunning_attempts with the failed transaction)."""
    p = take_params(params, IN_DUNNING)
    sub_id, invoice_id = _id(p["subscription_id"], "subscription_id"), _id(p["invoice_id"],
                                                                           "invoice_id")
    customer_id = _id(p["customer_id"], "customer_id")
    try:
        amount = int(p["amount"])
    except (TypeError, ValueError):
        amount = 0
    if isinstance(p["amount"], bool) or str(amount) != str(p["amount"]).strip() or amount < 1:
        raise StateError(f"amount must be a positive whole number of minor units, "
                         f"not {p['amount']!r}")
    currency = str(p["currency"]).upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StateError(f"currency must be a three-letter code such as USD, not {currency!r}")
    sub = tenant.collection("subscription").get(sub_id)
    invoice = tenant.collection("invoice").get(invoice_id)
    if sub is not None or invoice is not None:  # set up before: check it is this state
        if sub is None or invoice is None or invoice.get("subscription_id") != sub_id:
            raise StateError(f"{sub_id if sub is not None else invoice_id} exists, but "
                             f"invoice {invoice_id} is not of subscription {sub_id}")
        if sub["customer_id"] != customer_id:
            raise StateError(f"subscription {sub_id} belongs to customer "
                             f"{sub['customer_id']}, not {customer_id}")
        return _dunning_ids(tenant, sub, invoice)
    source = _card(sim, tenant, p, "declines")
    customer = tenant.collection("customer")[customer_id]
    now = int(sim.clock.now())
    started = now - TRIAL_DAYS * int(models.DAY)
    body: dict[str, Any] = {
        "id": sub_id, "trial_end": now,
        "subscription_items": [{"item_price_id": _plan_price(sim, tenant, amount, currency,
                                                              started)}]}
    if customer.get("primary_payment_source_id") != source["id"]:
        body["payment_source_id"] = source["id"]  # charge this card, not the primary one
    sub, _ = billing.create_subscription(sim, tenant, customer, body, started)
    # the trial ends now: the term starts, its invoice is charged, declines, dunning begins
    billing._renew(sim, tenant, sub, float(now), invoice_id=invoice_id)
    invoice = tenant.collection("invoice")[invoice_id]
    return _dunning_ids(tenant, sub, invoice)


def _state(name: str, description: str, setup: Any,
           spec: ParamSpec) -> ProviderState:
    return ProviderState(name, description, _guarded(name, setup), describe_params(spec))


STATES = states_by_name(
    _state("a customer", "A customer (auto collection on, no card).", a_customer, CUSTOMER),
    _state("a customer with a card",
           "A customer whose primary payment source is a Test Gateway card that succeeds, or "
           "declines every charge with insufficient_funds.", a_customer_with_a_card, CARD),
    _state("a subscription in dunning",
           "An active subscription whose first charge (at the end of a 14-day trial) declined "
           "on the customer's card: its invoice is payment_due, dunning_status in_progress, "
           "next_retry_at on the site's dunning schedule; the subscription has "
           "due_invoices_count 1, and retries decline too.", a_subscription_in_dunning,
           IN_DUNNING),
)
