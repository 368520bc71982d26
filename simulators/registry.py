"""The fake vendors this project ships, by name: the one place that knows them all.

Adding a vendor is one line in `VENDORS` (see simulators/README.md, "Adding a vendor"). Vendor
packages are imported by string, on first use, so the core never depends on any of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from simulators.core import schemas
from simulators.core.schemas import Schema, SchemaRules
from simulators.core.vendor import Vendor

VENDORS: dict[str, str] = {
    "stripe": "simulators.stripe.vendor:StripeVendor",
    "chargebee": "simulators.chargebee.vendor:ChargebeeVendor",
    "netsuite": "simulators.netsuite.vendor:NetSuiteVendor",
    "salesforce": "simulators.salesforce.vendor:SalesforceVendor",
}


def vendor_class(name: str) -> type[Vendor]:
    """The `Vendor` subclass registered as `name` (its package is imported now)."""
    if name not in VENDORS:
        raise KeyError(f"unknown vendor {name!r}; choose one of: {', '.join(VENDORS)}")
    module, _, cls = VENDORS[name].partition(":")
    found: type[Vendor] = getattr(importlib.import_module(module), cls)
    return found


def create_vendor(name: str) -> Vendor:
    return vendor_class(name)()


def schema_rules(name: str) -> SchemaRules:
    """The schema rules of vendor `name`; KeyError if it is unknown or takes no schemas."""
    rules = vendor_class(name).schema_rules
    if rules is None:
        raise KeyError(f"vendor {name!r} takes no schemas (its Vendor sets no schema_rules)")
    return rules


class _AllSchemaRules(Mapping[str, SchemaRules]):
    """Every registered vendor's schema rules, by name; a vendor is imported when asked for
    (listing them all, which only error messages do, imports them all)."""

    def __getitem__(self, name: str) -> SchemaRules:
        return schema_rules(name)

    def __iter__(self) -> Iterator[str]:
        return (name for name in list(VENDORS) if vendor_class(name).schema_rules is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


ALL_SCHEMA_RULES: Mapping[str, SchemaRules] = _AllSchemaRules()


def load_schema(path: str | Path) -> Schema:
    """Load a schema file by the vendor its `vendor:` key names (tests, tools). A fake loads
    its tenants' schemas with its own vendor's rules instead (simulators/core/config.py)."""
    return schemas.load_schema(path, ALL_SCHEMA_RULES)


def schema_from_dict(data: Any, source: str = "<schema>") -> Schema:
    """Like `load_schema`, for already-parsed data; `source` names it in errors."""
    return schemas.schema_from_dict(data, ALL_SCHEMA_RULES, source)
