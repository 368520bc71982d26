"""What a query reads: a catalog of tables, their columns and rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol


class Catalog(Protocol):
    def table(self, name: str) -> str | None:
        """Canonical table name for `name` (any case), or None if there is no such table."""

    def columns(self, table: str) -> set[str]:
        """Lower-case column names of a canonical table."""

    def rows(self, table: str) -> Iterable[Mapping[str, Any]]:
        """Rows keyed by lower-case column name; a missing key is NULL."""


class MappingCatalog:
    """A catalog over plain dicts: `{"customer": [{"id": 1, "email": "a@b.c"}, ...]}`.

    Columns default to the union of the rows' keys; pass `columns` to declare them (a table
    with no rows still has columns, and a declared column may be absent from every row).
    """

    def __init__(
        self,
        tables: Mapping[str, Sequence[Mapping[str, Any]]],
        columns: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self._rows = {name.lower(): list(rows) for name, rows in tables.items()}
        declared_columns = {name.lower(): cols for name, cols in (columns or {}).items()}
        self._columns: dict[str, set[str]] = {}
        for name, rows in self._rows.items():
            declared = declared_columns.get(name)
            if declared is None:
                self._columns[name] = {key.lower() for row in rows for key in row}
            else:
                self._columns[name] = {c.lower() for c in declared}

    def table(self, name: str) -> str | None:
        key = name.lower()
        return key if key in self._rows else None

    def columns(self, table: str) -> set[str]:
        return set(self._columns[table])

    def rows(self, table: str) -> Iterable[Mapping[str, Any]]:
        return self._rows[table]
