"""Stripe's schema rules: a Stripe schema names the account's schema and nothing else, since
Stripe has no custom fields (see simulators/core/schemas/rules.py)."""

from __future__ import annotations

from simulators.core.schemas import SchemaRules


class StripeSchemaRules(SchemaRules):
    vendor = "stripe"
    title = "Stripe"
    custom_fields = False
    instead_of_custom_fields = ("free-form metadata (string keys of up to 40 characters, string "
                                "values of up to 500)")
