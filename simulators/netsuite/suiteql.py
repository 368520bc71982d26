"""A SuiteQL parser and evaluator: the subset an integration sends to `POST /query/v1/suiteql`.

`execute(q, catalog)` returns every result row, in order; the HTTP layer pages them with
`limit`/`offset`. Each row is rendered the way NetSuite renders a SuiteQL item:

- `"links": []` comes first, then the selected columns (source: a captured SuiteQL response,
  kinuski-dev/misc-python `api-netsuite-oauth1/oracle-netsuite-api-suiteql-notes.md`);
- keys are lower case: the column name, or the alias (`SELECT c.email AS Mail` gives `mail`);
  an expression without an alias is named `expr1`, `expr2`, ... (so an unaliased `COUNT(*)`
  is `expr1`; [U] from memory of live responses, not from a document);
- every value is a string; booleans are `"T"`/`"F"`; numbers are plain decimals without
  exponent or trailing zeros (`"100"`, `"12.5"`); dates are `M/D/YYYY` and datetimes
  `M/D/YYYY h:mm am` (NetSuite's default date/time preferences); use `TO_CHAR` for other
  formats, as integrations do;
- a NULL column is left out of the item altogether ("SuiteQL omits null columns per row",
  reported by several independent integrations in the public code index).

Supported grammar (keywords and identifiers are case-insensitive)::

    SELECT [DISTINCT] [TOP n] item, ...        item: * | t.* | expr [[AS] alias]
    FROM table [[AS] alias]
      { [INNER] JOIN | LEFT [OUTER] JOIN | RIGHT [OUTER] JOIN | FULL [OUTER] JOIN } table [alias]
          ON condition
      | CROSS JOIN table [alias] | , table [alias]
    [WHERE condition]
    [ORDER BY expr | alias | position [ASC|DESC] [NULLS FIRST|LAST], ...]
    [;]

- conditions: AND, OR, NOT, parentheses, `= != <> < <= > >=`, `[NOT] IN (...)`,
  `[NOT] LIKE pattern [ESCAPE 'c']`, `[NOT] BETWEEN a AND b`, `IS [NOT] NULL`, and `ROWNUM`
  (Oracle semantics: `WHERE ROWNUM <= 10`);
- expressions: columns (`col`, `alias.col`, `table.col`), `'strings'` (`''` escapes a quote),
  numbers, `NULL`, `DATE '2024-01-31'`, unary minus, `+ - * /` (numbers; date +/- days),
  `||`, and the functions `LOWER UPPER TRIM NVL COALESCE TO_NUMBER TO_CHAR TO_DATE`;
  date formats (`TO_CHAR`/`TO_DATE`) accept `YYYY YY MM MON DD HH24 HH12 HH MI SS AM PM`,
  punctuation and `"quoted"` text (so `'YYYY-MM-DD"T"HH24:MI:SS'` works);
- aggregates: `COUNT(*)`, `COUNT(expr)`, `COUNT(DISTINCT expr)`; a query that counts selects
  only counts and returns one row.
- Oracle semantics that NetSuite inherits: `=` and `LIKE` are case-sensitive (integrations
  write `LOWER(email) = ...`); the empty string is NULL (so is a `""` value in a catalog row);
  NULL never compares equal; ORDER BY sorts NULLs last ascending and first descending.
- implicit conversions: number vs text converts the text to a number; date vs text parses the
  text (ISO 8601 or `M/D/YYYY [h:mm am]`). Where Oracle would raise ORA-01722 on text that is
  not a number, the comparison here is simply unknown (the row does not match).

Rejected with the generic "Invalid or unsupported search." (the text NetSuite gives for syntax
it cannot run): GROUP BY, HAVING, UNION, subqueries, CASE, `BUILTIN.*` functions (`BUILTIN.DF`),
other functions, Oracle `(+)` joins, quoted identifiers, SYSDATE. `SuiteQLError.hint` says what
the simulator did not understand (for people; it is not part of the wire body).

Errors (`SuiteQLError`, HTTP 400, `o:errorCode` `INVALID_PARAMETER`, `o:errorQueryParam` `q`);
every detail starts "Invalid search query. Detailed unprocessed description follows. ":

- unknown table: "... Invalid search type: <table>." (live-account test of the npm client
  julbrs/netsuite-api-client, `select id from transactiontablethatdoesnotexist`);
- unknown unqualified column: "... Search error occurred: Unknown identifier '<col>'. Available
  identifiers are: {<alias>=<table>, ...}." (same client's README and tests, and a body
  captured live from a sandbox in a Databricks Labs community-connector test, which also gives
  the code, `o:errorQueryParam`, type URL and title);
- unknown qualified column `t.col`: "... Search error occurred: Field '<col>' for record
  '<table>' was not found." (error strings quoted by several integrations in the index);
- anything else: "... Search error occurred: Invalid or unsupported search."
- [U] not seen anywhere, chosen to match the above: an unknown alias (`x.col`) reports
  "Unknown identifier 'x'"; a column name present in two joined tables reports
  "Ambiguous identifier '<col>'" with the same "Available identifiers" tail.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn, Protocol

__all__ = [
    "Catalog",
    "MappingCatalog",
    "Query",
    "SuiteQLError",
    "execute",
    "parse",
]

ERROR_CODE = "INVALID_PARAMETER"
ERROR_TYPE = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1"
DETAIL_PREFIX = "Invalid search query. Detailed unprocessed description follows. "
SEARCH_ERROR = "Search error occurred: "
UNSUPPORTED = "Invalid or unsupported search."

MAX_DEPTH = 64  # nesting of parentheses / NOT / unary minus accepted by the parser
MAX_EXPONENT = 125  # Oracle NUMBER holds up to 1E126


class SuiteQLError(Exception):
    """A query NetSuite would refuse, with NetSuite's own code and text.

    `detail` is the wire text; `hint` (not sent to clients) says what the simulator rejected.
    """

    status = 400
    code = ERROR_CODE
    query_param = "q"

    def __init__(self, message: str, *, search_error: bool = True, hint: str = "") -> None:
        self.message = message
        self.detail = DETAIL_PREFIX + (SEARCH_ERROR if search_error else "") + message
        self.hint = hint
        super().__init__(self.detail if not hint else f"{self.detail} [{hint}]")

    def error_detail(self) -> dict[str, str]:
        """One `o:errorDetails` entry, as NetSuite writes it."""
        return {
            "detail": self.detail,
            "o:errorQueryParam": self.query_param,
            "o:errorCode": self.code,
        }

    def problem(self) -> dict[str, Any]:
        """The whole 400 body."""
        return {
            "type": ERROR_TYPE,
            "title": "Bad Request",
            "status": self.status,
            "o:errorDetails": [self.error_detail()],
        }


def _unsupported(hint: str) -> SuiteQLError:
    return SuiteQLError(UNSUPPORTED, hint=hint)


def _short(text: str, limit: int = 40) -> str:
    """`text` quoted for a hint, cut short."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


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


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # ident | qident | string | number | op | eof
    value: str  # identifiers lower-cased; strings unescaped
    text: str  # as written
    pos: int


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
    |(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_$\#]*)
    |(?P<qident>"(?:[^"]|"")*")
    |(?P<string>'(?:[^']|'')*')
    |(?P<op><>|!=|<=|>=|\|\||[=<>(),.*;+\-/])
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize(q: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(q):
        m = _TOKEN.match(q, pos)
        if m is None:
            raise _unsupported(f"unexpected character {q[pos]!r} at position {pos}")
        kind, text = m.lastgroup or "", m.group()
        if kind == "ident":
            tokens.append(Token(kind, text.lower(), text, pos))
        elif kind == "string":
            tokens.append(Token(kind, text[1:-1].replace("''", "'"), text, pos))
        elif kind == "qident":
            tokens.append(Token(kind, text[1:-1].replace('""', '"'), text, pos))
        elif kind != "ws":
            tokens.append(Token(kind, text, text, pos))
        pos = m.end()
    tokens.append(Token("eof", "", "", len(q)))
    return tokens


# --- syntax tree -------------------------------------------------------------------------------


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


_CONDITIONS = (Cmp, Logic, Not, InList, Like, Between, IsNull)


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


# --- parser ------------------------------------------------------------------------------------

# fmt: off
RESERVED = frozenset((
    "all", "and", "as", "asc", "between", "by", "case", "connect", "cross", "desc", "distinct",
    "else", "end", "escape", "exists", "for", "from", "full", "group", "having", "in", "inner",
    "intersect", "is", "join", "left", "like", "minus", "not", "null", "on", "or", "order",
    "outer", "prior", "right", "select", "start", "then", "union", "when", "where", "with",
))
# fmt: on
_UNSUPPORTED_CLAUSES = {
    "group": "GROUP BY",
    "having": "HAVING",
    "union": "UNION",
    "intersect": "INTERSECT",
    "minus": "MINUS",
    "connect": "CONNECT BY",
    "start": "START WITH",
    "for": "FOR UPDATE",
}
_COMPARISONS = {"=": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
FUNCTIONS: dict[str, tuple[int, int]] = {  # name: (min args, max args)
    "lower": (1, 1),
    "upper": (1, 1),
    "trim": (1, 1),
    "nvl": (2, 2),
    "coalesce": (1, 32),
    "to_number": (1, 1),
    "to_char": (1, 2),
    "to_date": (1, 2),
}


class _Parser:
    def __init__(self, q: str) -> None:
        self.tokens = tokenize(q)
        self.i = 0
        self.depth = 0

    # token helpers
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.peek()
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def is_kw(self, word: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "ident" and tok.value == word

    def accept_kw(self, word: str) -> bool:
        if self.is_kw(word):
            self.advance()
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.accept_kw(word):
            self.fail(f"expected {word.upper()}")

    def is_op(self, op: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "op" and tok.value == op

    def accept_op(self, op: str) -> bool:
        if self.is_op(op):
            self.advance()
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            self.fail(f"expected {op!r}")

    def fail(self, what: str) -> NoReturn:
        tok = self.peek()
        found = "end of query" if tok.kind == "eof" else _short(tok.text)
        raise _unsupported(f"{what}, found {found} at position {tok.pos}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _unsupported("expression nested too deeply")

    def leave(self) -> None:
        self.depth -= 1

    # query
    def query(self) -> Query:
        if self.accept_op("("):
            self.fail("a subquery or parenthesised query is not supported")
        self.expect_kw("select")
        distinct = self.accept_kw("distinct")
        if not distinct:
            self.accept_kw("all")
        top = None
        if self.is_kw("top") and self.peek(1).kind == "number":
            self.advance()
            if not self.peek().text.isdigit() or len(self.peek().text) > 9:
                self.fail("TOP needs a whole number")
            top_text = self.advance().text
            top = int(top_text)
        items = [self.select_item()]
        while self.accept_op(","):
            items.append(self.select_item())
        self.expect_kw("from")
        source = self.table_ref()
        joins = self.joins()
        where = None
        if self.accept_kw("where"):
            where = self.expr()
        self.reject_clauses()
        order: list[OrderItem] = []
        if self.accept_kw("order"):
            self.expect_kw("by")
            order.append(self.order_item())
            while self.accept_op(","):
                order.append(self.order_item())
        self.reject_clauses()
        self.accept_op(";")
        if self.peek().kind != "eof":
            self.fail("expected end of query")
        return Query(distinct, top, tuple(items), source, tuple(joins), where, tuple(order))

    def reject_clauses(self) -> None:
        tok = self.peek()
        if tok.kind == "ident" and tok.value in _UNSUPPORTED_CLAUSES:
            raise _unsupported(f"{_UNSUPPORTED_CLAUSES[tok.value]} is not supported")

    def select_item(self) -> Star | SelectItem:
        if self.accept_op("*"):
            return Star(None)
        if self.peek().kind == "ident" and self.is_op(".", 1) and self.is_op("*", 2):
            qualifier = self.advance().value
            self.advance()
            self.advance()
            return Star(qualifier)
        expr = self.expr()
        alias = self.alias(required=self.accept_kw("as"))
        return SelectItem(expr, alias)

    def alias(self, *, required: bool) -> str | None:
        tok = self.peek()
        if tok.kind == "ident" and tok.value not in RESERVED:
            self.advance()
            return tok.value
        if tok.kind == "qident" and tok.value:
            self.advance()
            return tok.value.lower()
        if required:
            self.fail("expected an alias")
        return None

    def table_ref(self) -> TableRef:
        tok = self.peek()
        if tok.kind != "ident" or tok.value in RESERVED:
            if self.is_op("("):
                self.fail("a subquery is not supported")
            self.fail("expected a table name")
        self.advance()
        if self.is_op("."):
            self.fail("schema-qualified table names are not supported")
        alias = None
        if self.accept_kw("as"):
            alias = self.alias(required=True)
        elif self.peek().kind == "ident" and self.peek().value not in RESERVED:
            alias = self.advance().value
        return TableRef(tok.value, alias)

    def joins(self) -> list[Join]:
        joins: list[Join] = []
        while True:
            if self.accept_op(","):
                joins.append(Join("cross", self.table_ref(), None))
                continue
            if self.accept_kw("cross"):
                self.expect_kw("join")
                joins.append(Join("cross", self.table_ref(), None))
                continue
            if self.accept_kw("inner") or self.is_kw("join"):
                kind = "inner"
            elif self.accept_kw("left"):
                kind = "left"
            elif self.accept_kw("right"):
                kind = "right"
            elif self.accept_kw("full"):
                kind = "full"
            else:
                return joins
            if kind != "inner":
                self.accept_kw("outer")
            self.expect_kw("join")
            table = self.table_ref()
            self.expect_kw("on")
            joins.append(Join(kind, table, self.expr()))

    def order_item(self) -> OrderItem:
        expr = self.expr()
        descending = False
        if self.accept_kw("desc"):
            descending = True
        else:
            self.accept_kw("asc")
        nulls_first = None
        if self.accept_kw("nulls"):
            if self.accept_kw("first"):
                nulls_first = True
            elif self.accept_kw("last"):
                nulls_first = False
            else:
                self.fail("expected FIRST or LAST")
        return OrderItem(expr, descending, nulls_first)

    # expressions, loosest binding first
    def expr(self) -> Node:
        self.enter()
        try:
            return self.disjunction()
        finally:
            self.leave()

    def disjunction(self) -> Node:
        operands = [self.conjunction()]
        while self.accept_kw("or"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Logic("or", tuple(operands))

    def conjunction(self) -> Node:
        operands = [self.negation()]
        while self.accept_kw("and"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else Logic("and", tuple(operands))

    def negation(self) -> Node:
        if self.accept_kw("not"):
            self.enter()
            try:
                return Not(self.negation())
            finally:
                self.leave()
        return self.predicate()

    def predicate(self) -> Node:
        left = self.concat()
        tok = self.peek()
        if tok.kind == "op" and tok.value in _COMPARISONS:
            self.advance()
            if self.is_kw("any") or self.is_kw("some") or self.is_kw("all"):
                self.fail("ANY/SOME/ALL comparisons are not supported")
            return Cmp(_COMPARISONS[tok.value], left, self.concat())
        negated = False
        if self.is_kw("not") and any(self.is_kw(w, 1) for w in ("in", "like", "between")):
            self.advance()
            negated = True
        if self.accept_kw("in"):
            self.expect_op("(")
            if self.is_kw("select"):
                self.fail("IN (subquery) is not supported")
            items = [self.concat()]
            while self.accept_op(","):
                items.append(self.concat())
            self.expect_op(")")
            return InList(left, tuple(items), negated)
        if self.accept_kw("like"):
            pattern = self.concat()
            escape = self.concat() if self.accept_kw("escape") else None
            return Like(left, pattern, escape, negated)
        if self.accept_kw("between"):
            low = self.concat()
            self.expect_kw("and")
            return Between(left, low, self.concat(), negated)
        if negated:
            self.fail("expected IN, LIKE or BETWEEN")
        if self.accept_kw("is"):
            is_not = self.accept_kw("not")
            self.expect_kw("null")
            return IsNull(left, is_not)
        return left

    def concat(self) -> Node:
        left = self.additive()
        while self.accept_op("||"):
            left = Arith("||", left, self.additive())
        return left

    def additive(self) -> Node:
        left = self.multiplicative()
        while self.is_op("+") or self.is_op("-"):
            op = self.advance().value
            left = Arith(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Node:
        left = self.unary()
        while self.is_op("*") or self.is_op("/"):
            op = self.advance().value
            left = Arith(op, left, self.unary())
        return left

    def unary(self) -> Node:
        if self.is_op("-") or self.is_op("+"):
            sign = self.advance().value
            self.enter()
            try:
                operand = self.unary()
            finally:
                self.leave()
            return Neg(operand) if sign == "-" else operand
        return self.primary()

    def primary(self) -> Node:
        tok = self.peek()
        if tok.kind == "number":
            self.advance()
            return Lit(_number_literal(tok.text))
        if tok.kind == "string":
            self.advance()
            return Lit(tok.value or None)  # Oracle: '' is NULL
        if tok.kind == "op" and tok.value == "(":
            self.advance()
            if self.is_kw("select"):
                self.fail("a subquery is not supported")
            inner = self.expr()
            if self.is_op(","):
                self.fail("row value lists are not supported")
            self.expect_op(")")
            return inner
        if tok.kind == "qident":
            self.fail("quoted identifiers are not supported")
        if tok.kind != "ident":
            self.fail("expected an expression")
        if tok.value == "null":
            self.advance()
            return Lit(None)
        if tok.value == "date" and self.peek(1).kind == "string":
            self.advance()
            text = self.advance().value
            try:
                return Lit(datetime.strptime(text, "%Y-%m-%d"))
            except ValueError:
                raise _unsupported(f"bad DATE literal {_short(text)}") from None
        if tok.value in RESERVED:
            self.fail("expected an expression")
        self.advance()
        if self.is_op("("):
            return self.call(tok)
        if self.accept_op("."):
            name = self.peek()
            if name.kind != "ident" or name.value in RESERVED:
                self.fail("expected a column name after '.'")
            self.advance()
            if self.is_op("("):
                raise _unsupported(f"function {tok.text}.{name.text} is not supported")
            if self.is_op("."):
                self.fail("multi-level field paths are not supported")
            return Col(tok.value, name.value, f"{tok.text}.{name.text}")
        return Col(None, tok.value, tok.text)

    def call(self, name: Token) -> Node:
        self.expect_op("(")
        if name.value == "count":
            if self.accept_op("*"):
                self.expect_op(")")
                return Count(None)
            distinct = self.accept_kw("distinct")
            if not distinct:
                self.accept_kw("all")
            arg = self.expr()
            self.expect_op(")")
            return Count(arg, distinct)
        if name.value not in FUNCTIONS:
            raise _unsupported(f"function {name.text} is not supported")
        args: list[Node] = []
        if not self.is_op(")"):
            args.append(self.expr())
            while self.accept_op(","):
                args.append(self.expr())
        self.expect_op(")")
        low, high = FUNCTIONS[name.value]
        if not low <= len(args) <= high:
            raise _unsupported(
                f"{name.text.upper()} takes {low}..{high} arguments, got {len(args)}"
            )
        return Func(name.value, tuple(args))


def _number_literal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _unsupported(f"bad number {_short(text)}") from None
    if value and abs(value.adjusted()) > MAX_EXPONENT:
        raise _unsupported(f"number {_short(text)} is out of range")
    return value


def parse(q: str) -> Query:
    """Parse SuiteQL text into a `Query`; raise `SuiteQLError` if it is not valid/supported."""
    if not isinstance(q, str):
        raise _unsupported("the query must be a string")
    try:
        return _Parser(q).query()
    except RecursionError:
        raise _unsupported("query nested too deeply") from None


# --- values ------------------------------------------------------------------------------------

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def normalize_value(value: Any) -> Any:
    """A catalog value as SuiteQL sees it: None, str, Decimal, date or (naive, UTC) datetime."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, str):
        return value or None  # Oracle: '' is NULL
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return value
    if isinstance(value, Mapping) and "id" in value:  # a record reference {"id": "7", ...}
        return normalize_value(value["id"])
    return str(value) or None


def render(value: Any) -> str | None:
    """How SuiteQL writes a value in a result item (None: the key is left out)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return _format_decimal(value)
    if isinstance(value, datetime):
        hour = value.hour % 12 or 12
        meridian = "pm" if value.hour >= 12 else "am"
        return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d} {meridian}"
    if isinstance(value, date):
        return f"{value.month}/{value.day}/{value.year}"
    return str(value)


def _format_decimal(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _as_datetime(value: date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def _text_to_number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or (number and abs(number.adjusted()) > MAX_EXPONENT):
        return None
    return number


_TEXT_DATE_FORMATS = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y")


def _text_to_datetime(text: str) -> datetime | None:
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _TEXT_DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Apply Oracle's implicit conversions; None if the two cannot be compared."""
    if isinstance(a, date) and isinstance(b, date):
        return _as_datetime(a), _as_datetime(b)
    if type(a) is type(b):
        return a, b
    if isinstance(a, Decimal) and isinstance(b, str):
        number = _text_to_number(b)
        return None if number is None else (a, number)
    if isinstance(a, str) and isinstance(b, Decimal):
        number = _text_to_number(a)
        return None if number is None else (number, b)
    if isinstance(a, date) and isinstance(b, str):
        moment = _text_to_datetime(b)
        return None if moment is None else (_as_datetime(a), moment)
    if isinstance(a, str) and isinstance(b, date):
        moment = _text_to_datetime(a)
        return None if moment is None else (moment, _as_datetime(b))
    return None


def compare(a: Any, b: Any) -> int | None:
    """-1/0/1, or None when either side is NULL or they are not comparable (SQL unknown)."""
    if a is None or b is None:
        return None
    pair = _comparable(a, b)
    if pair is None:
        return None
    x, y = pair
    return (x > y) - (x < y)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, Decimal):
        return (0, value)
    if isinstance(value, date):
        return (1, _as_datetime(value))
    return (2, value)


# --- Oracle date format models -----------------------------------------------------------------

_FORMAT_ELEMENTS = (
    "YYYY", "HH24", "HH12", "A.M.", "P.M.", "MON", "YY", "MM", "DD", "HH", "MI", "SS", "AM", "PM",
)  # fmt: skip
_FORMAT_PUNCTUATION = frozenset(" -/,.;:")


@functools.lru_cache(maxsize=256)
def parse_format(fmt: str) -> tuple[tuple[str, str], ...]:
    """Split an Oracle datetime format model into ("el", element) / ("lit", text) parts."""
    parts: list[tuple[str, str]] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == '"':
            end = fmt.find('"', i + 1)
            if end < 0:
                raise _unsupported(f"unterminated quoted text in format {_short(fmt)}")
            parts.append(("lit", fmt[i + 1 : end]))
            i = end + 1
            continue
        if ch in _FORMAT_PUNCTUATION:
            parts.append(("lit", ch))
            i += 1
            continue
        for element in _FORMAT_ELEMENTS:
            if fmt[i : i + len(element)].upper() == element:
                parts.append(("el", element))
                i += len(element)
                break
        else:
            raise _unsupported(f"date format {_short(fmt)} is not supported")
    if not any(kind == "el" for kind, _ in parts):
        raise _unsupported(f"date format {_short(fmt)} has no date elements")
    return tuple(parts)


def format_datetime(value: datetime, fmt: str) -> str:
    out: list[str] = []
    hour12 = value.hour % 12 or 12
    for kind, text in parse_format(fmt):
        if kind == "lit":
            out.append(text)
        elif text == "YYYY":
            out.append(f"{value.year:04d}")
        elif text == "YY":
            out.append(f"{value.year % 100:02d}")
        elif text == "MM":
            out.append(f"{value.month:02d}")
        elif text == "MON":
            out.append(_MONTHS[value.month - 1])
        elif text == "DD":
            out.append(f"{value.day:02d}")
        elif text == "HH24":
            out.append(f"{value.hour:02d}")
        elif text in ("HH", "HH12"):
            out.append(f"{hour12:02d}")
        elif text == "MI":
            out.append(f"{value.minute:02d}")
        elif text == "SS":
            out.append(f"{value.second:02d}")
        elif text in ("AM", "PM"):
            out.append("PM" if value.hour >= 12 else "AM")
        else:  # A.M. / P.M.
            out.append("P.M." if value.hour >= 12 else "A.M.")
    return "".join(out)


_ELEMENT_PATTERNS = {
    "YYYY": "[0-9]{1,4}",
    "YY": "[0-9]{1,2}",
    "MON": "[A-Za-z]{3}",
    "AM": "[AaPp]\\.?[Mm]\\.?",
    "PM": "[AaPp]\\.?[Mm]\\.?",
    "A.M.": "[AaPp]\\.?[Mm]\\.?",
    "P.M.": "[AaPp]\\.?[Mm]\\.?",
}


def parse_datetime(text: str, fmt: str) -> datetime:
    """TO_DATE: read `text` with an Oracle format model (YY means 20YY)."""
    parts = parse_format(fmt)
    pattern = []
    for index, (kind, part) in enumerate(parts):
        if kind == "lit":
            pattern.append(re.escape(part))
        else:
            pattern.append(f"(?P<g{index}>{_ELEMENT_PATTERNS.get(part, '[0-9]{1,2}')})")
    m = re.fullmatch("".join(pattern), text.strip())
    if m is None:
        raise _unsupported(f"{_short(text)} does not match date format {_short(fmt)}")
    fields: dict[str, int] = {}
    pm: bool | None = None
    for index, (kind, part) in enumerate(parts):
        if kind == "lit":
            continue
        raw = m.group(f"g{index}")
        if part == "MON":
            if raw.upper() not in _MONTHS:
                raise _unsupported(f"bad month {_short(raw)}")
            fields["month"] = _MONTHS.index(raw.upper()) + 1
        elif part in ("AM", "PM", "A.M.", "P.M."):
            pm = raw[0] in "Pp"
        elif part == "YY":
            fields["year"] = 2000 + int(raw)
        else:
            key = {"YYYY": "year", "MM": "month", "DD": "day", "HH24": "hour24", "MI": "minute",
                   "SS": "second"}.get(part, "hour12")  # fmt: skip
            fields[key] = int(raw)
    if "year" not in fields or "month" not in fields:
        raise _unsupported(f"date format {_short(fmt)} needs a year and a month")
    hour = fields.get("hour24", 0)
    if "hour12" in fields:
        if not 1 <= fields["hour12"] <= 12:
            raise _unsupported(f"hour {fields['hour12']} is not between 1 and 12")
        hour = fields["hour12"] % 12 + (12 if pm else 0)
    try:
        return datetime(
            fields["year"], fields["month"], fields.get("day", 1),
            hour, fields.get("minute", 0), fields.get("second", 0),
        )  # fmt: skip
    except ValueError as exc:
        raise _unsupported(f"{_short(text)} is not a valid date ({exc})") from None


# --- binding: check a parsed query against the catalog -----------------------------------------


@dataclass(frozen=True)
class _Source:
    alias: str
    table: str  # canonical
    columns: frozenset[str]


@dataclass(frozen=True)
class _Plan:
    sources: tuple[_Source, ...]
    joins: tuple[tuple[str, Node | None], ...]  # (kind, bound ON) for sources[1:]
    where: Node | None
    outputs: tuple[tuple[str, Node], ...]  # (result key, bound expression)
    order_by: tuple[OrderItem, ...]
    aggregate: bool
    distinct: bool
    top: int | None


class _Binder:
    def __init__(self, query: Query, catalog: Catalog) -> None:
        self.query = query
        self.catalog = catalog
        self.sources: list[_Source] = []

    def plan(self) -> _Plan:
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
            raise _unsupported("a counting query may select only COUNT(...) items")

        names = [name for name, _ in outputs]
        order_by = tuple(
            OrderItem(self.order_expr(item.expr, names), item.descending, item.nulls_first)
            for item in q.order_by
        )
        if aggregate and any(not isinstance(item.expr, OutRef) for item in order_by):
            raise _unsupported("a counting query can only be ordered by its own columns")
        return _Plan(
            tuple(self.sources), tuple(joins), where, tuple(outputs), order_by, aggregate,
            q.distinct, q.top,
        )  # fmt: skip

    def add_source(self, ref: TableRef) -> None:
        canonical = self.catalog.table(ref.name)
        if canonical is None:
            raise SuiteQLError(f"Invalid search type: {ref.name}.", search_error=False)
        alias = ref.alias or ref.name
        if any(s.alias == alias for s in self.sources):
            raise _unsupported(f"table alias {alias!r} is used twice")
        columns = frozenset(c.lower() for c in self.catalog.columns(canonical))
        self.sources.append(_Source(alias, canonical, columns))

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
                raise _unsupported(f"ORDER BY position {_format_decimal(position)} is out of range")
            return OutRef(int(position) - 1)
        if isinstance(expr, Col) and expr.qualifier is None and expr.name in names:
            return OutRef(names.index(expr.name))
        return self.scalar(expr)

    def condition(self, node: Node) -> Node:
        if not isinstance(node, _CONDITIONS):
            raise _unsupported("expected a condition")
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
        if isinstance(node, _CONDITIONS):
            raise _unsupported("a condition cannot be used as a value")
        if isinstance(node, Lit):
            return node
        if isinstance(node, Col):
            return self.column(node)
        if isinstance(node, Count):
            if not aggregate:
                raise _unsupported("COUNT is only allowed in the select list")
            return Count(None if node.arg is None else self.scalar(node.arg), node.distinct)
        if isinstance(node, Func):
            args = tuple(self.scalar(arg) for arg in node.args)
            if node.name in ("to_char", "to_date") and len(args) == 2:
                fmt = args[1]
                if not isinstance(fmt, Lit) or not isinstance(fmt.value, str):
                    raise _unsupported(f"{node.name.upper()} needs a literal format")
                parse_format(fmt.value)  # reject a bad format before reading any row
            return Func(node.name, args)
        if isinstance(node, Arith):
            return Arith(node.op, self.scalar(node.left), self.scalar(node.right))
        if isinstance(node, Neg):
            return Neg(self.scalar(node.operand))
        raise _unsupported(f"unexpected expression {type(node).__name__}")


# --- evaluation --------------------------------------------------------------------------------


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
        return _call(node.name, [_value(arg, row) for arg in node.args])
    if isinstance(node, Neg):
        operand = _value(node.operand, row)
        if operand is None:
            return None
        return _checked(-_to_number(operand))
    if isinstance(node, Arith):
        return _arith(node.op, _value(node.left, row), _value(node.right, row))
    raise _unsupported(f"cannot evaluate {type(node).__name__}")


def _to_number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        number = _text_to_number(value)
        if number is not None:
            return number
    raise _unsupported(f"{_short(render(value) or '')} is not a number")


def _checked(number: Decimal) -> Decimal:
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise _unsupported("numeric overflow")
    return number


def _arith(op: str, left: Any, right: Any) -> Any:
    if op == "||":
        text = (render(left) or "") + (render(right) or "")
        return text or None
    if left is None or right is None:
        return None
    try:
        if isinstance(left, date) and op in "+-" and not isinstance(right, date):
            days = _to_number(right)
            delta = timedelta(days=float(days))
            return _as_datetime(left) + delta if op == "+" else _as_datetime(left) - delta
        if isinstance(left, date) and isinstance(right, date) and op == "-":
            seconds = (_as_datetime(left) - _as_datetime(right)).total_seconds()
            return _checked(Decimal(repr(seconds / 86400)))
        if isinstance(left, date) or isinstance(right, date):
            raise _unsupported(f"cannot apply {op} to a date")
        a, b = _to_number(left), _to_number(right)
        if op == "/" and not b:
            raise _unsupported("division by zero")
        result = {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
        return _checked(result)
    except (ArithmeticError, OverflowError, ValueError):
        raise _unsupported("arithmetic error") from None


def _call(name: str, args: list[Any]) -> Any:
    if name in ("lower", "upper", "trim"):
        text = render(args[0])
        if text is None:
            return None
        if name == "lower":
            return text.lower() or None
        return (text.upper() if name == "upper" else text.strip(" ")) or None
    if name == "nvl":
        return args[0] if args[0] is not None else args[1]
    if name == "coalesce":
        return next((arg for arg in args if arg is not None), None)
    if name == "to_number":
        return None if args[0] is None else _to_number(args[0])
    if name == "to_char":
        value = args[0]
        if value is None:
            return None
        if len(args) == 1:
            return render(value)
        if not isinstance(value, date):
            raise _unsupported("TO_CHAR with a format is supported for dates only")
        return format_datetime(_as_datetime(value), args[1])
    if name == "to_date":
        value = args[0]
        if value is None:
            return None
        if isinstance(value, date):
            return _as_datetime(value)
        text = render(value) or ""
        if len(args) == 2:
            return parse_datetime(text, args[1])
        moment = _text_to_datetime(text)
        if moment is None:
            raise _unsupported(f"{_short(text)} is not a date")
        return moment
    raise _unsupported(f"function {name} is not supported")


def _truth(node: Node, row: _Row) -> bool | None:
    """Three-valued logic: True, False or None (unknown)."""
    if isinstance(node, Logic):
        results = [_truth(n, row) for n in node.operands]
        if node.op == "and":
            if False in results:
                return False
            return None if None in results else True
        if True in results:
            return True
        return None if None in results else False
    if isinstance(node, Not):
        result = _truth(node.operand, row)
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
        return _like(node, row)
    raise _unsupported(f"cannot evaluate {type(node).__name__} as a condition")


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _like(node: Like, row: _Row) -> bool | None:
    text = render(_value(node.operand, row))
    pattern = render(_value(node.pattern, row))
    escape = None if node.escape is None else render(_value(node.escape, row))
    if text is None or pattern is None or (node.escape is not None and escape is None):
        return None
    matched = _like_regex(pattern, escape).fullmatch(text) is not None
    return matched != node.negated


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    if escape is not None and len(escape) != 1:
        raise _unsupported("the LIKE escape must be one character")
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if escape is not None and ch == escape:
            following = next(chars, None)
            if following not in ("%", "_", escape):
                raise _unsupported("bad escape sequence in LIKE pattern")
            out.append(re.escape(following))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _rows(catalog: Catalog, source: _Source) -> list[dict[str, Any]]:
    return [
        {str(key).lower(): normalize_value(value) for key, value in record.items()}
        for record in catalog.rows(source.table)
    ]


def _joined(plan: _Plan, catalog: Catalog) -> list[_Row]:
    first = plan.sources[0]
    rows = [_Row({first.alias: record}) for record in _rows(catalog, first)]
    seen_aliases = [first.alias]
    for source, (kind, on) in zip(plan.sources[1:], plan.joins, strict=True):
        right = _rows(catalog, source)
        matched_right: set[int] = set()
        joined: list[_Row] = []
        for row in rows:
            matched = False
            for index, record in enumerate(right):
                candidate = _Row({**row.tables, source.alias: record})
                if on is None or _truth(on, candidate) is True:
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
        present.sort(key=lambda item, p=position: _sort_key(item[1][p]), reverse=spec.descending)
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


def _run(plan: _Plan, catalog: Catalog) -> list[dict[str, Any]]:
    accepted: list[_Row] = []
    for row in _joined(plan, catalog):
        row.rownum = len(accepted) + 1
        if plan.where is None or _truth(plan.where, row) is True:
            accepted.append(row)

    names = [name for name, _ in plan.outputs]
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


def execute(q: str | Query, catalog: Catalog) -> list[dict[str, Any]]:
    """Run a SuiteQL query; every result item (ordered), rendered as NetSuite renders it."""
    query = parse(q) if isinstance(q, str) else q
    if not isinstance(query, Query):
        raise _unsupported("the query must be a string")
    try:
        plan = _Binder(query, catalog).plan()
        return _run(plan, catalog)
    except RecursionError:
        raise _unsupported("query nested too deeply") from None
