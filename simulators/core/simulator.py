"""The state of one running fake: its vendor, tenants, clock, seed, faults, limits and journals.

`Simulator` is what the pipeline, the control plane and the vendor's handlers share. It owns no
HTTP; `simulators.core.app.build_app` turns it into an ASGI app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from simulators.core.clock import Clock
from simulators.core.faults import FaultEngine
from simulators.core.idempotency import IdempotencyKeys
from simulators.core.journal import Journal
from simulators.core.latency import Latency
from simulators.core.randomness import Seeds
from simulators.core.tenancy import TenantRegistry
from simulators.core.vendor import Vendor
from simulators.core.webhooks import WebhookDispatcher

BACKGROUND_INTERVAL = 0.05  # seconds of real time between background passes


class Limits(BaseModel):
    """Per-tenant request limits the vendor enforces (None = unlimited)."""

    model_config = ConfigDict(extra="forbid")

    rate_per_second: float | None = Field(None, gt=0, description="sustained requests/s")
    burst: int | None = Field(None, ge=1, description="token-bucket size (default: rate)")
    max_concurrency: int | None = Field(None, ge=1, description="requests in flight")


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class LimitState:
    """Token buckets and in-flight counts per tenant. Rates are real time: load is real."""

    buckets: dict[str, _Bucket] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)

    def take(self, limits: Limits, tenant: str) -> float | None:
        """Spend a token; returns None if allowed, else seconds until one is available."""
        if limits.rate_per_second is None:
            return None
        capacity = float(limits.burst or max(1, int(limits.rate_per_second)))
        now = time.monotonic()
        bucket = self.buckets.setdefault(tenant, _Bucket(capacity, now))
        bucket.tokens = min(capacity,
                            bucket.tokens + (now - bucket.updated) * limits.rate_per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / limits.rate_per_second


class Simulator:
    def __init__(self, vendor: Vendor, *, seed: int = 0, clock: Clock | None = None,
                 auto_create_tenants: bool = True) -> None:
        self.vendor = vendor
        self.clock = clock or Clock.real()
        self.seeds = Seeds(seed)
        self.tenants = TenantRegistry(vendor.name, auto_create=auto_create_tenants)
        self.faults = FaultEngine()
        self.journal = Journal()
        self.webhooks = WebhookDispatcher(self)
        self.idempotency = IdempotencyKeys()
        self.latency: Latency | None = None
        self.limits = Limits()
        self.limit_state = LimitState()
        self.settings: dict[str, Any] = {}
        self._background: asyncio.Task | None = None

    @property
    def seed(self) -> int:
        return self.seeds.seed

    def request_id(self) -> str:
        return "req_" + self.seeds.token("request_ids", 14)

    # -- the clock ----------------------------------------------------------------------------
    async def advance(self, seconds: float) -> float:
        """Move simulated time forward, doing clock-driven work in time order on the way."""
        target = self.clock.now() + seconds
        while True:
            steps = [t for t in (self.vendor.next_due(self), self.webhooks.next_due())
                     if t is not None and t <= target]
            step = max(min(steps), self.clock.now()) if steps else target
            self.clock.set(step)
            await self.run_due()
            if step >= target:
                return self.clock.now()

    async def run_due(self) -> None:
        """Do whatever is due by the current simulated time (vendor work, then webhooks)."""
        due = self.vendor.next_due(self)
        if due is not None and due <= self.clock.now():
            await self.vendor.tick(self, self.clock.now())
        await self.webhooks.run_due()

    async def _background_loop(self) -> None:
        while True:
            await asyncio.sleep(BACKGROUND_INTERVAL)
            try:
                await self.run_due()
            except Exception:  # keep serving; log and try again on the next pass
                logging.getLogger("landscape").exception("background work failed")

    def start_background(self) -> None:
        if self._background is None:
            self._background = asyncio.get_running_loop().create_task(self._background_loop())

    async def stop_background(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
            self._background = None
        await self.webhooks.close()
