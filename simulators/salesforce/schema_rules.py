"""Salesforce's naming rules for per-org schema files (see simulators/core/schemas/rules.py).

Custom objects and fields are API names ending in ``__c``, optionally after a namespace prefix
(``SBQQ__EndDate__c``); references have a relationship name ending in ``__r``; custom objects
may fix the three-character prefix of their record ids.
"""

from __future__ import annotations

import re

from simulators.core.schemas import SchemaRules
from simulators.core.schemas.rules import words

_PART = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*$")  # no __, no trailing _
_STANDARD_OBJECT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_OTHER_SUFFIXES = ("__e", "__mdt", "__x", "__b", "__r", "__share", "__history", "__feed")
_KEY_PREFIX = re.compile(r"^[a-zA-Z0-9]{3}$")


def _base(name: str) -> str:
    base = re.sub(r"(?i)(__c|__r|_c)$", "", name)
    base = re.sub(r"[^A-Za-z0-9]+", "_", base).strip("_")
    return base or "Field"


def _api_name(name: str, what: str) -> str | None:
    parts = name[:-3].split("__")
    if len(parts) > 2 or not all(_PART.match(p) for p in parts):
        return (f"{name!r} is not a valid Salesforce {what} API name; use letters, digits and "
                f"single underscores, starting with a letter, optionally after a namespace "
                f"prefix (e.g. 'Renewal_Date__c', 'SBQQ__EndDate__c')")
    if len(parts[-1]) > 40:
        return (f"{name!r} is too long; Salesforce API names have at most 40 characters "
                f"before '__c'")
    return None


class SalesforceSchemaRules(SchemaRules):
    vendor = "salesforce"
    title = "Salesforce"
    relationships = True
    key_prefixes = True

    def is_custom_name(self, name: str) -> bool:
        return name.endswith("__c")

    def check_object(self, name: str, custom: bool | None) -> str | None:
        if name.lower().endswith(_OTHER_SUFFIXES):
            return (f"{name!r}: only custom objects (ending in '__c') and standard objects can be "
                    f"described; platform events, custom metadata and external objects are not "
                    f"supported")
        if name.endswith("__c"):
            if custom is False:
                return (f"{name!r} ends in '__c', which makes it a custom object; set "
                        f"'custom: true' (or leave 'custom' out)")
            return _api_name(name, "object")
        if custom:
            return (f"Salesforce custom object names end in '__c'; rename it to "
                    f"{_base(name) + '__c'!r}")
        if not _STANDARD_OBJECT.match(name):
            return (f"{name!r} is not a Salesforce standard object name (letters and digits only, "
                    f"e.g. 'Account'); custom objects end in '__c', e.g. "
                    f"{_base(name) + '__c'!r}")
        return None

    def check_field(self, obj: str, obj_custom: bool, name: str) -> str | None:
        if not name.endswith("__c"):
            return (f"Salesforce custom field names end in '__c'; rename it to "
                    f"{_base(name) + '__c'!r} (standard fields such as Name are built in: "
                    f"don't list them)")
        return _api_name(name, "field")

    def check_relationship(self, relationship: str) -> str | None:
        if not relationship.endswith("__r"):
            return (f"Salesforce relationship names end in '__r'; use "
                    f"{_base(relationship) + '__r'!r}")
        base = relationship[:-3].split("__")
        if len(base) > 2 or not all(_PART.match(p) for p in base):
            return (f"{relationship!r} is not a valid relationship name; use letters, digits and "
                    f"single underscores, ending in '__r'")
        return None

    def check_reference_target(self, target: str) -> str | None:
        if not (target.endswith("__c") or _STANDARD_OBJECT.match(target)):
            return (f"{target!r} is not a Salesforce object name; use a standard object such as "
                    f"'Account' or a custom object ending in '__c'")
        return None

    def default_relationship(self, field_name: str) -> str | None:
        return field_name[:-3] + "__r" if field_name.endswith("__c") else None

    def check_key_prefix(self, prefix: str, custom: bool) -> str | None:
        if not custom:
            return ("standard objects have fixed key prefixes (Account is 001); remove "
                    "'key_prefix'")
        if not _KEY_PREFIX.match(prefix) or prefix[0] in "0123456789":
            return (f"{prefix!r} is not a custom object key prefix; use 3 letters or digits "
                    f"starting with a letter, e.g. 'a0S'")
        return None

    def object_label(self, name: str, custom: bool) -> str:
        return words(name[:-3].split("__")[-1]) if custom else name

    def field_label(self, name: str) -> str:
        return words(name[:-3].split("__")[-1]) if name.endswith("__c") else words(name)
