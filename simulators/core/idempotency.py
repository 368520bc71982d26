"""Idempotency keys, the way Stripe and Chargebee keep them.

The first request with a key runs; once the endpoint has begun executing, its status and body are
stored and every later request with the same key and the same parameters gets that response
replayed (errors and 500s included). The same key with different parameters gets the vendor's
mismatch error; a second request while the first still runs gets the vendor's "in use" error.
Records live in the tenant's state, so they survive snapshot/restore, and expire on the clock:
an expired record is dropped (oldest first, whichever tenant holds it) on the next keyed request,
so memory holds one retention window of keys, and at most the collection cap per tenant.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from simulators.core.bodies import decode_json
from simulators.core.tenancy import Tenant
from simulators.core.vendor import IdempotencyPolicy

COLLECTION = "_idempotency"


def fingerprint(method: str, path: str, content_type: str, body: bytes) -> str:
    """Method, path and parameters; parameter order does not matter, values do."""
    if "json" in content_type:
        try:  # bounded like any JSON body: deep nesting is opaque bytes here, not a crash
            params: Any = decode_json(body or b"null")
            canonical = json.dumps(params, sort_keys=True)
        except (ValueError, RecursionError):
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
    """Per-fake bookkeeping: keys in flight, and every stored record oldest first (for expiry);
    the records themselves live in each tenant."""

    def __init__(self) -> None:
        self._in_flight: set[tuple[str, str]] = set()
        # (created, tenant, key, record), in the order stored: the clock only moves forward
        self._by_age: deque[tuple[float, Tenant, str, dict[str, Any]]] = deque()

    def rebuild(self, tenants: Iterable[Tenant]) -> None:
        """Index the records of restored tenant state (after a snapshot is loaded)."""
        self._by_age = deque(sorted(
            ((record["created"], tenant, key, record) for tenant in tenants
             for key, record in tenant.data.get(COLLECTION, {}).items()),
            key=lambda entry: entry[0]))

    def expire(self, now: float, window: float) -> None:
        """Drop every record at least `window` old, oldest first: O(1) amortised per record."""
        while self._by_age and now - self._by_age[0][0] >= window:
            _, tenant, key, record = self._by_age.popleft()
            records = tenant.data.get(COLLECTION)
            if records is not None and records.get(key) is record:  # not since replaced
                del records[key]

    def begin(self, policy: IdempotencyPolicy, tenant: Tenant, key: str, fp: str,
              now: float, retention: float | None = None) -> Replay | None:
        """Check a key before the handler runs: a replay, an error, or None (run it).
        `retention` overrides the vendor's window (a fake's `idempotency_retention_seconds`)."""
        if len(key) > policy.max_key_length and policy.too_long:
            raise policy.too_long(key)
        window = policy.retention_seconds if retention is None else retention
        self.expire(now, window)
        records = tenant.collection(COLLECTION)
        record = records.get(key)
        if record is not None and now - record["created"] >= window:  # e.g. not yet indexed
            del records[key]
            record = None  # pruned: reuse runs as a new request
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
        if not store:
            return
        records = tenant.collection(COLLECTION)
        while key not in records and len(records) >= tenant.caps.max_objects:
            del records[next(iter(records))]  # at the cap: the oldest key goes early
        record = {"fingerprint": fp, "created": now, "status": status,
                  "headers": [list(h) for h in headers], "body": body.decode("latin-1")}
        records[key] = record
        self._by_age.append((now, tenant, key, record))

    def abandon(self, tenant: Tenant, key: str) -> None:
        self._in_flight.discard((tenant.id, key))
