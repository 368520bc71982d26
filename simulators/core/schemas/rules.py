"""`SchemaRules`: what a vendor says about the schema files written for it.

The loader (builder.py) checks everything vendor-neutral itself: the file's keys, field types,
picklists, defaults, references between the schema's own objects. What differs by vendor —
which objects exist, how custom objects and fields are named, what is labelled how, whether
fields may reference records — is asked of a `SchemaRules` the caller hands in. A vendor package
subclasses it in ``<vendor>/schema_rules.py`` and sets it as ``Vendor.schema_rules``.

Capabilities are class attributes; the checks are methods that return an error message (what
is wrong and the fix, e.g. "… rename it to 'cf_tier'") or None when all is well.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


class SchemaRules:
    """The naming rules of one vendor's schema files; the defaults accept any names."""

    vendor: str = ""  # the `vendor:` value its schema files carry, e.g. "salesforce"
    title: str = ""  # how messages name the vendor, e.g. "Salesforce"

    # Capabilities. A file that uses one the vendor lacks is refused with the fix.
    custom_fields: bool = True  # False: the file may not list 'objects' at all
    instead_of_custom_fields: str = ""  # what the vendor offers instead, said in that refusal
    references: bool = True  # custom fields may be `type: reference`
    relationships: bool = False  # references carry a relationship name (`relationship:`)
    key_prefixes: bool = False  # custom objects may set `key_prefix:` (their ids' prefix)

    def is_custom_name(self, name: str) -> bool:
        """Whether an object name marks a custom object by itself (Salesforce's ``__c``)."""
        return False

    def check_object(self, name: str, custom: bool | None) -> str | None:
        """The object's name; `custom` is the file's `custom:` flag (None when left out)."""
        return None

    def check_field(self, obj: str, obj_custom: bool, name: str) -> str | None:
        """A custom field's name on object `obj`."""
        return None

    def check_reference_target(self, target: str) -> str | None:
        """The `to:` of a reference field (custom targets are then looked up in the file)."""
        return None

    def check_relationship(self, relationship: str) -> str | None:
        """A `relationship:` name (asked only when `relationships` is set)."""
        return None

    def default_relationship(self, field_name: str) -> str | None:
        """The relationship name of a reference that gives none (with `relationships`)."""
        return None

    def check_key_prefix(self, prefix: str, custom: bool) -> str | None:
        """A `key_prefix:` (asked only when `key_prefixes` is set)."""
        return None

    def object_label(self, name: str, custom: bool) -> str:
        """The label of an object whose definition gives none."""
        return name

    def field_label(self, name: str) -> str:
        """The label of a field whose definition gives none."""
        return words(name)


# -- helpers for rules and their messages --------------------------------------------------------


def suggest(name: str, choices: Iterable[str]) -> str:
    """A "; did you mean 'x'?" hint naming the choice closest to `name` ("" if none is)."""
    choices = list(choices)
    folded = {c.casefold(): c for c in choices}
    if name.casefold() in folded:
        return f"; did you mean {folded[name.casefold()]!r}?"
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def words(text: str) -> str:
    """A base name → a readable label: 'Recovery_Status' → 'Recovery Status', 'mrr' → 'Mrr'."""
    parts = [p for p in text.split("_") if p]
    return " ".join(p.capitalize() if p.islower() else p for p in parts) or text


def snake(name: str) -> str:
    """Any name → lower-case letters, digits and single underscores ('field' if nothing is left)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "field"
