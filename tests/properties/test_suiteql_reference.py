"""SuiteQL (the fake NetSuite's evaluator) against SQLite as the reference: random customer and
transaction tables and random queries in the subset both read the same way, the same items.
The subset: typed expressions (columns, literals, NULL, unary minus, + - *, ||, LOWER UPPER
TRIM NVL COALESCE TO_CHAR), comparisons, [NOT] IN, [NOT] BETWEEN, [NOT] LIKE [ESCAPE],
IS [NOT] NULL, AND / OR / NOT; INNER / LEFT / RIGHT / FULL / CROSS / comma joins and
self-joins; DISTINCT, TOP, COUNT(*) / COUNT(x) / COUNT(DISTINCT x), ROWNUM <= n;
ORDER BY expression / alias / position with ASC / DESC and NULLS FIRST / LAST; output keys
(column, alias, exprN), NULLs left out of the item, case-insensitive keywords and names.
Results are compared in order when the ORDER BY is total, as multisets otherwise.
Not covered: dates (SQLite has none), `/`, TO_NUMBER / TO_DATE, text-number conversions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.netsuite.suiteql import MappingCatalog, execute

COLUMNS = {  # column: type; the text columns never hold digits, so SQLite's affinity stays out
    "customer": {"id": "num", "name": "text", "score": "num", "tag": "text", "isinactive": "text"},
    "transaction": {"id": "num", "entity": "num", "amount": "num", "memo": "text"},
}
# cased letters ASCII only (SQLite's UPPER/LOWER fold ASCII only), mostly letters
ALPHABET = st.sampled_from("aAbBaAbB _%'€")


@st.composite
def _mostly(draw: st.DrawFn, values: st.SearchStrategy[Any], *nulls: Any) -> Any:
    """A value four times in five, else one of `nulls`."""
    return draw(st.sampled_from(nulls)) if draw(st.integers(0, 4)) == 4 else draw(values)


# "" is NULL in SuiteQL: loaded into SQLite as NULL
TEXTS = _mostly(st.text(ALPHABET, min_size=1, max_size=3), "", None)
NUMS = _mostly(st.integers(-3, 3), None)
ALIASES = {"customer": ["c", "cust", "customer"], "transaction": ["t", "tx", "transaction"]}


def _customers(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [{"id": i + 1, "name": n, "score": s, "tag": g, "isinactive": b}
            for i, (n, s, g, b) in enumerate(rows)]


def _transactions(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    # a record reference {"id": ...} reads as its internal id (an int here: a text id would
    # compare as a number but sort as text, where SQLite sorts a number)
    return [{"id": i + 1, "entity": {"id": e, "refName": "x"} if ref and e is not None else e,
             "amount": a, "memo": m} for i, (e, ref, a, m) in enumerate(rows)]


TABLES = st.fixed_dictionaries({
    "customer": st.lists(st.tuples(TEXTS, NUMS, TEXTS, st.booleans()), min_size=1, max_size=6)
    .map(_customers),
    "transaction": st.lists(st.tuples(NUMS | st.integers(1, 5), st.booleans(), NUMS, TEXTS),
                            min_size=0, max_size=6).map(_transactions),
})


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "T" if value else "F"  # SuiteQL booleans are 'T' / 'F'
    if isinstance(value, dict):
        return value["id"]
    return None if value == "" else value  # Oracle: '' is NULL


def _catalog(tables: dict[str, list[dict[str, Any]]]) -> MappingCatalog:
    # odd rows leave their NULLs out altogether (a missing key is NULL) and write their keys
    # in title case (keys are read case-insensitively)
    rows = {name: [{k.title() if i % 2 else k: v for k, v in row.items()
                    if v is not None or i % 2 == 0}
                   for i, row in enumerate(records)] for name, records in tables.items()}
    return MappingCatalog(rows, columns=COLUMNS)


def _sqlite(tables: dict[str, list[dict[str, Any]]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA case_sensitive_like = ON")  # SuiteQL's LIKE is case-sensitive (Oracle)
    for name, columns in COLUMNS.items():
        cols = ", ".join(f"{c} {'INTEGER' if t == 'num' else 'TEXT'}" for c, t in columns.items())
        db.execute(f'CREATE TABLE "{name}" ({cols})')
        db.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(columns))})',
                       [tuple(_sqlite_value(row[c]) for c in columns) for row in tables[name]])
    return db


@dataclass
class Expr:
    ours: str  # SuiteQL text
    theirs: str  # SQLite text
    column: str | None = None  # a bare column: the item is named after it
    number: bool = False  # a number literal: ORDER BY would read it as a position


@dataclass
class Scope:
    sources: list[tuple[str, str]]  # (alias, table)
    qualify: bool  # write columns as alias.col (always, once there is a join)
    case: Callable[[str], str]  # keywords and identifiers: SuiteQL reads them in any case
    rownum: int | None = None
    items: list[tuple[Expr, str]] = field(default_factory=list)  # (expression, result key)

    def k(self, text: str) -> str:
        return self.case(text)


def _text_literal(value: str) -> Expr:
    quoted = "'" + value.replace("'", "''") + "'"
    return Expr(quoted, quoted if value else "NULL")  # Oracle: '' is NULL


def _column(draw: st.DrawFn, sc: Scope, kind: str) -> Expr:
    alias, table = draw(st.sampled_from(sc.sources))
    col = draw(st.sampled_from([c for c, t in COLUMNS[table].items() if t == kind]))
    if sc.qualify:
        return Expr(f"{sc.k(alias)}.{sc.k(col)}", f'"{alias}".{col}', col)
    return Expr(sc.k(col), col, col)


@st.composite
def numbers(draw: st.DrawFn, sc: Scope, depth: int = 0, reals: bool = False) -> Expr:
    """A number; `reals` adds literals such as 1.5 and 2E0 (exact in binary; conditions only:
    SQLite writes a REAL result as 2.0 where SuiteQL writes 2)."""
    kind = draw(st.sampled_from(["col"] * 4 + ["lit", "lit", "null"] + (["real"] if reals else [])
                                + (["neg", "arith", "arith", "nvl", "coalesce"] if depth < 2
                                   else [])))
    if kind == "real":
        text = draw(st.sampled_from(["1.5", ".5", "2.25", "2E0", "1e1", "0.0", "3.000"]))
        return Expr(text, text, number=True)
    if kind == "col":
        return _column(draw, sc, "num")
    if kind == "lit":
        value = draw(st.integers(-3, 3))
        text = f"({value})" if value < 0 else str(value)
        return Expr(text, text, number=True)
    if kind == "null":
        return Expr(sc.k("NULL"), "NULL")
    if kind == "neg":
        inner = draw(numbers(sc, depth + 1, reals))
        return Expr(f"-({inner.ours})", f"-({inner.theirs})")
    if kind == "arith":  # no `/`: Oracle divides decimals, SQLite integers
        a, b = draw(numbers(sc, depth + 1, reals)), draw(numbers(sc, depth + 1, reals))
        op = draw(st.sampled_from("+-*"))
        return Expr(f"({a.ours} {op} {b.ours})", f"({a.theirs} {op} {b.theirs})")
    args = draw(st.lists(numbers(sc, depth + 1, reals), min_size=2,
                         max_size=2 if kind == "nvl" else 3))
    name = sc.k(kind.upper())
    return Expr(f"{name}({', '.join(a.ours for a in args)})",
                f"{'IFNULL' if kind == 'nvl' else 'COALESCE'}({', '.join(a.theirs for a in args)})")


@st.composite
def texts(draw: st.DrawFn, sc: Scope, depth: int = 0) -> Expr:
    kind = draw(st.sampled_from(["col"] * 4 + ["lit", "lit"] + (
        ["upper", "lower", "trim", "concat", "nvl", "coalesce", "to_char"] if depth < 2 else [])))
    if kind == "col":
        return _column(draw, sc, "text")
    if kind == "lit":
        return _text_literal(draw(st.text(ALPHABET, max_size=3)))
    if kind in ("upper", "lower", "trim"):
        inner = draw(texts(sc, depth + 1))
        theirs = f"{kind.upper()}({inner.theirs})"
        if kind == "trim":  # a TRIM down to '' is NULL in Oracle
            theirs = f"NULLIF({theirs}, '')"
        return Expr(f"{sc.k(kind.upper())}({inner.ours})", theirs)
    if kind == "to_char":
        inner = draw(numbers(sc, depth + 1))
        return Expr(f"{sc.k('TO_CHAR')}({inner.ours})", f"CAST({inner.theirs} AS TEXT)")
    if kind == "concat":  # Oracle's || reads NULL as '' (and a '' result is NULL)
        a = draw(texts(sc, depth + 1) | numbers(sc, depth + 1))
        b = draw(texts(sc, depth + 1) | numbers(sc, depth + 1))
        return Expr(f"({a.ours} || {b.ours})",
                    f"NULLIF(IFNULL({a.theirs}, '') || IFNULL({b.theirs}, ''), '')")
    args = draw(st.lists(texts(sc, depth + 1), min_size=2, max_size=2 if kind == "nvl" else 3))
    return Expr(f"{sc.k(kind.upper())}({', '.join(a.ours for a in args)})",
                f"{'IFNULL' if kind == 'nvl' else 'COALESCE'}({', '.join(a.theirs for a in args)})")


def values(sc: Scope) -> st.SearchStrategy[Expr]:
    return numbers(sc) | texts(sc)


@st.composite
def escaped_like(draw: st.DrawFn) -> tuple[Expr, Expr]:
    """A literal pattern and its ESCAPE character: Oracle refuses an escape before anything
    but %, _ and itself (ORA-01424), so only those are escaped."""
    esc = draw(st.sampled_from(["!", "\\", "%", "_"]))
    parts = draw(st.lists(st.sampled_from(
        ["a", "B", " ", "'", "€", esc + "%", esc + "_", esc + esc]
        + [wildcard for wildcard in "%_" if wildcard != esc]), max_size=4))
    return _text_literal("".join(parts)), _text_literal(esc)


@st.composite
def conditions(draw: st.DrawFn, sc: Scope, depth: int = 0) -> Expr:
    kind = draw(st.sampled_from(["cmp", "cmp", "in", "between", "like", "like", "null"]
                                + (["and", "or", "not"] if depth < 2 else [])))
    if kind in ("and", "or"):
        a, b = draw(conditions(sc, depth + 1)), draw(conditions(sc, depth + 1))
        word = sc.k(kind.upper())
        return Expr(f"({a.ours} {word} {b.ours})", f"({a.theirs} {kind.upper()} {b.theirs})")
    if kind == "not":
        a = draw(conditions(sc, depth + 1))
        return Expr(f"{sc.k('NOT')} ({a.ours})", f"NOT ({a.theirs})")
    if kind == "null":
        a = draw(values(sc))
        neg = draw(st.sampled_from(["", "NOT "]))
        return Expr(f"{a.ours} {sc.k('IS ' + neg + 'NULL')}", f"{a.theirs} IS {neg}NULL")
    neg = draw(st.sampled_from(["", "NOT "]))
    if kind == "like":
        # mostly a text column; a number LIKE reads the number's text
        a = _column(draw, sc, "text") if draw(st.booleans()) else draw(texts(sc) | numbers(sc))
        how = draw(st.sampled_from(["wildcards", "escaped", "value"]))
        if how == "wildcards":  # case matters: SuiteQL's LIKE is case-sensitive
            p = _text_literal("".join(draw(st.lists(st.sampled_from("aAbB€%_"), max_size=3))))
        elif how == "escaped":
            p, esc = draw(escaped_like())
            return Expr(f"{a.ours} {sc.k(neg + 'LIKE')} {p.ours} {sc.k('ESCAPE')} {esc.ours}",
                        f"{a.theirs} {neg}LIKE {p.theirs} ESCAPE {esc.theirs}")
        else:
            p = draw(texts(sc))
        return Expr(f"{a.ours} {sc.k(neg + 'LIKE')} {p.ours}", f"{a.theirs} {neg}LIKE {p.theirs}")
    # both sides of one type: Oracle converts text to a number where SQLite's affinity differs
    kind_of_value = draw(st.sampled_from(["num", "text"]))
    typed = partial(numbers, reals=True) if kind_of_value == "num" else texts
    a = _column(draw, sc, kind_of_value) if draw(st.booleans()) else draw(typed(sc))
    if kind == "cmp":
        op = draw(st.sampled_from(["=", "!=", "<>", "<", "<=", ">", ">="]))
        b = draw(typed(sc))
        return Expr(f"{a.ours} {op} {b.ours}", f"{a.theirs} {op} {b.theirs}")
    if kind == "in":
        items = draw(st.lists(typed(sc), min_size=1, max_size=3))
        return Expr(f"{a.ours} {sc.k(neg + 'IN')} ({', '.join(i.ours for i in items)})",
                    f"{a.theirs} {neg}IN ({', '.join(i.theirs for i in items)})")
    low, high = draw(typed(sc)), draw(typed(sc))
    return Expr(f"{a.ours} {sc.k(neg + 'BETWEEN')} {low.ours} {sc.k('AND')} {high.ours}",
                f"{a.theirs} {neg}BETWEEN {low.theirs} AND {high.theirs}")


CASES: list[Callable[[str], str]] = [str.lower, str.upper, str.title]


@dataclass
class Case:
    ours: str
    theirs: str
    ordered: bool  # the ORDER BY is total: compare in order


def _order_key(draw: st.DrawFn, sc: Scope, key: Expr, sql_key: str) -> tuple[str, str]:
    desc = draw(st.sampled_from([None, "ASC", "DESC"]))
    nulls = draw(st.sampled_from([None, "FIRST", "LAST"]))
    ours = key.ours + (f" {sc.k(desc)}" if desc else "") + (
        f" {sc.k('NULLS ' + nulls)}" if nulls else "")
    # SQLite sorts NULLs first ascending; Oracle last ascending, first descending: say which
    resolved = nulls or ("FIRST" if desc == "DESC" else "LAST")
    return ours, f"{sql_key} {desc or 'ASC'} NULLS {resolved}"


@st.composite
def queries(draw: st.DrawFn) -> tuple[Case, list[str]]:
    case = draw(st.sampled_from(CASES))
    first = draw(st.sampled_from(list(COLUMNS)))
    sources = [(draw(st.sampled_from(ALIASES[first])), first)]
    joins: list[tuple[str, tuple[str, str]]] = []
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        table = draw(st.sampled_from(list(COLUMNS)))
        alias = draw(st.sampled_from([a for a in ALIASES[table]
                                      if a not in {s[0] for s in sources}]))
        # a comma only last: `a, b JOIN c ON a.x = c.y` cannot see `a` in standard SQL
        kind = draw(st.sampled_from(["inner", "left", "right", "full", "cross"]
                                    + (["comma"] if not joins or joins[-1][0] != "comma" else [])))
        sources.append((alias, table))
        joins.append((kind, (alias, table)))
    sc = Scope(sources, qualify=bool(joins) or draw(st.booleans()), case=case)

    def table_ref(alias: str, table: str) -> tuple[str, str]:
        if alias == table:
            return sc.k(table), f'"{table}"'
        return f"{sc.k(table)} {sc.k('AS ') if draw(st.booleans()) else ''}{sc.k(alias)}", (
            f'"{table}" AS "{alias}"')

    ours_from, theirs_from = table_ref(*sources[0])
    for index, (kind, (alias, table)) in enumerate(joins, start=1):
        o, t = table_ref(alias, table)
        if kind == "comma":
            ours_from, theirs_from = f"{ours_from}, {o}", f"{theirs_from}, {t}"
            continue
        if kind == "cross":
            ours_from += f" {sc.k('CROSS JOIN')} {o}"
            theirs_from += f" CROSS JOIN {t}"
            continue
        on_scope = Scope(sources[:index + 1], True, case)
        left_alias = draw(st.sampled_from([s[0] for s in sources[:index]]))
        keys = (f"{sc.k(left_alias)}.{sc.k('id')} = {sc.k(alias)}.{sc.k('entity')}",
                f'"{left_alias}".id = "{alias}".entity') if table == "transaction" else (
            f"{sc.k(alias)}.{sc.k('id')} = {sc.k(left_alias)}.{sc.k('id')}",
            f'"{alias}".id = "{left_alias}".id')
        on = Expr(*keys)
        shape = draw(st.sampled_from(["key", "key_and", "random"]))
        if shape != "key":
            extra = draw(conditions(on_scope))
            on = extra if shape == "random" else Expr(
                f"{on.ours} {sc.k('AND')} {extra.ours}", f"{on.theirs} AND {extra.theirs}")
        word = {"inner": draw(st.sampled_from(["JOIN", "INNER JOIN"])),
                "left": draw(st.sampled_from(["LEFT JOIN", "LEFT OUTER JOIN"])),
                "right": draw(st.sampled_from(["RIGHT JOIN", "RIGHT OUTER JOIN"])),
                "full": draw(st.sampled_from(["FULL JOIN", "FULL OUTER JOIN"]))}[kind]
        ours_from += f" {sc.k(word)} {o} {sc.k('ON')} {on.ours}"
        # SQLite 3.40 drops every row of a RIGHT / FULL join after an inner join whose ON is
        # constant false (`a JOIN b ON 0 = 1 RIGHT JOIN c ...`): a column keeps it non-constant
        theirs_from += f' {word} {t} ON CASE WHEN "{alias}".id IS NOT NULL THEN {on.theirs} END'

    where = draw(_mostly(conditions(sc), None))
    rownum = draw(st.none() | st.integers(0, 4)) if not joins else None
    ours_where = ""
    theirs_where = ""
    if where is not None:
        ours_where = f" {sc.k('WHERE')} {where.ours}"
        theirs_where = f" WHERE {where.theirs}"
    if rownum is not None:
        ours_where += f" {sc.k('AND')} " if where is not None else f" {sc.k('WHERE')} "
        ours_where += f"{sc.k('ROWNUM')} <= {rownum}"
    if not joins:  # Oracle's ROWNUM numbers the rows that pass WHERE, before ORDER BY
        alias, table = sources[0]
        theirs_from = (f'(SELECT *, ROW_NUMBER() OVER (ORDER BY rowid) AS rn FROM "{table}" '
                       f'AS "{alias}"{theirs_where} ORDER BY rowid'
                       + (f" LIMIT {rownum}" if rownum is not None else "") + f') AS "{alias}"')
        theirs_where = ""

    shape = draw(st.sampled_from(["rows", "rows", "rows", "distinct", "count"]))
    ours_items: list[str] = []
    theirs_items: list[str] = []
    names: list[str] = []
    unnamed = 0

    def name_item(expr: Expr, item_index: int) -> None:
        nonlocal unnamed
        if expr.column is not None and expr.column not in names and draw(st.booleans()):
            name, item = expr.column, expr.ours  # a bare column: named after the column
        elif expr.column is None and draw(st.booleans()):
            unnamed += 1  # an unnamed expression: expr1, expr2, ...
            name, item = f"expr{unnamed}", expr.ours
        else:
            name = f"val{item_index}"
            item = f"{expr.ours} {sc.k('AS ') if draw(st.booleans()) else ''}{sc.k(name)}"
        ours_items.append(item)
        theirs_items.append(expr.theirs)
        names.append(name)

    if shape == "count":
        for i in range(draw(st.integers(1, 3))):
            what = draw(st.sampled_from(["*", "all", "distinct"]))
            arg = draw(values(sc)) if what != "*" else Expr("*", "*")
            word = sc.k("DISTINCT ") if what == "distinct" else ""
            name_item(Expr(f"{sc.k('COUNT')}({word}{arg.ours})",
                           f"COUNT({'DISTINCT ' if what == 'distinct' else ''}{arg.theirs})"),
                      i)
    elif not joins and draw(st.integers(0, 9)) == 9:  # SELECT *: the columns, by name
        alias, table = sources[0]
        ours_items.append(f"{sc.k(alias)}.*" if draw(st.booleans()) else "*")
        for col in sorted(COLUMNS[table]):
            theirs_items.append(f'"{alias}".{col}')
            names.append(col)
    else:
        for i in range(draw(st.integers(1, 3))):
            if not joins and draw(st.integers(0, 7)) == 7:
                name_item(Expr(sc.k("ROWNUM"), f'"{sources[0][0]}".rn', "rownum"), i)
            else:
                name_item(draw(values(sc)), i)

    distinct = shape == "distinct"
    order_ours: list[str] = []
    order_theirs: list[str] = []
    ordered = False
    if distinct:  # ordered by every item (Oracle orders DISTINCT only by what it selects)
        positions = draw(st.permutations(range(1, len(names) + 1)))
        for p in positions:
            o, t = _order_key(draw, sc, Expr(str(p), str(p)), str(p))
            order_ours.append(o)
            order_theirs.append(t)
        ordered = True
    elif shape != "count" and draw(st.integers(0, 3)) > 0:
        for _ in range(draw(st.integers(0, 2))):
            how = draw(st.sampled_from(["expr", "position", "name"]))
            position = draw(st.integers(1, len(names)))
            key = Expr(str(position), str(position))
            if how == "expr":
                drawn = draw(values(sc))
                # SQLite reads a constant integer such as -(0) as a position, Oracle does not
                key = key if drawn.number else Expr(drawn.ours, f"COALESCE({drawn.theirs}, NULL)")
            elif how == "name" and not names[position - 1].startswith("expr"):
                key = Expr(sc.k(names[position - 1]), str(position))  # an item's own name
            o, t = _order_key(draw, sc, key, key.theirs)
            order_ours.append(o)
            order_theirs.append(t)
        for alias, _ in sources:  # a unique tie-breaker: every source's id (NULL past a join)
            order_ours.append(f"{sc.k(alias)}.{sc.k('id')}")
            order_theirs.append(f'"{alias}".id ASC NULLS LAST')
        ordered = True
    top = draw(st.none() | st.integers(0, 4)) if ordered else None

    ours = (f"{sc.k('SELECT')} " + (f"{sc.k('DISTINCT')} " if distinct else "")
            + (f"{sc.k('TOP')} {top} " if top is not None else "") + ", ".join(ours_items)
            + f" {sc.k('FROM')} {ours_from}{ours_where}"
            + (f" {sc.k('ORDER BY')} " + ", ".join(order_ours) if order_ours else ""))
    theirs = ("SELECT " + ("DISTINCT " if distinct else "")
              + ", ".join(f"{t} AS c{i}" for i, t in enumerate(theirs_items))
              + f" FROM {theirs_from}{theirs_where}"
              + (" ORDER BY " + ", ".join(order_theirs) if order_theirs else "")
              + (f" LIMIT {top}" if top is not None else ""))
    return Case(ours, theirs, ordered), names


def _item(names: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    """A SQLite row as SuiteQL writes an item: links first, strings, NULLs left out."""
    item: dict[str, Any] = {"links": []}
    item.update({n: str(v) for n, v in zip(names, row, strict=True) if v is not None})
    return item


def _canonical(items: list[dict[str, Any]]) -> list[list[tuple[str, Any]]]:
    return sorted(sorted((k, v) for k, v in item.items() if k != "links") for item in items)


@settings(max_examples=200, deadline=None)
@given(tables=TABLES, batch=st.lists(queries(), min_size=4, max_size=4))
def test_suiteql_selects_what_sqlite_selects(tables: dict[str, list[dict[str, Any]]],
                                             batch: list[tuple[Case, list[str]]]) -> None:
    catalog, db = _catalog(tables), _sqlite(tables)  # a few queries a table: cheaper examples
    for case, names in batch:
        got = execute(case.ours, catalog)
        expected = [_item(names, row) for row in db.execute(case.theirs)]
        if case.ordered:
            assert got == expected, (case.ours, case.theirs)
        else:
            assert _canonical(got) == _canonical(expected), (case.ours, case.theirs)
