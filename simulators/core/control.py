"""The control plane every fake serves under `/_sim/`: faults, latency, limits, clock, seed,
tenant state, journals, health. Tests, the harness and the `landscape` CLI use it; invariants read
ground truth from it. It bypasses the vendor's auth, limits, latency and faults; what guards it
on a shared machine (host, origin, content type, token, state folder) is core/guard.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from simulators.core.faults import FaultSpec
from simulators.core.guard import (
    ControlSettings,
    Refusal,
    is_session_collection,
    public_settings,
    public_tenant_id,
)
from simulators.core.latency import Latency
from simulators.core.limits import Limits
from simulators.core.schemas import SchemaError
from simulators.core.simulator import Simulator
from simulators.core.states import StateError
from simulators.core.tenancy import Tenant

TAG = "simulator control plane"


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(..., ge=0, strict=True, description="how far to move simulated time")


class SetTime(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epoch: float = Field(..., strict=True,
                         description="absolute unix time; never moves backwards")


class Seed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = Field(..., strict=True)  # `true` is not a seed (lax mode read it as 1)


class Reset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int | None = Field(None, strict=True,
                             description="re-seed every stream (default: the start seed)")


class TenantDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    settings: dict[str, Any] = Field(default_factory=dict,
                                     description="vendor settings, see the vendor's README")
    schema_: dict[str, Any] | None = Field(
        None, alias="schema", description="a per-merchant schema, inline (as its YAML file)")
    replace: bool = Field(False, strict=True,
                          description="replace settings and schema instead of merging")


class StateChange(BaseModel):
    """The body Pact's verifier posts to a provider-state URL, plus an optional tenant."""

    model_config = ConfigDict(extra="forbid")
    state: str = Field(..., description="the provider state's name (GET /_sim/states)")
    params: dict[str, Any] = Field(default_factory=dict)
    action: Literal["setup", "teardown"] = "setup"
    tenant: str | None = Field(None, description="default: params.tenant, else the fake's "
                                                 "first declared tenant")


NAME_HELP = "a snapshot's name (not a path): the file lives in the fake's state folder"


class SnapshotName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # "path" still parses, so an old client's path is refused with the fix, not a 422
    name: str = Field(..., validation_alias=AliasChoices("name", "path"), description=NAME_HELP)


class RestoreSource(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, validation_alias=AliasChoices("name", "path"),
                             description=NAME_HELP)
    tenants: list[dict[str, Any]] | None = Field(
        None, description="the snapshots themselves, as GET /_sim/snapshot returns them")

    @model_validator(mode="after")
    def one_source(self) -> RestoreSource:
        if (self.name is None) == (self.tenants is None):
            raise ValueError('give either {"name": ...} or {"tenants": [...]}')
        return self


def _sim(request: Request) -> Simulator:
    sim = request.app.state.sim  # set by build_app (core/app.py)
    if not isinstance(sim, Simulator):
        raise TypeError(f"app.state.sim is a {type(sim).__name__}, not the fake's Simulator")
    return sim


def _settings(request: Request) -> ControlSettings:
    settings = request.app.state.control  # set by build_app (core/app.py)
    if not isinstance(settings, ControlSettings):
        raise TypeError("app.state.control is not the fake's ControlSettings")
    return settings


def public_data(tenant: Tenant) -> dict[str, Any]:
    """A tenant's collections without its session tokens, as stored: not a copy, for a reader
    in this process that only reads (the in-process harness judging invariants every step)."""
    return {k: v for k, v in tenant.data.items() if not is_session_collection(k)}


def public_state(tenant: Tenant) -> dict[str, Any]:
    """A tenant's snapshot without its session tokens (never shown over HTTP)."""
    snapshot = tenant.snapshot()
    snapshot["data"] = {k: v for k, v in snapshot["data"].items()
                        if not is_session_collection(k)}
    return snapshot


def restore_tenants(sim: Simulator, snapshots: Any) -> list[str]:
    """Replace tenants' state with `snapshots` (all checked before any is applied). Sessions a
    snapshot leaves out (HTTP never shows them) stay as they are."""
    if not isinstance(snapshots, list) or not all(
            isinstance(s, dict) and isinstance(s.get("tenant"), str) for s in snapshots):
        raise ValueError("expected a list of tenant snapshots, as GET /_sim/snapshot gives")
    for snap in snapshots:
        Tenant(snap["tenant"], sim.vendor.name).restore(snap)  # a dry run: raises, changes none
    for snap in snapshots:
        tenant = sim.tenants.declare(snap["tenant"])
        kept = {k: v for k, v in tenant.data.items()
                if is_session_collection(k) and k not in snap.get("data", {})}
        tenant.restore(snap)
        tenant.data.update(kept)
    sim.state_replaced()
    return [snap["tenant"] for snap in snapshots]


# What the control plane's refusals look like, so its published document describes them
_ERROR = {"application/json": {"schema": {"type": "object", "anyOf": [
    {"required": ["detail"]}, {"required": ["error", "fix"]}]}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not carried out: `detail` (or `error` and its `fix`) says why",
          "content": _ERROR},
    404: {"description": "No such tenant, fault or provider state", "content": _ERROR}}


def control_router() -> APIRouter:
    router = APIRouter(prefix="/_sim", tags=[TAG], responses=ERRORS)

    @router.get("/health", summary="Liveness and identity of this fake")
    async def health(request: Request) -> dict[str, Any]:
        sim = _sim(request)
        return {"status": "ok", "vendor": sim.vendor.name, "seed": sim.seed,
                "clock": sim.clock.describe(), "tenants": len(sim.tenants.all()),
                "pending_webhooks": sim.webhooks.pending(),
                "webhooks_unsettled": sim.webhooks.unsettled()}

    # -- faults -------------------------------------------------------------------------------
    @router.get("/faults", summary="List installed faults with their hit counts")
    async def list_faults(request: Request) -> list[dict[str, Any]]:
        return _sim(request).faults.list()

    @router.post("/faults", status_code=201, summary="Install a fault")
    async def add_fault(request: Request, spec: FaultSpec) -> dict[str, Any]:
        sim = _sim(request)
        return sim.faults.add(spec, sim.clock.now()).describe()

    @router.delete("/faults", summary="Remove every fault")
    async def clear_faults(request: Request) -> dict[str, Any]:
        _sim(request).faults.clear()
        return {"cleared": True}

    @router.delete("/faults/{fault_id}", summary="Remove one fault")
    async def remove_fault(request: Request, fault_id: str) -> dict[str, Any]:
        if not _sim(request).faults.remove(fault_id):
            raise HTTPException(404, f"no fault {fault_id!r}; GET /_sim/faults lists them")
        return {"removed": fault_id}

    # -- latency and limits -------------------------------------------------------------------
    @router.get("/latency", summary="The base latency profile (null: none)")
    async def get_latency(request: Request) -> Latency | None:
        return _sim(request).latency

    @router.put("/latency", summary="Set (or clear, with null) the base latency profile")
    async def set_latency(request: Request,
                          latency: Latency | None = Body(None)) -> Latency | None:
        _sim(request).latency = latency
        return latency

    @router.get("/limits", summary="Per-tenant rate and concurrency limits")
    async def get_limits(request: Request) -> Limits:
        return _sim(request).limits

    @router.put("/limits", summary="Set per-tenant rate and concurrency limits")
    async def set_limits(request: Request, limits: Limits) -> Limits:
        _sim(request).limits = limits
        return limits

    # -- clock and seed -----------------------------------------------------------------------
    @router.get("/clock", summary="Simulated time")
    async def get_clock(request: Request) -> dict[str, Any]:
        return _sim(request).clock.describe()

    @router.post("/clock/advance", summary="Advance simulated time, running what falls due")
    async def advance(request: Request, body: Advance) -> dict[str, Any]:
        sim = _sim(request)
        await sim.advance(body.seconds)
        return {**sim.clock.describe(), "ran": sim.last_advance}

    @router.post("/clock/set", summary="Move simulated time to an absolute instant")
    async def set_clock(request: Request, body: SetTime) -> dict[str, Any]:
        sim = _sim(request)
        await sim.advance(max(0.0, body.epoch - sim.clock.now()))
        return sim.clock.describe()

    @router.get("/seed", summary="The seed every random stream derives from")
    async def get_seed(request: Request) -> dict[str, int]:
        return {"seed": _sim(request).seed}

    @router.put("/seed", summary="Re-seed every random stream")
    async def set_seed(request: Request, body: Seed) -> dict[str, int]:
        _sim(request).seeds.reseed(body.seed)
        return {"seed": body.seed}

    # -- tenants ------------------------------------------------------------------------------
    @router.get("/tenants", summary="Tenant ids, object counts and settings (secrets masked)")
    async def tenants(request: Request) -> list[dict[str, Any]]:
        return [{"id": public_tenant_id(t.id), "objects": {k: len(v) for k, v in t.data.items()},
                 "settings": public_settings(t.settings),
                 "schema": t.schema.name if t.schema else None}
                for t in _sim(request).tenants.all()]

    def _tenant(request: Request, tenant_id: str) -> Tenant:
        tenant = _sim(request).tenants.find(tenant_id)
        if tenant is None:
            raise HTTPException(404, f"no tenant {tenant_id!r}; GET /_sim/tenants lists them")
        return tenant

    @router.get("/tenants/{tenant_id}/state",
                summary="A tenant's state (a snapshot, without session tokens)")
    async def tenant_state(request: Request, tenant_id: str) -> dict[str, Any]:
        return public_state(_tenant(request, tenant_id))

    @router.post("/tenants/{tenant_id}/reset", summary="Empty a tenant's state")
    async def reset_tenant(request: Request, tenant_id: str) -> dict[str, Any]:
        _tenant(request, tenant_id).reset()
        _sim(request).state_replaced()
        return {"reset": tenant_id}

    @router.put("/tenants/{tenant_id}", summary="Declare a tenant, or change its settings/schema")
    async def declare_tenant(request: Request, tenant_id: str,
                             body: TenantDeclaration) -> dict[str, Any]:
        sim = _sim(request)
        schema = None
        if body.schema_ is not None:
            try:
                schema = sim.load_schema(body.schema_, f"PUT /_sim/tenants/{tenant_id}")
            except (SchemaError, ValueError) as exc:
                raise HTTPException(400, str(exc)) from exc
        try:
            tenant = sim.declare_tenant(tenant_id, body.settings, schema, replace=body.replace)
        except ValueError as exc:
            raise HTTPException(400, f"tenant {tenant_id!r}: {exc}") from exc
        return {"id": tenant.id, "settings": public_settings(tenant.settings),
                "schema": getattr(tenant.schema, "name", None) if tenant.schema else None}

    @router.post("/tenants/{tenant_id}/restore", summary="Replace a tenant's state")
    async def restore_tenant(request: Request, tenant_id: str,
                             snapshot: dict[str, Any] = Body(...)) -> dict[str, Any]:
        try:
            restore_tenants(_sim(request), [{**snapshot, "tenant": tenant_id}])
        except (ValueError, TypeError, AttributeError) as exc:
            raise HTTPException(400, f"not a snapshot of this fake: {exc}") from exc
        return {"restored": tenant_id}

    @router.get("/snapshot", summary="Every tenant's state (without session tokens)")
    async def export(request: Request) -> list[dict[str, Any]]:
        return [public_state(t) for t in _sim(request).tenants.all()]

    @router.post("/snapshot", summary="Save every tenant's state as a named snapshot")
    async def snapshot(request: Request, body: SnapshotName) -> dict[str, Any]:
        file = _snapshot_file(request, body.name)
        file.parent.mkdir(parents=True, exist_ok=True)
        _sim(request).tenants.save(file)
        return {"name": body.name}

    @router.post("/restore", summary="Restore every tenant's state: a named snapshot, or inline")
    async def restore(request: Request, body: RestoreSource) -> dict[str, Any]:
        file = None if body.name is None else _snapshot_file(request, body.name)
        if file is not None and not file.is_file():
            raise Refusal(404, f"no snapshot named {body.name!r}",
                          f'POST /_sim/snapshot {{"name": "{body.name}"}} saves one; '
                          f"saved: {', '.join(_saved(request)) or 'none'}")
        try:
            data = body.tenants if file is None else json.loads(file.read_text("utf-8"))
            restored = restore_tenants(_sim(request), data)
        except (ValueError, TypeError, AttributeError) as exc:
            raise Refusal(400, f"not a snapshot of this fake: {exc}",
                          "restore what GET /_sim/snapshot or POST /_sim/snapshot saved") \
                from exc
        return {"restored": restored}

    @router.post("/reset", summary="Return the fake to its just-started state")
    async def reset_all(request: Request, body: Reset | None = None) -> dict[str, Any]:
        """Tenants (as declared at start, empty), clock, seed streams, faults, latency, limits,
        journals, pending webhooks, idempotency keys in flight, vendor-held state."""
        sim = _sim(request)
        sim.reset(body.seed if body else None)
        return {"reset": True, "seed": sim.seed, "clock": sim.clock.describe()}

    # -- provider states ----------------------------------------------------------------------
    @router.get("/states", summary="Named provider states this fake can set up")
    async def list_states(request: Request) -> list[dict[str, Any]]:
        return [s.describe() for s in _sim(request).vendor.provider_states().values()]

    @router.post("/states", summary="Set up a named provider state (Pact's state-change body)")
    async def set_state(request: Request, body: StateChange) -> dict[str, Any]:
        sim = _sim(request)
        states = sim.vendor.provider_states()
        if body.state not in states:
            raise HTTPException(404, f"no provider state {body.state!r}; this fake offers: "
                                     f"{', '.join(map(repr, states)) or 'none'}")
        if body.action == "teardown":  # state is cleared by POST /_sim/reset, not per state
            return {"state": body.state, "action": "teardown"}
        params = dict(body.params)
        tenant_id = body.tenant or params.pop("tenant", None) or sim.default_tenant_id()
        if tenant_id is None:
            raise HTTPException(400, "name the tenant: {\"tenant\": ...} or params.tenant "
                                     "(this fake declares none)")
        tenant = sim.tenant(tenant_id)
        if tenant is None:
            raise HTTPException(404, f"no tenant {tenant_id!r}; GET /_sim/tenants lists them")
        try:
            created = states[body.state].setup(sim, tenant, params)
        except StateError as exc:
            raise HTTPException(400, f"provider state {body.state!r}: {exc}") from exc
        return {"state": body.state, "tenant": tenant.id, "created": created}

    # -- journals -----------------------------------------------------------------------------
    @router.get("/journal/requests", summary="Requests seen, oldest first")
    async def requests(request: Request, tenant: str | None = None, path: str | None = None,
                       method: str | None = None, status: int | None = None,
                       limit: int | None = None) -> list[dict[str, Any]]:
        return _sim(request).journal.entries(tenant=tenant, path=path, method=method,
                                             limit=limit, status=status)

    @router.delete("/journal/requests", summary="Clear the request journal")
    async def clear_requests(request: Request) -> dict[str, Any]:
        _sim(request).journal.clear()
        return {"cleared": True}

    @router.get("/journal/webhooks", summary="Webhook delivery attempts, oldest first")
    async def webhooks(request: Request, tenant: str | None = None,
                       event_type: str | None = None, outcome: str | None = None,
                       limit: int | None = None) -> list[dict[str, Any]]:
        return _sim(request).webhooks.journal.entries(tenant=tenant, limit=limit,
                                                      event_type=event_type, outcome=outcome)

    @router.delete("/journal/webhooks", summary="Clear the webhook journal")
    async def clear_webhooks(request: Request) -> dict[str, Any]:
        _sim(request).webhooks.journal.clear()
        return {"cleared": True}

    @router.post("/webhooks/flush", summary="Attempt every webhook delivery that is due now")
    async def flush(request: Request) -> dict[str, Any]:
        sim = _sim(request)
        return {"attempted": await sim.webhooks.run_due(), "pending": sim.webhooks.pending()}

    def _snapshot_file(request: Request, name: str) -> Path:
        file = _settings(request).snapshot_file(name)
        if file.is_symlink():  # it could lead out of the state folder
            raise Refusal(400, f"snapshot {name!r} is a symlink",
                          "keep snapshots as plain files in settings.control.state_dir")
        return file

    def _saved(request: Request) -> list[str]:
        folder = _settings(request).state_dir
        return sorted(f.stem for f in folder.glob("*.json")) if folder.is_dir() else []

    return router
