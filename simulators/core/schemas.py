"""Per-merchant schemas: the custom fields and custom objects one tenant's org/account/site has.

A schema is a small YAML file (see ``scenarios/schemas/``) that a topology points to per tenant::

    vendor: salesforce            # salesforce | netsuite | chargebee | stripe
    name: cpq-subscription
    description: CPQ-style subscriptions linked to Account
    objects:
      Account:                    # a standard object: only the custom fields it adds
        fields:
          Recovery_Status__c: {type: picklist, values: [none, retrying], default: none}
      SBQQ__Subscription__c:      # a custom object
        custom: true
        label: Subscription
        key_prefix: a0S           # Salesforce only, optional
        fields:
          SBQQ__Account__c: {type: reference, to: Account, required: true}
          SBQQ__EndDate__c: date  # shorthand for {type: date}

This module is vendor-neutral: it loads and validates the file (including each vendor's naming
rules) and checks field values (`FieldDef.coerce`). Each fake renders the schema its own way
(describe, metadata catalog, custom_field_configs) and wraps `FieldValueError` in its own error.

Only custom fields are listed; the vendor's standard fields (Salesforce ``Id``/``Name``/
``CreatedDate``, NetSuite ``id``/``externalId``, Chargebee ``id``, …) are the fakes' business.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "FIELD_TYPES",
    "VENDORS",
    "FieldDef",
    "FieldValueError",
    "ObjectDef",
    "Schema",
    "SchemaError",
    "SchemaIssue",
    "load_schema",
    "schema_from_dict",
]

VENDORS: tuple[str, ...] = ("salesforce", "netsuite", "chargebee", "stripe")

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

_COMMON_FIELD_KEYS = ("type", "label", "required", "default", "external_id", "unique",
                      "description")
# Keys that only make sense for some types.
_TYPE_KEYS: dict[str, frozenset[str]] = {
    "length": TEXT_TYPES | {"id"},
    "precision": NUMBER_TYPES,
    "scale": DECIMAL_TYPES,
    "values": PICKLIST_TYPES,
    "to": frozenset({"reference"}),
    "relationship": frozenset({"reference"}),
}
FIELD_KEYS: tuple[str, ...] = (*_COMMON_FIELD_KEYS, *_TYPE_KEYS)
OBJECT_KEYS: tuple[str, ...] = ("custom", "label", "key_prefix", "description", "fields")
TOP_KEYS: tuple[str, ...] = ("vendor", "name", "description", "objects")

# Names people reach for from other tools; only used to suggest the right type.
_TYPE_HINTS = {
    "text": "string", "str": "string", "varchar": "string", "longtext": "textarea",
    "integer": "int", "number": "double", "float": "double", "decimal": "double",
    "money": "currency", "bool": "boolean", "checkbox": "boolean", "timestamp": "datetime",
    "enum": "picklist", "select": "picklist", "dropdown": "picklist", "list": "picklist",
    "multiselect": "multipicklist", "lookup": "reference", "ref": "reference",
    "masterdetail": "reference", "foreignkey": "reference",
}


# ----------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class SchemaIssue:
    """One problem in a schema file: where (`path`, `line`) and what to do about it."""

    path: str  # dotted key path, e.g. "objects.Account.fields.Foo.type"; "" for the whole file
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SchemaError(Exception):
    """A schema file that cannot be used. `str()` gives one line per problem, e.g.

    ``scenarios/schemas/x.yaml:7: objects.Account.fields.Foo.type: 'strin' is not a field type;
    did you mean 'string'? (use one of: string, textarea, …)``
    """

    def __init__(self, source: str, issues: Iterable[SchemaIssue]) -> None:
        self.source = source
        self.issues = list(issues)
        super().__init__("\n".join(issue.render(source) for issue in self.issues))


class FieldValueError(ValueError):
    """A value a field does not accept. `reason` is short and plain, for vendor error bodies."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# ----------------------------------------------------------------------------------------------
# Model


@dataclass(frozen=True)
class FieldDef:
    """A custom field. `coerce` is the value check every fake shares."""

    name: str
    type: str
    label: str
    required: bool = False
    default: Any = None  # already coerced; None when there is no default
    values: tuple[str, ...] = ()  # picklist / multipicklist
    length: int | None = None  # text types: maximum characters
    precision: int | None = None  # numbers: total significant digits
    scale: int | None = None  # decimal types: digits after the point (values are rounded)
    external_id: bool = False
    unique: bool = False
    to: str | None = None  # reference: target object name
    relationship: str | None = None  # reference, Salesforce: the __r name
    description: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not None

    def default_value(self) -> Any:
        """The default in `coerce`'s canonical form (a fresh list for multipicklist)."""
        return list(self.default) if isinstance(self.default, tuple) else self.default

    def coerce(self, value: Any) -> Any:
        """Check `value` for this field and return it in canonical, JSON-ready form.

        ``None`` (clear the field) is returned as is; required-ness is a record-level check
        (`ObjectDef.missing_required`). Canonical forms: text, picklist, reference and id →
        ``str``; int → ``int``; double/currency/percent → ``float`` (rounded to `scale`);
        boolean → ``bool``; date → ``"YYYY-MM-DD"``; datetime → UTC ``"YYYY-MM-DDTHH:MM:SSZ"``
        (with ``.mmm`` when there are milliseconds); multipicklist → ``list[str]``.
        Form-encoded input is accepted too ("12.5", "true", "a;b"). Raises `FieldValueError`.
        """
        if value is None:
            return None
        try:
            return _COERCERS[self.type](self, value)
        except _Bad as bad:
            raise FieldValueError(self.name, str(bad)) from None


@dataclass(frozen=True)
class ObjectDef:
    """A standard object with the custom fields it adds, or a custom object/record type."""

    name: str
    custom: bool
    label: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    key_prefix: str | None = None  # Salesforce custom objects only
    description: str | None = None

    def field(self, name: str) -> FieldDef | None:
        """The field called `name`, ignoring case; None if the schema doesn't define it."""
        found = self.fields.get(name)
        if found is not None:
            return found
        folded = name.casefold()
        return next((f for n, f in self.fields.items() if n.casefold() == folded), None)

    def required_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields.values() if f.required)

    def external_id_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields.values() if f.external_id)

    def missing_required(self, record: Mapping[str, Any]) -> list[str]:
        """Required fields without a default that `record` leaves out or sets to None/""."""
        present = {k.casefold() for k, v in record.items() if v is not None and v != ""}
        return [f.name for f in self.required_fields()
                if not f.has_default and f.name.casefold() not in present]


@dataclass(frozen=True)
class Schema:
    """One tenant's schema. Objects the schema doesn't list keep the vendor's standard shape."""

    vendor: str
    name: str
    description: str | None = None
    objects: dict[str, ObjectDef] = field(default_factory=dict)
    source: str = "<schema>"

    def object(self, name: str) -> ObjectDef | None:
        """The object called `name`, ignoring case; None if the schema adds nothing to it."""
        found = self.objects.get(name)
        if found is not None:
            return found
        folded = name.casefold()
        return next((o for n, o in self.objects.items() if n.casefold() == folded), None)

    def custom_objects(self) -> tuple[ObjectDef, ...]:
        return tuple(o for o in self.objects.values() if o.custom)


# ----------------------------------------------------------------------------------------------
# Value checks


class _Bad(Exception):
    """Internal: a value problem; becomes FieldValueError(field.name, reason)."""


def _show(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        raise _Bad(f"expected text, got {_show(value)}")
    if f.length is not None and len(value) > f.length:
        raise _Bad(f"longer than {f.length} characters ({len(value)})")
    if f.type == "email" and value and not _EMAIL.match(value):
        raise _Bad(f"not an email address: {_show(value)}")
    if f.type == "phone" and value and not _PHONE.match(value):
        raise _Bad(f"not a phone number: {_show(value)}")
    if f.type == "url" and any(c.isspace() for c in value):
        raise _Bad(f"not a URL (contains spaces): {_show(value)}")
    return value


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Bad(f"expected a number, got {_show(value)}")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(f"expected a finite number, got {_show(value)}")
        number = Decimal(repr(value))
    elif isinstance(value, str) and _NUMBER.match(value.strip()):
        number = Decimal(value.strip())
    else:
        raise _Bad(f"expected a number, got {_show(value)}")
    if not number.is_finite():
        raise _Bad(f"expected a finite number, got {_show(value)}")
    return number


def _integer_digits(number: Decimal) -> int:
    whole = abs(int(number))
    return len(str(whole)) if whole else 0


def _int(f: FieldDef, value: Any) -> int:
    if isinstance(value, str) and not _INTEGER.match(value.strip()):
        raise _Bad(f"expected a whole number, got {_show(value)}")
    number = _decimal(value)
    if number != number.to_integral_value():
        raise _Bad(f"expected a whole number, got {_show(value)}")
    if f.precision is not None and _integer_digits(number) > f.precision:
        raise _Bad(f"more than {f.precision} digits")
    return int(number)


def _double(f: FieldDef, value: Any) -> float:
    number = _decimal(value)
    if f.scale is not None:
        try:
            number = number.quantize(Decimal(1).scaleb(-f.scale), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise _Bad(f"number too large: {_show(value)}") from None
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
    raise _Bad(f"expected true or false, got {_show(value)}")


def _date(f: FieldDef, value: Any) -> str:
    if isinstance(value, datetime):
        raise _Bad(f"expected a date without a time, got {_show(value)}")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise _Bad(f"not a real date: {_show(value)}") from None
    raise _Bad(f"expected a date like 2024-05-31, got {_show(value)}")


def _datetime(f: FieldDef, value: Any) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, UTC)  # Unix seconds, as Chargebee sends them
        except (OverflowError, OSError, ValueError):
            raise _Bad(f"timestamp out of range: {_show(value)}") from None
    elif isinstance(value, str) and (match := _DATETIME.match(value)):
        if not match.group("tz"):
            raise _Bad(f"datetime needs a time zone, e.g. 2024-05-31T12:00:00Z, got {_show(value)}")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _Bad(f"not a real date/time: {_show(value)}") from None
    elif isinstance(value, date):
        raise _Bad(f"expected a date and time, got the date {_show(value)}")
    else:
        raise _Bad(f"expected a datetime like 2024-05-31T12:00:00Z, got {_show(value)}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _Bad(f"datetime needs a time zone, got {_show(value)}")
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
        raise _Bad(f"expected one of: {_allowed(f)}; got {_show(value)}")
    if value not in f.values:
        raise _Bad(f"{_show(value)} is not an allowed value (allowed: {_allowed(f)})")
    return value


def _multipicklist(f: FieldDef, value: Any) -> list[str]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(";")] if value.strip() else []
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise _Bad(f"expected a list of values or 'a;b', got {_show(value)}")
    chosen: list[str] = []
    for item in items:
        if not isinstance(item, str) or item not in f.values:
            raise _Bad(f"{_show(item)} is not an allowed value (allowed: {_allowed(f)})")
        if item not in chosen:
            chosen.append(item)
    return chosen


def _reference(f: FieldDef, value: Any) -> str:
    if isinstance(value, Mapping) and "id" in value:  # NetSuite style {"id": "107"}
        value = value["id"]
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"expected the id of a {f.to or 'record'}, got {_show(value)}")
    return value


def _id(f: FieldDef, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise _Bad(f"expected an id without spaces, got {_show(value)}")
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


# ----------------------------------------------------------------------------------------------
# Vendor naming rules


_SF_PART = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*$")  # no __, no trailing _
_SF_STANDARD_OBJECT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_SF_OTHER_SUFFIXES = ("__e", "__mdt", "__x", "__b", "__r", "__share", "__history", "__feed")
_SF_KEY_PREFIX = re.compile(r"^[a-zA-Z0-9]{3}$")

_NS_ENTITY = frozenset({"customer", "vendor", "employee", "contact", "partner", "lead",
                        "prospect", "job"})
_NS_TRANSACTION = frozenset({
    "invoice", "customerpayment", "creditmemo", "cashsale", "cashrefund", "customerrefund",
    "customerdeposit", "depositapplication", "salesorder", "estimate", "opportunity",
    "returnauthorization", "itemfulfillment", "vendorbill", "vendorpayment", "purchaseorder",
    "journalentry",
})
_NS_ITEM = frozenset({
    "inventoryitem", "noninventorysaleitem", "noninventoryresaleitem",
    "noninventorypurchaseitem", "servicesaleitem", "serviceresaleitem", "servicepurchaseitem",
    "otherchargesaleitem", "discountitem", "assemblyitem", "kititem",
})
_NS_CRM = frozenset({"task", "phonecall", "calendarevent", "supportcase"})
_NS_LABELS = {
    "customerpayment": "Customer Payment", "creditmemo": "Credit Memo", "cashsale": "Cash Sale",
    "cashrefund": "Cash Refund", "customerrefund": "Customer Refund",
    "customerdeposit": "Customer Deposit", "depositapplication": "Deposit Application",
    "salesorder": "Sales Order", "returnauthorization": "Return Authorization",
    "itemfulfillment": "Item Fulfillment", "vendorbill": "Vendor Bill",
    "vendorpayment": "Vendor Payment", "purchaseorder": "Purchase Order",
    "journalentry": "Journal Entry", "phonecall": "Phone Call", "calendarevent": "Event",
    "supportcase": "Case", "job": "Project",
}
_NS_PREFIXES = ("custentity", "custbody", "custcol", "custitem", "custevent", "custrecord",
                "customrecord")
_NS_SCRIPT_ID = re.compile(r"^[a-z][a-z0-9_]*$")

_CB_OBJECTS = ("customer", "subscription", "plan", "addon", "item", "item_price", "item_family")
_CB_FIELD = re.compile(r"^cf_[A-Za-z0-9_]+$")


def _suggest(name: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    folded = {c.casefold(): c for c in choices}
    if name.casefold() in folded:
        return f"; did you mean {folded[name.casefold()]!r}?"
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _words(text: str) -> str:
    """A base name → a readable label: 'Recovery_Status' → 'Recovery Status', 'mrr' → 'Mrr'."""
    parts = [p for p in text.split("_") if p]
    return " ".join(p.capitalize() if p.islower() else p for p in parts) or text


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "field"


def _sf_base(name: str) -> str:
    base = re.sub(r"(?i)(__c|__r|_c)$", "", name)
    base = re.sub(r"[^A-Za-z0-9]+", "_", base).strip("_")
    return base or "Field"


def _ns_strip(name: str) -> str:
    lowered = name.lower()
    for prefix in (*_NS_PREFIXES, "cf_"):
        if lowered.startswith(prefix):
            return _snake(lowered[len(prefix):])
    return _snake(lowered)


class _Rules:
    """Naming rules of one vendor. Each check returns an error message or None."""

    vendor = ""

    def is_custom_name(self, name: str) -> bool:
        return False

    def check_object(self, name: str, custom: bool | None) -> str | None:
        return None

    def check_field(self, obj: str, obj_custom: bool, name: str) -> str | None:
        return None

    def check_relationship(self, relationship: str) -> str | None:
        return "relationship names are a Salesforce notion; remove 'relationship'"

    def check_reference_target(self, target: str) -> str | None:
        return None

    def default_relationship(self, field_name: str) -> str | None:
        return None

    def object_label(self, name: str, custom: bool) -> str:
        return name

    def field_label(self, name: str) -> str:
        return _words(name)


class _Salesforce(_Rules):
    vendor = "salesforce"

    def _api_name(self, name: str, what: str) -> str | None:
        base = name[:-3]
        parts = base.split("__")
        if len(parts) > 2 or not all(_SF_PART.match(p) for p in parts):
            return (f"{name!r} is not a valid Salesforce {what} API name; use letters, digits and "
                    f"single underscores, starting with a letter, optionally after a namespace "
                    f"prefix (e.g. 'Renewal_Date__c', 'SBQQ__EndDate__c')")
        if len(parts[-1]) > 40:
            return (f"{name!r} is too long; Salesforce API names have at most 40 characters "
                    f"before '__c'")
        return None

    def is_custom_name(self, name: str) -> bool:
        return name.endswith("__c")

    def check_object(self, name: str, custom: bool | None) -> str | None:
        if name.lower().endswith(_SF_OTHER_SUFFIXES):
            return (f"{name!r}: only custom objects (ending in '__c') and standard objects can be "
                    f"described; platform events, custom metadata and external objects are not "
                    f"supported")
        if name.endswith("__c"):
            if custom is False:
                return (f"{name!r} ends in '__c', which makes it a custom object; set "
                        f"'custom: true' (or leave 'custom' out)")
            return self._api_name(name, "object")
        if custom:
            return (f"Salesforce custom object names end in '__c'; rename it to "
                    f"{_sf_base(name) + '__c'!r}")
        if not _SF_STANDARD_OBJECT.match(name):
            return (f"{name!r} is not a Salesforce standard object name (letters and digits only, "
                    f"e.g. 'Account'); custom objects end in '__c', e.g. "
                    f"{_sf_base(name) + '__c'!r}")
        return None

    def check_field(self, obj: str, obj_custom: bool, name: str) -> str | None:
        if not name.endswith("__c"):
            return (f"Salesforce custom field names end in '__c'; rename it to "
                    f"{_sf_base(name) + '__c'!r} (standard fields such as Name are built in: "
                    f"don't list them)")
        return self._api_name(name, "field")

    def check_relationship(self, relationship: str) -> str | None:
        if not relationship.endswith("__r"):
            return (f"Salesforce relationship names end in '__r'; use "
                    f"{_sf_base(relationship) + '__r'!r}")
        base = relationship[:-3].split("__")
        if len(base) > 2 or not all(_SF_PART.match(p) for p in base):
            return (f"{relationship!r} is not a valid relationship name; use letters, digits and "
                    f"single underscores, ending in '__r'")
        return None

    def check_reference_target(self, target: str) -> str | None:
        if not (target.endswith("__c") or _SF_STANDARD_OBJECT.match(target)):
            return (f"{target!r} is not a Salesforce object name; use a standard object such as "
                    f"'Account' or a custom object ending in '__c'")
        return None

    def default_relationship(self, field_name: str) -> str | None:
        return field_name[:-3] + "__r" if field_name.endswith("__c") else None

    def object_label(self, name: str, custom: bool) -> str:
        return _words(name[:-3].split("__")[-1]) if custom else name

    def field_label(self, name: str) -> str:
        return _words(name[:-3].split("__")[-1]) if name.endswith("__c") else _words(name)


class _NetSuite(_Rules):
    vendor = "netsuite"

    @staticmethod
    def field_prefix(obj: str, obj_custom: bool) -> tuple[str, str]:
        """(prefix, kind of record) for custom fields on `obj`."""
        lowered = obj.lower()
        if obj_custom:
            return "custrecord", "custom record types"
        if lowered in _NS_ENTITY:
            return "custentity", "entity records"
        if lowered in _NS_TRANSACTION:
            return "custbody", "transaction records"
        if lowered in _NS_ITEM:
            return "custitem", "item records"
        return "custevent", "CRM records"

    def is_custom_name(self, name: str) -> bool:
        return name.lower().startswith("customrecord")

    def check_object(self, name: str, custom: bool | None) -> str | None:
        if name.lower().startswith("customrecord"):
            if custom is False:
                return (f"{name!r} starts with 'customrecord', which makes it a custom record "
                        f"type; set 'custom: true' (or leave 'custom' out)")
            if not _NS_SCRIPT_ID.match(name) or name == "customrecord":
                return (f"{name!r} is not a valid NetSuite script id; use lower-case letters, "
                        f"digits and underscores, e.g. 'customrecord_{_ns_strip(name)}'")
            return None
        if custom:
            return (f"NetSuite custom record types start with 'customrecord'; rename it to "
                    f"'customrecord_{_ns_strip(name)}'")
        known = _NS_ENTITY | _NS_TRANSACTION | _NS_ITEM | _NS_CRM
        if name.lower() not in known:
            return (f"{name!r} is not a NetSuite record type this format knows"
                    f"{_suggest(name.lower(), sorted(known))} (use an entity record such as "
                    f"customer, a transaction such as invoice or customerpayment, an item or "
                    f"CRM record, or a custom record type named 'customrecord_…')")
        return None

    def check_field(self, obj: str, obj_custom: bool, name: str) -> str | None:
        prefix, kind = self.field_prefix(obj, obj_custom)
        fixed = f"{prefix}_{_ns_strip(name)}"
        if prefix == "custbody" and name.lower().startswith("custcol"):
            return (f"'custcol' fields are transaction line (sublist) fields, which this format "
                    f"does not model; use a body field such as {fixed!r}")
        if not name.startswith(prefix) or name == prefix:
            return (f"NetSuite custom fields on {kind} ({obj}) start with {prefix!r}; "
                    f"rename it to {fixed!r}")
        if not _NS_SCRIPT_ID.match(name):
            return (f"{name!r} is not a valid NetSuite script id (lower-case letters, digits and "
                    f"underscores); use {fixed!r}")
        return None

    def check_reference_target(self, target: str) -> str | None:
        if not _NS_SCRIPT_ID.match(target.lower()):
            return f"{target!r} is not a NetSuite record type; use e.g. 'customer' or 'invoice'"
        return None

    def object_label(self, name: str, custom: bool) -> str:
        if custom:
            return _words(_ns_strip(name))
        return _NS_LABELS.get(name.lower(), name[:1].upper() + name[1:])

    def field_label(self, name: str) -> str:
        return _words(_ns_strip(name))


class _Chargebee(_Rules):
    vendor = "chargebee"

    def check_object(self, name: str, custom: bool | None) -> str | None:
        if custom:
            return (f"Chargebee has no custom objects; add 'cf_' fields to one of: "
                    f"{', '.join(_CB_OBJECTS)}")
        if name not in _CB_OBJECTS:
            return (f"{name!r} is not a Chargebee resource with custom fields"
                    f"{_suggest(name, _CB_OBJECTS)} (use one of: {', '.join(_CB_OBJECTS)})")
        return None

    def check_field(self, obj: str, obj_custom: bool, name: str) -> str | None:
        if not name.startswith("cf_") or name == "cf_":
            return f"Chargebee custom fields start with 'cf_'; rename it to 'cf_{_ns_strip(name)}'"
        if not _CB_FIELD.match(name):
            return (f"{name!r} is not a valid Chargebee custom field name (letters, digits and "
                    f"underscores after 'cf_'); use 'cf_{_ns_strip(name)}'")
        return None

    def object_label(self, name: str, custom: bool) -> str:
        return _words(name)

    def field_label(self, name: str) -> str:
        return _words(name[3:] if name.startswith("cf_") else name)


class _Stripe(_Rules):
    vendor = "stripe"


_RULES: dict[str, _Rules] = {r.vendor: r for r in (_Salesforce(), _NetSuite(), _Chargebee(),
                                                   _Stripe())}


# ----------------------------------------------------------------------------------------------
# Loading


def _walk_keys(node: yaml.Node | None) -> tuple[dict[tuple[str, ...], int], list[SchemaIssue]]:
    """From the composed YAML tree: key path → 1-based line, and duplicate-key issues.

    PyYAML silently keeps the last of two equal keys; a duplicated field name is an easy
    copy-paste slip, so it is reported instead.
    """
    lines: dict[tuple[str, ...], int] = {}
    duplicates: list[SchemaIssue] = []

    def walk(n: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                sub = (*path, str(key_node.value))
                line = key_node.start_mark.line + 1
                if sub in lines:
                    duplicates.append(SchemaIssue(
                        ".".join(sub), f"{key_node.value!r} appears twice (lines {lines[sub]} "
                                       f"and {line}); keep one of them", line))
                    continue
                lines[sub] = line
                walk(value_node, sub)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                sub = (*path, str(i))
                lines.setdefault(sub, item.start_mark.line + 1)
                walk(item, sub)

    if node is not None:
        walk(node, ())
    return lines, duplicates


def load_schema(path: str | Path) -> Schema:
    """Read and validate one schema file; raises `SchemaError` listing every problem found."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(source, [SchemaIssue(
            "", "no such file; check the schema path in the topology (paths are relative to "
                "the directory you run from)")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(source, [SchemaIssue("", f"cannot read the file: {exc}")]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines, duplicates = _walk_keys(node)
        if duplicates:
            raise SchemaError(source, duplicates)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise SchemaError(source, [SchemaIssue(
            "", f"YAML syntax error at line {line}{column}: {problem}{context}; check the "
                f"indentation, colons and quotes around that line", line)]) from None
    except yaml.YAMLError as exc:
        raise SchemaError(source, [SchemaIssue("", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    return _build(data, source, lines)


def schema_from_dict(data: Any, source: str = "<schema>") -> Schema:
    """Validate already-parsed data (e.g. inline in a topology); `source` names it in errors."""
    return _build(data, source, {})


class _Builder:
    def __init__(self, source: str, lines: dict[tuple[str, ...], int]) -> None:
        self.source = source
        self.lines = lines
        self.issues: list[SchemaIssue] = []

    def error(self, path: tuple[str, ...], message: str) -> None:
        line = None
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line:
                break
        self.issues.append(SchemaIssue(".".join(path), message, line))

    # -- generic checks -------------------------------------------------------------------------

    def mapping(self, value: Any, path: tuple[str, ...], what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, str)]
            for key in bad:
                self.error((*path, str(key)), f"key {key!r} must be text; put it in quotes")
            return {k: v for k, v in value.items() if isinstance(k, str)}
        self.error(path, f"expected {what} written as 'key: value' lines, "
                         f"got {type(value).__name__} {_show(value)}")
        return None

    def known_keys(self, data: dict[str, Any], allowed: Iterable[str],
                   path: tuple[str, ...]) -> None:
        allowed = list(allowed)
        for key in data:
            if key not in allowed:
                self.error((*path, key), f"unknown key {key!r}{_suggest(key, allowed)} "
                                         f"(allowed here: {', '.join(allowed)})")

    def text(self, data: dict[str, Any], key: str, path: tuple[str, ...],
             required: bool = False, example: str = "") -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                hint = f", e.g. '{key}: {example}'" if example else ""
                self.error(path, f"missing required key {key!r}; add it{hint}")
            return None
        if not isinstance(value, str) or not value.strip():
            self.error((*path, key), f"{key!r} must be non-empty text, got {_show(value)}")
            return None
        return value

    def flag(self, data: dict[str, Any], key: str, path: tuple[str, ...]) -> bool | None:
        value = data.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.error((*path, key), f"{key!r} must be true or false, got {_show(value)}")
        return None

    def count(self, data: dict[str, Any], key: str, path: tuple[str, ...], low: int,
              high: int) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error((*path, key), f"{key!r} must be a whole number from {low} to {high}, "
                                     f"got {_show(value)}")
            return None
        return value

    # -- the schema -----------------------------------------------------------------------------

    def schema(self, raw: Any) -> Schema | None:
        if raw is None:
            self.error((), "the file is empty; start it with 'vendor: <one of "
                           f"{', '.join(VENDORS)}>' and 'name: <schema name>'")
            return None
        data = self.mapping(raw, (), "a schema")
        if data is None:
            return None
        self.known_keys(data, TOP_KEYS, ())
        name = self.text(data, "name", (), required=True, example="my-merchant")
        description = self.text(data, "description", ())
        vendor = self.text(data, "vendor", (), required=True, example="salesforce")
        if vendor is not None and vendor not in VENDORS:
            self.error(("vendor",), f"{vendor!r} is not a vendor{_suggest(vendor, VENDORS)} "
                                    f"(use one of: {', '.join(VENDORS)})")
            vendor = None
        raw_objects = data.get("objects")
        objects: dict[str, ObjectDef] = {}
        if raw_objects is not None and vendor == "stripe":
            if raw_objects:
                self.error(("objects",), "Stripe has no custom fields or custom objects, only "
                                         "free-form metadata (string keys of up to 40 characters, "
                                         "string values of up to 500); remove 'objects'")
        elif raw_objects is not None:
            found = self.mapping(raw_objects, ("objects",), "objects keyed by name")
            if found is not None and vendor is not None:
                objects = self.objects(found, _RULES[vendor])
        if vendor is None or name is None:
            return None
        return Schema(vendor=vendor, name=name, description=description, objects=objects,
                      source=self.source)

    def objects(self, raw: dict[str, Any], rules: _Rules) -> dict[str, ObjectDef]:
        seen: dict[str, str] = {}
        for name in raw:
            other = seen.setdefault(name.casefold(), name)
            if other != name:
                self.error(("objects", name), f"{name!r} and {other!r} are the same object "
                                              f"(names ignore case); merge them")
        custom_names = {n.casefold(): n for n, body in raw.items()
                        if rules.is_custom_name(n)
                        or (isinstance(body, dict) and body.get("custom") is True)}
        objects: dict[str, ObjectDef] = {}
        prefixes: dict[str, str] = {}
        for name, body in raw.items():
            obj = self.object(name, body, rules, custom_names)
            if obj is None:
                continue
            objects[name] = obj
            if obj.key_prefix:
                other = prefixes.setdefault(obj.key_prefix, name)  # ids are case-sensitive
                if other != name:
                    self.error(("objects", name, "key_prefix"),
                               f"key prefix {obj.key_prefix!r} is already used by {other}; "
                               f"pick another")
        return objects

    def object(self, name: str, raw: Any, rules: _Rules,
               custom_names: dict[str, str]) -> ObjectDef | None:
        path = ("objects", name)
        if raw is None:
            raw = {}
        data = self.mapping(raw, path, "an object definition")
        if data is None:
            return None
        self.known_keys(data, OBJECT_KEYS, path)
        explicit_custom = self.flag(data, "custom", path)
        problem = rules.check_object(name, explicit_custom)
        if problem:
            self.error(path, problem)
            return None
        custom = rules.is_custom_name(name)
        label = self.text(data, "label", path) or rules.object_label(name, custom)
        description = self.text(data, "description", path)
        key_prefix = self.text(data, "key_prefix", path)
        if key_prefix is not None:
            if rules.vendor != "salesforce":
                self.error((*path, "key_prefix"), "'key_prefix' is Salesforce-only; remove it")
                key_prefix = None
            elif not custom:
                self.error((*path, "key_prefix"), "standard objects have fixed key prefixes "
                                                  "(Account is 001); remove 'key_prefix'")
                key_prefix = None
            elif not _SF_KEY_PREFIX.match(key_prefix) or key_prefix[0] in "0123456789":
                self.error((*path, "key_prefix"),
                           f"{key_prefix!r} is not a custom object key prefix; use 3 letters or "
                           f"digits starting with a letter, e.g. 'a0S'")
                key_prefix = None
        fields: dict[str, FieldDef] = {}
        raw_fields = data.get("fields")
        if raw_fields is not None:
            found = self.mapping(raw_fields, (*path, "fields"), "fields keyed by name")
            seen: dict[str, str] = {}
            for field_name, spec in (found or {}).items():
                other = seen.setdefault(field_name.casefold(), field_name)
                if other != field_name:
                    self.error((*path, "fields", field_name),
                               f"{field_name!r} and {other!r} are the same field (names ignore "
                               f"case); keep one")
                    continue
                built = self.field(name, custom, field_name, spec, rules, custom_names)
                if built is not None:
                    fields[field_name] = built
        return ObjectDef(name=name, custom=custom, label=label, fields=fields,
                         key_prefix=key_prefix, description=description)

    def field(self, obj: str, obj_custom: bool, name: str, raw: Any, rules: _Rules,
              custom_names: dict[str, str]) -> FieldDef | None:
        path = ("objects", obj, "fields", name)
        if isinstance(raw, str):  # shorthand: `Renewal__c: date`
            raw = {"type": raw}
        if raw is None:
            self.error(path, "the field has no definition; give at least a type, e.g. "
                             "'{type: string}'")
            return None
        data = self.mapping(raw, path, "a field definition such as {type: string}")
        if data is None:
            return None
        ok = True
        problem = rules.check_field(obj, obj_custom, name)
        if problem:
            self.error(path, problem)
            ok = False
        self.known_keys(data, FIELD_KEYS, path)

        type_ = data.get("type")
        if type_ is None:
            self.error(path, f"missing required key 'type'; add e.g. 'type: string' (one of: "
                             f"{', '.join(FIELD_TYPES)})")
            return None
        if type_ not in FIELD_TYPES:
            hint = _TYPE_HINTS.get(str(type_).lower().replace("_", "").replace("-", ""))
            suggestion = f"; did you mean {hint!r}?" if hint else _suggest(str(type_),
                                                                           FIELD_TYPES)
            self.error((*path, "type"), f"{_show(type_)} is not a field type{suggestion} "
                                        f"(use one of: {', '.join(FIELD_TYPES)})")
            return None
        for key, types in _TYPE_KEYS.items():
            if key in data and type_ not in types:
                self.error((*path, key), f"{key!r} does not apply to type {type_}; remove it "
                                         f"(it applies to: {', '.join(sorted(types))})")
                ok = False

        label = self.text(data, "label", path) or rules.field_label(name)
        description = self.text(data, "description", path)
        required = bool(self.flag(data, "required", path))
        external_id = bool(self.flag(data, "external_id", path))
        unique = bool(self.flag(data, "unique", path))
        for key, on in (("external_id", external_id), ("unique", unique)):
            if on and type_ not in KEY_TYPES:
                self.error((*path, key), f"{key!r} is only allowed on "
                                         f"{', '.join(sorted(KEY_TYPES))} fields; remove it or "
                                         f"change the type")
                ok = False

        length = self.count(data, "length", path, 1, MAX_LENGTH)
        precision = self.count(data, "precision", path, 1, MAX_PRECISION)
        scale = self.count(data, "scale", path, 0, MAX_PRECISION)
        if precision is not None and scale is not None and scale > precision:
            self.error((*path, "scale"), f"scale ({scale}) cannot exceed precision "
                                         f"({precision}); lower scale or raise precision")
            ok = False

        values: tuple[str, ...] = ()
        if type_ in PICKLIST_TYPES:
            values = self.picklist_values(data, path)
            ok = ok and bool(values)

        to = relationship = None
        if type_ == "reference":
            to, relationship = self.reference(data, path, name, rules, custom_names)
            ok = ok and to is not None

        if type_ == "reference" and rules.vendor == "chargebee":
            self.error((*path, "type"), "Chargebee custom fields cannot reference other "
                                        "records; use type: string and store the id")
            ok = False

        if not ok:
            return None
        built = FieldDef(name=name, type=type_, label=label, required=required, values=values,
                         length=length, precision=precision, scale=scale,
                         external_id=external_id, unique=unique, to=to,
                         relationship=relationship, description=description)
        if data.get("default") is not None:
            try:
                default = built.coerce(data["default"])
            except FieldValueError as exc:
                hint = ""
                if type_ in TEXT_TYPES | PICKLIST_TYPES and not isinstance(data["default"], str):
                    hint = (" (YAML reads bare yes/no/on/off as booleans and bare numbers as "
                            "numbers; put text in quotes)")
                self.error((*path, "default"), f"the default is not a valid value: "
                                               f"{exc.reason}{hint}; fix it or remove 'default'")
                return None
            built = _replace_default(built, default)
        return built

    def picklist_values(self, data: dict[str, Any], path: tuple[str, ...]) -> tuple[str, ...]:
        raw = data.get("values")
        if raw is None:
            self.error(path, "a picklist needs its allowed values; add e.g. "
                             "'values: [active, past_due, cancelled]'")
            return ()
        if not isinstance(raw, list) or not raw:
            self.error((*path, "values"), f"'values' must be a non-empty list, e.g. "
                                          f"[active, cancelled], got {_show(raw)}")
            return ()
        values: list[str] = []
        for i, value in enumerate(raw):
            if not isinstance(value, str):
                self.error((*path, "values", str(i)),
                           f"{_show(value)} is not text (YAML reads bare yes/no/on/off/true/"
                           f"false as booleans and bare numbers as numbers); put it in quotes, "
                           f"e.g. '{_yaml_text(value)}'")
            elif value in values:
                self.error((*path, "values", str(i)), f"{value!r} is listed twice; remove one")
            elif not value.strip():
                self.error((*path, "values", str(i)), "empty picklist value; remove it")
            else:
                values.append(value)
        if len(values) != len(raw):
            return ()
        return tuple(values)

    def reference(self, data: dict[str, Any], path: tuple[str, ...], name: str, rules: _Rules,
                  custom_names: dict[str, str]) -> tuple[str | None, str | None]:
        to = data.get("to")
        if to is None:
            self.error(path, "a reference needs the object it points to; add e.g. 'to: Account'")
            return None, None
        if not isinstance(to, str) or not to.strip():
            self.error((*path, "to"), f"'to' must be an object name, got {_show(to)}")
            return None, None
        problem = rules.check_reference_target(to)
        if problem:
            self.error((*path, "to"), problem)
            return None, None
        if rules.is_custom_name(to):
            if to.casefold() not in custom_names:
                self.error((*path, "to"), f"{to!r} is a custom object that this schema does not "
                                          f"define{_suggest(to, custom_names.values())} (define "
                                          f"it under 'objects' or fix the name)")
                return None, None
            to = custom_names[to.casefold()]
        relationship = data.get("relationship")
        if relationship is None:
            relationship = rules.default_relationship(name)
        elif not isinstance(relationship, str) or not relationship.strip():
            self.error((*path, "relationship"), f"'relationship' must be text, got "
                                                f"{_show(relationship)}")
            return None, None
        else:
            problem = rules.check_relationship(relationship)
            if problem:
                self.error((*path, "relationship"), problem)
                return None, None
        return to, relationship


def _replace_default(built: FieldDef, default: Any) -> FieldDef:
    if isinstance(default, list):
        default = tuple(default)  # keep FieldDef hashable-ish and immutable
    return replace(built, default=default)


def _yaml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _build(data: Any, source: str, lines: dict[tuple[str, ...], int]) -> Schema:
    builder = _Builder(source, lines)
    schema = builder.schema(data)
    if builder.issues or schema is None:
        raise SchemaError(source, builder.issues or [SchemaIssue("", "invalid schema")])
    return schema
