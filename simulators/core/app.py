"""Assemble a fake: the vendor's routes and the control plane in one FastAPI app, wrapped in
the shared pipeline. The result is a plain ASGI app, served over loopback HTTP(S) by uvicorn or
mounted in-process with httpx's ASGITransport.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulators.core.control import control_router
from simulators.core.dispatch import Dispatch
from simulators.core.guard import ControlGuard, ControlSettings, Refusal
from simulators.core.pipeline import CONTROL_PREFIX, Pipeline, RequestLog
from simulators.core.simulator import Simulator
from simulators.core.vendor import VendorError, context

DOCS_URL = f"{CONTROL_PREFIX}/docs"
# Swagger UI (swagger-ui-dist, Apache-2.0: see its LICENSE and NOTICE there), vendored so that
# /_sim/docs works offline; FastAPI's default page loads it from a CDN
DOCS_ASSETS_URL = f"{DOCS_URL}/assets"
DOCS_ASSETS_DIR = Path(__file__).parent / "static" / "swagger-ui"


def build_app(sim: Simulator, request_log: RequestLog | None = None) -> Pipeline:
    """Raises ValueError for malformed `settings.control` (see core/guard.py). `request_log`:
    one line per request (core/pipeline.py), closed when the app shuts down."""
    vendor = sim.vendor
    control = ControlSettings.of(vendor.name, sim.settings)
    sim.mark_started()  # what /_sim/reset returns the fake to

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sim.start_background()
        yield
        await sim.stop_background()
        if request_log is not None:
            request_log.close()

    app = FastAPI(title=f"landscape fake {vendor.title}", version="1",
                  openapi_url=f"{CONTROL_PREFIX}/openapi.json", docs_url=None,
                  redoc_url=None, lifespan=lifespan)
    app.state.sim, app.state.control = sim, control
    app.include_router(vendor.router())
    app.include_router(control_router())
    app.add_middleware(ControlGuard, settings=control)
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{CONTROL_PREFIX}/openapi.json", title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_URL}/favicon-32x32.png")

    # registered with the decorator: `add_exception_handler` is typed for handlers of any
    # Exception, and these take their own class
    @app.exception_handler(VendorError)
    async def vendor_error(request: Request, exc: VendorError) -> Response:
        context(request).store_idempotent = exc.store_idempotent
        return Response(exc.encode(), exc.status, exc.headers, vendor.errors.content_type)

    @app.exception_handler(Refusal)
    async def refused(request: Request, exc: Refusal) -> Response:
        return Response(exc.body(), exc.status, media_type="application/json")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(CONTROL_PREFIX):
            return Response(json.dumps({"detail": exc.detail}).encode(), exc.status_code,
                            media_type="application/json")
        if exc.status_code == 405:
            return await vendor_error(request, vendor.errors.method_not_allowed(
                request.method, request.url.path))
        return await vendor_error(request, vendor.errors.not_found(request.url.path))

    for exc_class, handler in vendor.exception_handlers().items():
        app.add_exception_handler(exc_class, handler)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = vendor.openapi(generated)
        return app.openapi_schema

    # FastAPI's documented way to publish another schema is to replace `app.openapi`
    app.openapi = openapi  # type: ignore[method-assign]
    # LANDSCAPE_DISPATCH=router: every request through FastAPI's own routing (same answers,
    # slower), to measure what core/dispatch.py saves or to rule it out
    dispatch = None if os.environ.get("LANDSCAPE_DISPATCH") == "router" else Dispatch(app)
    return Pipeline(sim, app, request_log, dispatch)
