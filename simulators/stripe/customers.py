"""Customers (create, update, delete, list; default payment method)."""

from __future__ import annotations

import copy
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.core.vendor import VendorError
from simulators.stripe.errors import (
    invalid_request,
    missing_param,
    stripe_error,
)
from simulators.stripe.objects import apply_metadata, get_object
from simulators.stripe.payment_methods import attach_payment_method
from simulators.stripe.payments_base import (
    TEST_CLOCKS,
    Op,
    _address,
    _changes,
    _text,
    live_customer,
)


# -- customers --------------------------------------------------------------------------------
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
