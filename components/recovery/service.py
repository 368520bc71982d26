"""The recovery engine as an HTTP service: webhook intake, the intercept API, health, metrics.

    POST /webhooks/stripe      Stripe events (signature verified); invoice.payment_failed acts
    POST /webhooks/chargebee   Chargebee events (Basic auth); payment_failed acts
    POST /v1/intercepts        a checkout-time decline: answers with the decision and result
    GET  /v1/invoices/{key}/attempts   the attempts ledger of an invoice
    GET  /healthz  /metrics  /openapi.json

A webhook is answered once its decline is decided and the retry's result is known (well
inside the vendors' delivery timeouts), so the decision latency is measured on the request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import BaseRoute

from components.domain import Decline
from components.observability import Metrics, Stopwatch, correlated, log
from components.recovery import intake
from components.recovery.engine import RecoveryEngine
from components.recovery.policy import PolicySettings
from components.settings import ComponentSettings
from components.store import Admission, Store, open_store
from components.systems import systems_of
from components.wiring import Deployment, connect

LOG = logging.getLogger("components.recovery")


class Intercept(BaseModel):
    """A decline at checkout, sent by the merchant's payment page or gateway hook."""

    # strict: `true` is not an amount, nor 7 an id (lax mode coerced them)
    model_config = ConfigDict(extra="forbid", strict=True)
    request_id: str = Field(min_length=1, max_length=200,
                            description="the caller's id: a repeat is a replay")
    invoice_id: str = Field(min_length=1, max_length=200)
    customer_id: str = Field(min_length=1, max_length=200)
    amount: int = Field(gt=0, description="minor units")
    currency: str = Field(pattern="^[A-Za-z]{3}$", description="ISO 4217, e.g. usd")
    decline_code: str | None = Field(None, max_length=100)
    advice_code: str | None = Field(None, max_length=100)
    network_advice_code: str | None = Field(None, max_length=10)
    card_brand: str | None = Field(None, max_length=30)
    card_fingerprint: str | None = Field(None, max_length=100)
    customer_email: str | None = Field(None, max_length=320)
    subscription_id: str | None = Field(None, max_length=200)


def error_response(description: str) -> dict[str, Any]:
    """An error the service answers, as its OpenAPI document describes it: `{"error": ...}`."""
    schema = {"type": "object", "properties": {"error": {"type": "string"}},
              "required": ["error"]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


Responses = dict[int | str, dict[str, Any]]  # a route's documented answers, as FastAPI takes them
MALFORMED: Responses = {
    400: {"description": "The body is not JSON (FastAPI's `{\"detail\": ...}`)"}}
EVENT_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description": "the vendor's event"}}}}}
DECIDED: Responses = {
    502: {"description": "A vendor the decision needed failed; the decline is kept and retried "
                         "(the body is the outcome, status `error`)"}}


def policy_settings(settings: ComponentSettings) -> PolicySettings:
    overrides = {k: v for k, v in settings.policy.model_dump().items() if v is not None}
    if "soft_retry_delays" in overrides:
        overrides["soft_retry_delays"] = tuple(overrides["soft_retry_delays"])
    return PolicySettings(mids=tuple(m.name for m in settings.stripe.mids),
                          check_dunning=settings.protections.dunning_check,
                          check_erp_paid=settings.protections.erp_paid_check, **overrides)


def _loop_time() -> float:
    return asyncio.get_running_loop().time()  # virtual on a virtual-time loop


class RecoveryService:
    def __init__(self, settings: ComponentSettings, *, http: httpx.AsyncClient | None = None,
                 store: Store | None = None, now: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = _loop_time, seed: int = 0) -> None:
        self.settings = settings
        self.deployment: Deployment = connect(settings, http=http, seed=seed)
        self.store = store or open_store(settings.store)
        self.metrics = Metrics("recovery")
        self.metrics.watch(self.store.outbox_depth, lambda: len(self.store.dead_letters()))
        self.now, self.monotonic = now, monotonic
        self.engine = RecoveryEngine(
            self.store, self.deployment.vendors, billing=settings.billing, mode=settings.mode,
            policy=policy_settings(settings), protections=settings.protections,
            metrics=self.metrics, now=now, monotonic=monotonic,
            systems=systems_of(settings, self.deployment.mapping),
            billing_dunning=settings.chargebee.dunning if settings.chargebee else True)
        self.app = self._build_app()

    # -- intake -------------------------------------------------------------------------------
    def _admit(self, source: str, event_id: str, decline: Decline) -> Admission:
        if not self.settings.protections.inbox:
            return Admission.NEW
        verdict = self.store.admit_event(source, event_id, decline.invoice_key,
                                         decline.occurred_at, self.now())
        self.metrics.events.labels(source, verdict.value).inc()
        return verdict

    async def stripe_webhook(self, payload: bytes, signature: str | None) -> tuple[int, Any]:
        watch = Stopwatch(self.monotonic)
        stripe_settings = self.settings.stripe
        try:
            if self.settings.protections.signature_check:
                if not stripe_settings.webhook_secret:
                    return 500, {"error": "stripe.webhook_secret is not configured"}
                intake.verify_stripe(payload, signature, stripe_settings.webhook_secret,
                                     stripe_settings.webhook_tolerance_seconds)
            event = intake.stripe_event(payload)
            decline = intake.stripe_decline(event)
        except intake.Unauthenticated as exc:
            self.metrics.events.labels("stripe", "unauthenticated").inc()
            return 400, {"error": str(exc)}
        except intake.Unreadable as exc:
            return 400, {"error": str(exc)}
        if decline is None:
            return 200, {"received": True, "ignored": event["type"]}
        return await self._process("stripe", decline, event["data"]["object"], watch)

    async def chargebee_webhook(self, payload: bytes,
                                authorization: str | None) -> tuple[int, Any]:
        watch = Stopwatch(self.monotonic)
        cb = self.settings.chargebee
        try:
            if self.settings.protections.signature_check and cb and cb.webhook_username:
                intake.verify_basic(authorization, cb.webhook_username,
                                    cb.webhook_password or "")
            event = intake.chargebee_event(payload)
            decline = intake.chargebee_decline(event)
        except intake.Unauthenticated as exc:
            self.metrics.events.labels("chargebee", "unauthenticated").inc()
            return 401, {"error": str(exc)}
        except intake.Unreadable as exc:
            return 400, {"error": str(exc)}
        if decline is None:
            return 200, {"received": True, "ignored": event["event_type"]}
        return await self._process("chargebee", decline, event["content"].get("invoice"), watch)

    async def intercept(self, body: Intercept) -> tuple[int, Any]:
        watch = Stopwatch(self.monotonic)
        decline = Decline(
            source="intercept", event_id=body.request_id, billing=self.settings.billing,
            invoice_id=body.invoice_id, customer_id=body.customer_id, amount=body.amount,
            currency=body.currency.lower(), decline_code=body.decline_code,
            advice_code=body.advice_code, network_advice_code=body.network_advice_code,
            card_brand=body.card_brand, card_fingerprint=body.card_fingerprint,
            customer_email=body.customer_email, subscription_id=body.subscription_id,
            occurred_at=self.now(), on_session=True)
        status, outcome = await self._process("intercept", decline, None, watch)
        if status == 502 and outcome.get("error") in ("not_found", "invalid"):
            # the billing system refused what the intercept names (no such invoice or
            # customer): the caller's data, not a vendor failure worth retrying
            return 422, {"error": f"the billing system refused the intercept "
                                  f"({outcome['error']})", "outcome": outcome}
        return status, outcome

    async def _process(self, source: str, decline: Decline, invoice: dict[str, Any] | None,
                       watch: Stopwatch, via: str | None = None) -> tuple[int, Any]:
        with correlated(f"{source}:{decline.event_id}"):
            verdict = self._admit(source, decline.event_id, decline)
            if verdict != Admission.NEW:
                log(LOG, "event dropped", source=source, verdict=verdict.value,
                    invoice_key=decline.invoice_key)
                return 200, {"received": True, "dropped": verdict.value}
            outcome = await self.engine.handle(decline, invoice, started=watch, via=via)
            if self.settings.protections.inbox:  # decided (or its retry scheduled): done
                self.store.event_decided(source, decline.event_id, self.now())
            answer = outcome.to_dict()
            if outcome.error:
                answer["error"] = outcome.error
            return (502 if outcome.status == "error" else 200), answer

    # -- the app ------------------------------------------------------------------------------
    def _build_app(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            task = asyncio.create_task(self.run_scheduled_retries())
            yield
            task.cancel()
            await self.deployment.aclose()
            self.store.close()

        app = FastAPI(title="landscape reference recovery engine", version="1",
                      lifespan=lifespan, description=__doc__)
        app.state.service = self
        app.router.routes.extend(_routes())
        return app

    async def run_scheduled_retries(self, poll_seconds: float = 1.0) -> None:
        """The background loop of a served engine: due retries, every `poll_seconds`; the
        catch-up on the billing system's events at start, then every
        `catch_up.interval_seconds` (components/recovery/catchup.py)."""
        next_catch_up = self.now()
        while True:
            if self.settings.catch_up.enabled and self.now() >= next_catch_up:
                next_catch_up = self.now() + self.settings.catch_up.interval_seconds
                try:
                    await self.catch_up()
                except Exception:  # the next round tries again; it is logged
                    LOG.exception("catch-up failed")
            try:
                await self.engine.run_due_retries()
            except Exception:  # one bad retry must not stop the loop; it is logged
                LOG.exception("scheduled retries failed")
            await asyncio.sleep(poll_seconds)

    async def catch_up(self) -> dict[str, Any]:
        """Decide the declines whose webhooks never came: the billing system's payment
        failures since the last caught-up point, through the same inbox as webhooks."""
        from components.recovery.catchup import CatchUp

        async def process(source: str, decline: Decline) -> tuple[int, Any]:
            # no invoice: the event's copy may be days old, the engine reads it again
            return await self._process(source, decline, None, Stopwatch(self.monotonic),
                                       via="catchup")

        vendors = self.deployment.vendors
        report = await CatchUp(self.store, billing=self.settings.billing,
                               stripe=vendors.primary, chargebee=vendors.chargebee,
                               settings=self.settings.catch_up, now=self.now,
                               process=process).run()
        return report.to_dict()


def _answer(result: tuple[int, Any]) -> JSONResponse:
    return JSONResponse(result[1], status_code=result[0])


def _service(request: Request) -> RecoveryService:
    service: RecoveryService = request.app.state.service
    return service


@functools.cache
def _routes() -> list[BaseRoute]:
    """The service's routes, built once per process and shared by every instance's app (each
    finds its own in `app.state.service`): FastAPI analyses a route's signature when it is
    added, about 1 ms a route, which a harness restarting services thousands of times pays."""
    router = APIRouter(responses=MALFORMED)

    @router.post("/webhooks/stripe", tags=["intake"], openapi_extra=EVENT_BODY, responses={
        400: error_response("Unreadable, or the Stripe-Signature does not verify"),
        **DECIDED})
    async def stripe_webhook(request: Request) -> JSONResponse:
        return _answer(await _service(request).stripe_webhook(
            await request.body(), request.headers.get("stripe-signature")))

    @router.post("/webhooks/chargebee", tags=["intake"], openapi_extra=EVENT_BODY, responses={
        400: error_response("Unreadable"),
        401: error_response("The webhook's Basic credentials are missing or wrong"),
        **DECIDED})
    async def chargebee_webhook(request: Request) -> JSONResponse:
        return _answer(await _service(request).chargebee_webhook(
            await request.body(), request.headers.get("authorization")))

    @router.post("/v1/intercepts", tags=["intake"], responses={
        422: {"description": "Invalid (`detail`), or the billing system refused what it "
                             "names (`error`)",
              "content": {"application/json": {"schema": {"type": "object", "anyOf": [
                  {"required": ["detail"]}, {"required": ["error"]}]}}}},
        **DECIDED})
    async def intercept(body: Intercept, request: Request) -> JSONResponse:
        return _answer(await _service(request).intercept(body))

    @router.get("/v1/invoices/{invoice_key}/attempts", tags=["ledger"])
    async def attempts(invoice_key: str, request: Request) -> list[dict[str, Any]]:
        return [{**a.__dict__, "status": a.status.value}
                for a in _service(request).store.attempts(invoice_key)]

    @router.get("/v1/invoices/{invoice_key}/decisions", tags=["ledger"])
    async def decisions(invoice_key: str, request: Request) -> list[dict[str, Any]]:
        """The engine's decisions on the invoice's declines, oldest first: why it was, or
        was not, retried (kept until the store is pruned: `Store.prune`)."""
        return [d.to_dict() for d in _service(request).store.decisions(invoice_key)]

    @router.get("/healthz", tags=["operations"])
    async def health(request: Request) -> dict[str, Any]:
        service = _service(request)
        return {"status": "ok", "merchant": service.settings.merchant,
                "mode": service.settings.mode, "outbox_depth": service.store.outbox_depth()}

    @router.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        return Response(_service(request).metrics.exposition(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    return list(router.routes)
