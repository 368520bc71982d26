"""Chargebee's wire format: `/api/v2/...`, form-encoded parameters in, `{"resource": {...}}` out.

Single results are wrapped by resource name with companions (`{"subscription":…, "customer":…,
"card":…}`); lists are `{"list": [{"customer": {...}}, …], "next_offset": "…"}` with an opaque
offset that is left out on the last page. Filters are `field[op]=value` (`status[is]=active`,
`id[in]=[a,b]`, `date[after]=…`), ordering `sort_by[asc|desc]=field`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.chargebee import billing, errors, models
from simulators.core import forms
from simulators.core.bodies import decode_json
from simulators.core.vendor import RequestContext, context

PREFIX = "/api/v2"
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
OPERATORS = {"is", "is_not", "starts_with", "in", "not_in", "is_present", "after", "before",
             "on", "between", "lt", "lte", "gt", "gte"}
NOT_FILTERS = {"limit", "offset", "sort_by", "include_deleted", "start_time", "end_time"}


# -- parameters -----------------------------------------------------------------------------------
async def read_params(request: Request) -> dict[str, Any]:
    """The request's parameters, refused (400) if any text could not be stored and shown."""
    return models.encodable(await _read_params(request))


async def _read_params(request: Request) -> dict[str, Any]:
    """Query and body parameters, bracket-decoded. Chargebee puts a list index last
    (`subscription_items[item_price_id][0]`); it is moved first so each entry is one dict."""
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    body = await request.body()
    if request.method == "POST" and body:
        if "json" in request.headers.get("content-type", ""):
            try:
                decoded = decode_json(body, **models.JSON_NUMBERS)
            except ValueError:
                decoded = None
            if not isinstance(decoded, dict):
                raise errors.invalid_request("Invalid JSON in the request body")
            return {**_decode(pairs), **decoded}
        pairs += forms.parse_pairs(body.decode("utf-8", errors="replace"))
    return _decode(pairs)


def _decode(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    moved = []
    try:
        for key, value in pairs:
            parts = forms.split_key(key)
            if len(parts) == 3 and parts[2].isdigit():
                parts = [parts[0], parts[2], parts[1]]
            moved.append((parts[0] + "".join(f"[{p}]" for p in parts[1:]), value))
        return forms.decode_pairs(moved)
    except forms.FormError as exc:
        raise errors.invalid_request(f"{exc.key} : {exc.reason}", exc.key) from None
    except ValueError:  # an index int() cannot read, e.g. a superscript digit
        raise errors.invalid_request("invalid parameter name") from None


def _flag(params: dict[str, Any], name: str) -> bool:
    return str(params.get(name, "")).lower() == "true"


def _webhooks(request: Request) -> bool:
    """`chargebee-event-webhook: all-disabled` keeps this request's events off the webhooks."""
    return request.headers.get("chargebee-event-webhook", "").lower() != "all-disabled"


def _decline(ctx: RequestContext) -> dict[str, Any] | None:
    return ctx.directives.get("decline")


def respond(**parts: Any) -> JSONResponse:
    return JSONResponse({name: value for name, value in parts.items() if value is not None})


# -- lists ----------------------------------------------------------------------------------------
def _values(raw: Any) -> list[str]:
    """`[a,b]` (raw HTTP) and `['a', 'b']` (the Python SDK's str(list)) alike."""
    text = str(raw).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [v.strip().strip("'\"") for v in text.split(",") if v.strip()]


def _typed(sample: Any, raw: str, param: str) -> Any:
    try:
        if isinstance(sample, bool):
            return raw.lower() == "true"
        if isinstance(sample, int):
            return int(raw)
        if isinstance(sample, float):
            return float(raw)
    except ValueError:
        raise errors.wrong_value(param, f"invalid value {raw}") from None
    return raw


def _matches(obj: dict[str, Any], name: str, op: str, raw: Any) -> bool:
    param = f"{name}[{op}]"
    value = obj.get(name)
    if op == "is_present":
        return (value not in (None, "")) == (str(raw).lower() == "true")
    if value is None:
        return op in ("is_not", "not_in")
    if op in ("in", "not_in"):
        found = value in [_typed(value, v, param) for v in _values(raw)]
        return found if op == "in" else not found
    try:
        if op == "between":
            bounds = [_typed(value, v, param) for v in _values(raw)]
            if len(bounds) != 2:
                raise errors.wrong_value(param, "should have two values")
            return bounds[0] <= value <= bounds[1]
        target = _typed(value, str(raw), param)
        if op in ("is", "on"):
            return value == target
        if op == "is_not":
            return value != target
        if op == "starts_with":
            return str(value).startswith(str(target))
        return {"after": value > target, "gt": value > target, "gte": value >= target,
                "before": value < target, "lt": value < target, "lte": value <= target}[op]
    except TypeError:  # an object or list field cannot be compared
        raise errors.wrong_value(param, f"invalid value {raw}") from None


def _filters(params: dict[str, Any]) -> list[tuple[str, str, Any]]:
    found = []
    for name, spec in params.items():
        if name in NOT_FILTERS or not isinstance(spec, dict):
            continue
        for op, raw in spec.items():
            if op not in OPERATORS:
                raise errors.invalid_request(f"{name}[{op}] : unknown filter operator",
                                             f"{name}[{op}]")
            found.append((name, op, raw))
    return found


def list_page(params: dict[str, Any], objects: list[dict[str, Any]], sort_field: str,
              wrap: Callable[[dict[str, Any]], dict[str, Any]],
              sortable: tuple[str, ...] = ("created_at", "updated_at")) -> JSONResponse:
    limit = models.optional_int(params, "limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.wrong_value("limit", f"should be between 1 and {MAX_LIMIT}")
    descending = True
    sort = params.get("sort_by")
    if isinstance(sort, dict) and sort:
        direction, field = next(iter(sort.items()))
        if direction not in ("asc", "desc") or field not in sortable:
            raise errors.wrong_value(f"sort_by[{direction}]", f"invalid value {field}")
        sort_field, descending = field, direction == "desc"
    if not _flag(params, "include_deleted"):
        objects = [o for o in objects if not o.get("deleted")]
    for name, op, raw in _filters(params):
        objects = [o for o in objects if _matches(o, name, op, raw)]
    keyed = sorted(((o.get(sort_field) or 0, seq, o) for seq, o in enumerate(objects)),
                   key=lambda k: (k[0], k[1]), reverse=descending)
    if params.get("offset"):
        after = _offset(params["offset"])
        try:
            keyed = [k for k in keyed if ((k[0], k[1]) < after if descending
                                          else (k[0], k[1]) > after)]
        except TypeError:  # an offset from a list sorted on another field
            raise errors.wrong_value("offset", "invalid value") from None
    page, rest = keyed[:limit], keyed[limit:]
    body: dict[str, Any] = {"list": [wrap(o) for _, _, o in page]}
    if rest:
        last = page[-1]
        body["next_offset"] = json.dumps([last[0], str(last[1])])
    return JSONResponse(body)


def _offset(raw: Any) -> tuple[Any, int]:
    """A `next_offset`: the last entry's sort key (a number or a string) and its position."""
    try:
        value, seq = decode_json(str(raw))
        if not isinstance(value, int | float | str) or isinstance(value, bool):
            raise TypeError
        return value, int(seq)
    except (ValueError, TypeError):
        raise errors.wrong_value("offset", "invalid value") from None


# -- routes ---------------------------------------------------------------------------------------
def router() -> APIRouter:
    r = APIRouter(prefix=PREFIX)
    _customer_routes(r)
    _catalog_routes(r)
    _subscription_routes(r)
    _invoice_routes(r)
    _misc_routes(r)
    return r


def _customer_view(tenant: Any, customer: dict[str, Any]) -> dict[str, Any]:
    card = models.card_view(tenant, customer)
    return {"customer": customer, **({"card": card} if card else {})}


def _customer_routes(r: APIRouter) -> None:
    @r.post("/customers")
    async def create_customer(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await read_params(request)
        customer = models.create_customer(ctx.sim, ctx.tenant, params, ctx.now,
                                          webhooks=_webhooks(request))
        return JSONResponse(_customer_view(ctx.tenant, customer))

    @r.get("/customers")
    async def list_customers(request: Request) -> JSONResponse:
        ctx = context(request)
        return list_page(await read_params(request),
                         list(ctx.tenant.collection("customer").values()), "created_at",
                         lambda c: _customer_view(ctx.tenant, c))

    @r.get("/customers/{object_id}")
    async def retrieve_customer(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        return JSONResponse(_customer_view(ctx.tenant,
                                           models.get(ctx.tenant, "customer", object_id)))

    @r.post("/customers/{object_id}")
    async def update_customer(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        customer = models.get(ctx.tenant, "customer", object_id)
        models.update_customer(ctx.sim, ctx.tenant, customer, await read_params(request),
                               ctx.now, webhooks=_webhooks(request))
        return JSONResponse(_customer_view(ctx.tenant, customer))

    @r.post("/customers/{object_id}/subscription_for_items")
    async def create_subscription(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        customer = models.get(ctx.tenant, "customer", object_id)
        sub, invoice = billing.create_subscription(
            ctx.sim, ctx.tenant, customer, await read_params(request), ctx.now,
            decline=_decline(ctx), webhooks=_webhooks(request))
        return respond(subscription=sub, customer=customer,
                       card=models.card_view(ctx.tenant, customer), invoice=invoice)

    @r.get("/customers/{object_id}/subscriptions")
    async def customer_subscriptions(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        models.get(ctx.tenant, "customer", object_id)
        subs = [s for s in ctx.tenant.collection("subscription").values()
                if s["customer_id"] == object_id]
        return list_page(await read_params(request), subs, "created_at",
                         lambda s: {"subscription": s})

    @r.post("/payment_sources/create_card")
    async def create_card(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await read_params(request)
        if not params.get("customer_id"):
            raise errors.missing("customer_id")
        customer = models.get(ctx.tenant, "customer", params["customer_id"], label="Customer",
                              param="customer_id")
        card = params.get("card") if isinstance(params.get("card"), dict) else {}
        source = models.add_card(ctx.sim, ctx.tenant, customer, card, ctx.now,
                                 replace_primary=_flag(params, "replace_primary_payment_source"),
                                 webhooks=_webhooks(request))
        return respond(customer=customer, payment_source=source)

    @r.get("/payment_sources")
    async def list_payment_sources(request: Request) -> JSONResponse:
        ctx = context(request)
        return list_page(await read_params(request),
                         list(ctx.tenant.collection("payment_source").values()), "created_at",
                         lambda p: {"payment_source": p})

    @r.get("/payment_sources/{object_id}")
    async def retrieve_payment_source(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        return respond(payment_source=models.get(ctx.tenant, "payment_source", object_id))


def _catalog_routes(r: APIRouter) -> None:
    resources = {"item_families": ("item_family", models.create_item_family),
                 "items": ("item", models.create_item),
                 "item_prices": ("item_price", models.create_item_price)}
    for path, (name, create) in resources.items():
        _catalog_resource(r, path, name, create)


def _catalog_resource(r: APIRouter, path: str, name: str, create: Callable) -> None:
    async def create_one(request: Request) -> JSONResponse:
        ctx = context(request)
        return respond(**{name: create(ctx.tenant, await read_params(request), ctx.now)})

    async def list_all(request: Request) -> JSONResponse:
        ctx = context(request)
        return list_page(await read_params(request),
                         list(ctx.tenant.collection(name).values()), "updated_at",
                         lambda o: {name: o}, ("updated_at", "created_at", "name", "id"))

    async def retrieve(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        return respond(**{name: models.get(ctx.tenant, name, object_id)})

    r.add_api_route(f"/{path}", create_one, methods=["POST"], name=f"create_{name}")
    r.add_api_route(f"/{path}", list_all, methods=["GET"], name=f"list_{name}")
    r.add_api_route(f"/{path}/{{object_id}}", retrieve, methods=["GET"], name=f"get_{name}")


def _subscription_routes(r: APIRouter) -> None:
    def view(tenant: Any, sub: dict[str, Any]) -> dict[str, Any]:
        customer = tenant.collection("customer")[sub["customer_id"]]
        card = models.card_view(tenant, customer)
        return {"subscription": sub, "customer": customer, **({"card": card} if card else {})}

    @r.get("/subscriptions")
    async def list_subscriptions(request: Request) -> JSONResponse:
        ctx = context(request)
        return list_page(await read_params(request),
                         list(ctx.tenant.collection("subscription").values()), "created_at",
                         lambda s: view(ctx.tenant, s), ("created_at", "updated_at"))

    @r.get("/subscriptions/{object_id}")
    async def retrieve_subscription(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        return JSONResponse(view(ctx.tenant, models.get(ctx.tenant, "subscription", object_id)))

    @r.post("/subscriptions/{object_id}/cancel_for_items")
    async def cancel(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        sub = models.get(ctx.tenant, "subscription", object_id)
        billing.cancel_subscription(ctx.sim, ctx.tenant, sub, await read_params(request),
                                    ctx.now, webhooks=_webhooks(request))
        return JSONResponse(view(ctx.tenant, sub))


def _invoice_routes(r: APIRouter) -> None:
    @r.get("/invoices")
    async def list_invoices(request: Request) -> JSONResponse:
        ctx = context(request)
        return list_page(await read_params(request),
                         list(ctx.tenant.collection("invoice").values()), "date",
                         lambda i: {"invoice": i}, ("date", "updated_at"))

    @r.get("/invoices/{object_id}")
    async def retrieve_invoice(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        return respond(invoice=models.get(ctx.tenant, "invoice", object_id))

    @r.post("/invoices/{object_id}/collect_payment")
    async def collect_payment(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        invoice = models.get(ctx.tenant, "invoice", object_id)
        txn = billing.collect_payment(ctx.sim, ctx.tenant, invoice, await read_params(request),
                                      ctx.now, decline=_decline(ctx),
                                      webhooks=_webhooks(request))
        return respond(invoice=invoice, transaction=txn)

    @r.post("/invoices/{object_id}/record_payment")
    async def record_payment(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        invoice = models.get(ctx.tenant, "invoice", object_id)
        txn = billing.record_payment(ctx.sim, ctx.tenant, invoice, await read_params(request),
                                     ctx.now, webhooks=_webhooks(request))
        return respond(invoice=invoice, transaction=txn)

    @r.post("/invoices/{object_id}/stop_dunning")
    async def stop_dunning(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        invoice = models.get(ctx.tenant, "invoice", object_id)
        billing.stop_dunning(ctx.sim, ctx.tenant, invoice, ctx.now)
        return respond(invoice=invoice)

    @r.post("/invoices/{object_id}/pause_dunning")
    async def pause_dunning(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        invoice = models.get(ctx.tenant, "invoice", object_id)
        billing.pause_dunning(ctx.sim, ctx.tenant, invoice, await read_params(request), ctx.now)
        return respond(invoice=invoice)

    @r.post("/invoices/{object_id}/resume_dunning")
    async def resume_dunning(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        invoice = models.get(ctx.tenant, "invoice", object_id)
        billing.resume_dunning(ctx.sim, ctx.tenant, invoice, ctx.now)
        return respond(invoice=invoice)


def _misc_routes(r: APIRouter) -> None:
    @r.get("/transactions")
    async def list_transactions(request: Request) -> JSONResponse:
        ctx = context(request)
        return list_page(await read_params(request),
                         list(ctx.tenant.collection("transaction").values()), "date",
                         lambda t: {"transaction": t}, ("date", "updated_at"))

    @r.get("/transactions/{object_id}")
    async def retrieve_transaction(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        return respond(transaction=models.get(ctx.tenant, "transaction", object_id))

    @r.get("/events")
    async def list_events(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await read_params(request)
        events = list(ctx.tenant.collection("event").values())
        start, end = (models.optional_int(params, n) for n in ("start_time", "end_time"))
        events = [e for e in events if (start is None or e["occurred_at"] >= start)
                  and (end is None or e["occurred_at"] <= end)]
        return list_page(params, events, "occurred_at", lambda e: {"event": e},
                         ("occurred_at",))

    @r.get("/events/{object_id}")
    async def retrieve_event(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        return respond(event=models.get(ctx.tenant, "event", object_id))

    _webhook_endpoint_routes(r)


def _endpoint_view(endpoint: dict[str, Any]) -> dict[str, Any]:
    """The API never returns the Basic auth credentials."""
    return {k: v for k, v in endpoint.items() if not k.startswith("basic_auth")}


def _set_endpoint(endpoint: dict[str, Any], params: dict[str, Any]) -> None:
    endpoint.update(models.text_params(params, (
        "name", "url", "api_version", "basic_auth_username", "basic_auth_password")))
    for name in ("send_card_resource", "disabled", "primary_url"):
        if name in params:
            endpoint[name] = str(params[name]).lower() == "true"
    if "enabled_events" in params:
        events = params["enabled_events"]
        events = events if isinstance(events, list) else _values(events)
        if not all(isinstance(e, str) for e in events):
            raise errors.wrong_value("enabled_events", "invalid value")
        endpoint["enabled_events"] = events


def _webhook_endpoint_routes(r: APIRouter) -> None:
    @r.post("/webhook_endpoints")
    async def create_endpoint(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await read_params(request)
        for name in ("name", "url"):
            if not params.get(name):
                raise errors.missing(name)
        endpoint: dict[str, Any] = {"id": models.new_id(ctx.sim, ctx.tenant, "whv2", 20),
                                    "api_version": "v2", "disabled": False,
                                    "send_card_resource": False, "primary_url": False,
                                    "chargebee_response_schema_type": "compat",
                                    "object": "webhook_endpoint"}
        _set_endpoint(endpoint, params)
        ctx.tenant.collection("webhook_endpoint")[endpoint["id"]] = endpoint
        return respond(webhook_endpoint=_endpoint_view(endpoint))

    @r.get("/webhook_endpoints")
    async def list_endpoints(request: Request) -> JSONResponse:
        ctx = context(request)
        endpoints = list(ctx.tenant.collection("webhook_endpoint").values())
        return list_page(await read_params(request), endpoints, "created_at",
                         lambda e: {"webhook_endpoint": _endpoint_view(e)}, ())

    @r.get("/webhook_endpoints/{object_id}")
    async def retrieve_endpoint(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        endpoint = models.get(ctx.tenant, "webhook_endpoint", object_id)
        return respond(webhook_endpoint=_endpoint_view(endpoint))

    @r.post("/webhook_endpoints/{object_id}")
    async def update_endpoint(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        endpoint = models.get(ctx.tenant, "webhook_endpoint", object_id)
        _set_endpoint(endpoint, await read_params(request))
        return respond(webhook_endpoint=_endpoint_view(endpoint))

    @r.post("/webhook_endpoints/{object_id}/delete")
    async def delete_endpoint(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        endpoint = models.get(ctx.tenant, "webhook_endpoint", object_id)
        del ctx.tenant.collection("webhook_endpoint")[object_id]
        return respond(webhook_endpoint=_endpoint_view(endpoint))

