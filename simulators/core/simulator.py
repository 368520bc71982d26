"""The state of one running fake: its vendor, tenants, clock, seed, faults, limits and journals.

`Simulator` is what the pipeline, the control plane and the vendor's handlers share. It owns no
HTTP; `simulators.core.app.build_app` turns it into an ASGI app.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from typing import Any, Protocol, runtime_checkable

from simulators.core.clock import Clock
from simulators.core.faults import FaultEngine, FaultSpec
from simulators.core.idempotency import IdempotencyKeys
from simulators.core.journal import DEFAULT_CAPACITY, Journal
from simulators.core.latency import Latency
from simulators.core.limits import Limits as Limits  # re-exported: callers import it here
from simulators.core.limits import LimitState
from simulators.core.randomness import Seeds
from simulators.core.scheduler import Scheduler
from simulators.core.tenancy import (
    DEFAULT_MAX_AUTO_TENANTS,
    DEFAULT_MAX_OBJECTS,
    Tenant,
    TenantRegistry,
)
from simulators.core.vendor import Engine, Vendor
from simulators.core.webhooks import DEFAULT_CONCURRENCY as DEFAULT_WEBHOOK_CONCURRENCY
from simulators.core.webhooks import WebhookDispatcher

MAX_IDLE = 1.0  # seconds a served fake's background runner sleeps at most between checks


@runtime_checkable
class CollectionFullErrors(Protocol):
    """A vendor's `NativeErrors` that renders its own body for a full collection; without it the
    fake answers with the vendor's generic 400 (`http_error`)."""

    def collection_full(self, collection: str, cap: int) -> Exception: ...


class Simulator:
    def __init__(self, vendor: Vendor, *, seed: int = 0, clock: Clock | None = None,
                 auto_create_tenants: bool = True) -> None:
        self.vendor = vendor
        self.clock = clock or Clock.real()
        self.seeds = Seeds(seed)
        self.tenants = TenantRegistry(vendor.name, auto_create=auto_create_tenants)
        self.scheduler: Scheduler[Engine] = Scheduler(self.tenants.find)
        self.scheduler.handle(vendor.scheduled_work())
        self.scheduler.on_change = self.wake_background
        self.tenants.index = self.scheduler
        self.tenants.caps.full = self._collection_full
        self.faults = FaultEngine()
        self.journal = Journal()
        self.last_advance: dict[str, int] = {}  # what the last `advance` ran, by kind
        self.webhooks = WebhookDispatcher(self)
        self.idempotency = IdempotencyKeys()
        self.latency: Latency | None = None
        self.limits = Limits()
        self.limit_state = LimitState()
        self.settings = {}  # applied at once: see `settings`
        self._initial_seed = seed
        self._baseline: tuple[Latency | None, Limits, dict[str, Any], list[FaultSpec]] | None = None
        self._background: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """Fake-wide settings (a config's `settings:`). Setting them applies the bounds they
        hold (simulators/README.md, "Retention and caps"); the pipeline reads
        `idempotency_retention_seconds` on every keyed request."""
        return self._settings

    @settings.setter
    def settings(self, settings: dict[str, Any]) -> None:
        self._settings = settings
        journal = int(settings.get("journal_max_entries", DEFAULT_CAPACITY))
        self.journal.resize(journal)
        self.webhooks.journal.resize(journal)
        self.webhooks.concurrency = int(settings.get("webhook_concurrency_per_endpoint",
                                                     DEFAULT_WEBHOOK_CONCURRENCY))
        self.tenants.max_auto_created = int(settings.get("max_auto_tenants",
                                                         DEFAULT_MAX_AUTO_TENANTS))
        self.tenants.caps.max_objects = int(settings.get("max_objects_per_collection",
                                                         DEFAULT_MAX_OBJECTS))

    def _collection_full(self, collection: str, cap: int) -> Exception:
        errors = self.vendor.errors
        if isinstance(errors, CollectionFullErrors):
            return errors.collection_full(collection, cap)
        return errors.http_error(400, None, f"Limit reached: at most {cap} {collection} objects "
                                            f"(the fake's max_objects_per_collection).")

    @property
    def seed(self) -> int:
        return self.seeds.seed

    def request_id(self) -> str:
        return "req_" + self.seeds.token("request_ids", 14)

    # -- tenants and the starting state ---------------------------------------------------------
    def declare_tenant(self, tenant_id: str, settings: dict[str, Any] | None = None,
                       schema: Any = None, *, replace: bool = False) -> Tenant:
        """Declare (or update) a tenant with its settings and schema, and let the vendor set it
        up (index its schema, …)."""
        tenant = self.tenants.declare(tenant_id, settings, schema, replace=replace)
        self.vendor.configure_tenant(self, tenant)
        return tenant

    def load_schema(self, data: Any, source: str) -> Any:
        """A per-merchant schema given inline (as its YAML file would hold it) for this vendor;
        raises SchemaError (or ValueError) naming `source`, the key and the fix."""
        from simulators.core.schemas import schema_from_dict

        if self.vendor.schema_rules is None:
            raise ValueError(f"{source}: schema: the fake {self.vendor.name} takes no schemas")
        schema = schema_from_dict(data, self.vendor.schema_rules, source)
        if schema.vendor != self.vendor.name:
            raise ValueError(f"{source}: vendor: the schema is for {schema.vendor!r}; this fake "
                             f"is {self.vendor.name}: give a {self.vendor.name} schema")
        return schema

    def tenant(self, tenant_id: str) -> Tenant | None:
        """A tenant by id for the control plane: declared, one of the vendor's default tenants
        (declared now, with its settings), or auto-created where the fake allows it."""
        tenant = self.tenants.find(tenant_id)
        defaults = self.vendor.default_tenants()
        if tenant is None and tenant_id in defaults:
            tenant = self.declare_tenant(tenant_id, copy.deepcopy(defaults[tenant_id]))
        return tenant or self.tenants.get(tenant_id)

    def default_tenant_id(self) -> str | None:
        """The tenant a control-plane call means when it names none: the first declared."""
        tenants = self.tenants.all()
        if tenants:
            return tenants[0].id
        return next(iter(self.vendor.default_tenants()), None)

    def mark_started(self) -> None:
        """What the fake has now (config, default tenants) is what `reset` returns it to."""
        self.tenants.mark_baseline()
        self._baseline = (self.latency, self.limits, copy.deepcopy(self.settings),
                          [f.spec for f in self.faults.faults.values()])

    def reset(self, seed: int | None = None) -> None:
        """Back to the just-started state: tenants (as declared at start, empty), clock, seed
        streams, faults, latency, limits, journals, pending webhooks, idempotency keys in flight,
        and whatever the vendor holds. `seed` re-seeds; otherwise the seed it started with."""
        if self._baseline is None:
            self.mark_started()
        assert self._baseline is not None
        latency, limits, settings, faults = self._baseline
        self.clock.reset()
        self.seeds.reseed(self._initial_seed if seed is None else seed)
        self._initial_seed = self.seeds.seed
        self.faults = FaultEngine()
        for spec in faults:
            self.faults.add(spec, self.clock.now())
        self.latency, self.limits, self.settings = latency, limits, copy.deepcopy(settings)
        self.limit_state = LimitState()
        self.journal.clear()
        self.webhooks.reset()
        self.idempotency = IdempotencyKeys()
        self.vendor.reset(self)
        for tenant in self.tenants.reset_to_baseline():
            self.vendor.configure_tenant(self, tenant)
        self.scheduler.rebuild(self.tenants.all())

    def state_replaced(self) -> None:
        """Tenant state was restored from a snapshot: re-index its scheduled work and the
        expiry of its idempotency records."""
        self.scheduler.rebuild(self.tenants.all())
        self.idempotency.rebuild(self.tenants.all())

    # -- the clock ----------------------------------------------------------------------------
    def next_due(self) -> float | None:
        times = [t for t in (self.scheduler.next_due(), self.webhooks.next_due()) if t is not None]
        return min(times) if times else None

    async def advance(self, seconds: float) -> float:
        """Move simulated time forward, doing clock-driven work in time order on the way;
        `last_advance` then says what ran (work by kind, webhook delivery attempts)."""
        target = self.clock.now() + seconds
        before = dict(self.scheduler.ran)
        deliveries = 0
        while True:
            due = self.next_due()
            step = max(due, self.clock.now()) if due is not None and due <= target else target
            self.clock.set(step)
            await self.scheduler.run_due(self, step)  # vendor work first: it queues webhooks
            deliveries += await self.webhooks.run_due()
            if step >= target:
                ran = {kind: n - before.get(kind, 0) for kind, n in self.scheduler.ran.items()
                       if n > before.get(kind, 0)}
                if deliveries:
                    ran["webhook delivery attempts"] = deliveries
                self.last_advance = ran
                return self.clock.now()

    async def run_due(self, *, wait: bool = True) -> int:
        """Do whatever is due by the current simulated time (vendor work, then webhooks);
        `wait=False` starts the webhook deliveries and returns (core/webhooks.py)."""
        ran = await self.scheduler.run_due(self, self.clock.now())
        if not wait:
            return ran + self.webhooks.start_due()
        return ran + await self.webhooks.run_due()

    # -- the background runner: sleeps until the next due work, or until woken --------------------
    async def _background_loop(self) -> None:
        assert self._wake is not None
        while True:
            try:
                # on the real clock deliveries go out on their URLs' lanes while this goes on
                # (a slow endpoint must not hold back the others); simulated clocks wait for
                # them, so a run replays the same
                await self.run_due(wait=self.clock.mode != "real")
            except Exception:  # keep serving; log and try again on the next pass
                logging.getLogger("landscape").exception("background work failed")
            due = self.next_due()
            wait = None if due is None else due - self.clock.now()
            if wait is not None and wait <= 0:
                await asyncio.sleep(0)
                continue
            if self.clock.mode == "controlled":
                wait = None  # frozen time moves only by `advance`, which runs the work itself
            if self.clock.mode != "virtual":  # a missed wake-up costs at most a second
                wait = MAX_IDLE if wait is None else min(wait, MAX_IDLE)
            self._wake.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # lands as the wake-up does, and the runner would then never stop
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def wake_background(self) -> None:
        """New work was scheduled or queued: let the background runner recompute its wait."""
        if self._wake is None or self._loop is None:
            return
        try:
            same_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._wake.set()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def start_background(self) -> None:
        if self._background is None:
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._background = self._loop.create_task(self._background_loop())

    async def stop_background(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
            self._background = None
            self._wake = self._loop = None
        await self.webhooks.close()
