"""How each vendor writes each value type: one table, one entry per vendor.

A codec turns a canonical value into the vendor's wire form (`write`) and back (`read`). `read`
accepts every form the vendor is known to send (NetSuite lists as `{"id", "refName"}`,
Salesforce numbers as 3.0, SuiteQL booleans as "T"), so reading then writing normalises.
Picklists are written as the vendor's value string; the mapping file's `values:` map turns
canonical values into those strings. Codecs raise ValueError.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from components.mapping.canonical import FieldType

Convert = Callable[[Any, int], Any]  # (value, currency exponent) -> value


@dataclass(frozen=True)
class Codec:
    write: Convert
    read: Convert


@dataclass(frozen=True)
class VendorFormat:
    codecs: Mapping[FieldType, Codec]
    object_key: str = "object"        # what a mapping file calls the vendor's object type
    text_under: tuple[str, ...] = ()  # containers that hold only strings (Stripe metadata)

    def codec(self, wire: FieldType, vendor_field: str) -> Codec:
        if vendor_field.split(".", 1)[0] in self.text_under:
            return TEXT_CODECS[wire]
        return self.codecs[wire]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WHOLE = re.compile(r"^[+-]?\d+$")


def _whole(value: Any, _: int = 0) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.match(value.strip()):
        return int(value)
    raise ValueError(f"expected a whole number, got {value!r}")


def _number(value: Any) -> Decimal:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))  # the shortest repr: 12.34, not 12.339999…
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            pass
    raise ValueError(f"expected a number, got {value!r}")


def _bool(value: Any, _: int = 0) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.casefold() in ("true", "t", "false", "f"):
        return value.casefold() in ("true", "t")
    raise ValueError(f"expected a boolean, got {value!r}")


def _text(value: Any, _: int = 0) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids some APIs send as numbers
    raise ValueError(f"expected text, got {value!r}")


def _date(value: Any, _: int = 0) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")


def _iso_datetime(value: Any, _: int = 0) -> float:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError(f"expected an ISO-8601 datetime, got {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # whole microseconds, so milliseconds come back as exactly ms / 1000
    return ((moment - _EPOCH) // timedelta(microseconds=1)) / 1_000_000


def _iso_seconds(value: float, _: int = 0) -> str:
    return f"{_EPOCH + timedelta(seconds=round(value)):%Y-%m-%dT%H:%M:%SZ}"


def _iso_millis(value: float, _: int = 0) -> str:
    moment = _EPOCH + timedelta(milliseconds=round(value * 1000))
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def _major_units(value: int, exponent: int) -> float:
    return float(Decimal(value).scaleb(-exponent))


def _minor_units(value: Any, exponent: int) -> int:
    return int(_number(value).scaleb(exponent).to_integral_value(ROUND_HALF_UP))


def _list_value(value: Any, _: int = 0) -> str:
    """NetSuite reads lists back as {"id": "2", "refName": "retrying"}; writes take the value."""
    if isinstance(value, Mapping):
        if isinstance(value.get("refName"), str):
            return str(value["refName"])
        raise ValueError(f"expected a list value with a refName, got {value!r}")
    return _picklist(value)


def _picklist(value: Any, _: int = 0) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a picklist value, got {value!r}")


def _same(value: Any, _: int = 0) -> Any:
    return value


ISO_DATE = Codec(lambda v, _: v.isoformat(), _date)
INTEGER = Codec(_same, _whole)
BOOLEAN = Codec(_same, _bool)
TEXT = Codec(_same, _text)
PICKLIST = Codec(_same, _picklist)
EPOCH = Codec(lambda v, _: round(v), lambda v, _: float(_number(v)))
MINOR_UNITS = Codec(_same, _whole)
MAJOR_UNITS = Codec(_major_units, _minor_units)

# Every value as a string: Stripe metadata. Money stays in minor units, times in epoch seconds.
TEXT_CODECS: Mapping[FieldType, Codec] = {
    FieldType.MONEY: Codec(lambda v, _: str(v), _whole),
    FieldType.INT: Codec(lambda v, _: str(v), _whole),
    FieldType.BOOL: Codec(lambda v, _: "true" if v else "false", _bool),
    FieldType.DATETIME: Codec(lambda v, _: str(round(v)), lambda v, _: float(_number(v))),
    FieldType.DATE: ISO_DATE,
    FieldType.STR: TEXT,
    FieldType.ENUM: PICKLIST,
}

_COMMON = {FieldType.INT: INTEGER, FieldType.BOOL: BOOLEAN, FieldType.STR: TEXT,
           FieldType.DATE: ISO_DATE, FieldType.ENUM: PICKLIST}

# Dates: ISO strings everywhere (Chargebee cf_ dates too); a vendor timestamp that carries a
# canonical date is mapped with `type: datetime` and read as its UTC date.
FORMATS: Mapping[str, VendorFormat] = {
    "stripe": VendorFormat({**_COMMON, FieldType.MONEY: MINOR_UNITS, FieldType.DATETIME: EPOCH},
                           text_under=("metadata",)),
    "chargebee": VendorFormat({**_COMMON, FieldType.MONEY: MINOR_UNITS,
                               FieldType.DATETIME: EPOCH}),
    "netsuite": VendorFormat({**_COMMON, FieldType.MONEY: MAJOR_UNITS,
                              FieldType.DATETIME: Codec(_iso_seconds, _iso_datetime),
                              FieldType.ENUM: Codec(_same, _list_value)},
                             object_key="record"),
    "salesforce": VendorFormat({**_COMMON, FieldType.MONEY: MAJOR_UNITS,
                                FieldType.DATETIME: Codec(_iso_millis, _iso_datetime)}),
}
