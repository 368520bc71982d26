"""Running a plan over the catalog: joins, WHERE in three-valued logic, ORDER BY, DISTINCT, TOP,
counting, and each result item rendered as NetSuite renders it.

Evaluation runs synchronously on the event loop, so it is bounded: a query may spend so many
row visits (each row read from a table, each pair a join tries, each value computed for the
result) plus LIKE steps; past that budget it fails with `SearchTimeout`, and a join or result
that would pass it is refused before it is built."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from simulators.core.patterns import LikeError, compile_like
from simulators.netsuite.suiteql.catalog import Catalog
from simulators.netsuite.suiteql.errors import SearchTimeout, unsupported
from simulators.netsuite.suiteql.functions import arith, call, checked, to_number
from simulators.netsuite.suiteql.nodes import (
    Arith,
    Between,
    Cmp,
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
)
from simulators.netsuite.suiteql.parser import parse
from simulators.netsuite.suiteql.planner import Binder, Plan, Source
from simulators.netsuite.suiteql.values import compare, normalize_value, render, sort_key


@dataclass
class _Row:
    """One joined row: each source alias to its row (None on the outer side of a join)."""

    tables: dict[str, dict[str, Any] | None]
    rownum: int = 0


def _value(node: Node, row: _Row) -> Any:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Ref):
        record = row.tables.get(node.alias)
        return None if record is None else record.get(node.column)
    if isinstance(node, RowNum):
        return Decimal(row.rownum)
    if isinstance(node, Func):
        return call(node.name, [_value(arg, row) for arg in node.args])
    if isinstance(node, Neg):
        operand = _value(node.operand, row)
        if operand is None:
            return None
        return checked(-to_number(operand))
    if isinstance(node, Arith):
        return arith(node.op, _value(node.left, row), _value(node.right, row))
    raise unsupported(f"cannot evaluate {type(node).__name__}")


# Row visits plus LIKE steps: a visit costs ~3-8 us here, so about a second at most. The 4-way
# cross join of 31 customers that held the event loop for 6.8 s (953,000 pairs) is refused.
DEFAULT_ROW_BUDGET = 250_000


class _Budget:
    """What a query may still spend, in row visits and LIKE steps."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, cost: int) -> None:
        self.left -= cost
        if self.left < 0:
            raise SearchTimeout()


def _truth(node: Node, row: _Row, budget: _Budget) -> bool | None:
    """Three-valued logic: True, False or None (unknown)."""
    if isinstance(node, Logic):
        results = [_truth(n, row, budget) for n in node.operands]
        if node.op == "and":
            if False in results:
                return False
            return None if None in results else True
        if True in results:
            return True
        return None if None in results else False
    if isinstance(node, Not):
        result = _truth(node.operand, row, budget)
        return None if result is None else not result
    if isinstance(node, Cmp):
        order = compare(_value(node.left, row), _value(node.right, row))
        if order is None:
            return None
        return {
            "=": order == 0, "<>": order != 0, "<": order < 0,
            "<=": order <= 0, ">": order > 0, ">=": order >= 0,
        }[node.op]  # fmt: skip
    if isinstance(node, IsNull):
        is_null = _value(node.operand, row) is None
        return is_null != node.negated
    if isinstance(node, InList):
        operand = _value(node.operand, row)
        unknown = False
        for item in node.items:
            order = compare(operand, _value(item, row))
            if order == 0:
                return not node.negated
            unknown = unknown or order is None
        return None if unknown else node.negated
    if isinstance(node, Between):
        operand = _value(node.operand, row)
        low = compare(operand, _value(node.low, row))
        high = compare(operand, _value(node.high, row))
        inside = _and(None if low is None else low >= 0, None if high is None else high <= 0)
        return None if inside is None else inside != node.negated
    if isinstance(node, Like):
        return _like(node, row, budget)
    raise unsupported(f"cannot evaluate {type(node).__name__} as a condition")


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _like(node: Like, row: _Row, budget: _Budget) -> bool | None:
    text = render(_value(node.operand, row))
    pattern = render(_value(node.pattern, row))
    escape = None if node.escape is None else render(_value(node.escape, row))
    if text is None or pattern is None or (node.escape is not None and escape is None):
        return None
    try:  # case-sensitive, as in Oracle; no ESCAPE clause means no escape character
        matcher = compile_like(pattern, escape=escape, case_insensitive=False)
    except LikeError as exc:
        raise unsupported(str(exc)) from None
    matched, steps = matcher.search(text)
    budget.spend(steps)
    return matched != node.negated


def _referenced(plan: Plan) -> dict[str, set[str]]:
    """The columns the plan reads, per source alias (`*` is already expanded to them)."""
    wanted: dict[str, set[str]] = {source.alias: set() for source in plan.sources}
    stack: list[Any] = [plan.where, *(on for _, on in plan.joins),
                        *(expr for _, expr in plan.outputs), *(o.expr for o in plan.order_by)]
    while stack:
        node = stack.pop()
        if isinstance(node, Ref):
            wanted.setdefault(node.alias, set()).add(node.column)
        elif isinstance(node, tuple | list):
            stack.extend(node)
        elif isinstance(node, Node):  # every Node is a dataclass
            stack.extend(getattr(node, f.name) for f in fields(node))  # type: ignore[arg-type]
    return wanted


def _rows(catalog: Catalog, source: Source, columns: set[str]) -> list[dict[str, Any]]:
    normalized = getattr(catalog, "normalized_rows", None)
    if normalized is not None:  # a catalog that builds rows of just these columns, normalized
        rows: list[dict[str, Any]] = normalized(source.table, columns)
        return rows
    return [
        {str(key).lower(): normalize_value(value) for key, value in record.items()}
        for record in catalog.rows(source.table)
    ]


def _joined(plan: Plan, catalog: Catalog, budget: _Budget) -> list[_Row]:
    first = plan.sources[0]
    wanted = _referenced(plan)
    tables = [list(_rows(catalog, source, wanted[source.alias])) for source in plan.sources]
    if all(on is None for _, on in plan.joins):
        # a cross product's size is known up front: refuse it before building any of it
        product = 1
        for table in tables:
            product *= max(len(table), 1)
        budget.spend(product)
    rows = [_Row({first.alias: record}) for record in tables[0]]
    budget.spend(len(rows))
    seen_aliases = [first.alias]
    for source, (kind, on), right in zip(plan.sources[1:], plan.joins, tables[1:], strict=True):
        # a nested loop tries every pair: refuse an oversized join before trying any
        budget.spend(len(right) + len(rows) * len(right))
        matched_right: set[int] = set()
        joined: list[_Row] = []
        for row in rows:
            matched = False
            for index, record in enumerate(right):
                candidate = _Row({**row.tables, source.alias: record})
                if on is None or _truth(on, candidate, budget) is True:
                    joined.append(candidate)
                    matched = True
                    matched_right.add(index)
            if not matched and kind in ("left", "full"):
                joined.append(_Row({**row.tables, source.alias: None}))
        if kind in ("right", "full"):
            for index, record in enumerate(right):
                if index not in matched_right:
                    nulls: dict[str, dict[str, Any] | None] = dict.fromkeys(seen_aliases)
                    joined.append(_Row({**nulls, source.alias: record}))
        seen_aliases.append(source.alias)
        rows = joined
    return rows


def _order(items: list[tuple[list[Any], list[Any]]], order_by: Sequence[OrderItem]) -> None:
    """Stable multi-key sort in place; items are (output values, ORDER BY values)."""
    for position in reversed(range(len(order_by))):
        spec = order_by[position]
        nulls_first = spec.descending if spec.nulls_first is None else spec.nulls_first
        present = [item for item in items if item[1][position] is not None]
        missing = [item for item in items if item[1][position] is None]
        present.sort(key=lambda item, p=position: sort_key(item[1][p]), reverse=spec.descending)
        items[:] = missing + present if nulls_first else present + missing


def _item(names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"links": []}
    for name, value in zip(names, values, strict=True):
        text = render(value)
        if text is not None:
            item[name] = text
        else:
            item.pop(name, None)
    return item


def _run(plan: Plan, catalog: Catalog, budget: _Budget) -> list[dict[str, Any]]:
    accepted: list[_Row] = []
    for row in _joined(plan, catalog, budget):
        row.rownum = len(accepted) + 1
        if plan.where is None or _truth(plan.where, row, budget) is True:
            accepted.append(row)

    names = [name for name, _ in plan.outputs]
    budget.spend(len(accepted) * (len(plan.outputs) + len(plan.order_by)))
    if plan.aggregate:
        values = [
            _count(expr, accepted) if isinstance(expr, Count) else None for _, expr in plan.outputs
        ]
        return [_item(names, values)]

    items: list[tuple[list[Any], list[Any]]] = []
    for row in accepted:
        out = [_value(expr, row) for _, expr in plan.outputs]
        keys = [
            out[spec.expr.index] if isinstance(spec.expr, OutRef) else _value(spec.expr, row)
            for spec in plan.order_by
        ]
        items.append((out, keys))
    _order(items, plan.order_by)

    results: list[dict[str, Any]] = []
    seen: set[tuple[str | None, ...]] = set()
    for out, _ in items:
        if plan.top is not None and len(results) >= plan.top:
            break
        if plan.distinct:
            signature = tuple(render(v) for v in out)
            if signature in seen:
                continue
            seen.add(signature)
        results.append(_item(names, out))
    return results


def _count(node: Count, rows: list[_Row]) -> Decimal:
    if node.arg is None:
        return Decimal(len(rows))
    arg = node.arg
    values = [v for v in (_value(arg, row) for row in rows) if v is not None]
    if node.distinct:
        return Decimal(len({render(v) for v in values}))
    return Decimal(len(values))


def execute(
    q: str | Query, catalog: Catalog, *, row_budget: int | None = None
) -> list[dict[str, Any]]:
    """Run a SuiteQL query; every result item (ordered), rendered as NetSuite renders it.

    `row_budget` bounds the row visits plus LIKE steps (default: the catalog's `row_budget`
    attribute if it has one, else `DEFAULT_ROW_BUDGET`); past it, `SearchTimeout`.
    """
    query = parse(q) if isinstance(q, str) else q
    if not isinstance(query, Query):
        raise unsupported("the query must be a string")
    if row_budget is None:
        row_budget = int(getattr(catalog, "row_budget", None) or DEFAULT_ROW_BUDGET)
    try:
        plan = Binder(query, catalog).plan()
        return _run(plan, catalog, _Budget(row_budget))
    except RecursionError:
        raise unsupported("query nested too deeply") from None
