"""A minimal vendor for testing the engine itself: a counter store with Bearer-token tenants."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.core.simulator import Simulator
from simulators.core.tenancy import Tenant
from simulators.core.vendor import IdempotencyPolicy, NativeErrors, Vendor, VendorError, context
from simulators.core.webhooks import Delivery


def _error(status: int, code: str, message: str = "", **headers: str) -> VendorError:
    return VendorError(status, {"error": {"code": code, "message": message}}, headers)


class ToyErrors(NativeErrors):
    def http_error(self, status: int, code: str | None = None,
                   message: str | None = None) -> VendorError:
        return _error(status, code or "api_error", message or "injected")

    def rate_limited(self, retry_after: float | None) -> VendorError:
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
        return _error(429, "rate_limit", "slow down", **headers)

    def concurrency_limited(self, limit: int) -> VendorError:
        return _error(429, "concurrency_limit", f"more than {limit} in flight")

    def unauthorized(self, reason: str = "") -> VendorError:
        return _error(401, "unauthorized", reason)

    def not_found(self, path: str) -> VendorError:
        return _error(404, "not_found", path)


class ToyVendor(Vendor):
    name = "toy"
    title = "Toy"
    errors = ToyErrors()
    idempotency = IdempotencyPolicy(
        header="idempotency-key", retention_seconds=3600,
        mismatch=lambda key: _error(400, "idempotency_mismatch", key),
        in_flight=lambda key: _error(409, "idempotency_in_use", key),
        replayed_header=("Idempotent-Replayed", "true"))

    def authenticate(self, sim: Simulator, request: Request) -> tuple[Tenant, dict[str, Any]]:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth == "Bearer bad":
            raise self.errors.unauthorized("no key")
        tenant = sim.tenants.get(auth[len("Bearer "):])
        assert tenant is not None
        return tenant, {}

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.post("/counters/{name}")
        async def increment(request: Request, name: str) -> JSONResponse:
            ctx = context(request)
            counters = ctx.tenant.collection("counters")
            body = json.loads(await request.body() or b"{}")
            if body.get("by") == "invalid":
                raise VendorError(400, {"error": {"code": "invalid"}}, store_idempotent=False)
            counters[name] = counters.get(name, 0) + int(body.get("by", 1))
            if "decline" in ctx.directives:
                raise _error(402, "declined", ctx.directives["decline"]["code"] or "")
            return JSONResponse({"name": name, "value": counters[name],
                                 "id": ctx.sim.seeds.token(f"ids:{ctx.tenant.id}", 8)})

        @router.get("/counters/{name}")
        async def read(request: Request, name: str) -> JSONResponse:
            counters = context(request).tenant.collection("counters")
            if name not in counters:
                raise self.errors.not_found(request.url.path)
            return JSONResponse({"name": name, "value": counters[name]})

        @router.post("/notify")
        async def notify(request: Request) -> JSONResponse:
            ctx = context(request)
            body = json.loads(await request.body())
            for i, event_type in enumerate(body["events"]):
                ctx.sim.webhooks.send(Delivery(
                    tenant=ctx.tenant.id, endpoint="ep", url=body["url"], event_id=f"ev_{i}",
                    event_type=event_type, body=json.dumps({"type": event_type, "n": i}).encode(),
                    schedule=[60, 600], sign=lambda b, t: {"x-toy-signature": f"{t}:{len(b)}"}))
            return JSONResponse({"queued": len(body["events"])})

        return router
