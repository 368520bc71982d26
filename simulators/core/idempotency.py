"""Idempotency keys, the way Stripe and Chargebee keep them.

The first request with a key runs; once the endpoint has begun executing, its status and body are
stored and every later request with the same key and the same parameters gets that response
replayed (errors and 500s included). The same key with different parameters gets the vendor's
mismatch error; a second request while the first still runs gets the vendor's "in use" error.
Records live in the tenant's state, so they survive snapshot/restore, and expire on the clock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from simulators.core.tenancy import Tenant
from simulators.core.vendor import IdempotencyPolicy

COLLECTION = "_idempotency"


def fingerprint(method: str, path: str, content_type: str, body: bytes) -> str:
    """Method, path and parameters; parameter order does not matter, values do."""
    if "json" in content_type:
        try:
            params: Any = json.loads(body or b"null")
            canonical = json.dumps(params, sort_keys=True)
        except ValueError:
            canonical = body.decode("latin-1")
    else:
        canonical = json.dumps(sorted(parse_qsl(body.decode("latin-1"), keep_blank_values=True)))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


@dataclass
class Replay:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class IdempotencyKeys:
    """Per-fake bookkeeping of in-flight keys; stored results live in each tenant."""

    def __init__(self) -> None:
        self._in_flight: set[tuple[str, str]] = set()

    def begin(self, policy: IdempotencyPolicy, tenant: Tenant, key: str, fp: str,
              now: float, retention: float | None = None) -> Replay | None:
        """Check a key before the handler runs: a replay, an error, or None (run it).
        `retention` overrides the vendor's window (a fake's `idempotency_retention_seconds`)."""
        if len(key) > policy.max_key_length and policy.too_long:
            raise policy.too_long(key)
        records = tenant.collection(COLLECTION)
        record = records.get(key)
        window = policy.retention_seconds if retention is None else retention
        if record is not None and now - record["created"] >= window:
            del records[key]  # pruned: reuse runs as a new request
            record = None
        if record is not None:
            if record["fingerprint"] != fp:
                raise policy.mismatch(key)
            return Replay(record["status"], [tuple(h) for h in record["headers"]],
                          record["body"].encode("latin-1"))
        if (tenant.id, key) in self._in_flight:
            raise policy.in_flight(key)
        self._in_flight.add((tenant.id, key))
        return None

    def finish(self, tenant: Tenant, key: str, fp: str, now: float, status: int,
               headers: list[tuple[str, str]], body: bytes, *, store: bool) -> None:
        self._in_flight.discard((tenant.id, key))
        if store:
            tenant.collection(COLLECTION)[key] = {
                "fingerprint": fp, "created": now, "status": status,
                "headers": [list(h) for h in headers], "body": body.decode("latin-1")}

    def abandon(self, tenant: Tenant, key: str) -> None:
        self._in_flight.discard((tenant.id, key))
