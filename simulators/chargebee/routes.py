"""Chargebee's wire format: `/api/v2/...`, form-encoded parameters in, `{"resource": {...}}` out.

Single results are wrapped by resource name with companions (`{"subscription":…, "customer":…,
"card":…}`); lists are `{"list": [{"customer": {...}}, …], "next_offset": "…"}` with an opaque
offset that is left out on the last page. Filters are `field[op]=value` (`status[is]=active`,
`id[in]=[a,b]`, `date[after]=…`), ordering `sort_by[asc|desc]=field`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.chargebee import billing, errors, models
from simulators.chargebee.event_types import EVENT_TYPES
from simulators.core import forms
from simulators.core.bodies import decode_json
from simulators.core.text import in_int64
from simulators.core.vendor import RequestContext, context

PREFIX = "/api/v2"
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
API_VERSIONS = ("v1", "v2")  # what a webhook endpoint's events may be rendered in
NOT_FILTERS = {"limit", "offset", "sort_by", "include_deleted"}  # every list's paging


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
# What each list filters on, the one table both the published document (openapi.py builds each
# list's `field[op]` parameters from it) and list_page (which checks every filter against it
# before reading any data) use. A field is ("text",), ("time",), ("number",), ("bool",) or
# ("enum", members); FILTER_OPS are the operators each kind takes.
FILTER_OPS: dict[str, tuple[str, ...]] = {
    "text": ("is", "is_not", "starts_with", "in", "not_in", "is_present"),
    "enum": ("is", "is_not", "in", "not_in"),
    "number": ("is", "is_not", "lt", "lte", "gt", "gte", "between"),
    "time": ("after", "before", "on", "between"),
    "bool": ("is",)}
OPERATORS = {op for ops in FILTER_OPS.values() for op in ops}
LIST_OPS = ("in", "not_in", "between")  # their value is a list, `[a,b]`
TEXT, TIME, NUMBER = ("text",), ("time",), ("number",)
_CATALOG = {"id": TEXT, "name": TEXT, "status": TEXT, "updated_at": TIME}
LIST_FILTERS: dict[str, dict[str, tuple]] = {
    "customers": {"id": TEXT, "first_name": TEXT, "last_name": TEXT, "email": TEXT,
                  "company": TEXT, "auto_collection": ("enum", ("on", "off")),
                  "created_at": TIME, "updated_at": TIME},
    "customer_subscriptions": {},
    "payment_sources": {"customer_id": TEXT, "type": ("enum", ("card",)), "status": TEXT,
                        "created_at": TIME},
    "item_families": _CATALOG,
    "items": {**_CATALOG, "item_family_id": TEXT,
              "type": ("enum", ("plan", "addon", "charge"))},
    "item_prices": {**_CATALOG, "item_id": TEXT, "item_family_id": TEXT,
                    "currency_code": TEXT},
    "subscriptions": {"id": TEXT, "customer_id": TEXT, "status": (
        "enum", ("future", "in_trial", "active", "non_renewing", "cancelled")),
        "created_at": TIME, "updated_at": TIME, "next_billing_at": TIME},
    "invoices": {"id": TEXT, "customer_id": TEXT, "subscription_id": TEXT,
                 "status": ("enum", ("paid", "payment_due", "not_paid")),
                 "dunning_status": ("enum", ("in_progress", "stopped", "success",
                                             "exhausted")),
                 "date": TIME, "updated_at": TIME, "amount_due": NUMBER},
    "transactions": {"id": TEXT, "customer_id": TEXT, "subscription_id": TEXT,
                     "payment_source_id": TEXT, "status": ("enum", ("success", "failure")),
                     "date": TIME, "updated_at": TIME, "amount": NUMBER},
    "events": {"id": TEXT, "event_type": TEXT, "source": TEXT, "occurred_at": TIME},
    "webhook_endpoints": {}}
EVENT_WINDOW = ("start_time", "end_time")  # the events list's own parameters
LIST_VALUE = re.compile(r"\[[^\[\]]*\]")  # what the document allows for in/not_in/between
INTEGER = re.compile(r"-?[0-9]+")


def _values(raw: Any) -> list[str]:
    """`[a,b]` (raw HTTP) and `['a', 'b']` (the Python SDK's str(list)) alike."""
    text = str(raw).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [v.strip().strip("'\"") for v in text.split(",") if v.strip()]


def _scalar(kind: tuple, raw: str, param: str) -> Any:
    """One filter value, read as its field's kind."""
    if kind[0] in ("time", "number"):
        if not INTEGER.fullmatch(raw) or not in_int64(int(raw)):
            raise errors.wrong_value(param, f"invalid value {raw}")
        return int(raw)
    if kind[0] == "enum" and raw not in kind[1]:
        raise errors.wrong_value(param, f"invalid value {raw}")
    if kind[0] == "bool":
        if raw not in ("true", "false"):
            raise errors.wrong_value(param, f"invalid value {raw}")
        return raw == "true"
    return raw


def _filter_value(kind: tuple, op: str, raw: Any, param: str) -> Any:
    """A filter's value checked against its field's kind, independent of the data."""
    if not isinstance(raw, str):  # `status[is][x]=…` or a repeated key
        raise errors.wrong_value(param, "invalid value")
    if op == "is_present":
        if raw not in ("true", "false"):
            raise errors.wrong_value(param, f"invalid value {raw}")
        return raw == "true"
    if op not in LIST_OPS:
        return _scalar(kind, raw, param)
    if not LIST_VALUE.fullmatch(raw.strip()):
        raise errors.wrong_value(param, f"invalid value {raw}, should be a list like [a,b]")
    values = [_scalar(kind, v, param) for v in _values(raw)]
    if op == "between" and len(values) != 2:
        raise errors.wrong_value(param, "should have two values")
    return values


def _filters(params: dict[str, Any], fields: dict[str, tuple],
             also: tuple[str, ...] = ()) -> list[tuple[str, str, Any]]:
    """Every `field[op]=value` of the request, checked against the list's LIST_FILTERS entry
    before any object is read, as (field, op, typed value). A parameter that is neither a
    filter of the list, nor paging, nor one of `also` (the list's own) is refused."""
    found = []
    for name, spec in params.items():
        if name in NOT_FILTERS or name in also:
            continue
        if name not in fields:
            raise errors.wrong_value(name, "is not a parameter of this list")
        if not isinstance(spec, dict) or not spec:
            raise errors.wrong_value(name, "should be a filter, e.g. "
                                     f"{name}[{FILTER_OPS[fields[name][0]][0]}]=…")
        for op, raw in spec.items():
            param = f"{name}[{op}]"
            if op not in FILTER_OPS[fields[name][0]]:
                raise errors.invalid_request(f"{param} : unknown filter operator", param)
            found.append((name, op, _filter_value(fields[name], op, raw, param)))
    return found


def _matches(obj: dict[str, Any], name: str, op: str, target: Any) -> bool:
    """Whether the object passes one filter; `target` is already checked and typed."""
    value = obj.get(name)
    if op == "is_present":
        return (value not in (None, "")) == target
    if value is None:
        return op in ("is_not", "not_in")
    try:
        if op in ("in", "not_in"):
            return (value in target) == (op == "in")
        if op == "between":
            return target[0] <= value <= target[1]
        if op in ("is", "on"):
            return value == target
        if op == "is_not":
            return value != target
        if op == "starts_with":
            return str(value).startswith(target)
        return {"after": value > target, "gt": value > target, "gte": value >= target,
                "before": value < target, "lt": value < target, "lte": value <= target}[op]
    except TypeError:  # a field whose stored type is not the filter's kind
        return False


def _window(params: dict[str, Any], name: str) -> int | None:
    """An optional integer parameter of a list (`limit`, `start_time`): present means a number,
    so `limit=` is refused rather than read as absent."""
    if name in params and params[name] == "":
        raise errors.wrong_value(name, "invalid integer value")
    return models.optional_int(params, name)


Filter = tuple[str, str, Any]  # (field, op, typed value), checked


def list_page(params: dict[str, Any],
              objects: list[dict[str, Any]] | Callable[[list[Filter]], list[dict[str, Any]]],
              sort_field: str,
              wrap: Callable[[dict[str, Any]], dict[str, Any]],
              sortable: tuple[str, ...] = ("created_at", "updated_at"), *,
              filters: dict[str, tuple], also: tuple[str, ...] = ()) -> JSONResponse:
    """One page of `objects`: every parameter is checked before the data is read (a filter
    against `filters`, the list's LIST_FILTERS entry; `also` are the list's other parameters,
    read by its route). `objects` may be a function of the checked filters that returns
    the objects to read: all of them, or fewer that still include every one the filters pass,
    in the same order."""
    limit = _window(params, "limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.wrong_value("limit", f"should be between 1 and {MAX_LIMIT}")
    descending = True
    if "sort_by" in params:
        sort = params["sort_by"]
        if not isinstance(sort, dict) or len(sort) != 1:
            raise errors.wrong_value("sort_by", "should be one of sort_by[asc] or sort_by[desc]")
        direction, field = next(iter(sort.items()))
        if direction not in ("asc", "desc") or field not in sortable:
            raise errors.wrong_value(f"sort_by[{direction}]", f"invalid value {field}")
        sort_field, descending = field, direction == "desc"
    deleted = params.get("include_deleted")
    if deleted not in (None, "true", "false"):
        raise errors.wrong_value("include_deleted", f"invalid value {deleted}")
    checked = _filters(params, filters, also)  # all of them, before the data is read
    if callable(objects):
        objects = objects(checked)
    if deleted != "true":
        objects = [o for o in objects if not o.get("deleted")]
    for name, op, target in checked:
        objects = [o for o in objects if _matches(o, name, op, target)]
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


def _owned(tenant: Any, kind: str,
           owners: tuple[str, ...]) -> Callable[[list[Filter]], list[dict[str, Any]]]:
    """What a list of `kind` reads: with an `<owner>[is]` filter, that owner's objects only
    (by index), else every one."""
    def read(checked: list[Filter]) -> list[dict[str, Any]]:
        for name, op, target in checked:
            if name in owners and op == "is":
                return models.owned(tenant, kind, name, target)
        return list(tenant.collection(kind).values())
    return read


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
                         lambda c: _customer_view(ctx.tenant, c),
                         filters=LIST_FILTERS["customers"])

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
        subs = models.owned(ctx.tenant, "subscription", "customer_id", object_id)
        return list_page(await read_params(request), subs, "created_at",
                         lambda s: {"subscription": s},
                         filters=LIST_FILTERS["customer_subscriptions"])

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
                         lambda p: {"payment_source": p},
                         filters=LIST_FILTERS["payment_sources"])

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
                         lambda o: {name: o}, ("updated_at", "created_at", "name", "id"),
                         filters=LIST_FILTERS[path.strip("/")])

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
                         _owned(ctx.tenant, "subscription", ("customer_id",)), "created_at",
                         lambda s: view(ctx.tenant, s), ("created_at", "updated_at"),
                         filters=LIST_FILTERS["subscriptions"])

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
                         _owned(ctx.tenant, "invoice", ("customer_id", "subscription_id")),
                         "date",
                         lambda i: {"invoice": i}, ("date", "updated_at"),
                         filters=LIST_FILTERS["invoices"])

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
                         lambda t: {"transaction": t}, ("date", "updated_at"),
                         filters=LIST_FILTERS["transactions"])

    @r.get("/transactions/{object_id}")
    async def retrieve_transaction(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        return respond(transaction=models.get(ctx.tenant, "transaction", object_id))

    @r.get("/events")
    async def list_events(request: Request) -> JSONResponse:
        ctx = context(request)
        params = await read_params(request)
        events = list(ctx.tenant.collection("event").values())
        start, end = (_window(params, n) for n in EVENT_WINDOW)
        events = [e for e in events if (start is None or e["occurred_at"] >= start)
                  and (end is None or e["occurred_at"] <= end)]
        return list_page(params, events, "occurred_at", lambda e: {"event": e},
                         ("occurred_at",), filters=LIST_FILTERS["events"], also=EVENT_WINDOW)

    @r.get("/events/{object_id}")
    async def retrieve_event(request: Request, object_id: str) -> JSONResponse:
        ctx = context(request)
        return respond(event=models.get(ctx.tenant, "event", object_id))

    _webhook_endpoint_routes(r)


def _endpoint_view(endpoint: dict[str, Any]) -> dict[str, Any]:
    """The API never returns the Basic auth credentials."""
    return {k: v for k, v in endpoint.items() if not k.startswith("basic_auth")}


def _set_endpoint(endpoint: dict[str, Any], params: dict[str, Any]) -> None:
    if "url" in params and not re.match(r"^https?://[^/\s]+", str(params["url"])):
        raise errors.wrong_value("url", "invalid url")  # found by tests/schemathesis
    if "api_version" in params and params["api_version"] not in API_VERSIONS:
        raise errors.wrong_value("api_version", f"invalid value {params['api_version']}")
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
        for index, event in enumerate(events):  # an enumerated list: only Chargebee's types
            if event not in EVENT_TYPES:
                raise errors.wrong_value(f"enabled_events[{index}]", f"invalid value {event}")
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
                         lambda e: {"webhook_endpoint": _endpoint_view(e)}, (),
                         filters=LIST_FILTERS["webhook_endpoints"])

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

