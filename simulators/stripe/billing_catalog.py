"""The fake Stripe's catalogue: products and prices (what subscriptions are made of), and the
parameter helpers billing shares. State and business rules only; billing_routes.py does the wire.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext, VendorError
from simulators.stripe.errors import invalid_request, missing_param, stripe_error
from simulators.stripe.events import emit
from simulators.stripe.objects import apply_metadata, boolean, get_object, integer, new_id

PRODUCTS, PRICES = "product", "price"
INTERVALS = ("day", "week", "month", "year")


# -- small parameter helpers (params are bracket-decoded form values) -------------------------
def text(params: dict[str, Any], name: str, *, required: bool = False,
         max_length: int = 5000) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise missing_param(name)
        return None
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {value!r}", name)
    if len(value) > max_length:
        raise invalid_request(f"Invalid string: {value[:20]}...; must be at most {max_length} "
                              "characters", name)
    return value


def choice(params: dict[str, Any], name: str, allowed: tuple[str, ...],
           default: str | None = None) -> str | None:
    value = text(params, name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise invalid_request(f"Invalid {name}: must be one of {', '.join(allowed)}", name)
    return value


def state_error(message: str, param: str | None = None, code: str | None = None) -> VendorError:
    """A request that began executing but cannot proceed in the object's state (stored)."""
    return stripe_error(400, "invalid_request_error", message, code=code, param=param)


def _currency(params: dict[str, Any], name: str = "currency") -> str:
    value = (text(params, name, required=True) or "").lower()
    if not re.fullmatch(r"[a-z]{3}", value):
        raise invalid_request(f"Invalid currency: {value}. Stripe currently supports these "
                              "currencies: usd, eur, gbp, …", name)
    return value


def _prefixed(name: str, prefix: str) -> str:
    return f"{prefix}[{name}]" if prefix else name


# -- products and prices ----------------------------------------------------------------------
def _features(raw: Any) -> list[dict[str, str]]:
    """`features[][name]` (`marketing_features` since 2024-04-10: versions/ renames it)."""
    if raw in (None, ""):
        return []
    values = list(raw.values()) if isinstance(raw, dict) else raw
    if not isinstance(values, list) or len(values) > 15:
        raise invalid_request("Invalid array", "features")
    out = []
    for i, value in enumerate(values):
        if not isinstance(value, dict) or not value.get("name"):
            raise invalid_request("Missing required param: features[][name].",
                                  f"features[{i}][name]", "parameter_missing")
        out.append({"name": str(value["name"])[:80]})
    return out


def create_product(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tenant, now = ctx.tenant, int(ctx.now)
    name = text(params, "name", required=True)
    if not name:
        raise invalid_request("You must supply a non-empty value for name.", "name")
    product_id = text(params, "id") or new_id(ctx, tenant, "prod")
    if product_id in tenant.collection(PRODUCTS):
        raise state_error("Product already exists.", "id", "resource_already_exists")
    product = {
        "id": product_id, "object": "product", "active": boolean(params, "active", True),
        "created": now, "default_price": None,
        "description": text(params, "description"),
        "features": _features(params.get("features")),
        "images": list(params.get("images") or []), "livemode": False, "metadata": {},
        "name": name, "package_dimensions": None, "shippable": boolean(params, "shippable"),
        "statement_descriptor": text(params, "statement_descriptor", max_length=22),
        "tax_code": text(params, "tax_code"),
        "unit_label": text(params, "unit_label", max_length=12), "updated": now,
        "url": text(params, "url"),
    }
    apply_metadata(product, params.get("metadata"))
    price_data = params.get("default_price_data")
    tenant.collection(PRODUCTS)[product_id] = product
    emit(ctx.sim, tenant, "product.created", product, request_id=ctx.request_id,
         idempotency_key=ctx.idempotency_key)
    if price_data is not None:
        if not isinstance(price_data, dict):
            raise invalid_request("Invalid object", "default_price_data")
        price = create_price_in(ctx, {**price_data, "product": product_id}, "default_price_data")
        product["default_price"] = price["id"]
    return product


def update_product(ctx: RequestContext, product_id: str, params: dict[str, Any]) -> dict[str, Any]:
    tenant = ctx.tenant
    product = get_object(tenant, PRODUCTS, product_id, label="product")
    before = copy.deepcopy(product)
    for name in ("name", "description", "url", "unit_label", "statement_descriptor", "tax_code"):
        if name in params:
            value = text(params, name)
            if name == "name" and not value:
                raise invalid_request("You must supply a non-empty value for name.", "name")
            product[name] = value or None
    for name in ("active", "shippable"):
        if name in params:
            product[name] = boolean(params, name)
    if "images" in params:
        product["images"] = list(params.get("images") or [])
    if "default_price" in params:
        price_id = text(params, "default_price")
        if price_id:
            price = get_object(tenant, PRICES, price_id, label="price", param="default_price")
            if price["product"] != product_id:
                raise invalid_request("The price must belong to this product.", "default_price")
        product["default_price"] = price_id or None
    apply_metadata(product, params.get("metadata"))
    _emit_updated(ctx, "product.updated", product, before, updated=int(ctx.now))
    return product


def delete_product(ctx: RequestContext, product_id: str) -> dict[str, Any]:
    tenant = ctx.tenant
    product = get_object(tenant, PRODUCTS, product_id, label="product")
    if any(p["product"] == product_id for p in tenant.collection(PRICES).values()):
        raise state_error("This product cannot be deleted because it has one or more "
                          "user-created prices.")
    del tenant.collection(PRODUCTS)[product_id]
    emit(ctx.sim, tenant, "product.deleted", product, request_id=ctx.request_id,
         idempotency_key=ctx.idempotency_key)
    return {"id": product_id, "object": "product", "deleted": True}


def create_price(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return create_price_in(ctx, params, "")


MAX_UNIT_AMOUNT = 2**63 - 1  # Stripe's amounts are 64-bit integers [U for prices]


def create_price_in(ctx: RequestContext, params: dict[str, Any], prefix: str,
                  *, active: bool = True) -> dict[str, Any]:
    tenant, now = ctx.tenant, int(ctx.now)
    currency = _currency(params, "currency") if "currency" in params else None
    if currency is None:
        raise missing_param(_prefixed("currency", prefix))
    unit_amount = integer(params, "unit_amount", minimum=0)
    decimal = text(params, "unit_amount_decimal")
    if unit_amount is None and decimal:
        try:
            unit_amount = round(float(decimal))  # 1e400 is inf: round() overflows
            if unit_amount < 0 or unit_amount > MAX_UNIT_AMOUNT:
                raise ValueError(decimal)
        except (ValueError, OverflowError):
            raise invalid_request(f"Invalid decimal: {decimal[:40]}",
                                  _prefixed("unit_amount_decimal", prefix)) from None
    if unit_amount is None:
        raise missing_param(_prefixed("unit_amount", prefix))
    product_id = text(params, "product")
    product_data = params.get("product_data")
    if product_id and product_data is not None:
        raise invalid_request("You may only specify one of these parameters: product, "
                              "product_data.", _prefixed("product", prefix))
    if product_id:
        get_object(tenant, PRODUCTS, product_id, label="product",
                   param=_prefixed("product", prefix))
    elif isinstance(product_data, dict):
        product_id = create_product(ctx, product_data)["id"]
    else:
        raise missing_param(_prefixed("product", prefix))
    recurring = _recurring(params.get("recurring"), _prefixed("recurring", prefix))
    price = {
        "id": new_id(ctx, tenant, "price"), "object": "price",
        "active": boolean(params, "active", active), "billing_scheme": "per_unit",
        "created": now, "currency": currency, "custom_unit_amount": None, "livemode": False,
        "lookup_key": text(params, "lookup_key", max_length=200), "metadata": {},
        "nickname": text(params, "nickname"), "product": product_id, "recurring": recurring,
        "tax_behavior": choice(params, "tax_behavior", ("exclusive", "inclusive", "unspecified"),
                               "unspecified"),
        "tiers_mode": None, "transform_quantity": None,
        "type": "recurring" if recurring else "one_time", "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }
    apply_metadata(price, params.get("metadata"))
    tenant.collection(PRICES)[price["id"]] = price
    emit(ctx.sim, tenant, "price.created", price, request_id=ctx.request_id,
         idempotency_key=ctx.idempotency_key)
    return price


def _recurring(raw: Any, param: str) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object", param)
    interval = raw.get("interval")
    if interval is None:
        raise missing_param(f"{param}[interval]")
    if interval not in INTERVALS:
        raise invalid_request(f"Invalid {param}[interval]: must be one of day, month, week, "
                              "or year", f"{param}[interval]")
    count = integer(raw, "interval_count", minimum=1) or 1
    limit = {"day": 365, "week": 52, "month": 12, "year": 1}[interval]
    if count > limit:
        raise invalid_request("The maximum billing interval is one year (1 year, 12 months, "
                              "or 52 weeks).", f"{param}[interval_count]")
    usage = raw.get("usage_type") or "licensed"
    if usage not in ("licensed", "metered"):
        raise invalid_request("Invalid usage_type", f"{param}[usage_type]")
    return {"aggregate_usage": None, "interval": interval, "interval_count": count,
            "usage_type": usage}


def update_price(ctx: RequestContext, price_id: str, params: dict[str, Any]) -> dict[str, Any]:
    price = get_object(ctx.tenant, PRICES, price_id, label="price")
    before = copy.deepcopy(price)
    if "active" in params:
        price["active"] = boolean(params, "active")
    for name in ("nickname", "lookup_key"):
        if name in params:
            price[name] = text(params, name) or None
    if "tax_behavior" in params:
        price["tax_behavior"] = choice(params, "tax_behavior",
                                       ("exclusive", "inclusive", "unspecified"))
    apply_metadata(price, params.get("metadata"))
    _emit_updated(ctx, "price.updated", price, before)
    return price


def _emit_updated(ctx: RequestContext, event_type: str, obj: dict[str, Any],
                  before: dict[str, Any], *, updated: int | None = None) -> None:
    changed = {k: before.get(k) for k in obj if k != "updated" and obj[k] != before.get(k)}
    if not changed:
        return
    if updated is not None:
        obj["updated"] = updated
    emit(ctx.sim, ctx.tenant, event_type, obj, previous_attributes=changed,
         request_id=ctx.request_id, idempotency_key=ctx.idempotency_key)


# -- lists ------------------------------------------------------------------------------------
def newest(tenant: Tenant, name: str) -> list[dict[str, Any]]:
    return list(reversed(tenant.collection(name).values()))


def one_or_many(values: Any) -> list[str]:
    return values if isinstance(values, list) else [values]


def list_products(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = newest(tenant, PRODUCTS)
    for name in ("active", "shippable"):
        if params.get(name) not in (None, ""):
            wanted = boolean(params, name)
            found = [p for p in found if p.get(name) == wanted]
    if params.get("ids"):
        ids = set(one_or_many(params["ids"]))
        found = [p for p in found if p["id"] in ids]
    if params.get("url"):
        found = [p for p in found if p.get("url") == params["url"]]
    return found


def list_prices(tenant: Tenant, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = newest(tenant, PRICES)
    if params.get("active") not in (None, ""):
        wanted = boolean(params, "active")
        found = [p for p in found if p["active"] == wanted]
    for name in ("product", "currency", "type"):
        if params.get(name):
            found = [p for p in found if p[name] == params[name]]
    if params.get("lookup_keys"):
        keys = set(one_or_many(params["lookup_keys"]))
        found = [p for p in found if p.get("lookup_key") in keys]
    recurring = params.get("recurring")
    if isinstance(recurring, dict) and recurring.get("interval"):
        found = [p for p in found if (p.get("recurring") or {}).get("interval")
                 == recurring["interval"]]
    return found
