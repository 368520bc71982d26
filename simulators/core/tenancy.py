"""Per-tenant state: a Stripe account, a Chargebee site, a NetSuite account, a Salesforce org.

State is plain JSON-able data (collections of objects keyed by id, plus counters), so every vendor
snapshots, restores and resets the same way, and a snapshot file is readable by a person.
Two tenants never share a collection.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

SNAPSHOT_FORMAT = 1
SCHEDULE = "_schedule"  # clock-driven work (see core/scheduler.py)


class ScheduleIndex(Protocol):
    """What indexes scheduled work for the clock (the fake's `Scheduler`)."""

    def push(self, tenant: Tenant, key: str, entry: dict[str, Any]) -> None: ...


@dataclass
class Tenant:
    id: str
    vendor: str
    settings: dict[str, Any] = field(default_factory=dict)  # from the topology/config, read-only
    schema: Any = None  # simulators.core.schemas.Schema, when the tenant has one
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    # what a vendor derives from settings/schema/data (indexes, compiled schemas): never
    # snapshotted, dropped whenever the state it derives from is replaced
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    index: ScheduleIndex | None = field(default=None, repr=False, compare=False)

    def schedule(self, key: str, at: float, kind: str, *, lane: str | None = None,
                 **data: Any) -> None:
        """Do `kind` work on this tenant at simulated time `at` (replacing any entry under
        `key`); the vendor's `scheduled_work()[kind]` runs it. `lane`: see core/scheduler.py."""
        entry = {"at": at, "kind": kind, "lane": lane, **data}
        self.collection(SCHEDULE)[key] = entry
        if self.index is not None:
            self.index.push(self, key, entry)

    def unschedule(self, key: str) -> None:
        self.data.get(SCHEDULE, {}).pop(key, None)

    def collection(self, name: str) -> dict[str, Any]:
        """The objects of one kind (e.g. "customers"), keyed by id; created on first use."""
        return self.data.setdefault(name, {})

    def next_number(self, name: str, start: int = 1) -> int:
        """A per-tenant sequence (NetSuite internal ids, Chargebee invoice numbers)."""
        value = self.counters.get(name, start - 1) + 1
        self.counters[name] = value
        return value

    def reset(self) -> None:
        self.data.clear()
        self.counters.clear()
        self.derived.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"format": SNAPSHOT_FORMAT, "vendor": self.vendor, "tenant": self.id,
                "data": copy.deepcopy(self.data), "counters": dict(self.counters)}

    def restore(self, snapshot: dict[str, Any]) -> None:
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"unsupported snapshot format {snapshot.get('format')!r}; "
                             f"expected {SNAPSHOT_FORMAT}")
        if snapshot.get("vendor") != self.vendor:
            raise ValueError(f"snapshot is of a {snapshot.get('vendor')!r} tenant, "
                             f"not {self.vendor!r}")
        self.data = copy.deepcopy(snapshot.get("data", {}))
        self.counters = dict(snapshot.get("counters", {}))
        self.derived.clear()


class TenantRegistry:
    """All tenants of one fake. Unknown tenants are created on demand when `auto_create` is set."""

    def __init__(self, vendor: str, *, auto_create: bool = True) -> None:
        self.vendor = vendor
        self.auto_create = auto_create
        self._tenants: dict[str, Tenant] = {}
        self.index: ScheduleIndex | None = None  # given to every tenant
        self._baseline: dict[str, tuple[dict[str, Any], Any]] = {}  # see `mark_baseline`

    def declare(self, tenant_id: str, settings: dict[str, Any] | None = None,
                schema: Any = None, *, replace: bool = False) -> Tenant:
        """Create a tenant, or update one: its settings are merged (`replace`: replaced) and a
        schema given replaces the old one. The tenant's data is kept either way."""
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            tenant = Tenant(tenant_id, self.vendor, dict(settings or {}), schema)
            tenant.index = self.index
            self._tenants[tenant_id] = tenant
        else:
            if replace:
                tenant.settings = dict(settings or {})
                tenant.schema = schema
            else:
                tenant.settings.update(settings or {})
                if schema is not None:
                    tenant.schema = schema
            tenant.derived.clear()
        return tenant

    def mark_baseline(self) -> None:
        """Remember the tenants declared so far (config, defaults) as the fake's starting set."""
        self._baseline = {t.id: (copy.deepcopy(t.settings), t.schema)
                          for t in self._tenants.values()}

    def reset_to_baseline(self) -> list[Tenant]:
        """Back to the starting set of tenants, empty; returns them (to be configured again)."""
        self._tenants = {}
        for tenant_id, (settings, schema) in self._baseline.items():
            self.declare(tenant_id, copy.deepcopy(settings), schema)
        return self.all()

    def get(self, tenant_id: str) -> Tenant | None:
        tenant = self._tenants.get(tenant_id)
        if tenant is None and self.auto_create:
            tenant = self.declare(tenant_id)
        return tenant

    def find(self, tenant_id: str) -> Tenant | None:
        """Like `get`, but never creates one (for the control plane)."""
        return self._tenants.get(tenant_id)

    def all(self) -> list[Tenant]:
        return list(self._tenants.values())

    def save(self, path: Path) -> None:
        path.write_text(json.dumps([t.snapshot() for t in self.all()], indent=1))

    def load(self, path: Path) -> None:
        for snap in json.loads(path.read_text()):
            self.declare(snap["tenant"]).restore(snap)
