"""Per-merchant schemas: the custom fields and custom objects one tenant's org/account/site has.

A schema is a small YAML file (see ``scenarios/schemas/``) that a topology points to per tenant::

    vendor: salesforce            # a registered vendor with schema rules
    name: cpq-subscription
    description: CPQ-style subscriptions linked to Account
    objects:
      Account:                    # a standard object: only the custom fields it adds
        fields:
          Recovery_Status__c: {type: picklist, values: [none, retrying], default: none}
      SBQQ__Subscription__c:      # a custom object
        custom: true
        label: Subscription
        key_prefix: a0S           # where the vendor's ids have one (Salesforce), optional
        fields:
          SBQQ__Account__c: {type: reference, to: Account, required: true}
          SBQQ__EndDate__c: date  # shorthand for {type: date}

This package is vendor-neutral: it loads and validates the file against the `SchemaRules` its
caller passes (each vendor's live in ``simulators/<vendor>/schema_rules.py``) and checks field
values (`FieldDef.coerce`). Each fake renders the schema its own way (describe, metadata
catalog, custom_field_configs) and wraps `FieldValueError` in its own error.

| module | what it holds |
|---|---|
| `model.py` | `Schema`, `ObjectDef`, `FieldDef` |
| `values.py` | the field types and the shared value check (`coerce`) |
| `rules.py` | `SchemaRules`, the base of a vendor's naming rules, and helpers for them |
| `loader.py` | `load_schema` (YAML with line numbers), `schema_from_dict` |
| `builder.py`, `fields.py` | parsed data → `Schema` (the file and its objects; each field) |
| `checks.py` | generic checks that collect every problem with its line |
| `errors.py` | `SchemaError`/`SchemaIssue` (file, line, key, fix), `FieldValueError` |
"""

from simulators.core.schemas.builder import RulesSource
from simulators.core.schemas.errors import FieldValueError, SchemaError, SchemaIssue
from simulators.core.schemas.loader import load_schema, schema_from_dict
from simulators.core.schemas.model import FieldDef, ObjectDef, Schema
from simulators.core.schemas.rules import SchemaRules
from simulators.core.schemas.values import FIELD_TYPES

__all__ = [
    "FIELD_TYPES",
    "FieldDef",
    "FieldValueError",
    "ObjectDef",
    "RulesSource",
    "Schema",
    "SchemaError",
    "SchemaIssue",
    "SchemaRules",
    "load_schema",
    "schema_from_dict",
]
