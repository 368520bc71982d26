"""Request and response plumbing every fake-Stripe route shares: parameters checked against
the official spec, objects rendered with `expand[]`, cursor-paginated lists."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulators.core.text import find_unencodable, in_int64
from simulators.core.vendor import RequestContext, context
from simulators.stripe import openapi, versions
from simulators.stripe.errors import invalid_integer, invalid_request, invalid_utf8, too_long
from simulators.stripe.objects import created_filter, list_page, read_params, render


async def params_for(request: Request, path: str, method: str,
                     supported: Iterable[str] | None = None) -> dict[str, Any]:
    """Stripe's parameters for one operation of the spec.

    Unknown names get Stripe's `parameter_unknown`. Names Stripe knows but this fake does not
    implement (not in `supported`, when given) get a clear 400 rather than being silently
    ignored.
    """
    await _check_utf8(request)
    params = await read_params(request)
    version = context(request).credentials.get("stripe_version") or versions.CURRENT
    params = versions.request_params(params, path, method, version)
    openapi.check_params(params, path, method)
    _check_bounds(params, path, method)
    if supported is not None:
        allowed = {"expand", *supported}
        for name in params:
            if name not in allowed:
                raise invalid_request(f"The parameter {name} is valid for Stripe but not "
                                      "supported by this fake.", name)
    return params


def version_of(ctx: RequestContext) -> str:
    """The version this request is answered in (the header, else the account's default)."""
    return str(ctx.credentials.get("stripe_version") or versions.account_version(ctx.tenant))


def one(ctx: RequestContext, obj: dict[str, Any], params: dict[str, Any], *,
        invoice: str | None = None) -> JSONResponse:
    return JSONResponse(render(ctx.tenant, obj, params, version_of(ctx), invoice=invoice))


def many(ctx: RequestContext, objects: list[dict[str, Any]], params: dict[str, Any], url: str,
         label: str, *, invoice: str | None = None) -> JSONResponse:
    page = list_page(created_filter(objects, params), params, url, label)
    return JSONResponse(render(ctx.tenant, page, params, version_of(ctx), invoice=invoice))


# -- what Stripe bounds -------------------------------------------------------------------------
DEFAULT_MAX_LENGTH = 5000  # the spec's bound on most strings; used where it names none [U]


async def _check_utf8(request: Request) -> None:
    """Stripe refuses a body that is not UTF-8 ("Invalid UTF-8 characters found in POST body.",
    3P); the shared form decoder would turn such bytes into U+FFFD, so look at them first.
    Bytes that are not UTF-8 decode to lone surrogates here, which the core check finds."""
    sources = [("query string", request.scope.get("query_string", b""))]
    if request.method in ("POST", "DELETE"):
        sources.append(("POST body", await request.body()))
    for where, raw in sources:
        text = raw.decode("utf-8", "surrogateescape")
        pairs = parse_qsl(text, keep_blank_values=True, errors="surrogateescape")
        if find_unencodable(pairs) is not None:
            raise invalid_utf8(where)


def _check_bounds(params: dict[str, Any], path: str, method: str) -> None:
    """Each string within its spec `maxLength` (5000 where none is given), each integer within
    int64: checked before any handler runs, so nothing oversized is stored."""
    accepted = openapi.accepted(path, method)
    for name, value in params.items():
        _bounded(value, accepted.get(name, {}), name)


def _bounded(value: Any, schema: Any, name: str) -> None:
    variants = [openapi.resolve(v) for v in (openapi.resolve(schema).get("anyOf") or [schema])]
    if isinstance(value, dict):
        for key, sub in value.items():
            _bounded(sub, _member(variants, key), f"{name}[{key}]")
    elif isinstance(value, list):
        items = next((v.get("items", {}) for v in variants if v.get("type") == "array"), {})
        for i, sub in enumerate(value):
            _bounded(sub, items, f"{name}[{i}]")
    elif isinstance(value, str):
        if any(v.get("type") == "integer" for v in variants) and _out_of_int64(value):
            raise invalid_integer(value, name)
        limits = [v["maxLength"] for v in variants if "maxLength" in v]
        limit = max(limits) if limits else DEFAULT_MAX_LENGTH
        if len(value) > limit:
            raise too_long(value, limit, name)


def _member(variants: list[dict[str, Any]], key: str) -> Any:
    for variant in variants:
        if key in variant.get("properties", {}):
            return variant["properties"][key]
        extra = variant.get("additionalProperties")
        if isinstance(extra, dict):
            return extra
    return {}


def _out_of_int64(value: str) -> bool:
    text = value.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit():
        return False  # not an integer at all: the handler says so
    return len(digits) > 19 or not in_int64(int(text))
