"""Records found by a field's value without reading every record of their kind: a fake's
lookups by external id, by owner or by reference, which would otherwise grow with the
tenant's data (BENCHMARKS.md, "The other three fakes as their data grows").

An index is derived state (`tenant.derived`): never snapshotted, dropped by a restore, a reset
or a schema change, and built from the records on first use. It answers for the collection
object it was built from and the number of records it has counted; a replaced collection (a
restore, a rolled-back unit of work) or one whose size changed without it is indexed again.
The models keep it current (`added`, `removed`, `replaced`, `changing`); every hit is checked
against the record it names, a stale one rebuilds the index, and the ids of one value come in
the order they were indexed (a caller that must answer in the collection's order scans when a
value has several).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulators.core.tenancy import Tenant

Records = dict[str, dict[str, Any]]
KeyOf = Callable[[dict[str, Any]], Any]  # a record's key in an index; None: not indexed


class FieldIndex:
    """The ids of a collection's records by one key, each key's ids in the order indexed."""

    def __init__(self, records: Records, key_of: KeyOf, id_field: str) -> None:
        self.records, self.key_of, self.id_field = records, key_of, id_field
        self.ids: dict[Any, dict[str, None]] = {}
        for record_id, record in records.items():
            self.add(record_id, key_of(record))
        self.size = len(records)

    def current(self, records: Records) -> bool:
        return self.records is records and self.size == len(records)

    def hits(self, key: Any) -> list[dict[str, Any]] | None:
        """The records whose key is `key`; None when the index cannot tell (a stale hit)."""
        try:
            ids = self.ids.get(key, {})
        except TypeError:  # not hashable: let the caller compare
            return None
        found = []
        for record_id in ids:
            record = self.records.get(record_id)
            if record is None or self.key_of(record) != key:
                return None
            found.append(record)
        return found

    def add(self, record_id: str, key: Any) -> None:
        if key is not None:
            self.ids.setdefault(key, {})[record_id] = None

    def drop(self, record_id: str, key: Any) -> None:
        group = self.ids.get(key)
        if group is not None:
            group.pop(record_id, None)
            if not group:
                del self.ids[key]


def hits(tenant: Tenant, records: Records, kind: str, name: str, key_of: KeyOf, key: Any,
         *, id_field: str = "id") -> list[dict[str, Any]] | None:
    """The records of `kind` whose key `name` (computed by `key_of`) is `key`, by index (built
    if need be, again if a hit was stale); None if the index cannot tell."""
    indexes: dict[str, FieldIndex] = tenant.derived.setdefault(f"lookup:{kind}", {})
    for _ in range(2):
        index = indexes.get(name)
        if index is None or not index.current(records):
            index = indexes[name] = FieldIndex(records, key_of, id_field)
        found = index.hits(key)
        if found is not None:
            return found
        del indexes[name]
    return None


def _kept(tenant: Tenant, records: Records, kind: str, size: int) -> list[FieldIndex]:
    """The indexes of `kind` in step with its collection when it held `size` records; any
    other is dropped (and built again when next needed)."""
    indexes: dict[str, FieldIndex] = tenant.derived.get(f"lookup:{kind}") or {}
    for name, index in list(indexes.items()):
        if index.records is not records or index.size != size:
            del indexes[name]
    return list(indexes.values())


def added(tenant: Tenant, records: Records, kind: str, record: dict[str, Any]) -> None:
    """`record` was just stored as a new record of `kind`."""
    for index in _kept(tenant, records, kind, len(records) - 1):
        index.add(record[index.id_field], index.key_of(record))
        index.size += 1


def removed(tenant: Tenant, records: Records, kind: str, record: dict[str, Any]) -> None:
    """`record` was just removed from the records of `kind`."""
    for index in _kept(tenant, records, kind, len(records) + 1):
        index.drop(record[index.id_field], index.key_of(record))
        index.size -= 1


def replaced(tenant: Tenant, records: Records, kind: str, old: dict[str, Any],
             new: dict[str, Any]) -> None:
    """`new` was just stored in place of `old`, under the same id (with the same key, it keeps
    its place among its key's ids)."""
    for index in _kept(tenant, records, kind, len(records)):
        before, after = index.key_of(old), index.key_of(new)
        if before != after:
            index.drop(old[index.id_field], before)
            index.add(new[index.id_field], after)


def changing(tenant: Tenant, records: Records, kind: str,
             record: dict[str, Any]) -> Callable[[], None]:
    """Call before changing a stored `record` in place, and what it returns once changed."""
    held = [(index, index.key_of(record)) for index in _kept(tenant, records, kind,
                                                              len(records))]

    def changed() -> None:
        for index, old in held:
            new = index.key_of(record)
            if new != old:
                index.drop(record[index.id_field], old)
                index.add(record[index.id_field], new)
    return changed
