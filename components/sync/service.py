"""The sync service: the context cache's feeds, the outbox relay, reconciliation, dead letters.

    POST /notifications/netsuite   a NetSuite user-event callout (X-Landscape-Token if set)
    POST /v1/outbox/drain          send what is due now (the background loop does it too)
    GET  /v1/dead-letters          write-backs given up on, with their last error
    POST /v1/dead-letters/replay   back to the outbox: {"ids": [..]} or everything
    POST /v1/reconcile             three-way reconciliation; {"repair": true} queues repairs
    GET  /healthz  /metrics  /openapi.json
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import BaseRoute

from components.connectors.errors import UnknownOutcome, VendorError
from components.observability import Metrics, correlated, log
from components.recovery.service import MALFORMED, Responses, error_response
from components.settings import ComponentSettings
from components.store import Store, open_store
from components.sync.feeds import ErpFeed
from components.sync.relay import OutboxRelay
from components.systems import systems_of
from components.wiring import Deployment, connect

LOG = logging.getLogger("components.sync")


# strict: `true` is not a dead letter's id, nor "1" a flag (lax mode coerced them)
class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    # a store's ids are 64-bit (a larger one was an OverflowError: a 500)
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        None, description="dead letters to replay; all when absent")


class ReconcileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    # bounded: -1e109 reached Stripe as `created[gte]`, whose refusal was answered 503
    since: float | None = Field(None, ge=0, le=1e11,
                                description="epoch seconds; default: the last 7 days")
    repair: bool = Field(False, description="queue the repairs of the drift found")


class SyncService:
    def __init__(self, settings: ComponentSettings, *, http: httpx.AsyncClient | None = None,
                 store: Store | None = None, now: Callable[[], float] = time.time,
                 seed: int = 0) -> None:
        self.settings = settings
        self.deployment: Deployment = connect(settings, http=http, seed=seed + 1)
        self.store = store or open_store(settings.store)
        self.metrics = Metrics("sync")
        self.metrics.watch(self.store.outbox_depth, lambda: len(self.store.dead_letters()))
        self.now = now
        self.relay = OutboxRelay(self.store, self.deployment, settings=settings.outbox,
                                 metrics=self.metrics, now=now, seed=seed)
        # the ERP and CRM the merchant has: the ERP feed, write-backs and reconciliation skip
        # an absent one
        self.systems = systems_of(settings, self.deployment.mapping)
        vendors = self.deployment.vendors
        self.erp = (ErpFeed(self.store, vendors.netsuite, billing=settings.billing,
                            key_field=vendors.erp_invoice_key_field)
                    if self.systems.erp and vendors.netsuite else None)
        self.last_poll: float | None = None
        self.app = self._build_app()

    async def netsuite_notification(self, body: Any, token: str | None) -> tuple[int, Any]:
        expected = self.settings.sync.notification_token
        if expected and not (token and hmac.compare_digest(token, expected)):
            return 401, {"error": "X-Landscape-Token missing or wrong"}
        if self.erp is None:
            return 404, {"error": "the merchant has no ERP: no netsuite section in the settings"}
        if not isinstance(body, dict):
            return 400, {"error": "a NetSuite notification is a JSON object"}
        with correlated(f"netsuite:{body.get('eventId', '')}"):
            refreshed = await self.erp.on_notification(body)
        return 200, {"refreshed": refreshed}

    async def poll_erp(self) -> int:
        """One polling round (merchants without notifications)."""
        if self.erp is None:
            return 0
        now = self.now()
        since = (self.last_poll if self.last_poll is not None else now - 86400) - 5
        refreshed = await self.erp.poll(since)
        self.last_poll = now
        return refreshed

    async def reconcile(self, since: float | None, repair: bool) -> dict[str, Any]:
        from components.sync.collect import collect_snapshot
        from components.sync.reconcile import reconcile

        snapshot = await collect_snapshot(self.deployment, self.store,
                                          since=since if since is not None
                                          else self.now() - 7 * 86400, now=self.now())
        report = reconcile(snapshot)
        queued = 0
        if repair:
            queued = self.store.enqueue(self.systems.only(report.repairs()), at=self.now())
        log(LOG, "reconciled", summary=report.summary(), repairs_queued=queued)
        return {**report.to_dict(), "repairs_queued": queued}

    async def run_background(self) -> None:
        """A served sync service: the relay (its own task, sending as its slots free), and
        every outbox poll the ERP's poll when configured and the store's pruning."""
        relay = asyncio.create_task(self.relay.run(), name="outbox relay")
        next_poll = 0.0
        try:
            while True:
                try:
                    poll = self.settings.sync.poll_seconds
                    if poll and self.now() >= next_poll:
                        await self.poll_erp()
                        next_poll = self.now() + poll
                    self.store.prune(before=self.now() - self.settings.sync.retention_seconds)
                except Exception:  # the loop outlives one bad round; it is logged
                    LOG.exception("sync round failed")
                await asyncio.sleep(self.settings.outbox.poll_seconds)
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay

    def _build_app(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            task = asyncio.create_task(self.run_background())
            yield
            task.cancel()
            await self.deployment.aclose()
            self.store.close()

        app = FastAPI(title="landscape reference sync service", version="1",
                      lifespan=lifespan, description=__doc__)
        app.state.service = self
        app.router.routes.extend(_routes())
        app.add_exception_handler(VendorError, _vendor_unavailable)
        app.add_exception_handler(UnknownOutcome, _vendor_unavailable)
        return app


def _answer(result: tuple[int, Any]) -> JSONResponse:
    return JSONResponse(result[1], status_code=result[0])


def _service(request: Request) -> SyncService:
    service: SyncService = request.app.state.service
    return service


async def _vendor_unavailable(request: Request, error: Exception) -> JSONResponse:
    # a vendor the sync needs for this request failed (a brownout, an expired token it could
    # not renew): say so, so the caller (the ERP's script, an operator) retries
    log(LOG, "request failed on a vendor", logging.WARNING, path=request.url.path,
        error=str(error))
    return JSONResponse({"error": str(error), "vendor": getattr(error, "vendor", None)},
                        status_code=503, headers={"Retry-After": "30"})


@functools.cache
def _routes() -> list[BaseRoute]:
    """The service's routes, built once per process and shared by every instance's app (as
    the recovery engine's are: `components/recovery/service.py`)."""
    router = APIRouter(responses=MALFORMED)
    unavailable: Responses = {
        503: error_response("A vendor the request needed failed (Retry-After)")}

    @router.post("/notifications/netsuite", tags=["feeds"], openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
        responses={400: error_response("Not a JSON object"),
                   401: error_response("X-Landscape-Token missing or wrong"),
                   404: error_response("The merchant has no ERP"), **unavailable})
    async def netsuite(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _answer((400, {"error": "the body is not JSON"}))
        return _answer(await _service(request).netsuite_notification(
            body, request.headers.get("x-landscape-token")))

    @router.post("/v1/outbox/drain", tags=["outbox"], responses=unavailable)
    async def drain(request: Request) -> dict[str, Any]:
        service = _service(request)
        report = await service.relay.drain_once()
        return {**report.__dict__, "depth": service.store.outbox_depth()}

    @router.get("/v1/dead-letters", tags=["outbox"])
    async def dead_letters(request: Request) -> list[dict[str, Any]]:
        return [m.__dict__ for m in _service(request).store.dead_letters()]

    @router.post("/v1/dead-letters/replay", tags=["outbox"])
    async def replay(body: Replay, request: Request) -> dict[str, int]:
        service = _service(request)
        return {"replayed": service.store.replay_dead(body.ids, now=service.now())}

    @router.post("/v1/reconcile", tags=["reconciliation"], responses=unavailable)
    async def reconcile(body: ReconcileRequest, request: Request) -> dict[str, Any]:
        return await _service(request).reconcile(body.since, body.repair)

    @router.get("/healthz", tags=["operations"])
    async def health(request: Request) -> dict[str, Any]:
        service = _service(request)
        return {"status": "ok", "merchant": service.settings.merchant,
                "erp": service.systems.erp, "crm": service.systems.crm,
                "outbox_depth": service.store.outbox_depth(),
                "dead_letters": len(service.store.dead_letters())}

    @router.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        return Response(_service(request).metrics.exposition(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    return list(router.routes)
