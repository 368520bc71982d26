"""Invoice payments (2025-03-31.basil on): GET /v1/invoice_payments and
GET /v1/invoice_payments/{invoice_payment}, derived from the invoices the fake keeps (one
default payment per invoice once it is being collected; see versions/current.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulators.core.vendor import context
from simulators.stripe.billing_common import INVOICES
from simulators.stripe.errors import invalid_request, resource_missing, unknown_param
from simulators.stripe.objects import newest_first, read_params
from simulators.stripe.versions.current import invoice_payments
from simulators.stripe.wire import many, one

LIST_PARAMS = {"created", "ending_before", "expand", "invoice", "limit", "payment",
               "starting_after", "status"}
STATUSES = ("canceled", "open", "paid")


def _check(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise unknown_param(name)
    payment = params.get("payment")
    if payment is not None:
        if not isinstance(payment, dict):
            raise invalid_request("Invalid object", "payment")
        for name in payment:
            if name not in ("type", "payment_intent", "payment_record"):
                raise unknown_param(f"payment[{name}]")
        if payment.get("type") not in ("payment_intent", "payment_record"):
            raise invalid_request("Invalid payment[type]: must be one of payment_intent or "
                                  "payment_record", "payment[type]")
    if params.get("status") not in (None, *STATUSES):
        raise invalid_request("Invalid status: must be one of canceled, open, or paid",
                              "status")


def router() -> APIRouter:
    r = APIRouter(tags=["billing"])

    @r.get("/v1/invoice_payments")
    async def list_invoice_payments(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await read_params(request)
        _check(params, LIST_PARAMS)
        found = [p for inv in newest_first(ctx.tenant, INVOICES) for p in invoice_payments(inv)]
        if params.get("invoice"):
            found = [p for p in found if p["invoice"] == params["invoice"]]
        if params.get("status"):
            found = [p for p in found if p["status"] == params["status"]]
        intent = (params.get("payment") or {}).get("payment_intent")
        if intent:
            found = [p for p in found if p["payment"].get("payment_intent") == intent]
        elif params.get("payment"):  # payment records: the fake makes none
            found = []
        return many(ctx, found, params, "/v1/invoice_payments", "invoice_payment")

    @r.get("/v1/invoice_payments/{invoice_payment}")
    async def retrieve_invoice_payment(request: Request, invoice_payment: str) -> JSONResponse:
        ctx = context(request)
        params = await read_params(request)
        _check(params, {"expand"})
        prefix, _, suffix = invoice_payment.partition("_")
        invoice = ctx.tenant.collection(INVOICES).get(f"in_{suffix}") if prefix == "inpay" \
            else None
        found = invoice_payments(invoice) if invoice else []
        if not found:
            raise resource_missing("invoice_payment", invoice_payment, "invoice_payment")
        return one(ctx, found[0], params)

    return r
