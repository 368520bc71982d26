"""The wire format: REST record API, SuiteQL, metadata catalog, OAuth 2.0 token endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from simulators.core.bodies import decode_json
from simulators.core.tenancy import Tenant
from simulators.core.vendor import VendorError, context
from simulators.netsuite import errors, events, metadata, models, oauth2, suiteql
from simulators.netsuite.models import RecordType
from simulators.netsuite.query import TenantCatalog, record_filter

if TYPE_CHECKING:
    from simulators.netsuite.vendor import NetSuiteVendor

REST = "/services/rest"
RECORD = f"{REST}/record/v1"
SINGULAR = "application/vnd.oracle.resource+json; type=singular"
COLLECTION = "application/vnd.oracle.resource+json; type=collection"
MAX_LIMIT = 1000


def router(vendor: NetSuiteVendor) -> APIRouter:
    r = APIRouter()

    @r.post(oauth2.TOKEN_PATH, include_in_schema=False)
    async def token(request: Request) -> Response:
        sim = context(request).sim
        return await oauth2.token(request, sim, vendor.all_tenants(sim))

    @r.get(f"{RECORD}/metadata-catalog")
    async def catalog(request: Request) -> Response:
        tenant, base = _tenant(request), _base(request)
        types = _selected(request, tenant)
        if metadata.SWAGGER_JSON in request.headers.get("accept", ""):
            return _json(metadata.openapi(base, types), metadata.SWAGGER_JSON)
        return _json(metadata.catalog(base, types, str(request.url)))

    @r.get(f"{RECORD}/metadata-catalog/{{record}}")
    async def describe(request: Request, record: str) -> Response:
        tenant, base = _tenant(request), _base(request)
        rtype = _rtype(request, tenant, record)
        accept = request.headers.get("accept", "")
        if metadata.SCHEMA_JSON in accept:
            return _json(metadata.json_schema(base, rtype), metadata.SCHEMA_JSON)
        if metadata.SWAGGER_JSON in accept:
            return _json(metadata.openapi(base, [rtype]), metadata.SWAGGER_JSON)
        return _json(metadata.catalog_links(base, rtype))

    @r.post(f"{REST}/query/v1/suiteql")
    async def run_suiteql(request: Request) -> Response:
        tenant = _tenant(request)
        if "transient" not in request.headers.get("prefer", "").lower():
            raise errors.ns_error(400, "INVALID_HEADER", "The Prefer header must be set to "
                                  "'transient' for SuiteQL requests.", header="Prefer")
        body = await _body(request)
        q = body.get("q")
        if not isinstance(q, str) or not q.strip():
            raise errors.invalid_content("The 'q' property is required and must be a string.",
                                         "q")
        limit, offset = _paging(request)
        try:
            items = suiteql.execute(q, TenantCatalog(tenant))
        except suiteql.SuiteQLError as error:
            raise VendorError(400, error.problem()) from None
        return _json(_page(request, items, limit, offset), COLLECTION)

    @r.get(f"{RECORD}/{{record}}")
    async def list_records(request: Request, record: str) -> Response:
        tenant, base = _tenant(request), _base(request)
        rtype = _rtype(request, tenant, record)
        limit, offset = _paging(request)
        found = sorted(models.records(tenant, rtype).values(), key=lambda r: int(r["id"]))
        q = request.query_params.get("q")
        if q:
            keep = record_filter(tenant, rtype, q)
            found = [rec for rec in found if keep(rec)]
        items = [{"links": [_self(base, rtype, rec["id"])], "id": rec["id"]} for rec in found]
        return _json(_page(request, items, limit, offset), COLLECTION)

    @r.post(f"{RECORD}/{{record}}")
    async def create(request: Request, record: str) -> Response:
        ctx = context(request)
        tenant = _tenant(request)
        rtype = _rtype(request, tenant, record)
        created = models.create(tenant, rtype, await _body(request), ctx.now,
                                strict_names=_strict(request))
        events.notify(ctx.sim, tenant, rtype, created, "create")
        return _no_content(_self(_base(request), rtype, created["id"])["href"])

    @r.post(f"{RECORD}/invoice/{{ref}}/!transform/{{target}}")
    async def transform(request: Request, ref: str, target: str) -> Response:
        """Invoice → customer payment: a payment of the amount due, applied to the invoice,
        with whatever the body sets on top."""
        ctx = context(request)
        tenant = _tenant(request)
        invoices = _rtype(request, tenant, "invoice")
        invoice = _find(request, tenant, invoices, ref)
        if target.lower() != "customerpayment":
            raise errors.record_type_not_found(target, request.url.path)
        rtype = _rtype(request, tenant, target)
        body = await _body(request) if (await request.body()).strip() else {}
        try:
            amount = models.finite(body.get("payment", invoice["amountRemaining"]))
        except (TypeError, ValueError):
            raise errors.invalid_field_value("payment", body.get("payment")) from None
        payment = {"customer": invoice["entity"], **body, "payment": amount,
                   "apply": {"items": [{"doc": {"id": invoice["id"]}, "apply": True,
                                        "amount": min(amount, invoice["amountRemaining"])}]}}
        created = models.create(tenant, rtype, payment, ctx.now, strict_names=_strict(request))
        events.notify(ctx.sim, tenant, rtype, created, "create")
        return _no_content(_self(_base(request), rtype, created["id"])["href"])

    @r.get(f"{RECORD}/{{record}}/{{ref}}")
    async def read(request: Request, record: str, ref: str) -> Response:
        tenant = _tenant(request)
        rtype = _rtype(request, tenant, record)
        found = _find(request, tenant, rtype, ref)
        fields = request.query_params.get("fields")
        expand = request.query_params.get("expandSubResources", "").lower() == "true"
        wanted = {f.strip() for f in fields.split(",") if f.strip()} if fields else None
        return _json(render(_base(request), tenant, rtype, found, wanted, expand), SINGULAR)

    @r.patch(f"{RECORD}/{{record}}/{{ref}}")
    async def patch(request: Request, record: str, ref: str) -> Response:
        ctx = context(request)
        tenant = _tenant(request)
        rtype = _rtype(request, tenant, record)
        found = _find(request, tenant, rtype, ref)
        models.update(tenant, rtype, found, await _body(request), ctx.now,
                      strict_names=_strict(request))
        events.notify(ctx.sim, tenant, rtype, found, "edit")
        return _no_content(_self(_base(request), rtype, found["id"])["href"])

    @r.put(f"{RECORD}/{{record}}/{{ref}}")
    async def upsert(request: Request, record: str, ref: str) -> Response:
        ctx = context(request)
        tenant = _tenant(request)
        rtype = _rtype(request, tenant, record)
        body = await _body(request)
        existing = models.find(tenant, rtype, ref)
        if existing is not None:
            models.update(tenant, rtype, existing, body, ctx.now, strict_names=_strict(request))
            events.notify(ctx.sim, tenant, rtype, existing, "edit")
            return _no_content(_self(_base(request), rtype, existing["id"])["href"])
        if not ref.startswith("eid:"):
            raise errors.record_not_found(request.url.path)
        created = models.create(tenant, rtype, body, ctx.now, strict_names=_strict(request),
                                external_id=ref[4:])
        events.notify(ctx.sim, tenant, rtype, created, "create")
        return _no_content(_self(_base(request), rtype, created["id"])["href"])

    @r.delete(f"{RECORD}/{{record}}/{{ref}}")
    async def remove(request: Request, record: str, ref: str) -> Response:
        ctx = context(request)
        tenant = _tenant(request)
        rtype = _rtype(request, tenant, record)
        found = _find(request, tenant, rtype, ref)
        models.delete(tenant, rtype, found)
        events.notify(ctx.sim, tenant, rtype, found, "delete")
        return Response(status_code=204)

    return r


# -- rendering -----------------------------------------------------------------------------------
def render(base: str, tenant: Tenant, rtype: RecordType, record: dict[str, Any],
           fields: set[str] | None = None, expand: bool = False) -> dict[str, Any]:
    self_link = _self(base, rtype, record["id"])
    out: dict[str, Any] = {"links": [self_link]}
    values = dict(record)
    if rtype.name == "customer":
        values["balance"] = models.balance(tenant, record["id"])
    for name in sorted(values):
        if fields is not None and name != "id" and name not in fields:
            continue
        out[name] = _wire(base, tenant, rtype, name, values[name], self_link["href"], expand)
    return out


def _wire(base: str, tenant: Tenant, rtype: RecordType, name: str, value: Any, href: str,
          expand: bool) -> Any:
    spec = rtype.fields.get(name)
    fdef = rtype.custom_field(name)
    if spec is not None and spec.kind == "sublist":
        link = {"rel": "self", "href": f"{href}/{name}"}
        if not expand:
            return {"links": [link]}
        lines = [_line(base, tenant, line) for line in value or []]
        return {"links": [link], "items": lines, "totalResults": len(lines),
                "count": len(lines), "hasMore": False, "offset": 0}
    if spec is not None and spec.kind == "ref" and isinstance(value, dict):
        return _ref(base, tenant, spec.to, value["id"])
    if fdef is not None and fdef.type == "reference":
        return _ref(base, tenant, fdef.to, value["id"] if isinstance(value, dict) else value)
    if fdef is not None and fdef.type == "picklist":
        return {"links": [], "id": models.list_id(fdef, value), "refName": value}
    if fdef is not None and fdef.type == "multipicklist":
        return {"links": [], "items": [{"id": models.list_id(fdef, v), "refName": v}
                                       for v in value]}
    return value


def _line(base: str, tenant: Tenant, line: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"links": []}
    for key in sorted(line):
        value = line[key]
        if key == "doc":
            value = _ref(base, tenant, "invoice", value["id"])
        elif key == "item":
            value = {"links": [], "id": value["id"]}
        out[key] = value
    return out


def _ref(base: str, tenant: Tenant, target: str | None, ref_id: str) -> dict[str, Any]:
    rtype = models.record_type(tenant, target) if target else None
    if rtype is None:
        return {"links": [], "id": str(ref_id)}
    out: dict[str, Any] = {"links": [_self(base, rtype, ref_id)], "id": str(ref_id)}
    found = models.records(tenant, rtype).get(str(ref_id))
    name = models.ref_name(tenant, rtype.name, found) if found is not None else None
    if name is not None:
        out["refName"] = name
    return out


# -- helpers -------------------------------------------------------------------------------------
def _tenant(request: Request) -> Tenant:
    tenant = context(request).tenant
    assert tenant is not None  # the pipeline authenticated the request
    return tenant


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def _self(base: str, rtype: RecordType, record_id: str) -> dict[str, str]:
    return {"rel": "self", "href": f"{base}{RECORD}/{rtype.path}/{record_id}"}


def _rtype(request: Request, tenant: Tenant, name: str) -> RecordType:
    rtype = models.record_type(tenant, name)
    if rtype is None:
        raise errors.record_type_not_found(name, request.url.path)
    return rtype


def _find(request: Request, tenant: Tenant, rtype: RecordType, ref: str) -> dict[str, Any]:
    found = models.find(tenant, rtype, ref)
    if found is None:
        raise errors.record_not_found(request.url.path)
    return found


def _selected(request: Request, tenant: Tenant) -> list[RecordType]:
    select = request.query_params.get("select")
    if not select:
        return models.record_types(tenant)
    return [_rtype(request, tenant, name.strip()) for name in select.split(",") if name.strip()]


def _strict(request: Request) -> bool:
    mode = request.headers.get("x-netsuite-propertynamevalidation", "Error")
    return mode.strip().lower() not in ("warning", "ignore")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:  # NaN / Infinity literals are not JSON (Python's parser would take them)
        body = decode_json(raw, parse_constant=_not_json) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise errors.invalid_content("The request body must be a JSON object.")
    return models.encodable(body)


def _not_json(constant: str) -> Any:
    raise ValueError(constant)


def _paging(request: Request) -> tuple[int, int]:
    params = request.query_params
    try:
        limit = int(params.get("limit", MAX_LIMIT))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        raise errors.invalid_parameter(
            f"Invalid query parameter value limit. The value must be an integer between 1 and "
            f"{MAX_LIMIT}.", "limit") from None
    try:
        offset = int(params.get("offset", 0))
        if offset < 0:
            raise ValueError
    except ValueError:
        raise errors.invalid_parameter("Invalid query parameter value offset. The value must be "
                                       "a non-negative integer.", "offset") from None
    if offset % limit:
        raise errors.invalid_parameter("Invalid query parameter value offset. The offset must "
                                       "be a multiple of the limit.", "offset")
    return limit, offset


def _page(request: Request, items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    total = len(items)
    page = items[offset:offset + limit]
    base = f"{_base(request)}{request.url.path}"
    keep = [(k, v) for k, v in request.query_params.multi_items()
            if k not in ("limit", "offset")]

    def link(rel: str, at: int) -> dict[str, str]:
        query = urlencode([*keep, ("limit", limit), ("offset", at)])
        return {"rel": rel, "href": f"{base}?{query}"}

    last = max(0, (total - 1) // limit * limit)
    links = []
    if offset > 0:
        links += [link("first", 0), link("prev", max(0, offset - limit))]
    if offset + limit < total:
        links += [link("next", offset + limit), link("last", last)]
    links.append(link("self", offset))
    return {"links": links, "count": len(page), "hasMore": offset + limit < total,
            "items": page, "offset": offset, "totalResults": total}


def _json(body: Any, media_type: str = "application/json") -> Response:
    return JSONResponse(body, media_type=media_type)


def _no_content(location: str) -> Response:
    return Response(status_code=204, headers={"Location": location})
