"""Generic checks of parsed YAML that collect every problem, with its line, instead of stopping
at the first: a person fixing a schema file wants the whole list at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simulators.core.schemas.errors import SchemaIssue, show
from simulators.core.schemas.rules import suggest

KeyPath = tuple[str, ...]  # a key path in the file, e.g. ("objects", "Account", "fields")


class Checker:
    """Collects `SchemaIssue`s; `lines` maps key paths to their 1-based line (may be empty)."""

    def __init__(self, source: str, lines: dict[KeyPath, int]) -> None:
        self.source = source
        self.lines = lines
        self.issues: list[SchemaIssue] = []

    def error(self, path: KeyPath, message: str) -> None:
        """Report a problem at `path`, on the line of its nearest key that has one."""
        line = None
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line:
                break
        self.issues.append(SchemaIssue(".".join(path), message, line))

    def mapping(self, value: Any, path: KeyPath, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, str)]
            for key in bad:
                self.error((*path, str(key)), f"key {key!r} must be text; put it in quotes")
            return {k: v for k, v in value.items() if isinstance(k, str)}
        self.error(path, f"expected {what} written as 'key: value' lines, "
                         f"got {type(value).__name__} {show(value)}")
        return None

    def known_keys(self, data: dict[str, Any], allowed: Iterable[str], path: KeyPath) -> None:
        allowed = list(allowed)
        for key in data:
            if key not in allowed:
                self.error((*path, key), f"unknown key {key!r}{suggest(key, allowed)} "
                                         f"(allowed here: {', '.join(allowed)})")

    def text(self, data: dict[str, Any], key: str, path: KeyPath, required: bool = False,
             example: str = "") -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                hint = f", e.g. '{key}: {example}'" if example else ""
                self.error(path, f"missing required key {key!r}; add it{hint}")
            return None
        if not isinstance(value, str) or not value.strip():
            self.error((*path, key), f"{key!r} must be non-empty text, got {show(value)}")
            return None
        return value

    def flag(self, data: dict[str, Any], key: str, path: KeyPath) -> bool | None:
        value = data.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.error((*path, key), f"{key!r} must be true or false, got {show(value)}")
        return None

    def count(self, data: dict[str, Any], key: str, path: KeyPath, low: int,
              high: int) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error((*path, key), f"{key!r} must be a whole number from {low} to {high}, "
                                     f"got {show(value)}")
            return None
        return value
