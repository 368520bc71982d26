"""Request and response plumbing every fake-Stripe route shares: parameters checked against
the official spec, objects rendered with `expand[]`, cursor-paginated lists."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulators.core import forms
from simulators.core.text import in_int64, valid_text
from simulators.core.vendor import RequestContext, context
from simulators.stripe import openapi, versions
from simulators.stripe.errors import invalid_integer, invalid_request, invalid_utf8, too_long
from simulators.stripe.objects import created_filter, list_page, render


async def params_for(request: Request, path: str, method: str,
                     supported: Iterable[str] | None = None) -> dict[str, Any]:
    """Stripe's parameters for one operation of the spec.

    Unknown names get Stripe's `parameter_unknown`. Names Stripe knows but this fake does not
    implement (not in `supported`, when given) get a clear 400 rather than being silently
    ignored.
    """
    params = await _read(request)
    version = context(request).credentials.get("stripe_version") or versions.CURRENT
    params = versions.request_params(params, path, method, version)
    openapi.check_params(params, path, method)
    _check_bounds(params, path, method)
    if supported is not None:
        allowed = _allowed(supported if isinstance(supported, tuple) else tuple(supported))
        for name in params:
            if name not in allowed:
                raise invalid_request(f"The parameter {name} is valid for Stripe but not "
                                      "supported by this fake.", name)
    return params


@functools.cache
def _allowed(supported: tuple[str, ...]) -> frozenset[str]:
    return frozenset(("expand", *supported))


async def _read(request: Request) -> dict[str, Any]:
    """The query string's and (POST, DELETE) the body's parameters, each parsed once: bytes that
    are not UTF-8 are refused first (query string, then body), then malformed keys."""
    sources = [("query string", request.scope.get("query_string", b""))]
    if request.method in ("POST", "DELETE"):
        sources.append(("POST body", await request.body()))
    parsed = [_pairs(where, raw) for where, raw in sources]
    try:
        params = forms.decode_pairs(parsed[0])
        for pairs in parsed[1:]:
            params.update(forms.decode_pairs(pairs))
    except forms.FormError as exc:
        raise invalid_request(f"Invalid parameter: {exc.reason}.", exc.key) from exc
    return params


def _pairs(where: str, raw: bytes) -> list[tuple[str, str]]:
    """Stripe refuses a body that is not UTF-8 ("Invalid UTF-8 characters found in POST body.",
    3P); a decoder replacing such bytes with U+FFFD would hide them. Bytes that are not UTF-8,
    raw or percent-escaped, decode to lone surrogates here, which `valid_text` finds; the pairs
    are then what `forms.parse_pairs` makes of the text (the vendor-neutral decoding)."""
    if not raw:
        return []
    try:
        text, clean = raw.decode("utf-8"), True
    except UnicodeDecodeError:
        text, clean = raw.decode("utf-8", "surrogateescape"), False
    pairs = forms.parse_pairs(text, errors="surrogateescape")
    if not clean or "%" in text:
        if len(pairs) > forms.MAX_PAIRS:  # the pairs past the bound are checked too
            pairs_seen = parse_qsl(text, keep_blank_values=True, errors="surrogateescape")
        else:
            pairs_seen = pairs
        for name, value in pairs_seen:
            if not (valid_text(name) and valid_text(value)):
                raise invalid_utf8(where)
    return pairs


def version_of(ctx: RequestContext) -> str:
    """The version this request is answered in (the header, else the account's default)."""
    return str(ctx.credentials.get("stripe_version") or versions.account_version(ctx.tenant))


class StripeJSON(JSONResponse):
    """FastAPI's JSONResponse, byte for byte: orjson writes exactly what `json.dumps` with
    JSONResponse's options writes for strings, integers within 64 bits, booleans and null, which
    is all a Stripe object holds (amounts are integers, decimals strings; no floats), at a tenth
    of the cost. What orjson refuses (a wider integer, a lone surrogate, a key that is not a
    string) goes through `json` as before, so answers and failures stay what they were."""

    _encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None,
                                separators=(",", ":"))

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:
            return self._encoder.encode(content).encode("utf-8")


def one(ctx: RequestContext, obj: dict[str, Any], params: dict[str, Any], *,
        invoice: str | None = None) -> JSONResponse:
    return StripeJSON(render(ctx.tenant, obj, params, version_of(ctx), invoice=invoice))


def many(ctx: RequestContext, objects: list[dict[str, Any]], params: dict[str, Any], url: str,
         label: str, *, invoice: str | None = None) -> JSONResponse:
    page = list_page(created_filter(objects, params), params, url, label)
    return StripeJSON(render(ctx.tenant, page, params, version_of(ctx), invoice=invoice))


# -- what Stripe bounds -------------------------------------------------------------------------
DEFAULT_MAX_LENGTH = 5000  # the spec's bound on most strings; used where it names none [U]


def _check_bounds(params: dict[str, Any], path: str, method: str) -> None:
    """Each string within its spec `maxLength` (5000 where none is given), each integer within
    int64: checked before any handler runs, so nothing oversized is stored."""
    accepted = openapi.accepted(path, method)
    for name, value in params.items():
        _bounded(value, accepted.get(name, _NO_SCHEMA), name)


def _bounded(value: Any, schema: Any, name: str) -> None:
    if isinstance(value, str):
        integer, limit, _, _ = _bounds(schema)
        if integer and _out_of_int64(value):
            raise invalid_integer(value, name)
        if len(value) > limit:
            raise too_long(value, limit, name)
    elif isinstance(value, dict):
        variants = _bounds(schema)[3]
        for key, sub in value.items():
            _bounded(sub, _member(variants, key), f"{name}[{key}]")
    elif isinstance(value, list):
        items = _bounds(schema)[2]
        for i, sub in enumerate(value):
            _bounded(sub, items, f"{name}[{i}]")


_NO_SCHEMA: dict[str, Any] = {}
# id(schema) -> (schema, what `_bounded` needs of it); the schemas are the loaded spec's (or
# _NO_SCHEMA), so kept alive, and the entry holds its schema to be sure the id is still its own
_BOUNDS: dict[int, tuple[Any, tuple[bool, int, Any, list[dict[str, Any]]]]] = {}


def _bounds(schema: Any) -> tuple[bool, int, Any, list[dict[str, Any]]]:
    """(an integer variant?, the longest string allowed, an array's items, the variants)."""
    found = _BOUNDS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    variants = [openapi.resolve(v) for v in (openapi.resolve(schema).get("anyOf") or [schema])]
    limits = [v["maxLength"] for v in variants if "maxLength" in v]
    bounds = (any(v.get("type") == "integer" for v in variants),
              max(limits) if limits else DEFAULT_MAX_LENGTH,
              next((v.get("items", _NO_SCHEMA) for v in variants if v.get("type") == "array"),
                   _NO_SCHEMA),
              variants)
    _BOUNDS[id(schema)] = (schema, bounds)
    return bounds


def _member(variants: list[dict[str, Any]], key: str) -> Any:
    for variant in variants:
        if key in variant.get("properties", {}):
            return variant["properties"][key]
        extra = variant.get("additionalProperties")
        if isinstance(extra, dict):
            return extra
    return _NO_SCHEMA


def _out_of_int64(value: str) -> bool:
    text = value.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit():
        return False  # not an integer at all: the handler says so
    return len(digits) > 19 or not in_int64(int(text))
