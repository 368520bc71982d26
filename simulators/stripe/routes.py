"""The fake Stripe's wire format for payments: `/v1/customers`, `/v1/payment_methods`,
`/v1/payment_intents`, `/v1/charges`, `/v1/refunds`, `/v1/events`, `/v1/webhook_endpoints`.

Each handler reads form/query parameters, rejects what Stripe would not accept (names checked
against the official spec, see openapi.py), calls models.py and renders the object with
`expand[]`. Path parameter names follow the spec so the published OpenAPI lines up.
Billing (products, prices, subscriptions, invoices, test clocks) lives in billing_routes.py.
"""

from __future__ import annotations

import importlib.util

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulators.core.vendor import context
from simulators.stripe import models, openapi
from simulators.stripe.errors import StripeErrors, invalid_request
from simulators.stripe.objects import get_object
from simulators.stripe.wire import many, one, params_for

LIST_PARAMS = ("limit", "starting_after", "ending_before", "expand", "created")


CUSTOMER_FIELDS = ("address", "balance", "description", "email", "invoice_prefix",
                   "invoice_settings", "metadata", "name", "next_invoice_sequence", "phone",
                   "preferred_locales", "shipping", "tax_exempt")
INTENT_FIELDS = ("amount", "currency", "customer", "description", "metadata",
                 "payment_method", "payment_method_types", "receipt_email", "capture_method",
                 "setup_future_usage", "statement_descriptor", "statement_descriptor_suffix",
                 "transfer_group")
CONFIRM_FIELDS = ("payment_method", "off_session", "capture_method", "receipt_email",
                  "payment_method_types", "error_on_requires_action", "return_url",
                  "use_stripe_sdk", "client_secret")


def payments_router() -> APIRouter:
    router = APIRouter(tags=["payments"])

    # -- customers ------------------------------------------------------------------------------
    @router.post("/v1/customers")
    async def create_customer(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/customers", "post",
                               (*CUSTOMER_FIELDS, "payment_method", "test_clock"))
        return one(ctx, models.create_customer(models.op_from(ctx), params), params)

    @router.get("/v1/customers")
    async def list_customers(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/customers", "get")
        return many(ctx, models.list_customers(ctx.tenant, params), params, "/v1/customers",
                     "customer")

    @router.get("/v1/customers/{customer}")
    async def get_customer(request: Request, customer: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/customers/{customer}", "get")
        return one(ctx, get_object(ctx.tenant, "customer", customer), params)

    @router.post("/v1/customers/{customer}")
    async def update_customer(request: Request, customer: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/customers/{customer}", "post", CUSTOMER_FIELDS)
        return one(ctx, models.update_customer(models.op_from(ctx), customer, params), params)

    @router.delete("/v1/customers/{customer}")
    async def delete_customer(request: Request, customer: str) -> JSONResponse:
        ctx = context(request)
        await params_for(request, "/v1/customers/{customer}", "delete")
        return JSONResponse(models.delete_customer(models.op_from(ctx), customer))

    @router.get("/v1/customers/{customer}/payment_methods")
    async def customer_payment_methods(request: Request, customer: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/customers/{customer}/payment_methods", "get")
        models.live_customer(ctx.tenant, customer, "customer")
        found = models.list_payment_methods(ctx.tenant, customer, params.get("type"))
        return many(ctx, found, params, f"/v1/customers/{customer}/payment_methods",
                     "payment_method")

    # -- payment methods --------------------------------------------------------------------------
    @router.post("/v1/payment_methods")
    async def create_payment_method(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_methods", "post",
                               ("type", "card", "billing_details", "metadata"))
        return one(ctx, models.create_payment_method(models.op_from(ctx), params), params)

    @router.get("/v1/payment_methods")
    async def list_payment_methods(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_methods", "get")
        customer = params.get("customer")
        if customer:
            models.live_customer(ctx.tenant, customer, "customer")
        found = models.list_payment_methods(ctx.tenant, customer, params.get("type"))
        return many(ctx, found, params, "/v1/payment_methods", "payment_method")

    @router.get("/v1/payment_methods/{payment_method}")
    async def get_payment_method(request: Request, payment_method: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_methods/{payment_method}", "get")
        pm = get_object(ctx.tenant, "payment_method", payment_method, label="PaymentMethod",
                        param="payment_method")
        return one(ctx, pm, params)

    @router.post("/v1/payment_methods/{payment_method}")
    async def update_payment_method(request: Request, payment_method: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_methods/{payment_method}", "post",
                               ("billing_details", "card", "metadata"))
        pm = models.update_payment_method(models.op_from(ctx), payment_method, params)
        return one(ctx, pm, params)

    @router.post("/v1/payment_methods/{payment_method}/attach")
    async def attach_payment_method(request: Request, payment_method: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_methods/{payment_method}/attach", "post")
        pm = models.attach_payment_method(models.op_from(ctx), payment_method,
                                          params.get("customer"))
        return one(ctx, pm, params)

    @router.post("/v1/payment_methods/{payment_method}/detach")
    async def detach_payment_method(request: Request, payment_method: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_methods/{payment_method}/detach", "post")
        return one(ctx, models.detach_payment_method(models.op_from(ctx), payment_method),
                    params)

    # -- payment intents --------------------------------------------------------------------------
    @router.post("/v1/payment_intents")
    async def create_payment_intent(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_intents", "post",
                               (*INTENT_FIELDS, "confirm", "off_session",
                                "automatic_payment_methods", "confirmation_method",
                                "error_on_requires_action", "return_url", "use_stripe_sdk"))
        intent = models.create_payment_intent(models.op_from(ctx), params)
        return one(ctx, intent, params)

    @router.get("/v1/payment_intents")
    async def list_payment_intents(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_intents", "get")
        return many(ctx, models.list_payment_intents(ctx.tenant, params), params,
                     "/v1/payment_intents", "payment_intent")

    @router.get("/v1/payment_intents/{intent}")
    async def get_payment_intent(request: Request, intent: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_intents/{intent}", "get")
        found = get_object(ctx.tenant, "payment_intent", intent, param="intent")
        if params.get("client_secret") not in (None, found["client_secret"]):
            raise invalid_request("The client_secret provided does not match the client_secret "
                                  "associated with the PaymentIntent.", "client_secret")
        return one(ctx, found, params)

    @router.post("/v1/payment_intents/{intent}")
    async def update_payment_intent(request: Request, intent: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_intents/{intent}", "post", INTENT_FIELDS)
        return one(ctx, models.update_payment_intent(models.op_from(ctx), intent, params),
                    params)

    @router.post("/v1/payment_intents/{intent}/confirm")
    async def confirm_payment_intent(request: Request, intent: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_intents/{intent}/confirm", "post",
                               CONFIRM_FIELDS)
        return one(ctx, models.confirm_payment_intent(models.op_from(ctx), intent, params),
                    params)

    @router.post("/v1/payment_intents/{intent}/cancel")
    async def cancel_payment_intent(request: Request, intent: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/payment_intents/{intent}/cancel", "post")
        return one(ctx, models.cancel_payment_intent(models.op_from(ctx), intent, params),
                    params)

    # -- charges and refunds ---------------------------------------------------------------
    @router.get("/v1/charges")
    async def list_charges(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/charges", "get")
        return many(ctx, models.list_charges(ctx.tenant, params), params, "/v1/charges",
                     "charge")

    @router.get("/v1/charges/{charge}")
    async def get_charge(request: Request, charge: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/charges/{charge}", "get")
        return one(ctx, get_object(ctx.tenant, "charge", charge, param="charge"), params)

    @router.post("/v1/refunds")
    async def create_refund(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/refunds", "post",
                               ("amount", "charge", "payment_intent", "metadata", "reason"))
        return one(ctx, models.create_refund(models.op_from(ctx), params), params)

    @router.get("/v1/refunds")
    async def list_refunds(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/refunds", "get")
        return many(ctx, models.list_refunds(ctx.tenant, params), params, "/v1/refunds",
                     "refund")

    @router.get("/v1/refunds/{refund}")
    async def get_refund(request: Request, refund: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/refunds/{refund}", "get")
        return one(ctx, get_object(ctx.tenant, "refund", refund, param="refund"), params)

    # -- events and webhook endpoints --------------------------------------------------------
    @router.get("/v1/events")
    async def list_events(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/events", "get")
        return many(ctx, models.list_events(ctx.sim, ctx.tenant, params), params, "/v1/events",
                     "event")

    @router.get("/v1/events/{id}")
    async def get_event(request: Request, id: str) -> JSONResponse:  # noqa: A002 (spec's name)
        ctx = context(request)
        params = await params_for(request, "/v1/events/{id}", "get")
        return one(ctx, models.get_event(ctx.sim, ctx.tenant, id), params)

    events_enum = openapi.enum_of("/v1/webhook_endpoints", "post", "enabled_events")

    @router.post("/v1/webhook_endpoints")
    async def create_webhook_endpoint(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/webhook_endpoints", "post",
                               ("url", "enabled_events", "description", "metadata",
                                "api_version"))
        endpoint = models.create_webhook_endpoint(models.op_from(ctx), params, events_enum)
        return one(ctx, endpoint, params)

    @router.get("/v1/webhook_endpoints")
    async def list_webhook_endpoints(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/webhook_endpoints", "get")
        found = [models.public_endpoint(e)
                 for e in reversed(ctx.tenant.collection("webhook_endpoint").values())]
        return many(ctx, found, params, "/v1/webhook_endpoints", "webhook_endpoint")

    @router.get("/v1/webhook_endpoints/{webhook_endpoint}")
    async def get_webhook_endpoint(request: Request, webhook_endpoint: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/webhook_endpoints/{webhook_endpoint}", "get")
        endpoint = get_object(ctx.tenant, "webhook_endpoint", webhook_endpoint,
                              label="webhook endpoint", param="webhook_endpoint")
        return one(ctx, models.public_endpoint(endpoint), params)

    @router.post("/v1/webhook_endpoints/{webhook_endpoint}")
    async def update_webhook_endpoint(request: Request, webhook_endpoint: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/webhook_endpoints/{webhook_endpoint}", "post",
                               ("url", "enabled_events", "description", "metadata", "disabled"))
        endpoint = models.update_webhook_endpoint(models.op_from(ctx), webhook_endpoint, params,
                                                  events_enum)
        return one(ctx, models.public_endpoint(endpoint), params)

    @router.delete("/v1/webhook_endpoints/{webhook_endpoint}")
    async def delete_webhook_endpoint(request: Request, webhook_endpoint: str) -> JSONResponse:
        ctx = context(request)
        await params_for(request, "/v1/webhook_endpoints/{webhook_endpoint}", "delete")
        return JSONResponse(models.delete_webhook_endpoint(models.op_from(ctx),
                                                           webhook_endpoint))

    return router


def router() -> APIRouter:
    """Payments, plus billing's routes once simulators/stripe/billing_routes.py exists."""
    combined = APIRouter()
    if importlib.util.find_spec("simulators.stripe.billing_routes") is not None:
        from simulators.stripe import billing_routes

        combined.include_router(billing_routes.router())
    combined.include_router(payments_router())

    @combined.api_route("/v1/{rest:path}", methods=["GET", "POST", "DELETE", "PUT", "PATCH"],
                        include_in_schema=False)
    async def unrecognized(request: Request, rest: str) -> None:
        # last: Stripe names the method in its 404 (the engine's default says GET)
        raise StripeErrors.unrecognized(request.method, request.url.path)

    return combined
