"""Binding a parsed query to the catalog: tables and columns resolved (NetSuite's errors for the
ones that do not exist), output names chosen, and the plan the evaluator runs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from simulators.netsuite.suiteql.catalog import Catalog
from simulators.netsuite.suiteql.dates import parse_format
from simulators.netsuite.suiteql.errors import SuiteQLError, unsupported
from simulators.netsuite.suiteql.nodes import (
    CONDITIONS,
    Arith,
    Between,
    Cmp,
    Col,
    Count,
    Func,
    InList,
    IsNull,
    Like,
    Lit,
    Logic,
    Neg,
    Node,
    Not,
    OrderItem,
    OutRef,
    Query,
    Ref,
    RowNum,
    Star,
    TableRef,
)
from simulators.netsuite.suiteql.values import format_decimal


@dataclass(frozen=True)
class Source:
    alias: str
    table: str  # canonical
    columns: frozenset[str]


@dataclass(frozen=True)
class Plan:
    sources: tuple[Source, ...]
    joins: tuple[tuple[str, Node | None], ...]  # (kind, bound ON) for sources[1:]
    where: Node | None
    outputs: tuple[tuple[str, Node], ...]  # (result key, bound expression)
    order_by: tuple[OrderItem, ...]
    aggregate: bool
    distinct: bool
    top: int | None


class Binder:
    def __init__(self, query: Query, catalog: Catalog) -> None:
        self.query = query
        self.catalog = catalog
        self.sources: list[Source] = []

    def plan(self) -> Plan:
        q = self.query
        self.add_source(q.source)
        joins: list[tuple[str, Node | None]] = []
        for join in q.joins:
            self.add_source(join.table)
            joins.append((join.kind, None if join.on is None else self.condition(join.on)))
        where = None if q.where is None else self.condition(q.where)

        outputs: list[tuple[str, Node]] = []
        unnamed = 0
        for item in q.items:
            if isinstance(item, Star):
                outputs.extend(self.star(item))
                continue
            bound = self.scalar(item.expr, aggregate=True)
            if item.alias is not None:
                name = item.alias
            elif isinstance(bound, Ref):
                name = bound.column
            elif isinstance(bound, RowNum):
                name = "rownum"
            else:
                unnamed += 1
                name = f"expr{unnamed}"
            outputs.append((name, bound))

        aggregate = any(isinstance(expr, Count) for _, expr in outputs)
        if aggregate and not all(isinstance(expr, Count) for _, expr in outputs):
            raise unsupported("a counting query may select only COUNT(...) items")

        names = [name for name, _ in outputs]
        order_by = tuple(
            OrderItem(self.order_expr(item.expr, names), item.descending, item.nulls_first)
            for item in q.order_by
        )
        if aggregate and any(not isinstance(item.expr, OutRef) for item in order_by):
            raise unsupported("a counting query can only be ordered by its own columns")
        return Plan(
            tuple(self.sources), tuple(joins), where, tuple(outputs), order_by, aggregate,
            q.distinct, q.top,
        )  # fmt: skip

    def add_source(self, ref: TableRef) -> None:
        canonical = self.catalog.table(ref.name)
        if canonical is None:
            raise SuiteQLError(f"Invalid search type: {ref.name}.", search_error=False)
        alias = ref.alias or ref.name
        if any(s.alias == alias for s in self.sources):
            raise unsupported(f"table alias {alias!r} is used twice")
        columns = frozenset(c.lower() for c in self.catalog.columns(canonical))
        self.sources.append(Source(alias, canonical, columns))

    def identifiers(self) -> str:
        return "{" + ", ".join(f"{s.alias}={s.table}" for s in self.sources) + "}"

    def star(self, item: Star) -> list[tuple[str, Node]]:
        sources = self.sources
        if item.qualifier is not None:
            sources = [s for s in self.sources if s.alias == item.qualifier]
            if not sources:
                raise SuiteQLError(
                    f"Unknown identifier '{item.qualifier}'. "
                    f"Available identifiers are: {self.identifiers()}."
                )
        return [(c, Ref(s.alias, c)) for s in sources for c in sorted(s.columns)]

    def column(self, col: Col) -> Node:
        if col.qualifier is not None:
            for source in self.sources:
                if source.alias == col.qualifier:
                    if col.name not in source.columns:
                        text = col.text.split(".", 1)[1]
                        raise SuiteQLError(
                            f"Field '{text}' for record '{source.table}' was not found."
                        )
                    return Ref(source.alias, col.name)
            text = col.text.split(".", 1)[0]
            raise SuiteQLError(
                f"Unknown identifier '{text}'. Available identifiers are: {self.identifiers()}."
            )
        owners = [s for s in self.sources if col.name in s.columns]
        if len(owners) == 1:
            return Ref(owners[0].alias, col.name)
        if not owners and col.name == "rownum":
            return RowNum()
        problem = "Ambiguous" if owners else "Unknown"
        raise SuiteQLError(
            f"{problem} identifier '{col.text}'. Available identifiers are: {self.identifiers()}."
        )

    def order_expr(self, expr: Node, names: list[str]) -> Node:
        if isinstance(expr, Lit) and isinstance(expr.value, Decimal):
            position = expr.value
            if position != position.to_integral_value() or not 1 <= position <= len(names):
                raise unsupported(f"ORDER BY position {format_decimal(position)} is out of range")
            return OutRef(int(position) - 1)
        if isinstance(expr, Col) and expr.qualifier is None and expr.name in names:
            return OutRef(names.index(expr.name))
        return self.scalar(expr)

    def condition(self, node: Node) -> Node:
        if not isinstance(node, CONDITIONS):
            raise unsupported("expected a condition")
        if isinstance(node, Logic):
            return Logic(node.op, tuple(self.condition(n) for n in node.operands))
        if isinstance(node, Not):
            return Not(self.condition(node.operand))
        if isinstance(node, Cmp):
            return Cmp(node.op, self.scalar(node.left), self.scalar(node.right))
        if isinstance(node, InList):
            items = tuple(self.scalar(n) for n in node.items)
            return InList(self.scalar(node.operand), items, node.negated)
        if isinstance(node, Like):
            escape = None if node.escape is None else self.scalar(node.escape)
            return Like(self.scalar(node.operand), self.scalar(node.pattern), escape, node.negated)
        if isinstance(node, Between):
            return Between(
                self.scalar(node.operand), self.scalar(node.low), self.scalar(node.high),
                node.negated,
            )  # fmt: skip
        assert isinstance(node, IsNull)
        return IsNull(self.scalar(node.operand), node.negated)

    def scalar(self, node: Node, *, aggregate: bool = False) -> Node:
        if isinstance(node, CONDITIONS):
            raise unsupported("a condition cannot be used as a value")
        if isinstance(node, Lit):
            return node
        if isinstance(node, Col):
            return self.column(node)
        if isinstance(node, Count):
            if not aggregate:
                raise unsupported("COUNT is only allowed in the select list")
            return Count(None if node.arg is None else self.scalar(node.arg), node.distinct)
        if isinstance(node, Func):
            args = tuple(self.scalar(arg) for arg in node.args)
            if node.name in ("to_char", "to_date") and len(args) == 2:
                fmt = args[1]
                if not isinstance(fmt, Lit) or not isinstance(fmt.value, str):
                    raise unsupported(f"{node.name.upper()} needs a literal format")
                parse_format(fmt.value)  # reject a bad format before reading any row
            return Func(node.name, args)
        if isinstance(node, Arith):
            return Arith(node.op, self.scalar(node.left), self.scalar(node.right))
        if isinstance(node, Neg):
            return Neg(self.scalar(node.operand))
        raise unsupported(f"unexpected expression {type(node).__name__}")
