"""The schema model: a `Schema` of `ObjectDef`s, each with the custom `FieldDef`s it adds.

Only custom fields are listed; the vendor's standard fields (Salesforce ``Id``/``Name``/
``CreatedDate``, NetSuite ``id``/``externalId``, Chargebee ``id``, …) are the fakes' business.
Names are looked up ignoring case, as the vendors do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from simulators.core.schemas.values import coerce

T = TypeVar("T")


def _by_name(items: dict[str, T], name: str) -> T | None:
    """`items[name]`, else the entry whose name differs only in case (vendors ignore case)."""
    found = items.get(name)
    if found is not None:
        return found
    folded = name.casefold()
    return next((item for key, item in items.items() if key.casefold() == folded), None)


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
    relationship: str | None = None  # reference, where the vendor names relationships
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
        (`ObjectDef.missing_required`). The canonical forms are listed in `values.py`.
        Raises `FieldValueError`.
        """
        return coerce(self, value)


@dataclass(frozen=True)
class ObjectDef:
    """A standard object with the custom fields it adds, or a custom object/record type."""

    name: str
    custom: bool
    label: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    key_prefix: str | None = None  # custom objects, where the vendor's ids carry one
    description: str | None = None

    def field(self, name: str) -> FieldDef | None:
        """The field called `name`, ignoring case; None if the schema doesn't define it."""
        return _by_name(self.fields, name)

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
        return _by_name(self.objects, name)

    def custom_objects(self) -> tuple[ObjectDef, ...]:
        return tuple(o for o in self.objects.values() if o.custom)
