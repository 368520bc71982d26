"""What goes wrong with schemas: a file that cannot be used, and a value a field refuses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SchemaIssue:
    """One problem in a schema file: where (`path`, `line`) and what to do about it."""

    path: str  # dotted key path, e.g. "objects.Account.fields.Foo.type"; "" for the whole file
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SchemaError(Exception):
    """A schema file that cannot be used. `str()` gives one line per problem, e.g.

    ``scenarios/schemas/x.yaml:7: objects.Account.fields.Foo.type: 'strin' is not a field type;
    did you mean 'string'? (use one of: string, textarea, …)``
    """

    def __init__(self, source: str, issues: Iterable[SchemaIssue]) -> None:
        self.source = source
        self.issues = list(issues)
        super().__init__("\n".join(issue.render(source) for issue in self.issues))


class FieldValueError(ValueError):
    """A value a field does not accept. `reason` is short and plain, for vendor error bodies."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def show(value: Any, limit: int = 40) -> str:
    """`value` as messages quote it: its repr, cut short so one line stays readable."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
