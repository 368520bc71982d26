"""NetSuite's naming rules for per-account schema files (see simulators/core/schemas/rules.py).

Custom record types are script ids starting with ``customrecord``; a custom field's prefix
says which kind of record it sits on (``custentity`` on entities such as customer, ``custbody``
on transactions, ``custitem`` on items, ``custevent`` on CRM records, ``custrecord`` on custom
record types).
"""

from __future__ import annotations

import re

from simulators.core.schemas import SchemaRules
from simulators.core.schemas.rules import snake, suggest, words

ENTITY = frozenset({"customer", "vendor", "employee", "contact", "partner", "lead", "prospect",
                    "job"})
TRANSACTION = frozenset({
    "invoice", "customerpayment", "creditmemo", "cashsale", "cashrefund", "customerrefund",
    "customerdeposit", "depositapplication", "salesorder", "estimate", "opportunity",
    "returnauthorization", "itemfulfillment", "vendorbill", "vendorpayment", "purchaseorder",
    "journalentry",
})
ITEM = frozenset({
    "inventoryitem", "noninventorysaleitem", "noninventoryresaleitem",
    "noninventorypurchaseitem", "servicesaleitem", "serviceresaleitem", "servicepurchaseitem",
    "otherchargesaleitem", "discountitem", "assemblyitem", "kititem",
})
CRM = frozenset({"task", "phonecall", "calendarevent", "supportcase"})
_LABELS = {
    "customerpayment": "Customer Payment", "creditmemo": "Credit Memo", "cashsale": "Cash Sale",
    "cashrefund": "Cash Refund", "customerrefund": "Customer Refund",
    "customerdeposit": "Customer Deposit", "depositapplication": "Deposit Application",
    "salesorder": "Sales Order", "returnauthorization": "Return Authorization",
    "itemfulfillment": "Item Fulfillment", "vendorbill": "Vendor Bill",
    "vendorpayment": "Vendor Payment", "purchaseorder": "Purchase Order",
    "journalentry": "Journal Entry", "phonecall": "Phone Call", "calendarevent": "Event",
    "supportcase": "Case", "job": "Project",
}
_PREFIXES = ("custentity", "custbody", "custcol", "custitem", "custevent", "custrecord",
             "customrecord")
_SCRIPT_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _strip(name: str) -> str:
    """A name without its custom prefix, as a script id suffix ('custbody_Foo' → 'foo')."""
    lowered = name.lower()
    for prefix in (*_PREFIXES, "cf_"):
        if lowered.startswith(prefix):
            return snake(lowered[len(prefix):])
    return snake(lowered)


def field_prefix(obj: str, obj_custom: bool) -> tuple[str, str]:
    """(prefix, kind of record) for custom fields on `obj`."""
    lowered = obj.lower()
    if obj_custom:
        return "custrecord", "custom record types"
    if lowered in ENTITY:
        return "custentity", "entity records"
    if lowered in TRANSACTION:
        return "custbody", "transaction records"
    if lowered in ITEM:
        return "custitem", "item records"
    return "custevent", "CRM records"


class NetSuiteSchemaRules(SchemaRules):
    vendor = "netsuite"
    title = "NetSuite"

    def is_custom_name(self, name: str) -> bool:
        return name.lower().startswith("customrecord")

    def check_object(self, name: str, custom: bool | None) -> str | None:
        if name.lower().startswith("customrecord"):
            if custom is False:
                return (f"{name!r} starts with 'customrecord', which makes it a custom record "
                        f"type; set 'custom: true' (or leave 'custom' out)")
            if not _SCRIPT_ID.match(name) or name == "customrecord":
                return (f"{name!r} is not a valid NetSuite script id; use lower-case letters, "
                        f"digits and underscores, e.g. 'customrecord_{_strip(name)}'")
            return None
        if custom:
            return (f"NetSuite custom record types start with 'customrecord'; rename it to "
                    f"'customrecord_{_strip(name)}'")
        known = ENTITY | TRANSACTION | ITEM | CRM
        if name.lower() not in known:
            return (f"{name!r} is not a NetSuite record type this format knows"
                    f"{suggest(name.lower(), sorted(known))} (use an entity record such as "
                    f"customer, a transaction such as invoice or customerpayment, an item or "
                    f"CRM record, or a custom record type named 'customrecord_…')")
        return None

    def check_field(self, obj: str, obj_custom: bool, name: str) -> str | None:
        prefix, kind = field_prefix(obj, obj_custom)
        fixed = f"{prefix}_{_strip(name)}"
        if prefix == "custbody" and name.lower().startswith("custcol"):
            return (f"'custcol' fields are transaction line (sublist) fields, which this format "
                    f"does not model; use a body field such as {fixed!r}")
        if not name.startswith(prefix) or name == prefix:
            return (f"NetSuite custom fields on {kind} ({obj}) start with {prefix!r}; "
                    f"rename it to {fixed!r}")
        if not _SCRIPT_ID.match(name):
            return (f"{name!r} is not a valid NetSuite script id (lower-case letters, digits and "
                    f"underscores); use {fixed!r}")
        return None

    def check_reference_target(self, target: str) -> str | None:
        if not _SCRIPT_ID.match(target.lower()):
            return f"{target!r} is not a NetSuite record type; use e.g. 'customer' or 'invoice'"
        return None

    def object_label(self, name: str, custom: bool) -> str:
        if custom:
            return words(_strip(name))
        return _LABELS.get(name.lower(), name[:1].upper() + name[1:])

    def field_label(self, name: str) -> str:
        return words(_strip(name))
