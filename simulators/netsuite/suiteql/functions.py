"""Scalar functions (`LOWER` ... `TO_DATE`) and arithmetic, on SuiteQL values."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from simulators.netsuite.suiteql.dates import format_datetime, parse_datetime
from simulators.netsuite.suiteql.errors import short, unsupported
from simulators.netsuite.suiteql.values import (
    MAX_EXPONENT,
    as_datetime,
    render,
    text_to_datetime,
    text_to_number,
)


def to_number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        number = text_to_number(value)
        if number is not None:
            return number
    raise unsupported(f"{short(render(value) or '')} is not a number")


def checked(number: Decimal) -> Decimal:
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise unsupported("numeric overflow")
    return number


def arith(op: str, left: Any, right: Any) -> Any:
    if op == "||":
        text = (render(left) or "") + (render(right) or "")
        return text or None
    if left is None or right is None:
        return None
    try:
        if isinstance(left, date) and op in "+-" and not isinstance(right, date):
            days = to_number(right)
            delta = timedelta(days=float(days))
            return as_datetime(left) + delta if op == "+" else as_datetime(left) - delta
        if isinstance(left, date) and isinstance(right, date) and op == "-":
            seconds = (as_datetime(left) - as_datetime(right)).total_seconds()
            return checked(Decimal(repr(seconds / 86400)))
        if isinstance(left, date) or isinstance(right, date):
            raise unsupported(f"cannot apply {op} to a date")
        a, b = to_number(left), to_number(right)
        if op == "/" and not b:
            raise unsupported("division by zero")
        result = {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
        return checked(result)
    except (ArithmeticError, OverflowError, ValueError):
        raise unsupported("arithmetic error") from None


def call(name: str, args: list[Any]) -> Any:
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
        return None if args[0] is None else to_number(args[0])
    if name == "to_char":
        value = args[0]
        if value is None:
            return None
        if len(args) == 1:
            return render(value)
        if not isinstance(value, date):
            raise unsupported("TO_CHAR with a format is supported for dates only")
        return format_datetime(as_datetime(value), args[1])
    if name == "to_date":
        value = args[0]
        if value is None:
            return None
        if isinstance(value, date):
            return as_datetime(value)
        text = render(value) or ""
        if len(args) == 2:
            return parse_datetime(text, args[1])
        moment = text_to_datetime(text)
        if moment is None:
            raise unsupported(f"{short(text)} is not a date")
        return moment
    raise unsupported(f"function {name} is not supported")
