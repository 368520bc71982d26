"""SOQL (the fake Salesforce's evaluator) against SQLite as the reference: random tables of
accounts and random queries in the subset both read the same way, the same rows in the same
order. The subset: comparisons of a string or a number with a literal (=, !=, <, <=, >, >=),
IN, AND / OR / NOT with parentheses, ORDER BY with a unique tie-breaker, LIMIT and OFFSET.
Strings are lower-case ASCII (SOQL compares text case-insensitively, SQLite's NOCASE too).
Null handling differs by design and has its own unit tests (tests/unit/test_soql.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.salesforce.soql import FieldInfo, execute

FIELDS = {"Id": FieldInfo("Id", "id"), "Name": FieldInfo("Name", "string"),
          "Seats__c": FieldInfo("Seats__c", "int"), "IsDeleted": FieldInfo("IsDeleted", "boolean")}
NAMES = st.text("abcxyz", min_size=0, max_size=3)
SEATS = st.integers(-3, 3)


class Accounts:
    """A one-object catalog over generated rows."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def object_name(self, name: str) -> str | None:
        return "Account" if name.lower() == "account" else None

    def fields(self, sobject: str) -> dict[str, FieldInfo]:
        return FIELDS

    def records(self, sobject: str, include_deleted: bool) -> Iterable[dict[str, Any]]:
        return self.rows

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["Id"] == record_id), None)


def _quote(value: str | int) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["cmp", "cmp", "in"] + (["and", "or", "not"] if depth < 2
                                                       else [])))
    if kind in ("and", "or"):
        left, right = draw(conditions(depth + 1)), draw(conditions(depth + 1))
        return f"({left} {kind.upper()} {right})"
    if kind == "not":
        return f"(NOT {draw(conditions(depth + 1))})"
    field, values = draw(st.sampled_from([("Name", NAMES), ("Seats__c", SEATS)]))
    if kind == "in":
        items = draw(st.lists(values, min_size=1, max_size=3))
        return f"{field} IN ({', '.join(_quote(v) for v in items)})"
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
    return f"{field} {op} {_quote(draw(values))}"


ROWS = st.lists(st.tuples(NAMES, SEATS), max_size=12).map(
    lambda rows: [{"Id": f"001{i:012d}AAA", "Name": n, "Seats__c": s, "IsDeleted": False}
                  for i, (n, s) in enumerate(rows)])


def sqlite_ids(rows: list[dict[str, Any]], where: str, order: str, tail: str) -> list[str]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE Account (Id TEXT, Name TEXT COLLATE NOCASE, Seats__c INTEGER)")
    db.executemany("INSERT INTO Account VALUES (?, ?, ?)",
                   [(r["Id"], r["Name"], r["Seats__c"]) for r in rows])
    sql = f"SELECT Id FROM Account WHERE {where} ORDER BY {order}, Id {tail}"
    return [row[0] for row in db.execute(sql.replace("!=", "<>"))]


@settings(max_examples=150)
@given(rows=ROWS, where=conditions(), order=st.sampled_from(["Name", "Seats__c DESC"]),
       limit=st.none() | st.integers(1, 5), offset=st.none() | st.integers(0, 3))
def test_soql_selects_what_sqlite_selects(rows: list[dict[str, Any]], where: str, order: str,
                                          limit: int | None, offset: int | None) -> None:
    tail = (f"LIMIT {limit}" if limit is not None else "") + \
        (f" OFFSET {offset}" if offset is not None else "")
    soql = f"SELECT Id FROM Account WHERE {where} ORDER BY {order}, Id {tail}"
    got = [r["Id"] for r in execute(soql, Accounts(rows), now=datetime(2026, 1, 1, tzinfo=UTC))
           .records]
    sql_tail = (f"LIMIT {limit if limit is not None else -1}"
                + (f" OFFSET {offset}" if offset is not None else "")) if (
        limit is not None or offset is not None) else ""
    assert got == sqlite_ids(rows, where, order, sql_tail), soql
