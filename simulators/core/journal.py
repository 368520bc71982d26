"""Request and webhook journals: what the fake saw and did, for tests and invariant checks.

Bounded (a ring buffer of the newest `capacity` entries, the fake's `journal_max_entries`), so a
long load test never grows memory without limit; `total` still counts every entry recorded.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from typing import Any

DEFAULT_CAPACITY = 10_000


class Journal:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.total = 0

    @property
    def capacity(self) -> int:
        return self._entries.maxlen or 0

    def resize(self, capacity: int) -> None:
        """Keep at most `capacity` entries from now on (the newest, when it shrinks)."""
        if capacity != self.capacity:
            self._entries = deque(self._entries, maxlen=capacity)

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        self.total += 1
        entry.setdefault("seq", self.total)
        self._entries.append(entry)
        return entry

    def entries(self, *, tenant: str | None = None, path: str | None = None,
                method: str | None = None, limit: int | None = None,
                **equals: Any) -> list[dict[str, Any]]:
        """Entries oldest first; `path` is a glob; other keywords must equal the entry's field."""
        found = [e for e in self._entries
                 if (tenant is None or e.get("tenant") == tenant)
                 and (method is None or e.get("method", "").upper() == method.upper())
                 and (path is None or fnmatch.fnmatchcase(e.get("path", ""), path))
                 and all(e.get(k) == v for k, v in equals.items() if v is not None)]
        return found[-limit:] if limit else found

    def clear(self) -> None:
        self._entries.clear()
