"""A minimal vendor for testing the engine itself: a counter store with Bearer-token tenants.

It is also the worked example of simulators/README.md, "Adding a vendor": everything a vendor
gives the engine, schema rules included, in one file.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.core.schemas import FieldValueError, SchemaRules
from simulators.core.schemas.rules import snake
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


class ToySchemaRules(SchemaRules):
    """A toy merchant adds `x_` fields to its counters, and nothing else."""

    vendor = "toy"
    title = "Toy"
    references = False

    def check_object(self, name: str, custom: bool | None) -> str | None:
        if custom or name != "counter":
            return f"the toy has one object, 'counter'; add fields to it instead of {name!r}"
        return None

    def check_field(self, obj: str, obj_custom: bool, name: str) -> str | None:
        if not name.startswith("x_") or name == "x_":
            return f"toy custom fields start with 'x_'; rename it to 'x_{snake(name)}'"
        return None


class Gate:
    """Holds requests to `POST /gated/{name}` inside the handler until the test opens it, so an
    in-process test knows a request is running (no sleeps): await `entered`, then set `opened`."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()


class ToyVendor(Vendor):
    name = "toy"
    title = "Toy"
    default_port = 12119
    errors = ToyErrors()
    schema_rules = ToySchemaRules()
    idempotency = IdempotencyPolicy(
        header="idempotency-key", retention_seconds=3600,
        mismatch=lambda key: _error(400, "idempotency_mismatch", key),
        in_flight=lambda key: _error(409, "idempotency_in_use", key),
        replayed_header=("Idempotent-Replayed", "true"))
    gate: Gate | None = None  # set on an instance to serve POST /gated/{name}

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

        @router.put("/counters/{name}/fields")
        async def set_fields(request: Request, name: str) -> JSONResponse:
            """Custom fields of a counter, checked against the tenant's schema."""
            ctx = context(request)
            schema = ctx.tenant.schema.object("counter") if ctx.tenant.schema else None
            changes: dict[str, Any] = {}
            for key, value in json.loads(await request.body() or b"{}").items():
                field = schema.field(key) if schema else None
                if field is None:
                    raise _error(400, "unknown_field", key)
                try:
                    changes[field.name] = field.coerce(value)
                except FieldValueError as exc:
                    raise _error(400, "invalid_field", str(exc)) from None
            defaults = {f.name: f.default_value() for f in schema.fields.values()
                        if f.has_default} if schema else {}
            fields = ctx.tenant.collection("fields").setdefault(name, defaults)
            fields.update(changes)
            return JSONResponse({"name": name, "fields": fields})

        @router.post("/gated/{name}")
        async def gated(request: Request, name: str) -> JSONResponse:
            """`POST /counters/{name}`, once the test opens the gate."""
            if self.gate is None:
                raise self.errors.not_found(request.url.path)
            self.gate.entered.set()
            await self.gate.opened.wait()
            return await increment(request, name)

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
