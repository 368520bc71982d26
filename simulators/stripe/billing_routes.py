"""The fake Stripe's wire format for billing: `/v1/products`, `/v1/prices`,
`/v1/subscriptions`, `/v1/subscription_items`, `/v1/invoices`, `/v1/test_helpers/test_clocks`.

Each handler checks parameter names against the official spec (unknown -> `parameter_unknown`;
known to Stripe but not implemented here -> a clear 400), calls billing.py and renders the object
with `expand[]`. routes.py includes this router.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulators.core.vendor import context
from simulators.stripe import billing
from simulators.stripe import billing_catalog as catalog
from simulators.stripe.errors import invalid_request
from simulators.stripe.objects import get_object
from simulators.stripe.wire import many, one, params_for

LIST = ("limit", "starting_after", "ending_before", "created")
PRODUCT_FIELDS = ("active", "description", "images", "metadata", "name", "shippable",
                  "statement_descriptor", "tax_code", "unit_label", "url")
PRICE_FIELDS = ("active", "currency", "lookup_key", "metadata", "nickname", "product",
                "product_data", "recurring", "tax_behavior", "unit_amount", "unit_amount_decimal")
SUBSCRIPTION_FIELDS = ("customer", "items", "default_payment_method", "collection_method",
                       "payment_behavior", "metadata", "off_session", "billing_cycle_anchor",
                       "cancel_at_period_end", "days_until_due", "description",
                       "proration_behavior", "payment_settings")
SUBSCRIPTION_UPDATES = ("cancel_at_period_end", "default_payment_method", "metadata",
                        "description", "cancellation_details", "items", "off_session",
                        "payment_behavior", "proration_behavior")


def router() -> APIRouter:
    r = APIRouter(tags=["billing"])

    # -- products -------------------------------------------------------------------------------
    @r.post("/v1/products")
    async def create_product(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/products", "post",
                               (*PRODUCT_FIELDS, "id", "default_price_data", "features"))
        return one(ctx, catalog.create_product(ctx, params), params)

    @r.get("/v1/products")
    async def list_products(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/products", "get",
                               (*LIST, "active", "ids", "shippable", "url"))
        return many(ctx, catalog.list_products(ctx.tenant, params), params, "/v1/products",
                     "product")

    @r.get("/v1/products/{id}")
    async def retrieve_product(request: Request, id: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/products/{id}", "get", ())
        return one(ctx, get_object(ctx.tenant, catalog.PRODUCTS, id, label="product"), params)

    @r.post("/v1/products/{id}")
    async def update_product(request: Request, id: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/products/{id}", "post",
                               (*PRODUCT_FIELDS, "default_price"))
        return one(ctx, catalog.update_product(ctx, id, params), params)

    @r.delete("/v1/products/{id}")
    async def delete_product(request: Request, id: str) -> JSONResponse:
        ctx = context(request)
        await params_for(request, "/v1/products/{id}", "delete", ())
        return JSONResponse(catalog.delete_product(ctx, id))

    # -- prices ---------------------------------------------------------------------------------
    @r.post("/v1/prices")
    async def create_price(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/prices", "post", PRICE_FIELDS)
        return one(ctx, catalog.create_price(ctx, params), params)

    @r.get("/v1/prices")
    async def list_prices(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/prices", "get",
                               (*LIST, "active", "currency", "lookup_keys", "product",
                                "recurring", "type"))
        return many(ctx, catalog.list_prices(ctx.tenant, params), params, "/v1/prices",
                     "price")

    @r.get("/v1/prices/{price}")
    async def retrieve_price(request: Request, price: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/prices/{price}", "get", ())
        return one(ctx, get_object(ctx.tenant, catalog.PRICES, price, label="price"), params)

    @r.post("/v1/prices/{price}")
    async def update_price(request: Request, price: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/prices/{price}", "post",
                               ("active", "lookup_key", "metadata", "nickname", "tax_behavior"))
        return one(ctx, catalog.update_price(ctx, price, params), params)

    # -- test clocks ----------------------------------------------------------------------------
    clocks = "/v1/test_helpers/test_clocks"

    @r.post(clocks)
    async def create_test_clock(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, clocks, "post", ("frozen_time", "name"))
        return one(ctx, billing.create_test_clock(ctx, params), params)

    @r.get(clocks)
    async def list_test_clocks(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, clocks, "get", LIST)
        found = list(reversed(ctx.tenant.collection(billing.CLOCKS).values()))
        return many(ctx, found, params, clocks, "test_clock")

    @r.get(clocks + "/{test_clock}")
    async def retrieve_test_clock(request: Request, test_clock: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, clocks + "/{test_clock}", "get", ())
        clock = get_object(ctx.tenant, billing.CLOCKS, test_clock, label="test_clock")
        return one(ctx, clock, params)

    @r.delete(clocks + "/{test_clock}")
    async def delete_test_clock(request: Request, test_clock: str) -> JSONResponse:
        ctx = context(request)
        await params_for(request, clocks + "/{test_clock}", "delete", ())
        return JSONResponse(billing.delete_test_clock(ctx, test_clock))

    @r.post(clocks + "/{test_clock}/advance")
    async def advance_test_clock(request: Request, test_clock: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, clocks + "/{test_clock}/advance", "post",
                               ("frozen_time",))
        return one(ctx, billing.advance_test_clock(ctx, test_clock, params), params)

    # -- subscriptions --------------------------------------------------------------------------
    subs = "/v1/subscriptions/{subscription_exposed_id}"

    @r.post("/v1/subscriptions")
    async def create_subscription(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/subscriptions", "post", SUBSCRIPTION_FIELDS)
        return one(ctx, billing.create_subscription(ctx, params), params)

    @r.get("/v1/subscriptions")
    async def list_subscriptions(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/subscriptions", "get",
                               (*LIST, "customer", "price", "status", "test_clock",
                                "collection_method"))
        return many(ctx, billing.list_subscriptions(ctx.tenant, params), params,
                     "/v1/subscriptions", "subscription")

    @r.get(subs)
    async def retrieve_subscription(request: Request, subscription_exposed_id: str
                                    ) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, subs, "get", ())
        sub = get_object(ctx.tenant, billing.SUBSCRIPTIONS, subscription_exposed_id,
                         label="subscription")
        return one(ctx, sub, params)

    @r.post(subs)
    async def update_subscription(request: Request, subscription_exposed_id: str
                                  ) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, subs, "post", SUBSCRIPTION_UPDATES)
        return one(ctx, billing.update_subscription(ctx, subscription_exposed_id, params),
                    params)

    @r.delete(subs)
    async def cancel_subscription(request: Request, subscription_exposed_id: str
                                  ) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, subs, "delete",
                               ("cancellation_details", "invoice_now", "prorate"))
        return one(ctx, billing.cancel_subscription(ctx, subscription_exposed_id, params),
                    params)

    @r.get("/v1/subscription_items")
    async def list_subscription_items(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/subscription_items", "get",
                               (*LIST, "subscription"))
        if not params.get("subscription"):
            raise invalid_request("Missing required param: subscription.", "subscription",
                                  "parameter_missing")
        sub = get_object(ctx.tenant, billing.SUBSCRIPTIONS, params["subscription"],
                         label="subscription", param="subscription")
        return many(ctx, list(reversed(sub["items"]["data"])), params,
                     "/v1/subscription_items", "subscription_item")

    @r.get("/v1/subscription_items/{item}")
    async def retrieve_subscription_item(request: Request, item: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/subscription_items/{item}", "get", ())
        return one(ctx, billing.subscription_item(ctx.tenant, item), params)

    # -- invoices -------------------------------------------------------------------------------
    invoice_path = "/v1/invoices/{invoice}"

    @r.get("/v1/invoices")
    async def list_invoices(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, "/v1/invoices", "get",
                               (*LIST, "customer", "subscription", "status",
                                "collection_method", "due_date"))
        return many(ctx, billing.list_invoices(ctx.tenant, params), params, "/v1/invoices",
                     "invoice")

    @r.get(invoice_path)
    async def retrieve_invoice(request: Request, invoice: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, invoice_path, "get", ())
        return one(ctx, get_object(ctx.tenant, billing.INVOICES, invoice, label="invoice"),
                    params)

    @r.post(invoice_path)
    async def update_invoice(request: Request, invoice: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, invoice_path, "post",
                               ("auto_advance", "default_payment_method", "description",
                                "footer", "metadata"))
        return one(ctx, billing.update_invoice(ctx, invoice, params), params)

    @r.get(invoice_path + "/lines")
    async def list_invoice_lines(request: Request, invoice: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, invoice_path + "/lines", "get", LIST)
        found = get_object(ctx.tenant, billing.INVOICES, invoice, label="invoice")
        return many(ctx, found["lines"]["data"], params, f"/v1/invoices/{invoice}/lines",
                     "line_item", invoice=invoice)

    @r.post(invoice_path + "/pay")
    async def pay_invoice(request: Request, invoice: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, invoice_path + "/pay", "post",
                               ("forgive", "off_session", "paid_out_of_band", "payment_method"))
        return one(ctx, billing.pay_invoice(ctx, invoice, params), params)

    @r.post(invoice_path + "/finalize")
    async def finalize_invoice(request: Request, invoice: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, invoice_path + "/finalize", "post", ("auto_advance",))
        return one(ctx, billing.finalize_invoice(ctx, invoice, params), params)

    @r.post(invoice_path + "/void")
    async def void_invoice(request: Request, invoice: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, invoice_path + "/void", "post", ())
        return one(ctx, billing.void_invoice(ctx, invoice), params)

    @r.post(invoice_path + "/mark_uncollectible")
    async def mark_uncollectible(request: Request, invoice: str) -> JSONResponse:
        ctx = context(request)
        params = await params_for(request, invoice_path + "/mark_uncollectible", "post", ())
        return one(ctx, billing.mark_uncollectible(ctx, invoice), params)

    from simulators.stripe import invoice_payments

    r.include_router(invoice_payments.router())
    return r
