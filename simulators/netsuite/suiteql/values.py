"""Values as SuiteQL sees them: normalizing catalog values, rendering result values, and Oracle's
implicit conversions for comparison and sorting."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_EXPONENT = 125  # Oracle NUMBER holds up to 1E126


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
        return format_decimal(value)
    if isinstance(value, datetime):
        hour = value.hour % 12 or 12
        meridian = "pm" if value.hour >= 12 else "am"
        return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d} {meridian}"
    if isinstance(value, date):
        return f"{value.month}/{value.day}/{value.year}"
    return str(value)


def format_decimal(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def as_datetime(value: date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def text_to_number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or (number and abs(number.adjusted()) > MAX_EXPONENT):
        return None
    return number


_TEXT_DATE_FORMATS = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y")


def text_to_datetime(text: str) -> datetime | None:
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
        return as_datetime(a), as_datetime(b)
    if type(a) is type(b):
        return a, b
    if isinstance(a, Decimal) and isinstance(b, str):
        number = text_to_number(b)
        return None if number is None else (a, number)
    if isinstance(a, str) and isinstance(b, Decimal):
        number = text_to_number(a)
        return None if number is None else (number, b)
    if isinstance(a, date) and isinstance(b, str):
        moment = text_to_datetime(b)
        return None if moment is None else (as_datetime(a), moment)
    if isinstance(a, str) and isinstance(b, date):
        moment = text_to_datetime(a)
        return None if moment is None else (moment, as_datetime(b))
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


def sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, Decimal):
        return (0, value)
    if isinstance(value, date):
        return (1, as_datetime(value))
    return (2, value)
