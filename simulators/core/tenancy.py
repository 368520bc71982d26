"""Per-tenant state: a Stripe account, a Chargebee site, a NetSuite account, a Salesforce org.

State is plain JSON-able data (collections of objects keyed by id, plus counters), so every vendor
snapshots, restores and resets the same way, and a snapshot file is readable by a person.
Two tenants never share a collection.

Bounded, so that millions of requests never grow memory without limit: a fake auto-creates at
most `max_auto_tenants` tenants (then an unknown key is refused as if it did not exist), and a
collection holds at most `max_objects_per_collection` objects (then adding one raises the
vendor's error). Collections named `_…` are the engine's bookkeeping, bounded by their own
retention instead (see simulators/README.md, "Retention and caps").
"""

from __future__ import annotations

import copy
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from simulators.core.snapshot import copy_tree

SNAPSHOT_FORMAT = 1
SCHEDULE = "_schedule"  # clock-driven work (see core/scheduler.py)
DEFAULT_MAX_OBJECTS = 100_000  # per collection of one tenant
DEFAULT_MAX_AUTO_TENANTS = 1_000  # per fake

# (collection, cap) -> the vendor's error for a full collection (raised by the handler)
CollectionFull = Callable[[str, int], Exception]


class CollectionFullError(Exception):
    """A full collection, when no vendor error is wired in (a bare `TenantRegistry`)."""


def _no_vendor_error(collection: str, cap: int) -> Exception:
    return CollectionFullError(f"{collection}: at most {cap} objects per tenant")


@dataclass
class Caps:
    """What every tenant of one fake may hold (from the fake's settings)."""

    max_objects: int = DEFAULT_MAX_OBJECTS
    full: CollectionFull = _no_vendor_error


class Collection(dict[str, Any]):
    """One kind of object of a tenant, keyed by id: a dict that refuses a new key past the cap.

    Replacing an object never counts; `_…` collections are never refused. A deep copy (a
    snapshot) is a plain dict, so snapshots stay plain JSON-able data.
    """

    __slots__ = ("name", "caps")

    def __init__(self, name: str, caps: Caps, objects: dict[str, Any] | None = None) -> None:
        super().__init__(objects or {})
        self.name = name
        self.caps = caps

    def __setitem__(self, key: str, value: Any) -> None:
        if (len(self) >= self.caps.max_objects and key not in self
                and not self.name.startswith("_")):
            raise self.caps.full(self.name, self.caps.max_objects)
        super().__setitem__(key, value)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)


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
    caps: Caps = field(default_factory=Caps, repr=False, compare=False)  # the fake's, shared

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
        objects = self.data.get(name)
        if objects is None:
            objects = self.data[name] = Collection(name, self.caps)
        return objects

    def by_age(self, name: str, field_: str) -> AgeIndex:
        """The objects of `name` oldest first by their time field `field_`, for retention (see
        `AgeIndex`); kept in `derived`, so rebuilt after a restore or reset."""
        objects = self.collection(name)
        index = self.derived.get(f"age:{name}")
        if not isinstance(index, AgeIndex) or index.objects is not objects:
            index = self.derived[f"age:{name}"] = AgeIndex(objects, field_)
        return index

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
                "data": {name: copy_tree(dict(objects)) for name, objects in self.data.items()},
                "counters": dict(self.counters)}

    def restore(self, snapshot: dict[str, Any]) -> None:
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"unsupported snapshot format {snapshot.get('format')!r}; "
                             f"expected {SNAPSHOT_FORMAT}")
        if snapshot.get("vendor") != self.vendor:
            raise ValueError(f"snapshot is of a {snapshot.get('vendor')!r} tenant, "
                             f"not {self.vendor!r}")
        self.data = {name: Collection(name, self.caps, objects)
                     for name, objects in copy_tree(snapshot.get("data", {})).items()}
        self.counters = dict(snapshot.get("counters", {}))
        self.derived.clear()


class AgeIndex:
    """A collection's objects oldest first, so retention drops the expired ones (or the oldest,
    at the cap) in O(1) amortised per object, never rescanning the collection.

    Whoever stores an object in the collection `add`s it here too. Built from the collection
    (sorted once) on first use; an entry whose object was since removed or replaced is skipped.
    """

    def __init__(self, objects: dict[str, Any], field_: str) -> None:
        self.objects = objects
        self.field = field_
        self._order = deque(sorted(((obj[field_], key, obj) for key, obj in objects.items()),
                                   key=lambda entry: entry[0]))

    def add(self, key: str, obj: dict[str, Any], at: float | None = None) -> None:
        """Store `obj` under `key`; `at`: its time for retention when not its own field's."""
        self.objects[key] = obj
        self._order.append((obj[self.field] if at is None else at, key, obj))

    def drop_before(self, cutoff: float) -> list[str]:
        """Remove the objects whose time is before `cutoff`; returns their keys."""
        return self._drop(lambda: self._order[0][0] < cutoff)

    def drop_oldest(self, keep: int) -> list[str]:
        """Remove the oldest objects until at most `keep` are left; returns their keys."""
        return self._drop(lambda: len(self.objects) > keep)

    def _drop(self, more: Callable[[], bool]) -> list[str]:
        dropped = []
        while self._order and more():
            _, key, obj = self._order.popleft()
            if self.objects.get(key) is obj:  # not since removed or replaced
                del self.objects[key]
                dropped.append(key)
        return dropped


class TenantRegistry:
    """All tenants of one fake. Unknown tenants are created on demand when `auto_create` is set,
    up to `max_auto_created` of them (after that, `get` finds none: the key is unknown)."""

    def __init__(self, vendor: str, *, auto_create: bool = True,
                 max_auto_created: int = DEFAULT_MAX_AUTO_TENANTS) -> None:
        self.vendor = vendor
        self.auto_create = auto_create
        self.max_auto_created = max_auto_created
        self.caps = Caps()  # given to every tenant
        self._auto_created = 0
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
            tenant.index, tenant.caps = self.index, self.caps
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
        self._auto_created = 0
        for tenant_id, (settings, schema) in self._baseline.items():
            self.declare(tenant_id, copy.deepcopy(settings), schema)
        return self.all()

    def get(self, tenant_id: str) -> Tenant | None:
        tenant = self._tenants.get(tenant_id)
        if tenant is None and self.auto_create and self._auto_created < self.max_auto_created:
            self._auto_created += 1
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
