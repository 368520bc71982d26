"""Request and response plumbing every fake-Stripe route shares: parameters checked against
the official spec, objects rendered with `expand[]`, cursor-paginated lists."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulators.core.vendor import RequestContext
from simulators.stripe import openapi
from simulators.stripe.errors import invalid_request
from simulators.stripe.objects import created_filter, list_page, read_params, render


async def params_for(request: Request, path: str, method: str,
                     supported: Iterable[str] | None = None) -> dict[str, Any]:
    """Stripe's parameters for one operation of the spec.

    Unknown names get Stripe's `parameter_unknown`. Names Stripe knows but this fake does not
    implement (not in `supported`, when given) get a clear 400 rather than being silently
    ignored.
    """
    params = await read_params(request)
    openapi.check_params(params, path, method)
    if supported is not None:
        allowed = {"expand", *supported}
        for name in params:
            if name not in allowed:
                raise invalid_request(f"The parameter {name} is valid for Stripe but not "
                                      "supported by this fake.", name)
    return params


def one(ctx: RequestContext, obj: dict[str, Any], params: dict[str, Any]) -> JSONResponse:
    return JSONResponse(render(ctx.tenant, obj, params))


def many(ctx: RequestContext, objects: list[dict[str, Any]], params: dict[str, Any], url: str,
         label: str) -> JSONResponse:
    page = list_page(created_filter(objects, params), params, url, label)
    return JSONResponse(render(ctx.tenant, page, params))
