"""SOQL parser and evaluator for the fake Salesforce.

Pure Python, no I/O and no imports from the rest of the project.

* :func:`parse` turns query text into a :class:`Query`; bad syntax raises
  ``SoqlError("MALFORMED_QUERY")``.
* :func:`execute` checks the query against a :class:`Catalog` (``INVALID_TYPE`` for an unknown
  sObject, ``INVALID_FIELD`` for unknown fields/relationships or mistyped filter values),
  evaluates it over the catalog's records and returns Salesforce-shaped records.

Supported: ``SELECT f, Parent.f, Custom__r.f__c | COUNT() FROM Obj [WHERE ...]
[ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`` with AND / OR / NOT,
parentheses, ``= != <> < <= > >= IN, NOT IN, LIKE`` and string, number, boolean, null, date,
datetime and relative date literals (TODAY, LAST_N_DAYS:n, ...) evaluated against an injected
"now" in UTC. Everything else that is valid SOQL (subqueries, aggregates, GROUP BY, WITH,
TYPEOF, FOR UPDATE, aliases, ...) is rejected with ``MALFORMED_QUERY``.

Error messages follow Salesforce's layout: a newline, the query line (windowed around the
error), a caret line, ``ERROR at Row:r:Column:c`` and the explanation.

Evaluation is bounded: a query may examine so many rows (each record scanned, each parent
fetched) plus LIKE steps (:mod:`simulators.core.patterns`, which never backtracks); past that
budget it fails the way Salesforce fails a query that runs too long, ``QUERY_TIMEOUT``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from simulators.core.patterns import compile_like

__all__ = [
    "Catalog",
    "Comparison",
    "Condition",
    "FieldInfo",
    "FieldPath",
    "Literal",
    "Logical",
    "Negation",
    "OrderItem",
    "Query",
    "QueryResult",
    "SoqlError",
    "execute",
    "parse",
]

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"
QUERY_TIMEOUT = "QUERY_TIMEOUT"
QUERY_TIMEOUT_MESSAGE = "Your query request was running for too long."
DEFAULT_ROW_BUDGET = 250_000  # rows examined plus LIKE steps (~2 us a row): well under a second

DEFAULT_INSTANCE_PATH = "/services/data/v59.0"
MAX_OFFSET = 2000  # Salesforce's documented OFFSET ceiling
_MAX_NESTING = 64  # parentheses / NOT depth; keeps recursion far from Python's limit
_MAX_DIGITS = 10
_WINDOW = 40  # characters of context shown either side of the caret

_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)
_OBJECT_HINT = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the entity "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)
_RELATIONSHIP_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after the "
    "custom relationship name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)


class SoqlError(Exception):
    """A query failure shaped like a Salesforce REST error (``[{"message", "errorCode"}]``)."""

    def __init__(
        self, error_code: str, message: str, *, row: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.row = row
        self.column = column

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.error_code}


def _error_at(code: str, soql: str, pos: int, text: str) -> SoqlError:
    """Build an error whose message points at ``pos`` the way Salesforce does."""
    pos = max(0, min(pos, len(soql)))
    line_start = soql.rfind("\n", 0, pos) + 1
    line_end = soql.find("\n", pos)
    line = soql[line_start : len(soql) if line_end == -1 else line_end]
    rel = pos - line_start
    start, end = 0, len(line)
    if rel > _WINDOW:  # start the snippet on a word boundary shortly before the error
        space = line.find(" ", rel - _WINDOW, rel)
        start = space + 1 if space != -1 else rel - _WINDOW
    if end - rel > _WINDOW:
        space = line.find(" ", rel + _WINDOW)
        end = space if space != -1 else end
    row, column = soql.count("\n", 0, pos) + 1, rel + 1
    caret = " " * (rel - start) + "^"
    message = f"\n{line[start:end]}\n{caret}\nERROR at Row:{row}:Column:{column}\n{text}"
    return SoqlError(code, message, row=row, column=column)


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # ident | string | number | date | datetime | op | punct | eof
    text: str
    pos: int
    value: Any = None
    like: str | None = None  # string tokens as a LIKE pattern (escape "\\"), used by LIKE


_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})"
)
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_OP_RE = re.compile(r"!=|<>|<=|>=|=|<|>")
_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t",
    "b": "\b", "B": "\b", "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\",
}  # fmt: skip
_HEX = frozenset("0123456789abcdefABCDEF")


def _tokenize(soql: str) -> list[_Token]:
    """Split ``soql`` into tokens. A lexical error becomes a trailing "error" token so that the
    parser reports an earlier syntax error first (Salesforce complains about ``Brien`` in
    ``Name = 'O'Brien'``, not about the dangling quote)."""
    tokens: list[_Token] = []
    i = 0
    try:
        while i < len(soql):
            ch = soql[i]
            if ch.isspace():
                i += 1
                continue
            if ch == "'":
                tok = _read_string(soql, i)
            elif m := _DATETIME_RE.match(soql, i):
                tok = _Token("datetime", m.group(), i, _datetime_literal(soql, m, i))
            elif m := _DATE_RE.match(soql, i):
                tok = _Token("date", m.group(), i, _date_literal(soql, m, i))
            elif m := _NUMBER_RE.match(soql, i):
                tok = _Token("number", m.group(), i)
            elif m := _IDENT_RE.match(soql, i):
                tok = _Token("ident", m.group(), i)
            elif m := _OP_RE.match(soql, i):
                tok = _Token("op", m.group(), i)
            elif ch in "(),:":
                tok = _Token("punct", ch, i)
            else:
                raise _error_at(MALFORMED_QUERY, soql, i, f"unexpected token: '{ch}'")
            tokens.append(tok)
            i += len(tok.text)
    except SoqlError as exc:
        return [*tokens, _Token("error", "", i, exc)]
    return [*tokens, _Token("eof", "<EOF>", len(soql))]


def _read_string(soql: str, start: int) -> _Token:
    """Read a quoted literal; returns its decoded value and its LIKE pattern, where \\% and \\_
    stay escaped (literal) and every other escape is decoded."""
    chars: list[str] = []
    like: list[str] = []
    i = start + 1
    while i < len(soql):
        ch = soql[i]
        if ch == "'":
            return _Token("string", soql[start : i + 1], start, "".join(chars), "".join(like))
        if ch != "\\":
            chars.append(ch)
            like.append(ch)
            i += 1
            continue
        esc = soql[i + 1 : i + 2]
        if esc in _ESCAPES:
            decoded, i = _ESCAPES[esc], i + 2
        elif esc in ("%", "_"):
            decoded, i = esc, i + 2
        elif esc == "u" and len(soql) >= i + 6 and set(soql[i + 2 : i + 6]) <= _HEX:
            decoded, i = chr(int(soql[i + 2 : i + 6], 16)), i + 6
        else:
            raise _error_at(
                MALFORMED_QUERY,
                soql,
                i,
                f"Invalid string literal '{soql[start + 1 : i + 2]}'. "
                f"Illegal character sequence '\\{esc}' in string literal.",
            )
        chars.append(decoded)
        like.append("\\" + decoded if decoded in "%_\\" else decoded)
    raise _error_at(MALFORMED_QUERY, soql, start, "unexpected token: '''")


def _date_literal(soql: str, m: re.Match[str], pos: int) -> date:
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise _error_at(MALFORMED_QUERY, soql, pos, f"invalid date: {m.group()}") from None


def _datetime_literal(soql: str, m: re.Match[str], pos: int) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
        offset = 0
        if zone != "Z":
            digits = zone[1:].replace(":", "")
            offset = int(digits[:2]) * 60 + int(digits[2:])
            offset = -offset if zone[0] == "-" else offset
        tz = timezone(timedelta(minutes=offset))
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
        )
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _error_at(MALFORMED_QUERY, soql, pos, f"invalid datetime: {m.group()}") from None


# --------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]  # as written, e.g. ("Account", "Name")
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | boolean | null | date | datetime | date_range
    value: Any  # str | Decimal | bool | None | date | datetime (UTC) | (NAME, n | None)
    text: str
    pos: int
    like: str | None = None


@dataclass(frozen=True)
class Comparison:
    path: FieldPath
    op: str  # = != < <= > >= LIKE IN "NOT IN"
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Logical:
    op: str  # AND | OR
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    item: Condition


Condition = Comparison | Logical | Negation


@dataclass(frozen=True)
class OrderItem:
    path: FieldPath
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[FieldPath, ...]  # empty for COUNT()
    is_count: bool
    sobject: str
    sobject_pos: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    offset_pos: int = 0


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------

_RESERVED = frozenset(
    {
        "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES",
        "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH",
    }
)  # fmt: skip
_DATE_RANGES = frozenset(
    {
        "TODAY", "YESTERDAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH",
        "THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "LAST_QUARTER",
        "THIS_QUARTER", "NEXT_QUARTER", "LAST_YEAR", "THIS_YEAR", "NEXT_YEAR",
    }
)  # fmt: skip
_DATE_RANGES_N = frozenset(
    {
        "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS",
        "LAST_N_MONTHS", "NEXT_N_MONTHS", "LAST_N_YEARS", "NEXT_N_YEARS",
    }
)  # fmt: skip


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = _tokenize(soql)
        self.i = 0
        self.depth = 0

    # -- token helpers -----------------------------------------------------------------------
    def _peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def _advance(self) -> _Token:
        tok = self._peek()
        if isinstance(tok.value, SoqlError):
            raise tok.value
        if tok.kind != "eof":
            self.i += 1
        return tok

    @staticmethod
    def _is_kw(tok: _Token, *words: str) -> bool:
        return tok.kind == "ident" and tok.text.upper() in words

    @staticmethod
    def _is_punct(tok: _Token, ch: str) -> bool:
        return tok.kind == "punct" and tok.text == ch

    def _accept_kw(self, word: str) -> bool:
        if self._is_kw(self._peek(), word):
            self.i += 1
            return True
        return False

    def _accept_punct(self, ch: str) -> bool:
        if self._is_punct(self._peek(), ch):
            self.i += 1
            return True
        return False

    def _expect_kw(self, word: str) -> None:
        if not self._accept_kw(word):
            raise self._unexpected(self._peek())

    def _expect_punct(self, ch: str) -> None:
        if not self._accept_punct(ch):
            raise self._unexpected(self._peek())

    def _unexpected(self, tok: _Token) -> SoqlError:
        if isinstance(tok.value, SoqlError):  # a deferred lexical error
            return tok.value
        return _error_at(MALFORMED_QUERY, self.soql, tok.pos, f"unexpected token: '{tok.text}'")

    def _unsupported(self, tok: _Token, what: str) -> SoqlError:
        text = f"{what} is not supported by this Salesforce simulator"
        return _error_at(MALFORMED_QUERY, self.soql, tok.pos, text)

    def _integer(self) -> int:
        tok = self._advance()
        if tok.kind != "number" or not tok.text.isdigit():
            raise self._unexpected(tok)
        if len(tok.text) > _MAX_DIGITS:
            raise _error_at(
                MALFORMED_QUERY, self.soql, tok.pos, f"numeric value out of range: {tok.text}"
            )
        return int(tok.text)

    # -- grammar -----------------------------------------------------------------------------
    def parse(self) -> Query:
        self._expect_kw("SELECT")
        fields, is_count = self._select_list()
        self._expect_kw("FROM")
        obj = self._advance()
        if obj.kind != "ident" or "." in obj.text or obj.text.upper() in _RESERVED:
            raise self._unexpected(obj)
        if self._is_kw(self._peek(), "USING"):
            raise self._unsupported(self._peek(), "USING SCOPE")
        where = self._condition() if self._accept_kw("WHERE") else None
        tok = self._peek()
        if self._is_kw(tok, "WITH", "GROUP", "HAVING"):
            raise self._unsupported(tok, f"The {tok.text.upper()} clause")
        order: tuple[OrderItem, ...] = ()
        if self._is_kw(tok, "ORDER") and self._is_kw(self._peek(1), "BY"):
            self.i += 2
            order = self._order_list()
        limit = self._integer() if self._accept_kw("LIMIT") else None
        offset, offset_pos = None, 0
        if self._accept_kw("OFFSET"):
            offset_pos = self._peek().pos
            offset = self._integer()
        tok = self._peek()
        if self._is_kw(tok, "FOR", "UPDATE", "ALL"):
            raise self._unsupported(tok, f"The {tok.text.upper()} clause")
        if tok.kind != "eof":
            raise self._unexpected(tok)
        return Query(
            self.soql, fields, is_count, obj.text, obj.pos, where, order, limit, offset, offset_pos
        )

    def _select_list(self) -> tuple[tuple[FieldPath, ...], bool]:
        tok = self._peek()
        if self._is_kw(tok, "COUNT") and self._is_punct(self._peek(1), "("):
            if not self._is_punct(self._peek(2), ")"):
                raise self._unsupported(tok, "COUNT(field) and other aggregate functions")
            self.i += 3
            return (), True
        fields = [self._select_item()]
        while self._accept_punct(","):
            fields.append(self._select_item())
        return tuple(fields), False

    def _select_item(self) -> FieldPath:
        tok = self._peek()
        if self._is_punct(tok, "("):
            raise self._unsupported(tok, "A child relationship subquery")
        if self._is_kw(tok, "TYPEOF"):
            raise self._unsupported(tok, "TYPEOF")
        return self._field_path()

    def _field_path(self) -> FieldPath:
        tok = self._advance()
        if tok.kind != "ident" or tok.text.upper() in _RESERVED:
            raise self._unexpected(tok)
        if self._is_punct(self._peek(), "("):
            raise self._unsupported(tok, f"The function {tok.text}()")
        return FieldPath(tuple(tok.text.split(".")), tok.pos)

    def _order_list(self) -> tuple[OrderItem, ...]:
        items: list[OrderItem] = []
        while True:
            path = self._field_path()
            descending = False
            if not self._accept_kw("ASC") and self._accept_kw("DESC"):
                descending = True
            nulls_first = not descending  # Salesforce default: NULLS FIRST asc, NULLS LAST desc
            if self._accept_kw("NULLS"):
                tok = self._advance()
                if not self._is_kw(tok, "FIRST", "LAST"):
                    raise self._unexpected(tok)
                nulls_first = tok.text.upper() == "FIRST"
            items.append(OrderItem(path, descending, nulls_first))
            if not self._accept_punct(","):
                return tuple(items)

    def _condition(self) -> Condition:
        first = self._term()
        tok = self._peek()
        if not self._is_kw(tok, "AND", "OR"):
            return first
        op = tok.text.upper()
        items = [first]
        while self._accept_kw(op):
            items.append(self._term())
        if self._is_kw(self._peek(), "AND", "OR"):  # SOQL demands parentheses to mix AND/OR
            raise self._unexpected(self._peek())
        return Logical(op, tuple(items))

    def _term(self) -> Condition:
        tok = self._peek()
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise _error_at(MALFORMED_QUERY, self.soql, tok.pos, "query is nested too deeply")
        try:
            if self._accept_kw("NOT"):
                return Negation(self._term())
            if self._accept_punct("("):
                condition = self._condition()
                self._expect_punct(")")
                return condition
            return self._comparison()
        finally:
            self.depth -= 1

    def _comparison(self) -> Comparison:
        path = self._field_path()
        tok = self._advance()
        if tok.kind == "op":
            op = "!=" if tok.text == "<>" else tok.text
            return Comparison(path, op, (self._value(),))
        word = tok.text.upper() if tok.kind == "ident" else ""
        if word == "LIKE":
            value = self._advance()
            if value.kind != "string":
                raise self._unexpected(value)
            literal = Literal("string", value.value, value.text, value.pos, value.like)
            return Comparison(path, "LIKE", (literal,))
        if word in ("INCLUDES", "EXCLUDES"):
            raise self._unsupported(tok, word)
        if word == "NOT":
            tok = self._advance()
            if not self._is_kw(tok, "IN"):
                raise self._unexpected(tok)
            op = "NOT IN"
        elif word == "IN":
            op = "IN"
        else:
            raise self._unexpected(tok)
        self._expect_punct("(")
        if self._is_kw(self._peek(), "SELECT"):
            raise self._unsupported(self._peek(), "A semi-join or anti-join subquery")
        values = [self._value()]
        while self._accept_punct(","):
            values.append(self._value())
        self._expect_punct(")")
        return Comparison(path, op, tuple(values))

    def _value(self) -> Literal:
        tok = self._advance()
        if tok.kind == "string":
            return Literal("string", tok.value, tok.text, tok.pos, tok.like)
        if tok.kind == "number":
            return Literal("number", Decimal(tok.text), tok.text, tok.pos)
        if tok.kind in ("date", "datetime"):
            return Literal(tok.kind, tok.value, tok.text, tok.pos)
        word = tok.text.upper() if tok.kind == "ident" else ""
        if word in ("TRUE", "FALSE"):
            return Literal("boolean", word == "TRUE", tok.text, tok.pos)
        if word == "NULL":
            return Literal("null", None, tok.text, tok.pos)
        if word in _DATE_RANGES:
            return Literal("date_range", (word, None), tok.text, tok.pos)
        if word in _DATE_RANGES_N:
            self._expect_punct(":")
            n = self._integer()
            return Literal("date_range", (word, n), f"{word}:{n}", tok.pos)
        raise self._unexpected(tok)


def parse(soql: str) -> Query:
    """Parse SOQL text; raises :class:`SoqlError` (MALFORMED_QUERY) on bad syntax."""
    if not isinstance(soql, str):
        raise SoqlError(MALFORMED_QUERY, "query must be a string")
    if len(soql) > _CACHED_TEXT:
        return _Parser(soql).parse()
    return _parsed(soql)


_CACHED_TEXT = 4096  # longer texts are parsed each time, not kept


@lru_cache(maxsize=256)  # clients send the same few query texts; a Query is immutable
def _parsed(soql: str) -> Query:
    return _Parser(soql).parse()


# --------------------------------------------------------------------------------------------
# Schema access
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    name: str  # canonical API name
    type: str  # describe type: id, reference, string, picklist, boolean, int, double, date, ...
    reference_to: str | None = None
    relationship_name: str | None = None


class Catalog(Protocol):
    def object_name(self, name: str) -> str | None:
        """Canonical name of an sObject (case-insensitive lookup), None if unknown."""
        ...

    def fields(self, sobject: str) -> dict[str, FieldInfo]:
        """Canonical field name -> info."""
        ...

    def records(self, sobject: str, include_deleted: bool) -> Iterable[dict[str, Any]]:
        """Stored records keyed by canonical field names (always including "Id")."""
        ...

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None: ...


@dataclass
class QueryResult:
    total_size: int
    records: list[dict[str, Any]]  # every matching row after ORDER BY/OFFSET/LIMIT (unpaged)


# --------------------------------------------------------------------------------------------
# Values and comparisons
# --------------------------------------------------------------------------------------------

_STRING, _ID, _NUMBER = "string", "id", "number"
_BOOLEAN, _DATE, _DATETIME = "boolean", "date", "datetime"
_NUMERIC_TYPES = frozenset({"int", "integer", "long", "double", "currency", "percent"})
_UNCHECKED_TYPES = frozenset({"anytype", "time", "address", "location", "base64", "complexvalue"})
_ALLOWED_LITERALS = {
    _STRING: {"string"},
    _ID: {"string"},
    _NUMBER: {"number"},
    _BOOLEAN: {"boolean"},
    _DATE: {"date", "date_range"},
    _DATETIME: {"datetime", "date_range"},
}


def _category(field_type: str) -> str:
    t = field_type.lower()
    if t in ("id", "reference"):
        return _ID
    if t in _NUMERIC_TYPES:
        return _NUMBER
    if t in (_BOOLEAN, _DATE, _DATETIME):
        return t
    return _STRING


def _id_key(value: str) -> str:
    return value[:15] if len(value) == 18 else value  # 15- and 18-char forms are equivalent


def _to_datetime(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime(raw.year, raw.month, raw.day)
    else:
        value = datetime.fromisoformat(str(raw))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _coerce(category: str, raw: Any) -> Any:
    """Stored value -> comparable value of the field's category, or None if null/unusable."""
    if raw is None:
        return False if category == _BOOLEAN else None  # Salesforce booleans are never null
    try:
        if category == _STRING:
            return str(raw).casefold()
        if category == _ID:
            return _id_key(str(raw))
        if category == _NUMBER:
            if isinstance(raw, bool):
                return None
            number = Decimal(str(raw))
            return None if number.is_nan() else number
        if category == _BOOLEAN:
            if isinstance(raw, bool):
                return raw
            text = str(raw).lower()
            return text == "true" if text in ("true", "false") else None
        if category == _DATE:
            if isinstance(raw, date) and not isinstance(raw, datetime):
                return raw
            if isinstance(raw, datetime):
                return _to_datetime(raw).date()
            return date.fromisoformat(str(raw)[:10])
        return _to_datetime(raw)
    except (ValueError, TypeError, ArithmeticError):
        return None


@dataclass(frozen=True)
class _Range:
    """Inclusive range of days produced by a relative date literal such as THIS_MONTH."""

    start: date
    end: date


def _add_days(day: date, n: int) -> date:
    try:
        return day + timedelta(days=n)
    except OverflowError:
        return date.max if n > 0 else date.min


def _month_start(day: date, n: int) -> date:
    """First day of the month ``n`` months after ``day``'s month (clamped to date's range)."""
    index = day.year * 12 + day.month - 1 + n
    if index < 12:
        return date.min
    if index >= 10000 * 12:
        return date.max
    return date(index // 12, index % 12 + 1, 1)


def _date_range(name: str, n: int | None, today: date) -> _Range:
    n = 90 if name in ("LAST_90_DAYS", "NEXT_90_DAYS") else (n or 0)
    week = _add_days(today, -((today.weekday() + 1) % 7))  # weeks start on Sunday (en_US)
    quarter = _month_start(today, -((today.month - 1) % 3))
    year = date(today.year, 1, 1)

    def months(start: date, first: int, count: int) -> _Range:
        return _Range(_month_start(start, first), _add_days(_month_start(start, first + count), -1))

    if name == "TODAY":
        return _Range(today, today)
    if name in ("YESTERDAY", "TOMORROW"):
        day = _add_days(today, -1 if name == "YESTERDAY" else 1)
        return _Range(day, day)
    if name in ("LAST_N_DAYS", "LAST_90_DAYS"):
        return _Range(_add_days(today, -n), today)
    if name in ("NEXT_N_DAYS", "NEXT_90_DAYS"):
        return _Range(_add_days(today, 1), _add_days(today, n))
    if name == "N_DAYS_AGO":
        day = _add_days(today, -n)
        return _Range(day, day)
    weeks = {"LAST_WEEK": (-1, 1), "THIS_WEEK": (0, 1), "NEXT_WEEK": (1, 1)}
    weeks |= {"LAST_N_WEEKS": (-n, n), "NEXT_N_WEEKS": (1, n)}
    if name in weeks:
        first, count = weeks[name]
        return _Range(_add_days(week, 7 * first), _add_days(week, 7 * (first + count) - 1))
    spans = {
        "LAST_MONTH": (today, -1, 1), "THIS_MONTH": (today, 0, 1), "NEXT_MONTH": (today, 1, 1),
        "LAST_N_MONTHS": (today, -n, n), "NEXT_N_MONTHS": (today, 1, n),
        "LAST_QUARTER": (quarter, -3, 3), "THIS_QUARTER": (quarter, 0, 3),
        "NEXT_QUARTER": (quarter, 3, 3),
        "LAST_YEAR": (year, -12, 12), "THIS_YEAR": (year, 0, 12), "NEXT_YEAR": (year, 12, 12),
        "LAST_N_YEARS": (year, -12 * n, 12 * n), "NEXT_N_YEARS": (year, 12, 12 * n),
    }  # fmt: skip
    start, first, count = spans[name]
    return months(start, first, count)


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


def _test(op: str, value: Any, literal: Any) -> bool:
    """Compare a coerced record value with a prepared literal (None means null)."""
    if isinstance(literal, _Range):
        if value is None:
            return op == "!="
        day = value.date() if isinstance(value, datetime) else value
        inside = literal.start <= day <= literal.end
        return {
            "=": inside,
            "!=": not inside,
            "<": day < literal.start,
            "<=": day <= literal.end,
            ">": day > literal.end,
            ">=": day >= literal.start,
        }[op]
    if value is None or literal is None:
        # SOQL treats null as a value: "= null" / "!= null" work, and "Field != 'x'" also
        # returns rows whose Field is null; ordering comparisons never match null.
        if op == "=":
            return value is None and literal is None
        return op == "!=" and (value is None) != (literal is None)
    try:
        return bool(_OPERATORS[op](value, literal))
    except (TypeError, ArithmeticError):
        return False


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------


class _Budget:
    """What a query may still spend, in rows examined and LIKE steps. Evaluation is synchronous
    on the event loop, so running out ends it: Salesforce's 400 for a query that ran too long."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, cost: int) -> None:
        self.left -= cost
        if self.left < 0:
            raise SoqlError(QUERY_TIMEOUT, QUERY_TIMEOUT_MESSAGE)


Record = dict[str, Any]
Predicate = Callable[[Record], bool]


@dataclass(frozen=True)
class _Resolved:
    """A field path bound to the schema: relationship hops, then the final field."""

    path: FieldPath
    hops: tuple[tuple[FieldInfo, str], ...]  # (reference field, canonical target sObject)
    field: FieldInfo

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(info.name for info, _ in self.hops) + (self.field.name,)


class _Executor:
    def __init__(
        self, query: Query, catalog: Catalog, now: datetime, instance_path: str, budget: _Budget
    ) -> None:
        self.query = query
        self.catalog = catalog
        self.budget = budget
        self.instance_path = instance_path.rstrip("/")
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        self.today = now.date()
        self._fields: dict[str, dict[str, FieldInfo]] = {}
        self._relationships: dict[str, dict[str, FieldInfo]] = {}
        self._parents: dict[tuple[str, str], Record | None] = {}
        sobject = catalog.object_name(query.sobject)
        if sobject is None:
            text = f"sObject type '{query.sobject}' is not supported. {_OBJECT_HINT}"
            raise self._error(INVALID_TYPE, query.sobject_pos, text)
        self.sobject = sobject

    def _error(self, code: str, pos: int, text: str) -> SoqlError:
        return _error_at(code, self.query.text, pos, text)

    # -- schema ------------------------------------------------------------------------------
    def _field_map(self, sobject: str) -> dict[str, FieldInfo]:
        if sobject not in self._fields:
            infos = self.catalog.fields(sobject)
            self._fields[sobject] = {name.lower(): info for name, info in infos.items()}
            self._relationships[sobject] = {
                info.relationship_name.lower(): info
                for info in infos.values()
                if info.relationship_name and info.reference_to
            }
        return self._fields[sobject]

    def _relationship(self, sobject: str, name: str) -> FieldInfo | None:
        self._field_map(sobject)
        return self._relationships[sobject].get(name.lower())

    def resolve(self, path: FieldPath) -> _Resolved:
        sobject = self.sobject
        parts = list(path.parts)
        # "SELECT Account.Name FROM Account" is legal: the object name may prefix its fields.
        prefixed = len(parts) > 1 and parts[0].lower() == sobject.lower()
        if prefixed and self._relationship(sobject, parts[0]) is None:
            parts.pop(0)
        hops: list[tuple[FieldInfo, str]] = []
        for name in parts[:-1]:
            info = self._relationship(sobject, name)
            target = self.catalog.object_name(info.reference_to or "") if info else None
            if info is None or target is None:
                text = f"Didn't understand relationship '{name}' in field path. "
                raise self._error(INVALID_FIELD, path.pos, text + _RELATIONSHIP_HINT)
            hops.append((info, target))
            sobject = target
        field = self._field_map(sobject).get(parts[-1].lower())
        if field is None:
            text = f"No such column '{parts[-1]}' on entity '{sobject}'. {_FIELD_HINT}"
            raise self._error(INVALID_FIELD, path.pos, text)
        return _Resolved(path, tuple(hops), field)

    # -- record access -----------------------------------------------------------------------
    def _parent(self, sobject: str, record_id: Any) -> Record | None:
        if record_id is None or record_id == "":
            return None
        key = (sobject, str(record_id))
        if key not in self._parents:
            self.budget.spend(1)
            self._parents[key] = self.catalog.get(sobject, str(record_id))
        return self._parents[key]

    def _getter(self, resolved: _Resolved) -> Callable[[Record], Any]:
        hops, name = resolved.hops, resolved.field.name

        def get(record: Record) -> Any:
            current = record
            for info, target in hops:
                parent = self._parent(target, current.get(info.name))
                if parent is None:
                    return None
                current = parent
            return current.get(name)

        return get

    # -- WHERE -------------------------------------------------------------------------------
    def compile(self, condition: Condition) -> Predicate:
        if isinstance(condition, Logical):
            parts = [self.compile(item) for item in condition.items]
            if condition.op == "AND":
                return lambda record: all(part(record) for part in parts)
            return lambda record: any(part(record) for part in parts)
        if isinstance(condition, Negation):
            inner = self.compile(condition.item)
            return lambda record: not inner(record)
        return self._compile_comparison(condition)

    def _check_literal(self, resolved: _Resolved, category: str, literal: Literal) -> None:
        field = resolved.field
        if literal.kind == "null" or field.type.lower() in _UNCHECKED_TYPES:
            return
        if literal.kind in _ALLOWED_LITERALS[category]:
            return
        if category in (_STRING, _ID):
            expected = f"must be of type {category} and should be enclosed in quotes"
        else:
            label = {"int": "integer", "datetime": "dateTime"}.get(field.type.lower(), field.type)
            expected = f"must be of type {label} and should not be enclosed in quotes"
        text = f"value of filter criterion for field '{field.name}' {expected}"
        raise self._error(INVALID_FIELD, literal.pos, text)

    def _prepare(self, literal: Literal, category: str) -> Any:
        if literal.kind == "null":
            return False if category == _BOOLEAN else None  # "Flag = null" means "Flag = false"
        if literal.kind == "date_range":
            name, n = literal.value
            return _date_range(name, n, self.today)
        if category in (_STRING, _ID):
            text = literal.value if literal.kind == "string" else literal.text
            return text.casefold() if category == _STRING else _id_key(text)
        return literal.value

    def _compile_comparison(self, comparison: Comparison) -> Predicate:
        resolved = self.resolve(comparison.path)
        category = _category(resolved.field.type)
        for literal in comparison.values:
            self._check_literal(resolved, category, literal)
        get = self._getter(resolved)
        op = comparison.op
        if op == "LIKE":
            if category not in (_STRING, _ID):
                name = resolved.field.name
                text = f"invalid operator on field '{name}': LIKE needs a string field"
                raise self._error(INVALID_FIELD, comparison.path.pos, text)
            pattern = compile_like(comparison.values[0].like or "", case_insensitive=True)
            spend = self.budget.spend

            def like(record: Record) -> bool:
                raw = get(record)
                if raw is None:
                    return False
                matched, steps = pattern.search(str(raw))
                spend(steps)
                return matched

            return like
        prepared = [self._prepare(literal, category) for literal in comparison.values]
        if op in ("IN", "NOT IN"):
            negate = op == "NOT IN"

            def member(record: Record) -> bool:
                value = _coerce(category, get(record))
                return any(_test("=", value, item) for item in prepared) != negate

            return member
        literal = prepared[0]
        return lambda record: _test(op, _coerce(category, get(record)), literal)

    # -- ORDER BY and output -----------------------------------------------------------------
    def sort(self, rows: list[Record], order: list[tuple[_Resolved, OrderItem]]) -> list[Record]:
        for resolved, item in reversed(order):  # stable sorts, least significant key first
            get, category = self._getter(resolved), _category(resolved.field.type)
            keyed = [(_coerce(category, get(row)), row) for row in rows]
            present = sorted(
                ((k, r) for k, r in keyed if k is not None),
                key=operator.itemgetter(0),
                reverse=item.descending,
            )
            missing = [row for key, row in keyed if key is None]
            ordered = [row for _, row in present]
            rows = missing + ordered if item.nulls_first else ordered + missing
        return rows

    def _attributes(self, sobject: str, record: Record) -> dict[str, str]:
        url = f"{self.instance_path}/sobjects/{sobject}/{record.get('Id')}"
        return {"type": sobject, "url": url}

    def project(self, record: Record, selected: list[_Resolved]) -> Record:
        out: Record = {"attributes": self._attributes(self.sobject, record)}
        for resolved in selected:
            node, current = out, record
            for info, target in resolved.hops:
                key = info.relationship_name or info.name
                parent = self._parent(target, current.get(info.name))
                if parent is None:
                    node[key] = None
                    break
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {"attributes": self._attributes(target, parent)}
                    node[key] = child
                node, current = child, parent
            else:
                node[resolved.field.name] = current.get(resolved.field.name)
        return out

    def run(self, include_deleted: bool) -> QueryResult:
        query = self.query
        selected = [self.resolve(path) for path in query.fields]
        seen: set[tuple[str, ...]] = set()
        for resolved in selected:
            key = resolved.key
            if key in seen:
                text = f"duplicate field selected: {resolved.path.text}"
                raise self._error(INVALID_FIELD, resolved.path.pos, text)
            seen.add(key)
        predicate = self.compile(query.where) if query.where is not None else None
        order = [(self.resolve(item.path), item) for item in query.order_by]
        if query.offset is not None and query.offset > MAX_OFFSET:
            text = f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            raise self._error(NUMBER_OUTSIDE_VALID_RANGE, query.offset_pos, text)
        records = list(self.catalog.records(self.sobject, include_deleted))
        self.budget.spend(len(records))  # a table past the budget fails before any filtering
        rows = [record for record in records if predicate is None or predicate(record)]
        rows = self.sort(rows, order)
        start = query.offset or 0
        rows = rows[start:] if query.limit is None else rows[start : start + query.limit]
        if query.is_count:
            return QueryResult(total_size=len(rows), records=[])
        records = [self.project(record, selected) for record in rows]
        return QueryResult(total_size=len(records), records=records)


def execute(
    soql: str | Query,
    catalog: Catalog,
    *,
    now: datetime,
    include_deleted: bool = False,
    instance_path: str = DEFAULT_INSTANCE_PATH,
    row_budget: int | None = None,
) -> QueryResult:
    """Run a query against ``catalog``.

    ``now`` anchors relative date literals (a naive value is taken as UTC); ``include_deleted``
    is passed to :meth:`Catalog.records` (``queryAll``). ``row_budget`` bounds the rows examined
    plus LIKE steps (default: the catalog's ``row_budget`` attribute if it has one, else
    :data:`DEFAULT_ROW_BUDGET`); past it the query fails with ``QUERY_TIMEOUT``. Raises
    :class:`SoqlError` only.
    """
    query = soql if isinstance(soql, Query) else parse(soql)
    if row_budget is None:
        row_budget = int(getattr(catalog, "row_budget", None) or DEFAULT_ROW_BUDGET)
    budget = _Budget(row_budget)
    return _Executor(query, catalog, now, instance_path, budget).run(include_deleted)
