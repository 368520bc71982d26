"""Chargebee's state and business rules, without HTTP: customers, cards on the Test Gateway and
the product catalog (item families, items, item prices). Subscriptions, invoices, transactions,
renewals and dunning are in billing.py.

Objects are stored as the JSON Chargebee returns, one tenant collection per resource. Internal
bookkeeping the API never shows lives in `_vault` (card numbers) and `_dunning` (retry state).
Amounts are integers in the currency's minor unit.
"""

from __future__ import annotations

import calendar
import functools
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from simulators.chargebee import errors
from simulators.chargebee.events import emit
from simulators.core import lookup
from simulators.core.bodies import decode_json
from simulators.core.schemas import FieldValueError
from simulators.core.tenancy import Tenant
from simulators.core.text import INT64_MAX, find_unencodable, finite, in_int64, printable

if TYPE_CHECKING:
    from simulators.core.simulator import Simulator

GATEWAY = "chargebee"  # the Test Gateway
GATEWAY_ACCOUNT = "gw_test_gateway"
DAY = 86400.0
# Test Gateway cards (https://chargebee.com/docs/chargebee-test-gateway.html)
DECLINE_CARD = "4005519200000004"  # stored fine; every charge fails: insufficient funds
STORAGE_FAIL_CARD = "4119862760338320"  # cannot be stored
INSUFFICIENT_FUNDS = {
    "error_code": "insufficient_funds", "error_text": "Insufficient funds",
    "error_detail": {"error_category": "soft_decline", "error_code": "insufficient_funds",
                     "error_message": "Insufficient funds", "decline_code": "insufficient_funds",
                     "decline_message": "Insufficient funds",
                     "error_cause_id": "gateway.card.insufficient_funds"}}
PERIOD_UNITS = ("day", "week", "month", "year")


# -- ids, timestamps, lookups ---------------------------------------------------------------------
def new_id(sim: Simulator, tenant: Tenant, prefix: str = "", length: int = 16) -> str:
    token = sim.seeds.token(f"ids:{tenant.id}", length)
    return f"{prefix}_{token}" if prefix else token


def touch(obj: dict[str, Any], now: float) -> dict[str, Any]:
    obj["updated_at"] = int(now)
    obj["resource_version"] = int(now * 1000)
    return obj


def get(tenant: Tenant, collection: str, object_id: str, *, label: str | None = None,
        param: str | None = None) -> dict[str, Any]:
    obj = tenant.collection(collection).get(object_id) if isinstance(object_id, str) else None
    if obj is None or obj.get("deleted"):
        raise errors.not_found(label, param)
    return obj


def owned(tenant: Tenant, kind: str, owner: str, owner_id: Any) -> list[dict[str, Any]]:
    """The objects of `kind` whose `owner` field (customer_id, subscription_id) is `owner_id`,
    in the collection's order, by index (core/lookup.py) rather than a read of every one: these
    objects are never deleted and their owners never change, so the order they were indexed
    in is the collection's."""
    objects = tenant.collection(kind)
    found = lookup.hits(tenant, objects, kind, owner, _owner_key(owner), owner_id)
    if found is None:
        found = [o for o in objects.values() if o.get(owner) == owner_id]
    return found


@functools.cache
def _owner_key(owner: str) -> lookup.KeyOf:
    return lambda obj: obj.get(owner)


def store(tenant: Tenant, kind: str, obj: dict[str, Any]) -> None:
    """Put `obj` in collection `kind` under its id, its owners' indexes kept current."""
    objects = tenant.collection(kind)
    old = objects.get(obj["id"])
    objects[obj["id"]] = obj
    if old is None:
        lookup.added(tenant, objects, kind, obj)
    elif old is not obj:
        lookup.replaced(tenant, objects, kind, old, obj)


def add_period(ts: float, count: int, unit: str) -> float:
    """`ts` moved by `count` days/weeks/months/years; month ends clamp (Jan 31 -> Feb 28)."""
    if unit == "day":
        return ts + count * DAY
    if unit == "week":
        return ts + count * 7 * DAY
    moment = datetime.fromtimestamp(ts, UTC)
    months = count * (12 if unit == "year" else 1)
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day).timestamp()


def money(amount: int, currency: str) -> str:
    return f"{currency} {amount / 100:.2f}"


# -- custom fields (cf_*) -------------------------------------------------------------------------
def apply_custom_fields(tenant: Tenant, resource: str, params: dict[str, Any],
                        record: dict[str, Any], *, creating: bool) -> None:
    """Check the `cf_` parameters against the site's schema and set them on `record`."""
    definition = tenant.schema.object(resource) if tenant.schema is not None else None
    values: dict[str, Any] = {}
    for name, raw in params.items():
        if not name.startswith("cf_"):
            continue
        field = definition.field(name) if definition is not None else None
        if field is None:
            raise errors.invalid_request(f"{name} : is not a valid custom field for {resource}",
                                         name)
        try:
            values[field.name] = field.coerce(None if raw == "" else raw)
        except FieldValueError as exc:
            reason = "not in allowed values" if field.type in ("picklist", "multipicklist") \
                else f"invalid value, {exc.reason}"
            raise errors.wrong_value(field.name, reason) from None
    if definition is not None and creating:
        for field in definition.fields.values():
            if field.name not in values and field.has_default:
                values[field.name] = field.default_value()
        for name in definition.missing_required({**record, **values}):
            raise errors.missing(name)
    for name, value in values.items():
        if value is None:
            record.pop(name, None)
        else:
            record[name] = value


# -- the Test Gateway -----------------------------------------------------------------------------
def gateway_charge(tenant: Tenant, source_id: str, decline: dict[str, Any] | None) -> dict | None:
    """None if the charge succeeds, else the failure fields for the transaction."""
    if decline is not None:  # a `decline` fault on this request
        code = decline.get("code") or "card_declined"
        text = decline.get("message") or "Your card was declined."
        return {"error_code": code, "error_text": text,
                "error_detail": {"error_category": "hard_decline", "error_code": code,
                                 "error_message": text, "decline_code": code,
                                 "decline_message": text}}
    if tenant.collection("_vault").get(source_id) == DECLINE_CARD:
        return INSUFFICIENT_FUNDS
    return None


def _brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "american_express"
    if number[:1] == "5" or number[:1] == "2":
        return "mastercard"
    return "other"


def add_card(sim: Simulator, tenant: Tenant, customer: dict[str, Any], card: dict[str, Any],
             now: float, *, param_prefix: str = "card", replace_primary: bool = False,
             source: str = "api", webhooks: bool = True,
             source_id: str | None = None) -> dict[str, Any]:
    """Store a card (`source_id`: a chosen payment source id, for provider states)."""
    number = str(card.get("number") or "").replace(" ", "")
    if not number:
        raise errors.missing(f"{param_prefix}[number]")
    if not number.isdigit() or not 12 <= len(number) <= 19:
        raise errors.wrong_value(f"{param_prefix}[number]", "invalid card number")
    month, year = _int(card, "expiry_month", param_prefix), _int(card, "expiry_year", param_prefix)
    if not 1 <= month <= 12:
        raise errors.wrong_value(f"{param_prefix}[expiry_month]", "invalid value")
    if not 1 <= year <= 9998:  # a year datetime (and the month after expiry) can hold
        raise errors.wrong_value(f"{param_prefix}[expiry_year]", "invalid value")
    expiry = datetime(year, month, 1, tzinfo=UTC)
    if add_period(expiry.timestamp(), 1, "month") <= now:
        raise errors.wrong_value(f"{param_prefix}[expiry_year]", "card has expired")
    if number == STORAGE_FAIL_CARD:
        raise errors.payment_failed(
            "Problem while adding the card. Error message : (card_verification_failed) "
            "Card verification failed.", "payment_method_verification_failed",
            "gateway.card.verification_failed")
    ps_id = source_id or new_id(sim, tenant, "pm", 17)
    masked = "*" * (len(number) - 4) + number[-4:]
    source_obj = touch({
        "id": ps_id, "customer_id": customer["id"], "type": "card",
        "reference_id": f"tok_{new_id(sim, tenant, '', 16)}", "status": "valid",
        "gateway": GATEWAY, "gateway_account_id": GATEWAY_ACCOUNT, "created_at": int(now),
        "card": {"first_name": card.get("first_name"), "last_name": card.get("last_name"),
                 "iin": number[:6], "last4": number[-4:], "brand": _brand(number),
                 "funding_type": "credit", "expiry_month": month, "expiry_year": year,
                 "masked_number": masked, "object": "card"},
        "deleted": False, "object": "payment_source"}, now)
    source_obj["card"] = {k: v for k, v in source_obj["card"].items() if v is not None}
    tenant.collection("payment_source")[ps_id] = source_obj
    tenant.collection("_vault")[ps_id] = number
    if replace_primary or not customer.get("primary_payment_source_id"):
        customer["primary_payment_source_id"] = ps_id
        customer["payment_method"] = {"type": "card", "gateway": GATEWAY,
                                      "gateway_account_id": GATEWAY_ACCOUNT, "status": "valid",
                                      "reference_id": source_obj["reference_id"],
                                      "object": "payment_method"}
        customer["card_status"] = "valid"
    touch(customer, now)
    emit(sim, tenant, "payment_source_added", {"customer": customer,
                                               "payment_source": source_obj},
         now=now, source=source, webhooks=webhooks)
    return source_obj


def card_view(tenant: Tenant, customer: dict[str, Any]) -> dict[str, Any] | None:
    """The `card` companion Chargebee returns next to a customer with a primary card."""
    ps = tenant.collection("payment_source").get(customer.get("primary_payment_source_id") or "")
    if ps is None or ps.get("type") != "card":
        return None
    card = ps["card"]
    view = {"status": ps["status"], "gateway": ps["gateway"],
            "gateway_account_id": ps["gateway_account_id"], "iin": card["iin"],
            "last4": card["last4"], "card_type": card["brand"],
            "funding_type": card["funding_type"], "expiry_month": card["expiry_month"],
            "expiry_year": card["expiry_year"], "masked_number": card["masked_number"],
            "first_name": card.get("first_name"), "last_name": card.get("last_name"),
            "created_at": ps["created_at"], "updated_at": ps["updated_at"],
            "resource_version": ps["resource_version"], "customer_id": ps["customer_id"],
            "payment_source_id": ps["id"], "object": "card"}
    return {k: v for k, v in view.items() if v is not None}  # Chargebee omits unset attributes


def _int(params: dict[str, Any], name: str, prefix: str = "") -> int:
    param = f"{prefix}[{name}]" if prefix else name
    value = params.get(name)
    if value in (None, ""):
        raise errors.missing(param)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise errors.wrong_value(param, "invalid integer value") from None
    if not in_int64(number):  # amounts and counts are longs (int64) in Chargebee's API [U]
        raise errors.wrong_value(param, f"should be less than or equal to {INT64_MAX}"
                                 if number > 0 else "invalid integer value")
    return number


def optional_int(params: dict[str, Any], name: str, prefix: str = "") -> int | None:
    return None if params.get(name) in (None, "") else _int(params, name, prefix)


def billing_cycles(params: dict[str, Any]) -> int | None:
    """`billing_cycles` of an item price or subscription: absent, or at least 1."""
    cycles = optional_int(params, "billing_cycles")
    if cycles is not None and cycles < 1:
        raise errors.wrong_value("billing_cycles", "should be greater than or equal to 1")
    return cycles


# -- what Chargebee bounds ------------------------------------------------------------------------
# Max chars per parameter, from apidocs.chargebee.com: customer fields [D: /docs/api/v1/customers,
# "max chars=150" …]; billing address and catalog fields as its v2 pages list them [U].
CUSTOMER_LENGTHS = {"id": 50, "first_name": 150, "last_name": 150, "email": 70, "phone": 50,
                    "company": 250, "vat_number": 20, "locale": 50, "invoice_notes": 2000}
ADDRESS_LENGTHS = {"first_name": 150, "last_name": 150, "email": 70, "company": 250,
                   "phone": 50, "line1": 150, "line2": 150, "line3": 150, "city": 50,
                   "state_code": 50, "state": 50, "zip": 20, "country": 50}
FAMILY_LENGTHS = {"id": 50, "name": 50, "description": 500}
ITEM_LENGTHS = {"id": 100, "name": 100, "external_name": 100, "description": 2000}
PRICE_LENGTHS = {**ITEM_LENGTHS, "currency_code": 3}
# what an id a client chooses may hold, and a currency code (the published document says the same)
ID_PATTERN = "^[A-Za-z0-9_.@-]+$"
CURRENCY_PATTERN = "^[A-Z]{3}$"
MAX_TEXT = 65_000  # any other string parameter, so nothing unbounded is stored [U]


def encodable(params: dict[str, Any]) -> dict[str, Any]:
    """`params` if every key and value is text UTF-8 can encode and no string is over
    MAX_TEXT; else param_wrong_value naming the parameter Chargebee's way (a list index last)."""
    path = find_unencodable(params)
    if path is not None:
        raise errors.wrong_value(_param(path), "invalid value, not valid UTF-8 text")
    _longest(params, "")
    return params


def _longest(value: Any, name: str) -> None:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise errors.too_long(name, MAX_TEXT)
    children = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        _longest(child, f"{name}[{key}]" if name else str(key))


def _param(path: tuple[str | int, ...]) -> str:
    names = [printable(str(p)) for p in path if not isinstance(p, int)]
    indices = [str(p) for p in path if isinstance(p, int)]
    return names[0] + "".join(f"[{p}]" for p in names[1:] + indices) if names else "body"


def check_lengths(params: dict[str, Any], limits: dict[str, int], prefix: str = "") -> None:
    for name, limit in limits.items():
        value = params.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise errors.too_long(f"{prefix}[{name}]" if prefix else name, limit)


# -- customers ------------------------------------------------------------------------------------
def text_params(params: dict[str, Any], names: tuple[str, ...],
                prefix: str = "") -> dict[str, str]:
    """The named plain-text parameters present; a bracketed one (`first_name[x]=…`) is a 400."""
    found = {}
    for name in names:
        if name in params:
            if not isinstance(params[name], str):
                raise errors.wrong_value(f"{prefix}[{name}]" if prefix else name,
                                         "invalid value")
            found[name] = params[name]
    return found


CUSTOMER_FIELDS = ("first_name", "last_name", "email", "phone", "company", "locale",
                   "preferred_currency_code", "invoice_notes", "vat_number")


def create_customer(sim: Simulator, tenant: Tenant, params: dict[str, Any], now: float, *,
                    webhooks: bool = True) -> dict[str, Any]:
    check_lengths(params, CUSTOMER_LENGTHS)
    customers = tenant.collection("customer")
    customer_id = chosen_id(params) or new_id(sim, tenant)
    if customer_id in customers:
        raise errors.invalid_request(f"The value {customer_id} is already present.", "id",
                                     "duplicate_entry")
    customer: dict[str, Any] = {"id": customer_id}
    customer.update({k: v for k, v in text_params(params, CUSTOMER_FIELDS).items() if v})
    currency = customer.get("preferred_currency_code")
    if currency is not None and not re.match(CURRENCY_PATTERN, currency):
        raise errors.wrong_value("preferred_currency_code", f"invalid value {currency}")
    customer.update({
        "auto_collection": _enum(params, "auto_collection", ("on", "off"), "on"),
        "net_term_days": _net_term_days(params),
        "allow_direct_debit": False, "created_at": int(now), "taxability": "taxable",
        "pii_cleared": "active", "channel": "web", "card_status": "no_card",
        "promotional_credits": 0, "refundable_credits": 0, "excess_payments": 0,
        "unbilled_charges": 0, "preferred_currency_code":
            params.get("preferred_currency_code") or "USD",
        "deleted": False, "object": "customer"})
    _set_common(customer, params)
    apply_custom_fields(tenant, "customer", params, customer, creating=True)
    touch(customer, now)
    card = params.get("card")
    if isinstance(card, dict) and card:
        add_card(sim, tenant, customer, card, now, webhooks=webhooks)  # may raise: nothing saved
    customers[customer_id] = customer
    emit(sim, tenant, "customer_created", {"customer": customer,
                                           "card": card_view(tenant, customer)},
         now=now, webhooks=webhooks)
    return customer


def update_customer(sim: Simulator, tenant: Tenant, customer: dict[str, Any],
                    params: dict[str, Any], now: float, *, webhooks: bool = True) -> None:
    check_lengths(params, CUSTOMER_LENGTHS)
    staged = dict(customer)
    staged.update(text_params(params, CUSTOMER_FIELDS))
    if "auto_collection" in params:
        staged["auto_collection"] = _enum(params, "auto_collection", ("on", "off"), "on")
    if "net_term_days" in params:
        staged["net_term_days"] = optional_int(params, "net_term_days") or 0
    _set_common(staged, params)
    apply_custom_fields(tenant, "customer", params, staged, creating=False)
    customer.clear()
    customer.update({k: v for k, v in staged.items() if v not in (None, "")})
    touch(customer, now)
    emit(sim, tenant, "customer_changed", {"customer": customer,
                                           "card": card_view(tenant, customer)},
         now=now, webhooks=webhooks)


def _set_common(record: dict[str, Any], params: dict[str, Any]) -> None:
    if isinstance(params.get("billing_address"), dict):
        address = params["billing_address"]
        fields = text_params(address, tuple(address), "billing_address")
        check_lengths(fields, ADDRESS_LENGTHS, "billing_address")
        record["billing_address"] = {**fields, "object": "billing_address"}
    if "meta_data" in params:
        record["meta_data"] = parse_json(params["meta_data"], "meta_data")
        if record["meta_data"] is None:
            del record["meta_data"]


def _not_finite(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not finite(number):  # 1e400 reads as infinity
        raise ValueError(f"{text} is out of range")
    return number


# JSON as Chargebee reads it: no NaN/Infinity, no float out of range (none could be answered)
JSON_NUMBERS: dict[str, Any] = {"parse_constant": _not_finite, "parse_float": _finite_float}


def parse_json(value: Any, param: str) -> Any:
    if value in (None, "") or value == {}:
        return None
    try:  # bounded (no deep nesting), finite, and text UTF-8 can encode: it is stored
        parsed = value if isinstance(value, dict) else decode_json(value, **JSON_NUMBERS)
    except (TypeError, ValueError):
        parsed = None
    if not isinstance(parsed, dict) or find_unencodable(parsed) is not None:
        raise errors.wrong_value(param, "invalid json")  # Chargebee's meta_data is an object
    return parsed or None


def _enum(params: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = params.get(name) or default
    if value not in allowed:
        raise errors.wrong_value(name, f"invalid value {value}")
    return value


# -- the product catalog --------------------------------------------------------------------------
def create_item_family(tenant: Tenant, params: dict[str, Any], now: float) -> dict[str, Any]:
    check_lengths(params, FAMILY_LENGTHS)
    family_id = _required_new_id(tenant, "item_family", params)
    family = touch({"id": family_id, "name": _text(params, "name"), "status": "active",
                    "description": text_params(params, ("description",)).get("description"),
                    "channel": "web", "deleted": False,
                    "object": "item_family"}, now)
    family = {k: v for k, v in family.items() if v is not None}
    apply_custom_fields(tenant, "item_family", params, family, creating=True)
    tenant.collection("item_family")[family_id] = family
    return family


def create_item(tenant: Tenant, params: dict[str, Any], now: float) -> dict[str, Any]:
    check_lengths(params, ITEM_LENGTHS)
    item_id = _required_new_id(tenant, "item", params)
    name = _text(params, "name")
    item_type = _enum(params, "type", ("plan", "addon", "charge"), _text(params, "type"))
    family_id = _text(params, "item_family_id")
    get(tenant, "item_family", family_id, label="Item Family", param="item_family_id")
    external = text_params(params, ("external_name",)).get("external_name") or name
    item = touch({"id": item_id, "name": name, "external_name": external, "status": "active",
                  "item_family_id": family_id, "type": item_type,
                  "is_shippable": False, "is_giftable": False, "enabled_for_checkout": True,
                  "enabled_in_portal": True, "item_applicability": "all", "metered": False,
                  "channel": "web", "deleted": False, "object": "item"}, now)
    apply_custom_fields(tenant, "item", params, item, creating=True)
    tenant.collection("item")[item_id] = item
    return item


def create_item_price(tenant: Tenant, params: dict[str, Any], now: float) -> dict[str, Any]:
    check_lengths(params, PRICE_LENGTHS)
    price_id = _required_new_id(tenant, "item_price", params)
    name = _text(params, "name")
    item = get(tenant, "item", _text(params, "item_id"), label="Item", param="item_id")
    model = _enum(params, "pricing_model", ("flat_fee", "per_unit"), "flat_fee")
    text = text_params(params, ("external_name", "currency_code"))
    amount = optional_int(params, "price") or 0
    if amount < 0:
        raise errors.wrong_value("price", "should be greater than or equal to 0")
    price: dict[str, Any] = {
        "id": price_id, "name": name, "item_family_id": item["item_family_id"],
        "item_id": item["id"], "status": "active", "external_name":
            text.get("external_name") or name, "pricing_model": model, "price": amount,
        "currency_code": text.get("currency_code") or "USD", "free_quantity": 0,
        "channel": "web", "created_at": int(now), "is_taxable": True, "item_type": item["type"],
        "archivable": True, "deleted": False, "object": "item_price"}
    if item["type"] != "charge":
        price["period_unit"] = _enum(params, "period_unit", PERIOD_UNITS, "month")
        price["period"] = _period(params, "period", price["period_unit"], 1)
    if optional_int(params, "trial_period"):
        price["trial_period_unit"] = _enum(params, "trial_period_unit", ("day", "month"), "day")
        price["trial_period"] = _period(params, "trial_period", price["trial_period_unit"])
    cycles = billing_cycles(params)
    if cycles:
        price["billing_cycles"] = cycles
    apply_custom_fields(tenant, "item_price", params, price, creating=True)
    tenant.collection("item_price")[price_id] = touch(price, now)
    return price


# Longest term the fake accepts: a hundred years, so renewals stay within datetime's range.
MAX_PERIOD = {"day": 36500, "week": 5200, "month": 1200, "year": 100}


def _period(params: dict[str, Any], name: str, unit: str, default: int | None = None) -> int:
    value = optional_int(params, name)
    value = default if value is None else value
    if value is None or not 1 <= value <= MAX_PERIOD[unit]:
        raise errors.wrong_value(name, f"should be between 1 and {MAX_PERIOD[unit]}")
    return value


def _net_term_days(params: dict[str, Any]) -> int:
    days = optional_int(params, "net_term_days") or 0
    if days < 0:  # found by tests/schemathesis's long profile
        raise errors.wrong_value("net_term_days", f"invalid value {days}")
    return days


def chosen_id(params: dict[str, Any]) -> str | None:
    """The id a client chose, if any (an empty `id=` is none: Chargebee makes one [U]); only
    letters, digits and `_.@-` (found by tests/schemathesis: `0*` was stored and made a path
    no later request could name)."""
    object_id = params.get("id")
    if object_id in (None, ""):
        return None
    if not isinstance(object_id, str) or not re.match(ID_PATTERN, object_id):
        raise errors.wrong_value("id", "invalid value")
    return object_id


def _required_new_id(tenant: Tenant, collection: str, params: dict[str, Any]) -> str:
    object_id = _text(params, "id")
    chosen_id(params)
    if object_id in tenant.collection(collection):
        raise errors.invalid_request(f"The value {object_id} is already present.", "id",
                                     "duplicate_entry")
    return object_id


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value in (None, "") or not isinstance(value, str):
        raise errors.missing(name)
    return value
