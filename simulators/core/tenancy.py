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
from typing import Any

SNAPSHOT_FORMAT = 1


@dataclass
class Tenant:
    id: str
    vendor: str
    settings: dict[str, Any] = field(default_factory=dict)  # from the topology/config, read-only
    schema: Any = None  # simulators.core.schemas.Schema, when the tenant has one
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

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


class TenantRegistry:
    """All tenants of one fake. Unknown tenants are created on demand when `auto_create` is set."""

    def __init__(self, vendor: str, *, auto_create: bool = True) -> None:
        self.vendor = vendor
        self.auto_create = auto_create
        self._tenants: dict[str, Tenant] = {}

    def declare(self, tenant_id: str, settings: dict[str, Any] | None = None,
                schema: Any = None) -> Tenant:
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            tenant = Tenant(tenant_id, self.vendor, settings or {}, schema)
            self._tenants[tenant_id] = tenant
        else:
            tenant.settings.update(settings or {})
            if schema is not None:
                tenant.schema = schema
        return tenant

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
