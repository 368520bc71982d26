"""The syntax tree: expression nodes and the parsed `Query` (the binder adds `Ref`, `RowNum`
and `OutRef`, which point at bound columns and output positions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Node:
    """Base of expression nodes."""


@dataclass(frozen=True)
class Lit(Node):
    value: Any  # None, str, Decimal or datetime


@dataclass(frozen=True)
class Col(Node):
    qualifier: str | None
    name: str
    text: str  # as written, for error messages


@dataclass(frozen=True)
class Func(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Count(Node):
    arg: Node | None  # None: COUNT(*)
    distinct: bool = False


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * / ||
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Cmp(Node):
    op: str  # = <> < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class Logic(Node):
    op: str  # and | or
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True)
class Like(Node):
    operand: Node
    pattern: Node
    escape: Node | None
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool


# Bound (resolved) references, produced when a query is checked against a catalog.
@dataclass(frozen=True)
class Ref(Node):
    alias: str
    column: str


@dataclass(frozen=True)
class RowNum(Node):
    pass


@dataclass(frozen=True)
class OutRef(Node):
    index: int  # position in the select list (ORDER BY alias / ORDER BY 2)


CONDITIONS = (Cmp, Logic, Not, InList, Like, Between, IsNull)


@dataclass(frozen=True)
class Star:
    qualifier: str | None  # None: SELECT *; "c": SELECT c.*


@dataclass(frozen=True)
class SelectItem:
    expr: Node
    alias: str | None


@dataclass(frozen=True)
class TableRef:
    name: str  # lower case, as written
    alias: str | None


@dataclass(frozen=True)
class Join:
    kind: str  # inner | left | right | full | cross
    table: TableRef
    on: Node | None


@dataclass(frozen=True)
class OrderItem:
    expr: Node
    descending: bool
    nulls_first: bool | None  # None: Oracle default (last ascending, first descending)


@dataclass(frozen=True)
class Query:
    distinct: bool
    top: int | None
    items: tuple[Star | SelectItem, ...]
    source: TableRef
    joins: tuple[Join, ...]
    where: Node | None
    order_by: tuple[OrderItem, ...]
