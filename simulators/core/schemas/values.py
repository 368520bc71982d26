"""Field types and the value check every fake shares (`FieldDef.coerce` calls `coerce`).

Canonical forms: text, picklist, reference and id → ``str``; int → ``int``; double/currency/
percent → ``float`` (rounded to the field's scale); boolean → ``bool``; date → ``"YYYY-MM-DD"``;
datetime → UTC ``"YYYY-MM-DDTHH:MM:SSZ"`` (with ``.mmm`` when there are milliseconds);
multipicklist → ``list[str]``. Form-encoded input is accepted too ("12.5", "true", "a;b").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from simulators.core.schemas.errors import FieldValueError, show


class FieldDef(Protocol):
    """What the checks read of a field (model.FieldDef has it; no import, so no cycle)."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def values(self) -> tuple[str, ...]: ...
    @property
    def length(self) -> int | None: ...
    @property
    def precision(self) -> int | None: ...
    @property
    def scale(self) -> int | None: ...
    @property
    def to(self) -> str | None: ...

FIELD_TYPES: tuple[str, ...] = (
    "string", "textarea", "email", "phone", "url",
    "int", "double", "currency", "percent",
    "boolean", "date", "datetime",
    "picklist", "multipicklist",
    "reference", "id",
)

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url"})
DECIMAL_TYPES = frozenset({"double", "currency", "percent"})
NUMBER_TYPES = DECIMAL_TYPES | {"int"}
PICKLIST_TYPES = frozenset({"picklist", "multipicklist"})
# Types that can carry `external_id` / `unique` (Salesforce: text, number, email).
KEY_TYPES = frozenset({"string", "email", "int", "double", "id"})

MAX_LENGTH = 131_072  # Salesforce's long text area limit; longer than anything else we model
MAX_PRECISION = 18


def coerce(field: FieldDef, value: Any) -> Any:
    """`value` checked for `field`, in canonical form; None stays None. Raises FieldValueError."""
    if value is None:
        return None
    try:
        return _COERCERS[field.type](field, value)
    except _Bad as bad:
        raise FieldValueError(field.name, str(bad)) from None


class _Bad(Exception):
    """Internal: a value problem; becomes FieldValueError(field.name, reason)."""


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()./\- x]*[0-9][0-9+()./\- x]*$", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


def _text(f: FieldDef, value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected text, got {show(value)}")
    if f.length is not None and len(value) > f.length:
        raise _Bad(f"longer than {f.length} characters ({len(value)})")
    if f.type == "email" and value and not _EMAIL.match(value):
        raise _Bad(f"not an email address: {show(value)}")
    if f.type == "phone" and value and not _PHONE.match(value):
        raise _Bad(f"not a phone number: {show(value)}")
    if f.type == "url" and any(c.isspace() for c in value):
        raise _Bad(f"not a URL (contains spaces): {show(value)}")
    return value


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Bad(f"expected a number, got {show(value)}")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(f"expected a finite number, got {show(value)}")
        number = Decimal(repr(value))
    elif isinstance(value, str) and _NUMBER.match(value.strip()):
        number = Decimal(value.strip())
    else:
        raise _Bad(f"expected a number, got {show(value)}")
    if not number.is_finite():
        raise _Bad(f"expected a finite number, got {show(value)}")
    return number


def _integer_digits(number: Decimal) -> int:
    whole = abs(int(number))
    return len(str(whole)) if whole else 0


def _int(f: FieldDef, value: Any) -> int:
    if isinstance(value, str) and not _INTEGER.match(value.strip()):
        raise _Bad(f"expected a whole number, got {show(value)}")
    number = _decimal(value)
    if number != number.to_integral_value():
        raise _Bad(f"expected a whole number, got {show(value)}")
    if f.precision is not None and _integer_digits(number) > f.precision:
        raise _Bad(f"more than {f.precision} digits")
    return int(number)


def _double(f: FieldDef, value: Any) -> float:
    number = _decimal(value)
    if f.scale is not None:
        try:
            number = number.quantize(Decimal(1).scaleb(-f.scale), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise _Bad(f"number too large: {show(value)}") from None
    if f.precision is not None:
        allowed = f.precision - (f.scale or 0)
        if _integer_digits(number) > allowed:
            raise _Bad(f"more than {allowed} digits before the decimal point")
    return float(number)


def _boolean(f: FieldDef, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _Bad(f"expected true or false, got {show(value)}")


def _date(f: FieldDef, value: Any) -> str:
    if isinstance(value, datetime):
        raise _Bad(f"expected a date without a time, got {show(value)}")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise _Bad(f"not a real date: {show(value)}") from None
    raise _Bad(f"expected a date like 2024-05-31, got {show(value)}")


def _datetime(f: FieldDef, value: Any) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, UTC)  # Unix seconds, as Chargebee sends them
        except (OverflowError, OSError, ValueError):
            raise _Bad(f"timestamp out of range: {show(value)}") from None
    elif isinstance(value, str) and (match := _DATETIME.match(value)):
        if not match.group("tz"):
            raise _Bad(f"datetime needs a time zone, e.g. 2024-05-31T12:00:00Z, got {show(value)}")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _Bad(f"not a real date/time: {show(value)}") from None
    elif isinstance(value, date):
        raise _Bad(f"expected a date and time, got the date {show(value)}")
    else:
        raise _Bad(f"expected a datetime like 2024-05-31T12:00:00Z, got {show(value)}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _Bad(f"datetime needs a time zone, got {show(value)}")
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _allowed(f: FieldDef) -> str:
    shown = ", ".join(f.values[:10])
    return shown + (", …" if len(f.values) > 10 else "")


def _picklist(f: FieldDef, value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected one of: {_allowed(f)}; got {show(value)}")
    if value not in f.values:
        raise _Bad(f"{show(value)} is not an allowed value (allowed: {_allowed(f)})")
    return value


def _multipicklist(f: FieldDef, value: Any) -> list[str]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(";")] if value.strip() else []
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise _Bad(f"expected a list of values or 'a;b', got {show(value)}")
    chosen: list[str] = []
    for item in items:
        if not isinstance(item, str) or item not in f.values:
            raise _Bad(f"{show(item)} is not an allowed value (allowed: {_allowed(f)})")
        if item not in chosen:
            chosen.append(item)
    return chosen


def _reference(f: FieldDef, value: Any) -> str:
    if isinstance(value, Mapping) and "id" in value:  # NetSuite style {"id": "107"}
        value = value["id"]
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"expected the id of a {f.to or 'record'}, got {show(value)}")
    return value


def _id(f: FieldDef, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise _Bad(f"expected an id without spaces, got {show(value)}")
    if f.length is not None and len(value) > f.length:
        raise _Bad(f"longer than {f.length} characters ({len(value)})")
    return value


_COERCERS: dict[str, Any] = {
    **dict.fromkeys(TEXT_TYPES, _text),
    "int": _int,
    **dict.fromkeys(DECIMAL_TYPES, _double),
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "picklist": _picklist,
    "multipicklist": _multipicklist,
    "reference": _reference,
    "id": _id,
}
assert set(_COERCERS) == set(FIELD_TYPES)
