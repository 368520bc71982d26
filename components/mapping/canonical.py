"""The canonical entities and fields the recovery code speaks, each with its type.

Canonical values: money as int minor units (the currency is the record's or the merchant's),
dates as `datetime.date`, datetimes as epoch seconds (float), enums as their value string.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    MONEY = "money"
    DATE = "date"
    DATETIME = "datetime"
    INT = "int"
    BOOL = "bool"
    STR = "str"
    ENUM = "enum"


class RecoveryStatus(StrEnum):
    NOT_STARTED = "not_started"
    RETRYING = "retrying"
    RECOVERED = "recovered"
    FAILED = "failed"
    WRITTEN_OFF = "written_off"


@dataclass(frozen=True)
class CanonicalField:
    entity: str
    name: str
    type: FieldType
    choices: tuple[str, ...] = ()  # enum fields: every allowed value

    def check(self, value: Any) -> Any:
        """`value` if it is a canonical value of this field; raises ValueError saying what is."""
        if _FITS[self.type](value) and (not self.choices or value in self.choices):
            return value
        expected = f"one of: {', '.join(self.choices)}" if self.choices else _EXPECTED[self.type]
        raise ValueError(f"{self.entity}.{self.name} takes {expected}; got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_FITS: dict[FieldType, Callable[[Any], bool]] = {
    FieldType.MONEY: _is_int,
    FieldType.INT: _is_int,
    FieldType.DATE: lambda v: isinstance(v, date) and not isinstance(v, datetime),
    FieldType.DATETIME: lambda v: (_is_int(v) or isinstance(v, float)) and math.isfinite(v),
    FieldType.BOOL: lambda v: isinstance(v, bool),
    FieldType.STR: lambda v: isinstance(v, str),
    FieldType.ENUM: lambda v: isinstance(v, str),
}
_EXPECTED = {
    FieldType.MONEY: "int minor units",
    FieldType.INT: "an int",
    FieldType.DATE: "a datetime.date",
    FieldType.DATETIME: "epoch seconds (int or float)",
    FieldType.BOOL: "a bool",
    FieldType.STR: "a str",
    FieldType.ENUM: "a str",
}


def _entity(entity: str, /, **types: FieldType | type[StrEnum]) -> dict[str, CanonicalField]:
    fields = {}
    for field, kind in types.items():
        if isinstance(kind, FieldType):
            fields[field] = CanonicalField(entity, field, kind)
        else:
            fields[field] = CanonicalField(entity, field, FieldType.ENUM, tuple(kind))
    return fields


_T = FieldType
ENTITIES: dict[str, dict[str, CanonicalField]] = {
    "customer": _entity(
        "customer", customer_id=_T.STR, email=_T.STR, name=_T.STR, billing_customer_id=_T.STR,
        erp_customer_id=_T.STR, crm_account_id=_T.STR, dunning_opt_out=_T.BOOL, segment=_T.STR),
    "subscription": _entity(
        "subscription", subscription_id=_T.STR, customer_id=_T.STR, status=_T.STR,
        next_charge_date=_T.DATE, recovery_status=RecoveryStatus, retry_count=_T.INT,
        last_decline_code=_T.STR, last_attempt_at=_T.DATETIME, recovered_amount=_T.MONEY),
    "invoice": _entity(
        "invoice", invoice_id=_T.STR, customer_id=_T.STR, amount_due=_T.MONEY,
        amount_remaining=_T.MONEY, currency=_T.STR, status=_T.STR,
        recovery_status=RecoveryStatus, retry_count=_T.INT, last_decline_code=_T.STR,
        next_retry_at=_T.DATETIME),
    "payment": _entity(
        "payment", payment_id=_T.STR, invoice_id=_T.STR, amount=_T.MONEY, currency=_T.STR,
        charge_id=_T.STR, paid_at=_T.DATETIME, recovered_by_retry=_T.BOOL),
}
