"""A flat dispatch table in front of a fake's FastAPI app: the vendor's requests reach their
handler without walking the nested routers and the middleware stack.

FastAPI matches a path by trying every route of every included router in turn, two routers
deep, under five middlewares; for a fake that was about a third of the CPU of a request. Here
each method has one compiled regex: the alternatives are the app's routes in order, each ending
in an empty marker group, so the first route that matches (Starlette's rule) is the marker that
took part. A route whose endpoint is plain (`async def f(request, <str path params>) ->
Response`, no dependencies, no validation: what every fake's routes are) is called directly, its
exceptions answered by the app's own exception handlers, as FastAPI would; anything else (no
route, another method, a trailing slash, a mount, a route with dependencies) goes through the
whole app unchanged, so 404s, 405s and redirects are FastAPI's own.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette._exception_handler import _lookup_exception_handler
from starlette._utils import is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor
from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


@dataclass(frozen=True)
class Endpoint:
    """A plain route: called directly with the request and its path parameters."""

    route: APIRoute
    regex: re.Pattern[str]
    convertors: dict[str, Convertor[Any]]

    def params(self, path: str) -> dict[str, Any]:
        if not self.convertors:  # a path without parameters
            return {}
        found = self.regex.match(path)
        assert found is not None  # the table matched it already
        return {k: self.convertors[k].convert(v) for k, v in found.groupdict().items()}


class Dispatch:
    """`find(method, path)`: the plain route serving it, or None (let the app answer)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._tables: dict[str, tuple[re.Pattern[str], list[Endpoint | None]]] = {}
        routes = list(iter_route_contexts(app.routes))
        self._usable = all(hasattr(r, "path_regex") for r in routes) and _plain_app(app)
        if not self._usable:
            return
        methods = {m for r in routes for m in (r.methods or ())} | {"HEAD"}
        for method in methods:
            alternatives, targets = [], []
            for context in routes:
                if context.methods is not None and method not in context.methods:
                    continue  # Starlette: a partial match, only used when nothing matches fully
                pattern = context.path_regex.pattern
                body = _NAMED_GROUP.sub("(?:", pattern.removeprefix("^").removesuffix("$"))
                alternatives.append(f"{body}$()")
                targets.append(_endpoint(context))
            self._tables[method] = (re.compile("^(?:" + "|".join(alternatives) + ")"), targets)
        self._handlers: tuple[dict[Any, Any], dict[int, Any]] | None = None

    def find(self, scope: Scope) -> Endpoint | None:
        if not self._usable or scope.get("root_path"):
            return None
        table = self._tables.get(scope["method"])
        if table is None:
            return None
        found = table[0].match(scope["path"])
        return table[1][found.lastindex - 1] if found and found.lastindex else None

    async def call(self, endpoint: Endpoint, scope: Scope, receive: Receive,
                   send: Send, body: bytes | None = None) -> None:
        """What FastAPI's route would do for a plain endpoint: the scope it sets, the call, the
        app's exception handlers (by class, HTTPException by status), the response. `body`: the
        whole request body when the caller has read it already (what `receive` would give):
        `request.body()` and `request.stream()` answer it without going through `receive`."""
        route = endpoint.route
        params = endpoint.params(scope["path"])
        scope.update(app=self.app, endpoint=route.endpoint, route=route, path_params=params)
        exception_handlers, status_handlers = self._exception_handlers()
        scope["starlette.exception_handlers"] = (exception_handlers, status_handlers)
        request = Request(scope, receive, send)
        if body is not None:
            request._body = body  # what Starlette keeps once it has read the body
        try:
            response = await route.endpoint(request=request, **params)
        except Exception as exc:
            handler: Any = (status_handlers.get(exc.status_code)
                            if isinstance(exc, HTTPException) else None
                            ) or _lookup_exception_handler(exception_handlers, exc)
            if handler is None:
                raise
            response = (await handler(request, exc) if is_async_callable(handler)
                        else await run_in_threadpool(handler, request, exc))
            exc.__traceback__ = None  # as Starlette does: no frames kept alive by a reused one
        await response(scope, receive, send)

    def _exception_handlers(self) -> tuple[dict[Any, Any], dict[int, Any]]:
        """The app's ExceptionMiddleware's own tables (its handlers, as FastAPI would use)."""
        if self._handlers is None:
            if self.app.middleware_stack is None:  # as Starlette builds it on its first call
                self.app.middleware_stack = self.app.build_middleware_stack()
            layer: Any = self.app.middleware_stack
            while not isinstance(layer, ExceptionMiddleware):
                layer = layer.app
            self._handlers = (layer._exception_handlers, layer._status_handlers)
        return self._handlers


def _plain_app(app: FastAPI) -> bool:
    """No app-wide body limit, and no handler for 500/Exception (Starlette's error middleware
    would answer those first): otherwise every request takes the whole app."""
    handlers = app.exception_handlers
    return (getattr(app, "max_body_size", None) is None and 500 not in handlers
            and Exception not in handlers)


def _endpoint(context: Any) -> Endpoint | None:
    route = context.original_route
    if not isinstance(route, APIRoute) or context.path_format != route.path_format:
        return None  # a mount, a Starlette route, or a route under a prefix
    dependant = route.dependant
    if (dependant.dependencies or dependant.query_params or dependant.header_params
            or dependant.cookie_params or dependant.body_params
            or dependant.websocket_param_name or dependant.http_connection_param_name
            or dependant.response_param_name or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name or dependant.request_param_name != "request"
            or route.response_model is not None or route.dependencies
            or not asyncio.iscoroutinefunction(route.endpoint)):
        return None
    for field in dependant.path_params:
        info = field.field_info
        if info.annotation is not str or info.metadata or field.alias != field.name:
            return None
    if set(route.param_convertors) != {f.name for f in dependant.path_params}:
        return None
    return Endpoint(route, route.path_regex, dict(route.param_convertors))

