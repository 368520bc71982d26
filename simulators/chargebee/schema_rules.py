"""Chargebee's naming rules for per-site schema files (see simulators/core/schemas/rules.py).

Chargebee has no custom objects: a site adds ``cf_`` custom fields to a few resources, and a
custom field cannot reference another record.
"""

from __future__ import annotations

import re

from simulators.core.schemas import SchemaRules
from simulators.core.schemas.rules import snake, suggest, words

OBJECTS = ("customer", "subscription", "plan", "addon", "item", "item_price", "item_family")
_FIELD = re.compile(r"^cf_[A-Za-z0-9_]+$")


def _fixed(name: str) -> str:
    """The `cf_` name to suggest for `name`."""
    lowered = name.lower()
    return "cf_" + snake(lowered[3:] if lowered.startswith("cf_") else lowered)


class ChargebeeSchemaRules(SchemaRules):
    vendor = "chargebee"
    title = "Chargebee"
    references = False

    def check_object(self, name: str, custom: bool | None) -> str | None:
        if custom:
            return (f"Chargebee has no custom objects; add 'cf_' fields to one of: "
                    f"{', '.join(OBJECTS)}")
        if name not in OBJECTS:
            return (f"{name!r} is not a Chargebee resource with custom fields"
                    f"{suggest(name, OBJECTS)} (use one of: {', '.join(OBJECTS)})")
        return None

    def check_field(self, obj: str, obj_custom: bool, name: str) -> str | None:
        if not name.startswith("cf_") or name == "cf_":
            return f"Chargebee custom fields start with 'cf_'; rename it to {_fixed(name)!r}"
        if not _FIELD.match(name):
            return (f"{name!r} is not a valid Chargebee custom field name (letters, digits and "
                    f"underscores after 'cf_'); use {_fixed(name)!r}")
        return None

    def object_label(self, name: str, custom: bool) -> str:
        return words(name)

    def field_label(self, name: str) -> str:
        return words(name[3:] if name.startswith("cf_") else name)
