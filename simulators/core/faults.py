"""The fault catalogue and the engine that decides which faults hit a request or a webhook.

A fault has a kind, a probability, a match (method, path glob, tenant; for webhooks the event type
and endpoint URL), and optionally a window on the simulated clock (seconds after the fault was
added) and a cap on how many matching requests it may hit (`first_n`). Draws come from the seeded
"faults" stream, so the same seed and the same requests give the same faults.

Where each kind acts (see pipeline.py):
- before the handler: latency, http_error, rate_limit, concurrency_limit, brownout, auth_expired,
  hang, drop_before, decline (a directive the vendor's model reads: "decline this charge")
- on charges the fake makes by itself (renewals, dunning retries): decline, see `draw_decline`

A fault's `matched` counts the requests (or charges) it matched; `hits` counts the times it acted.
A `decline` hits only when a charge was declined by it: a request answered by another fault, or
one that failed or never charged, leaves its hits alone (see `DeclineDirective`).
- after the handler committed: drop_after, truncate, slow_body, http_error with after_commit
- on webhook deliveries: webhook_drop, webhook_duplicate, webhook_delay, webhook_reorder,
  webhook_burst
"""

from __future__ import annotations

import builtins
import fnmatch
import itertools
import random
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulators.core.latency import Latency

RequestKind = Literal[
    "latency", "http_error", "rate_limit", "concurrency_limit", "brownout", "auth_expired",
    "hang", "drop_before", "drop_after", "truncate", "slow_body", "decline",
]
WebhookKind = Literal[
    "webhook_drop", "webhook_duplicate", "webhook_delay", "webhook_reorder", "webhook_burst",
]
POST_COMMIT = {"drop_after", "truncate", "slow_body"}
WEBHOOK_KINDS = set(get_args(WebhookKind))


class Match(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str | None = Field(None, description="HTTP method, e.g. POST")
    path: str | None = Field(None, description="glob on the path, e.g. /v1/payment_intents*")
    tenant: str | None = Field(None, description="tenant id (Stripe key, Chargebee site, …)")
    event_type: str | None = Field(None, description="webhooks: glob on the event type")
    url: str | None = Field(None, description="webhooks: glob on the endpoint URL")


class FaultSpec(BaseModel):
    """What a user asks for (control plane, CLI, config file)."""

    model_config = ConfigDict(extra="forbid")

    kind: RequestKind | WebhookKind
    probability: float = Field(1.0, ge=0, le=1)
    match: Match = Field(default_factory=Match)
    window_start: float | None = Field(None, ge=0, description="active from N s after added")
    window_end: float | None = Field(None, gt=0, description="inactive from N s after added")
    first_n: int | None = Field(None, ge=1, description="hit at most the first N matches")
    # kind parameters
    status: int | None = Field(None, ge=100, le=599, description="http_error, brownout")
    code: str | None = Field(None, description="vendor error code (http_error), decline code")
    message: str | None = None
    after_commit: bool = Field(False, description="http_error: run the handler first")
    retry_after: float | None = Field(None, ge=0, description="rate_limit: Retry-After seconds")
    latency: Latency | None = Field(None, description="latency kind; extra latency on others")
    seconds: float | None = Field(None, ge=0, description="hang duration, webhook delay")
    limit: int | None = Field(None, ge=0, description="concurrency_limit: max in flight")
    keep_fraction: float | None = Field(None, ge=0, lt=1, description="truncate: body kept")
    chunk_delay_ms: float | None = Field(None, ge=0, description="slow_body: delay per chunk")
    copies: int | None = Field(None, ge=1, description="webhook_duplicate/burst: extra copies")

    @model_validator(mode="after")
    def _check(self) -> FaultSpec:
        required = {"latency": ["latency"], "concurrency_limit": ["limit"],
                    "webhook_delay": ["seconds"]}.get(self.kind, [])
        missing = [name for name in required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"fault kind {self.kind!r} needs {', '.join(missing)}")
        if self.kind == "brownout" and self.window_end is None:
            raise ValueError("a brownout needs window_end (seconds after it is added)")
        if (self.window_start is not None and self.window_end is not None
                and self.window_end <= self.window_start):
            raise ValueError("window_end must be after window_start")
        return self


@dataclass
class Fault:
    id: str
    spec: FaultSpec
    added_at: float
    hits: int = 0
    matched: int = 0
    in_flight: int = 0  # concurrency_limit bookkeeping

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, **self.spec.model_dump(exclude_none=True), "added_at": self.added_at,
                "matched": self.matched, "hits": self.hits}

    def active(self, now: float) -> bool:
        elapsed = now - self.added_at
        spec = self.spec
        if spec.window_start is not None and elapsed < spec.window_start:
            return False
        if spec.window_end is not None and elapsed >= spec.window_end:
            return False
        return not (spec.first_n is not None and self.matched >= spec.first_n)

    def matches(self, method: str, path: str, tenant: str | None,
                event_type: str | None = None, url: str | None = None) -> bool:
        m = self.spec.match
        return ((m.method is None or m.method.upper() == method.upper())
                and (m.path is None or fnmatch.fnmatchcase(path, m.path))
                and (m.tenant is None or m.tenant == tenant)
                and (m.event_type is None or (event_type is not None
                                              and fnmatch.fnmatchcase(event_type, m.event_type)))
                and (m.url is None or (url is not None and fnmatch.fnmatchcase(url, m.url))))


class DeclineDirective(dict[str, Any]):
    """What a `decline` fault tells the vendor's model: {"code", "message", "fault"}.

    The fault's hit is counted when the decline is applied, that is the first time the model
    reads its `code` (it does so only when it charges): `apply()`, or `directive["code"]` /
    `directive.get("code")` for models that read it as a plain dict.
    """

    def __init__(self, fault: Fault) -> None:
        super().__init__(code=fault.spec.code, message=fault.spec.message, fault=fault.id)
        self._fault: Fault | None = fault

    def apply(self) -> str | None:
        """The decline code (None: the vendor's default); counts the fault's hit, once."""
        if self._fault is not None:
            self._fault.hits += 1
            self._fault = None
        return super().get("code")

    def __getitem__(self, key: str) -> Any:
        if key == "code":
            return self.apply()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key == "code":
            return self.apply()
        return super().get(key, default)

    @property
    def applied(self) -> bool:
        return self._fault is None


@dataclass
class FaultEngine:
    """The faults installed on one fake."""

    faults: dict[str, Fault] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, spec: FaultSpec, now: float) -> Fault:
        fault = Fault(f"flt_{next(self._ids)}", spec, now)
        self.faults[fault.id] = fault
        return fault

    def remove(self, fault_id: str) -> bool:
        return self.faults.pop(fault_id, None) is not None

    def clear(self) -> None:
        self.faults.clear()

    def list(self) -> list[dict[str, Any]]:
        return [f.describe() for f in self.faults.values()]

    def draw(self, rng: random.Random, now: float, *, method: str, path: str,
             tenant: str | None, webhook: bool = False, event_type: str | None = None,
             url: str | None = None) -> builtins.list[Fault]:  # `list` alone: the method above
        """The faults that hit this request (or delivery), in the order they were added."""
        hit: list[Fault] = []
        for fault in list(self.faults.values()):
            if (fault.spec.kind in WEBHOOK_KINDS) != webhook:
                continue
            if not fault.active(now) or not fault.matches(method, path, tenant, event_type, url):
                continue
            fault.matched += 1
            # Always draw, so one fault's probability never shifts another fault's draws.
            if rng.random() < fault.spec.probability:
                if fault.spec.kind != "decline":  # counted when applied (DeclineDirective)
                    fault.hits += 1
                hit.append(fault)
        return hit

    def draw_decline(self, rng: random.Random, now: float, *, method: str, path: str,
                     tenant: str | None) -> DeclineDirective | None:
        """For a charge the fake makes by itself (no request: a renewal, a dunning retry),
        described as the request that would make it (e.g. POST /v1/invoices/{id}/pay): the
        directive of the first `decline` fault that hits it, or None. Only `decline` faults are
        considered; each matching one is counted as matched and draws, like `draw`. The hit is
        counted when the directive is applied."""
        chosen: DeclineDirective | None = None
        for fault in list(self.faults.values()):
            if fault.spec.kind != "decline":
                continue
            if not fault.active(now) or not fault.matches(method, path, tenant):
                continue
            fault.matched += 1
            if rng.random() < fault.spec.probability and chosen is None:
                chosen = DeclineDirective(fault)
        return chosen
