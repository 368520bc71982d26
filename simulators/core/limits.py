"""Request limits (rate, burst, concurrency per tenant; body size) and the state that enforces them.

The pipeline checks them at its limits stage (see pipeline.py); the control plane reads and sets
them at `/_sim/limits`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

# The body limit of a vendor that documents none (`NativeErrors.max_body_bytes`) [U]: far above
# any API payload of theirs, and a hostile body cannot fill the process's memory.
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024


class Limits(BaseModel):
    """Request limits the vendor enforces (None: unlimited; the body size: the default)."""

    model_config = ConfigDict(extra="forbid")

    rate_per_second: float | None = Field(None, gt=0, description="sustained requests/s")
    burst: int | None = Field(None, ge=1, description="token-bucket size (default: rate)")
    max_concurrency: int | None = Field(None, ge=1, description="requests in flight")
    max_body_bytes: int | None = Field(None, ge=1, description=(
        "largest request body, for every tenant (checked before auth); a larger one gets the "
        "vendor's 413 without being read in full. Default: the vendor's documented limit, else "
        f"{DEFAULT_MAX_BODY_BYTES} bytes"))


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class LimitState:
    """Token buckets and in-flight counts per tenant, on the clock's monotonic time (real when
    served, virtual in-process)."""

    buckets: dict[str, _Bucket] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)

    def take(self, limits: Limits, tenant: str, now: float) -> float | None:
        """Spend a token; returns None if allowed, else seconds until one is available."""
        if limits.rate_per_second is None:
            return None
        capacity = float(limits.burst or max(1, int(limits.rate_per_second)))
        bucket = self.buckets.setdefault(tenant, _Bucket(capacity, now))
        bucket.tokens = min(capacity,
                            bucket.tokens + (now - bucket.updated) * limits.rate_per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / limits.rate_per_second

