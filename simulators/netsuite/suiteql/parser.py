"""The SuiteQL parser: text to a `Query`, rejecting what NetSuite cannot run."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NoReturn

from simulators.netsuite.suiteql.errors import short, unsupported
from simulators.netsuite.suiteql.nodes import (
    Arith,
    Between,
    Cmp,
    Col,
    Count,
    Func,
    InList,
    IsNull,
    Join,
    Like,
    Lit,
    Logic,
    Neg,
    Node,
    Not,
    OrderItem,
    Query,
    SelectItem,
    Star,
    TableRef,
)
from simulators.netsuite.suiteql.tokens import Token, tokenize
from simulators.netsuite.suiteql.values import MAX_EXPONENT

MAX_DEPTH = 64  # nesting of parentheses / NOT / unary minus accepted by the parser

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
        found = "end of query" if tok.kind == "eof" else short(tok.text)
        raise unsupported(f"{what}, found {found} at position {tok.pos}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise unsupported("expression nested too deeply")

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
            raise unsupported(f"{_UNSUPPORTED_CLAUSES[tok.value]} is not supported")

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
                raise unsupported(f"bad DATE literal {short(text)}") from None
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
                raise unsupported(f"function {tok.text}.{name.text} is not supported")
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
            raise unsupported(f"function {name.text} is not supported")
        args: list[Node] = []
        if not self.is_op(")"):
            args.append(self.expr())
            while self.accept_op(","):
                args.append(self.expr())
        self.expect_op(")")
        low, high = FUNCTIONS[name.value]
        if not low <= len(args) <= high:
            raise unsupported(
                f"{name.text.upper()} takes {low}..{high} arguments, got {len(args)}"
            )
        return Func(name.value, tuple(args))


def _number_literal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise unsupported(f"bad number {short(text)}") from None
    if value and abs(value.adjusted()) > MAX_EXPONENT:
        raise unsupported(f"number {short(text)} is out of range")
    return value


def parse(q: str) -> Query:
    """Parse SuiteQL text into a `Query`; raise `SuiteQLError` if it is not valid/supported."""
    if not isinstance(q, str):
        raise unsupported("the query must be a string")
    try:
        return _Parser(q).query() if len(q) > _CACHED_TEXT else _parsed(q)
    except RecursionError:
        raise unsupported("query nested too deeply") from None


_CACHED_TEXT = 4096  # longer texts are parsed each time, not kept


@lru_cache(maxsize=256)  # clients send the same few query texts; a Query is immutable
def _parsed(q: str) -> Query:
    return _Parser(q).query()
