"""Subscriptions, invoices and transactions, and the clock-driven work: renewals and dunning.

A subscription bills its first term when it is created (charging the customer's primary card
when auto collection is on) and renews at `current_term_end`. A failed renewal charge leaves the
invoice `payment_due` with `dunning_status: in_progress`; retries follow the site's schedule
(`settings.dunning.retry_days`, days after the first failure; default 3, 5, 7). When they run out
the invoice becomes `not_paid` (`exhausted`) and the subscription is cancelled for non-payment
(`cancel_reason: not_paid`), or left active when `settings.dunning.on_exhausted` is "active".
Retry state the API never shows is kept in the `_dunning` collection.
"""

from __future__ import annotations

from typing import Any

from simulators.chargebee import errors
from simulators.chargebee.events import emit
from simulators.chargebee.models import (
    DAY,
    GATEWAY,
    GATEWAY_ACCOUNT,
    add_period,
    apply_custom_fields,
    billing_cycles,
    card_view,
    chosen_id,
    gateway_charge,
    get,
    money,
    new_id,
    optional_int,
    owned,
    parse_json,
    store,
    text_params,
    touch,
)
from simulators.core.simulator import Simulator
from simulators.core.tenancy import Tenant
from simulators.core.text import in_int64

DEFAULT_RETRY_DAYS = [3, 5, 7]
OPEN = ("payment_due", "not_paid")
OFFLINE_METHODS = ("cash", "check", "bank_transfer", "other", "chargeback", "custom",
                   "ach_credit", "sepa_credit", "boleto", "upi", "netbanking_emandates")


def dunning_settings(tenant: Tenant) -> tuple[list[float], str]:
    dunning = tenant.settings.get("dunning") or {}
    days = [float(d) for d in dunning.get("retry_days", DEFAULT_RETRY_DAYS)]
    return days, str(dunning.get("on_exhausted", "cancel"))


# -- subscriptions --------------------------------------------------------------------------------
def _items(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    raw = params.get("subscription_items")
    if not isinstance(raw, list) or not raw:
        raise errors.missing("subscription_items[item_price_id][0]")
    items, total = [], 0
    for i, entry in enumerate(raw):
        entry = entry if isinstance(entry, dict) else {}
        param = f"subscription_items[item_price_id][{i}]"
        if not entry.get("item_price_id"):
            raise errors.missing(param)
        price = get(tenant, "item_price", entry["item_price_id"], label="Item Price",
                    param=param)
        quantity = optional_int(entry, "quantity", f"subscription_items[{i}]")
        quantity = 1 if quantity is None else quantity
        if quantity < 1:
            raise errors.wrong_value(f"subscription_items[quantity][{i}]",
                                     "should be greater than or equal to 1")
        unit = optional_int(entry, "unit_price", f"subscription_items[{i}]")
        if unit is not None and unit < 0:
            raise errors.wrong_value(f"subscription_items[unit_price][{i}]",
                                     "should be greater than or equal to 0")
        unit = price["price"] if unit is None else unit
        amount = unit if price["pricing_model"] == "flat_fee" else unit * quantity
        total += amount
        if not in_int64(total):  # an amount Chargebee could not hold (a long) [U]
            raise errors.wrong_value(f"subscription_items[quantity][{i}]",
                                     "the amount is out of range")
        item = {"item_price_id": price["id"], "item_type": price["item_type"],
                "quantity": quantity if price["pricing_model"] != "flat_fee" else 1,
                "unit_price": unit, "amount": amount, "free_quantity": 0,
                "object": "subscription_item"}
        items.append(item)
    return items


def create_subscription(sim: Simulator, tenant: Tenant, customer: dict[str, Any],
                        params: dict[str, Any], now: float, *, decline: dict | None = None,
                        webhooks: bool = True) -> tuple[dict[str, Any], dict[str, Any] | None]:
    subs = tenant.collection("subscription")
    sub_id = chosen_id(params) or new_id(sim, tenant)  # checked as a customer's id is
    if sub_id in subs:
        raise errors.invalid_request(f"The value {sub_id} is already present.", "id",
                                     "duplicate_entry")
    items = _items(tenant, params)
    prices = tenant.collection("item_price")
    plans = [i for i in items if i["item_type"] == "plan"]
    if len(plans) != 1:
        raise errors.invalid_request("subscription_items : exactly one plan item price is "
                                     "required", "subscription_items[item_price_id][0]")
    plan = prices[plans[0]["item_price_id"]]
    currency = plan["currency_code"]
    if any(prices[i["item_price_id"]]["currency_code"] != currency for i in items):
        raise errors.invalid_request("subscription_items : all item prices must be in the same "
                                     "currency", "subscription_items[item_price_id][0]")
    source_id = params.get("payment_source_id") or customer.get("primary_payment_source_id")
    if params.get("payment_source_id"):
        source = get(tenant, "payment_source", source_id, label="Payment Source",
                     param="payment_source_id")
        if source["customer_id"] != customer["id"]:
            raise errors.not_found("Payment Source", "payment_source_id")
    sub: dict[str, Any] = {
        "id": sub_id, "billing_period": plan["period"], "billing_period_unit":
            plan["period_unit"], "customer_id": customer["id"], "currency_code": currency,
        "created_at": int(now), "has_scheduled_changes": False, "channel": "web",
        "has_scheduled_advance_invoices": False, "decommissioned": False,
        "due_invoices_count": 0, "mrr": 0, "deleted": False, "object": "subscription",
        "subscription_items": items}
    sub.update({k: v for k, v in text_params(params, ("po_number", "invoice_notes")).items()
                if v})
    auto = text_params(params, ("auto_collection",)).get("auto_collection")
    if auto:
        if auto not in ("on", "off"):
            raise errors.wrong_value("auto_collection", f"invalid value {auto}")
        sub["auto_collection"] = auto
    if params.get("payment_source_id"):
        sub["payment_source_id"] = source_id
    if params.get("meta_data"):
        sub["meta_data"] = parse_json(params["meta_data"], "meta_data")
    cycles = billing_cycles(params)
    if cycles:
        sub["remaining_billing_cycles"] = cycles
    apply_custom_fields(tenant, "subscription", params, sub, creating=True)
    start = optional_int(params, "start_date")
    trial_end = optional_int(params, "trial_end")
    if trial_end is None and plan.get("trial_period"):
        trial_end = int(add_period(now, plan["trial_period"], plan["trial_period_unit"]))
    invoice = None
    if start is not None and start > now:
        sub.update({"status": "future", "start_date": start, "next_billing_at": start})
    elif trial_end is not None and trial_end > now:
        sub.update({"status": "in_trial", "trial_start": int(now), "trial_end": trial_end,
                    "current_term_start": int(now), "current_term_end": trial_end,
                    "next_billing_at": trial_end, "started_at": int(now)})
    else:
        end = add_period(now, plan["period"], plan["period_unit"])
        amount = sum(i["amount"] for i in items)
        txn = None
        if _auto_collect(customer, sub) and source_id and amount > 0:
            txn = _charge(sim, tenant, customer, sub_id, source_id, amount, currency, now, decline)
            if txn["status"] != "success":
                raise errors.payment_failed(
                    f"Subscription cannot be created as we are not able to collect "
                    f"{money(amount, currency)} from your card on file. Error message: "
                    f"({txn['error_code']}) {txn['error_text']}.",
                    error_cause_id=txn["error_detail"].get("error_cause_id"))
        sub.update({"status": "active", "current_term_start": int(now),
                    "current_term_end": int(end), "next_billing_at": int(end),
                    "started_at": int(now), "activated_at": int(now), "mrr": amount})
        _count_cycle(sub)
        invoice = _invoice(sim, tenant, sub, now, end, now, first=True)
        if txn is not None:
            _apply(tenant, invoice, txn, now)
    store(tenant, "subscription", touch(sub, now))
    _plan_renewal(tenant, sub)
    content = {"subscription": sub, "customer": customer, "card": card_view(tenant, customer),
               "invoice": invoice}
    emit(sim, tenant, "subscription_created", content, now=now, webhooks=webhooks)
    if invoice is not None:
        _invoice_events(sim, tenant, invoice, now, "api", webhooks)
    return sub, invoice


def _auto_collect(customer: dict[str, Any], sub: dict[str, Any]) -> bool:
    return (sub.get("auto_collection") or customer.get("auto_collection", "on")) == "on"


def _count_cycle(sub: dict[str, Any]) -> None:
    if "remaining_billing_cycles" in sub:
        sub["remaining_billing_cycles"] = max(0, sub["remaining_billing_cycles"] - 1)


def cancel_subscription(sim: Simulator, tenant: Tenant, sub: dict[str, Any],
                        params: dict[str, Any], now: float, *, webhooks: bool = True) -> None:
    if sub["status"] == "cancelled":
        raise errors.invalid_state("Subscription is already cancelled.")
    option = params.get("cancel_option") or (
        "end_of_term" if str(params.get("end_of_term")).lower() == "true" else "immediately")
    if option not in ("immediately", "end_of_term", "specific_date"):
        raise errors.wrong_value("cancel_option", f"invalid value {option}")
    at = now
    if option == "end_of_term" and sub["status"] in ("active", "non_renewing", "in_trial"):
        at = sub["current_term_end"]
    elif option == "specific_date":
        at = optional_int(params, "cancel_at") or now
    if params.get("cancel_reason_code"):
        sub["cancel_reason_code"] = params["cancel_reason_code"]
    if at > now:
        sub.update({"status": "non_renewing", "cancelled_at": int(at),
                    "cancel_schedule_created_at": int(now)})
        sub.pop("next_billing_at", None)
        touch(sub, now)
        _plan_renewal(tenant, sub)
        emit(sim, tenant, "subscription_cancellation_scheduled", _sub_content(tenant, sub),
             now=now, webhooks=webhooks)
    else:
        _cancel(sim, tenant, sub, now, None, "api", webhooks)


def _cancel(sim: Simulator, tenant: Tenant, sub: dict[str, Any], at: float,
            reason: str | None, source: str, webhooks: bool = True) -> None:
    sub.update({"status": "cancelled", "cancelled_at": int(at)})
    if reason:
        sub["cancel_reason"] = reason
    sub.pop("next_billing_at", None)
    touch(sub, at)
    _plan_renewal(tenant, sub)
    emit(sim, tenant, "subscription_cancelled", _sub_content(tenant, sub), now=at,
         source=source, webhooks=webhooks)


def _sub_content(tenant: Tenant, sub: dict[str, Any]) -> dict[str, Any]:
    customer = tenant.collection("customer").get(sub["customer_id"], {})
    return {"subscription": sub, "customer": customer, "card": card_view(tenant, customer)}


# -- invoices and transactions --------------------------------------------------------------------
def _invoice(sim: Simulator, tenant: Tenant, sub: dict[str, Any], start: float, end: float,
             now: float, *, first: bool, invoice_id: str | None = None) -> dict[str, Any]:
    """A subscription invoice; invoice ids are a site sequence unless one is chosen (provider
    states), and a chosen number moves the sequence past it so later ones never collide."""
    if invoice_id is not None and invoice_id.isdigit():
        tenant.counters["invoice"] = max(tenant.counters.get("invoice", 0), int(invoice_id))
    prices = tenant.collection("item_price")
    lines = []
    for item in sub["subscription_items"]:
        price = prices.get(item["item_price_id"], {})
        lines.append({
            "id": new_id(sim, tenant, "li", 17), "date_from": int(start), "date_to": int(end),
            "unit_amount": item["unit_price"], "quantity": item["quantity"],
            "amount": item["amount"], "pricing_model": price.get("pricing_model", "flat_fee"),
            "is_taxed": False, "tax_amount": 0, "object": "line_item",
            "subscription_id": sub["id"], "customer_id": sub["customer_id"],
            "description": price.get("external_name") or item["item_price_id"],
            "entity_type": f"{item['item_type']}_item_price", "entity_id": item["item_price_id"],
            "discount_amount": 0, "item_level_discount_amount": 0})
    total = sum(line["amount"] for line in lines)
    invoice = {
        "id": invoice_id or str(tenant.next_number("invoice")),
        "customer_id": sub["customer_id"],
        "subscription_id": sub["id"], "recurring": True, "status": "payment_due",
        "price_type": "tax_exclusive", "date": int(start), "due_date": int(start),
        "net_term_days": 0, "exchange_rate": 1.0, "total": total, "amount_paid": 0,
        "amount_adjusted": 0, "write_off_amount": 0, "credits_applied": 0, "amount_due": total,
        "amount_to_collect": total, "round_off_amount": 0, "first_invoice": first,
        "currency_code": sub["currency_code"],
        "tax": 0, "sub_total": total, "has_advance_charges": False, "term_finalized": True,
        "is_gifted": False, "generated_at": int(now), "channel": "web", "line_items": lines,
        "linked_payments": [], "dunning_attempts": [], "deleted": False, "object": "invoice"}
    if total == 0:
        invoice.update({"status": "paid", "paid_at": int(now), "amount_to_collect": 0})
    store(tenant, "invoice", touch(invoice, now))
    return invoice


def _charge(sim: Simulator, tenant: Tenant, customer: dict[str, Any], sub_id: str | None,
            source_id: str, amount: int, currency: str, now: float,
            decline: dict | None) -> dict[str, Any]:
    """One card charge on the Test Gateway, recorded as a transaction (success or failure)."""
    source = tenant.collection("payment_source").get(source_id, {})
    failure = gateway_charge(tenant, source_id, decline)
    txn = {
        "id": new_id(sim, tenant, "txn", 17), "customer_id": customer["id"],
        "subscription_id": sub_id, "payment_source_id": source_id, "payment_method": "card",
        "gateway": GATEWAY, "gateway_account_id": GATEWAY_ACCOUNT, "type": "payment",
        "date": int(now), "currency_code": currency,
        "exchange_rate": 1.0, "amount": amount, "id_at_gateway":
            f"cb_{new_id(sim, tenant, '', 20)}", "status": "failure" if failure else "success",
        "initiator_type": "merchant", "three_d_secure": False, "amount_unused": 0,
        "masked_card_number": source.get("card", {}).get("masked_number"),
        "iin": source.get("card", {}).get("iin"), "last4": source.get("card", {}).get("last4"),
        "linked_invoices": [], "linked_credit_notes": [], "linked_refunds": [],
        "deleted": False, "object": "transaction"}
    txn.update(failure or {})
    txn = {k: v for k, v in txn.items() if v is not None}
    tenant.collection("transaction")[txn["id"]] = touch(txn, now)
    return txn


def _apply(tenant: Tenant, invoice: dict[str, Any], txn: dict[str, Any], now: float) -> None:
    """Apply a successful payment to an invoice; pays it when nothing is left due."""
    applied = min(txn["amount"], invoice["amount_due"])
    invoice["amount_paid"] += applied
    invoice["amount_due"] -= applied
    invoice["amount_to_collect"] = invoice["amount_due"]
    invoice["linked_payments"].append({
        "txn_id": txn["id"], "applied_amount": applied, "applied_at": int(now),
        "txn_status": txn["status"], "txn_date": txn["date"], "txn_amount": txn["amount"]})
    if invoice["amount_due"] <= 0:
        invoice.update({"status": "paid", "paid_at": int(now)})
        invoice.pop("next_retry_at", None)
        invoice.pop("expected_payment_date", None)
        if invoice.get("dunning_status") in ("in_progress", "stopped", "exhausted"):
            invoice["dunning_status"] = "success"
        tenant.collection("_dunning").pop(invoice["id"], None)
        _plan_retry(tenant, invoice["id"])
    txn["linked_invoices"].append({
        "invoice_id": invoice["id"], "applied_amount": applied, "applied_at": int(now),
        "invoice_date": invoice["date"], "invoice_total": invoice["total"],
        "invoice_status": invoice["status"]})
    touch(invoice, now)
    touch(txn, now)
    refresh_dues(tenant, invoice.get("subscription_id"))


def refresh_dues(tenant: Tenant, sub_id: str | None) -> None:
    sub = tenant.collection("subscription").get(sub_id or "")
    if sub is None:
        return
    due = [i for i in owned(tenant, "invoice", "subscription_id", sub_id)
           if i["status"] in OPEN]
    sub["due_invoices_count"] = len(due)
    if due:
        sub["due_since"] = min(i["date"] for i in due)
        sub["total_dues"] = sum(i["amount_due"] for i in due)
    else:
        sub.pop("due_since", None)
        sub.pop("total_dues", None)


def _content(tenant: Tenant, invoice: dict[str, Any],
             txn: dict[str, Any] | None = None) -> dict[str, Any]:
    customer = tenant.collection("customer").get(invoice["customer_id"])
    sub = tenant.collection("subscription").get(invoice.get("subscription_id") or "")
    return {"transaction": txn, "invoice": invoice, "customer": customer, "subscription": sub}


def _invoice_events(sim: Simulator, tenant: Tenant, invoice: dict[str, Any], now: float,
                    source: str, webhooks: bool) -> None:
    emit(sim, tenant, "invoice_generated", _content(tenant, invoice), now=now, source=source,
         webhooks=webhooks)
    for payment in invoice["linked_payments"]:
        txn = tenant.collection("transaction")[payment["txn_id"]]
        emit(sim, tenant, "payment_succeeded", _content(tenant, invoice, txn), now=now,
             source=source, webhooks=webhooks)


def _attempt(sim: Simulator, tenant: Tenant, invoice: dict[str, Any], now: float, *,
             source: str, decline: dict | None = None, source_id: str | None = None,
             dunning_type: str | None = None, attempt: int = 0, amount: int | None = None,
             webhooks: bool = True) -> dict[str, Any] | None:
    """Charge what an invoice has due to the customer's card; None when there is no card."""
    customer = tenant.collection("customer")[invoice["customer_id"]]
    sub = tenant.collection("subscription").get(invoice.get("subscription_id") or "", {})
    source_id = source_id or sub.get("payment_source_id") or customer.get(
        "primary_payment_source_id")
    if not source_id or source_id not in tenant.collection("payment_source"):
        return None
    txn = _charge(sim, tenant, customer, invoice.get("subscription_id"), source_id,
                  amount or invoice["amount_due"], invoice["currency_code"], now, decline)
    if dunning_type:
        invoice["dunning_attempts"].append({
            "attempt": attempt, "transaction_id": txn["id"], "dunning_type": dunning_type,
            "created_at": int(now), "txn_status": txn["status"], "txn_amount": txn["amount"]})
    if txn["status"] == "success":
        _apply(tenant, invoice, txn, now)
        emit(sim, tenant, "payment_succeeded", _content(tenant, invoice, txn), now=now,
             source=source, webhooks=webhooks)
    else:
        touch(invoice, now)
        emit(sim, tenant, "payment_failed", _content(tenant, invoice, txn), now=now,
             source=source, webhooks=webhooks)
    return txn


def collect_payment(sim: Simulator, tenant: Tenant, invoice: dict[str, Any],
                    params: dict[str, Any], now: float, *, decline: dict | None = None,
                    webhooks: bool = True) -> dict[str, Any]:
    if invoice["status"] not in OPEN:
        raise errors.invalid_state(f"Invoice {invoice['id']} is not in payment_due or not_paid "
                                   "state.")
    source_id = params.get("payment_source_id")
    if source_id:
        source = get(tenant, "payment_source", source_id, label="Payment Source",
                     param="payment_source_id")
        if source["customer_id"] != invoice["customer_id"]:
            raise errors.not_found("Payment Source", "payment_source_id")
    amount = optional_int(params, "amount")
    if amount is not None and not 0 < amount <= invoice["amount_due"]:
        raise errors.wrong_value("amount", f"should be between 1 and {invoice['amount_due']}")
    txn = _attempt(sim, tenant, invoice, now, source="api", decline=decline,
                   source_id=source_id, amount=amount, webhooks=webhooks)
    if txn is None:
        raise errors.payment_failed("The customer does not have a valid payment method.",
                                    "payment_method_not_present")
    if txn["status"] != "success":
        raise errors.payment_failed(
            f"We are not able to collect {money(txn['amount'], txn['currency_code'])} from the "
            f"card on file. Error message: ({txn['error_code']}) {txn['error_text']}.",
            error_cause_id=txn["error_detail"].get("error_cause_id"))
    return txn


def record_payment(sim: Simulator, tenant: Tenant, invoice: dict[str, Any],
                   params: dict[str, Any], now: float, *, webhooks: bool = True) -> dict:
    if invoice["status"] not in OPEN:
        raise errors.invalid_state(f"Invoice {invoice['id']} is not in payment_due or not_paid "
                                   "state.")
    given = params.get("transaction") if isinstance(params.get("transaction"), dict) else {}
    method = given.get("payment_method")
    if not method:
        raise errors.missing("transaction[payment_method]")
    if method not in OFFLINE_METHODS:
        raise errors.wrong_value("transaction[payment_method]", f"invalid value {method}")
    amount = optional_int(given, "amount", "transaction")
    amount = invoice["amount_due"] if amount is None else amount
    if not 0 < amount <= invoice["amount_due"]:
        raise errors.wrong_value("transaction[amount]",
                                 f"should be between 1 and {invoice['amount_due']}")
    status = given.get("status") or "success"
    if status not in ("success", "failure"):
        raise errors.wrong_value("transaction[status]", f"invalid value {status}")
    date = optional_int(given, "date", "transaction") or int(now)
    txn = {"id": new_id(sim, tenant, "txn", 17), "customer_id": invoice["customer_id"],
           "subscription_id": invoice.get("subscription_id"), "payment_method": method,
           "gateway": "not_applicable", "type": "payment", "date": date,
           "currency_code": invoice["currency_code"], "amount": amount, "status": status,
           "reference_number": given.get("reference_number"),
           "id_at_gateway": given.get("id_at_gateway"), "initiator_type": "merchant",
           "error_code": given.get("error_code"), "error_text": given.get("error_text"),
           "amount_unused": 0, "linked_invoices": [], "linked_credit_notes": [],
           "linked_refunds": [], "deleted": False, "object": "transaction"}
    txn = {k: v for k, v in txn.items() if v is not None}
    tenant.collection("transaction")[txn["id"]] = touch(txn, now)
    if status == "success":
        _apply(tenant, invoice, txn, now)
    emit(sim, tenant, "transaction_created", {"transaction": txn}, now=now, webhooks=webhooks)
    emit(sim, tenant, "invoice_updated", _content(tenant, invoice), now=now, webhooks=webhooks)
    return txn


# -- dunning controls -----------------------------------------------------------------------------
def _in_dunning(invoice: dict[str, Any]) -> None:
    if invoice.get("dunning_status") != "in_progress":
        raise errors.invalid_state(f"Invoice {invoice['id']} is not in dunning.")


def stop_dunning(sim: Simulator, tenant: Tenant, invoice: dict[str, Any], now: float) -> None:
    _in_dunning(invoice)
    invoice["dunning_status"] = "stopped"
    invoice.pop("next_retry_at", None)
    invoice.pop("expected_payment_date", None)
    tenant.collection("_dunning").pop(invoice["id"], None)
    _plan_retry(tenant, invoice["id"])
    touch(invoice, now)
    emit(sim, tenant, "invoice_updated", _content(tenant, invoice), now=now)


def pause_dunning(sim: Simulator, tenant: Tenant, invoice: dict[str, Any],
                  params: dict[str, Any], now: float) -> None:
    _in_dunning(invoice)
    until = optional_int(params, "expected_payment_date")
    if until is None:
        raise errors.missing("expected_payment_date")
    if until <= now:
        raise errors.wrong_value("expected_payment_date", "should be a future date")
    state = tenant.collection("_dunning").get(invoice["id"])
    if state is not None:
        state["paused_until"] = until
    invoice["expected_payment_date"] = until
    invoice.pop("next_retry_at", None)
    _plan_retry(tenant, invoice["id"])
    touch(invoice, now)
    emit(sim, tenant, "invoice_updated", _content(tenant, invoice), now=now)


def resume_dunning(sim: Simulator, tenant: Tenant, invoice: dict[str, Any], now: float) -> None:
    _in_dunning(invoice)
    state = tenant.collection("_dunning").get(invoice["id"])
    if state is None or state.get("paused_until") is None:
        raise errors.invalid_state(f"Dunning is not paused for invoice {invoice['id']}.")
    _unpause(tenant, invoice, state, now)
    emit(sim, tenant, "invoice_updated", _content(tenant, invoice), now=now)


def _unpause(tenant: Tenant, invoice: dict[str, Any], state: dict[str, Any],
             now: float) -> None:
    days, _ = dunning_settings(tenant)
    scheduled = state["first_failed_at"] + days[min(state["retries"], len(days) - 1)] * DAY
    state["paused_until"] = None
    invoice["next_retry_at"] = int(max(scheduled, now))
    invoice.pop("expected_payment_date", None)
    _plan_retry(tenant, invoice["id"])
    touch(invoice, now)


# -- the clock: renewals and retries --------------------------------------------------------------
def _subscription_due(sub: dict[str, Any]) -> float | None:
    status = sub.get("status")
    if status == "future":
        return sub.get("start_date")
    if status == "non_renewing":
        return sub.get("cancelled_at")
    if status in ("active", "in_trial"):
        return sub.get("current_term_end")
    return None


def _dunning_due(tenant: Tenant, invoice_id: str, state: dict[str, Any]) -> float | None:
    if state.get("paused_until") is not None:
        return state["paused_until"]
    return tenant.collection("invoice").get(invoice_id, {}).get("next_retry_at")


def _plan_renewal(tenant: Tenant, sub: dict[str, Any]) -> None:
    """(Re)schedule the subscription's next clock-driven step (renewal, start, cancellation)."""
    at = _subscription_due(sub)
    key = f"renew:{sub['id']}"
    if at is None:
        tenant.unschedule(key)
    else:
        tenant.schedule(key, at, "renew", subscription=sub["id"])


def _plan_retry(tenant: Tenant, invoice_id: str) -> None:
    """(Re)schedule the invoice's next dunning step, or drop it once dunning is over."""
    state = tenant.collection("_dunning").get(invoice_id)
    at = None if state is None else _dunning_due(tenant, invoice_id, state)
    key = f"retry:{invoice_id}"
    if at is None:
        tenant.unschedule(key)
    else:
        tenant.schedule(key, at, "retry", invoice=invoice_id)


def _run_renewal(sim: Simulator, tenant: Tenant, key: str, entry: dict[str, Any]) -> None:
    sub = tenant.collection("subscription").get(entry["subscription"])
    at = None if sub is None else _subscription_due(sub)
    if sub is None or at is None:
        return
    if at > entry["at"]:  # moved later since it was planned
        _plan_renewal(tenant, sub)
        return
    _renew(sim, tenant, sub, at)


def _run_retry(sim: Simulator, tenant: Tenant, key: str, entry: dict[str, Any]) -> None:
    invoice_id = entry["invoice"]
    state = tenant.collection("_dunning").get(invoice_id)
    at = None if state is None else _dunning_due(tenant, invoice_id, state)
    if at is None:
        return
    if at > entry["at"]:
        _plan_retry(tenant, invoice_id)
        return
    _retry(sim, tenant, invoice_id, at)


SCHEDULED_WORK = {"renew": _run_renewal, "retry": _run_retry}


def _renew(sim: Simulator, tenant: Tenant, sub: dict[str, Any], at: float, *,
           invoice_id: str | None = None) -> None:
    """A term starts (renewal, trial end, future start); `invoice_id`: a chosen id for its
    invoice (provider states)."""
    status = sub["status"]
    if status == "non_renewing" or (status == "active"
                                    and sub.get("remaining_billing_cycles") == 0):
        _cancel(sim, tenant, sub, at, None, "scheduled_job")
        return
    start = at
    end = add_period(start, sub["billing_period"], sub["billing_period_unit"])
    first = status != "active"
    sub.update({"status": "active", "current_term_start": int(start),
                "current_term_end": int(end), "next_billing_at": int(end)})
    sub.setdefault("started_at", int(start))
    sub.setdefault("activated_at", int(start))
    sub["mrr"] = sum(i["amount"] for i in sub["subscription_items"])
    _count_cycle(sub)
    touch(sub, at)
    _plan_renewal(tenant, sub)
    event = {"future": "subscription_started", "in_trial": "subscription_activated"}.get(
        status, "subscription_renewed")
    invoice = _invoice(sim, tenant, sub, start, end, at, first=first, invoice_id=invoice_id)
    emit(sim, tenant, event, {**_sub_content(tenant, sub), "invoice": invoice}, now=at,
         source="scheduled_job")
    emit(sim, tenant, "invoice_generated", _content(tenant, invoice), now=at,
         source="scheduled_job")
    customer = tenant.collection("customer")[sub["customer_id"]]
    if invoice["status"] == "paid" or not _auto_collect(customer, sub):
        refresh_dues(tenant, sub["id"])
        return
    txn = _attempt(sim, tenant, invoice, at, source="scheduled_job",
                   dunning_type="auto_collect", attempt=0, decline=_own_decline(sim, tenant,
                                                                                invoice, at))
    if txn is not None and txn["status"] != "success":
        _start_dunning(sim, tenant, invoice, at)
    refresh_dues(tenant, sub["id"])


def _own_decline(sim: Simulator, tenant: Tenant, invoice: dict[str, Any],
                 at: float) -> Any:
    """A charge Chargebee makes by itself (a renewal, a dunning retry) meets `decline` faults
    as if it were `POST /api/v2/invoices/{id}/collect_payment` of the site."""
    return sim.faults.draw_decline(sim.seeds.stream("faults"), at, method="POST",
                                   path=f"/api/v2/invoices/{invoice['id']}/collect_payment",
                                   tenant=tenant.id)


def _start_dunning(sim: Simulator, tenant: Tenant, invoice: dict[str, Any], at: float) -> None:
    days, _ = dunning_settings(tenant)
    tenant.collection("_dunning")[invoice["id"]] = {
        "first_failed_at": at, "retries": 0, "paused_until": None}
    invoice["dunning_status"] = "in_progress"
    if not days:
        _exhaust(sim, tenant, invoice, at)
        return
    invoice["next_retry_at"] = int(at + days[0] * DAY)
    touch(invoice, at)
    _plan_retry(tenant, invoice["id"])


def _retry(sim: Simulator, tenant: Tenant, invoice_id: str, at: float) -> None:
    state = tenant.collection("_dunning")[invoice_id]
    invoice = tenant.collection("invoice").get(invoice_id)
    if invoice is None or invoice["status"] not in OPEN:
        tenant.collection("_dunning").pop(invoice_id, None)
        _plan_retry(tenant, invoice_id)
        return
    if state.get("paused_until") is not None:  # the expected payment date has passed
        _unpause(tenant, invoice, state, at)
        return
    state["retries"] += 1
    txn = _attempt(sim, tenant, invoice, at, source="scheduled_job",
                   dunning_type="auto_collect", attempt=state["retries"],
                   decline=_own_decline(sim, tenant, invoice, at))
    if txn is not None and txn["status"] == "success":
        return
    days, _ = dunning_settings(tenant)
    if state["retries"] < len(days):
        invoice["next_retry_at"] = int(state["first_failed_at"] + days[state["retries"]] * DAY)
        touch(invoice, at)
        _plan_retry(tenant, invoice_id)
    else:
        _exhaust(sim, tenant, invoice, at)


def _exhaust(sim: Simulator, tenant: Tenant, invoice: dict[str, Any], at: float) -> None:
    _, on_exhausted = dunning_settings(tenant)
    tenant.collection("_dunning").pop(invoice["id"], None)
    _plan_retry(tenant, invoice["id"])
    invoice.update({"status": "not_paid", "dunning_status": "exhausted"})
    invoice.pop("next_retry_at", None)
    touch(invoice, at)
    refresh_dues(tenant, invoice.get("subscription_id"))
    emit(sim, tenant, "invoice_updated", _content(tenant, invoice), now=at,
         source="scheduled_job")
    sub = tenant.collection("subscription").get(invoice.get("subscription_id") or "")
    if sub is not None and on_exhausted == "cancel" and sub["status"] != "cancelled":
        _cancel(sim, tenant, sub, at, "not_paid", "scheduled_job")
