"""Which of a merchant's systems the components write back to and reconcile against.

Billing (Stripe or Chargebee) and the gateway (Stripe) are always there. The ERP and the CRM are
optional: a merchant may run without an ERP (Salesforce CPQ + Chargebee + Stripe) or without a
CRM (NetSuite + Chargebee + Stripe). `systems_of` is the one place that decides:

- the ERP (NetSuite) is present when the settings have a `netsuite` section;
- the CRM (Salesforce) is present when the settings have a `salesforce` section and the mapping
  has a Salesforce record for the recovery status: `subscription_recovery` (or `subscription`)
  mapping `recovery_status` and `customer_id` to fields of that object (how the status is
  written back, and how reconciliation reads it and ties it to the billing customer's
  invoices).

The engine queues write-backs only to present systems (`Systems.only`), the relay refuses a
message for an absent one, and reconciliation skips the ERP or CRM comparisons of an absent one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.domain import OutboxMessage

if TYPE_CHECKING:
    from components.mapping import MerchantMapping
    from components.settings import ComponentSettings

ERP, CRM = "netsuite", "salesforce"
# the Salesforce mapping entries that may hold the recovery status, preferred first
CRM_RECORDS = ("subscription_recovery", "subscription")
CRM_FIELDS = ("recovery_status", "customer_id")


@dataclass(frozen=True)
class Systems:
    """The optional systems a merchant has. The defaults (both present) are the full landscape."""

    erp: bool = True
    crm: bool = True
    crm_record: str | None = None  # the Salesforce mapping entry holding the recovery status

    def has(self, destination: str) -> bool:
        """Whether write-backs to `destination` have somewhere to go (billing always has)."""
        if destination == ERP:
            return self.erp
        if destination == CRM:
            return self.crm
        return True

    def only(self, messages: Iterable[OutboxMessage]) -> list[OutboxMessage]:
        """The messages whose destination the merchant has."""
        return [m for m in messages if self.has(m.destination)]

    def absent(self, destination: str) -> str | None:
        """Why `destination` is absent (for a dead letter), or None when present."""
        if destination == ERP and not self.erp:
            return "the merchant has no ERP: no netsuite section in the settings"
        if destination == CRM and not self.crm:
            return (f"the merchant has no CRM: no salesforce section in the settings, or no "
                    f"salesforce {' or '.join(CRM_RECORDS)} mapping with "
                    f"{' and '.join(CRM_FIELDS)}")
        return None


def crm_record(mapping: MerchantMapping | None) -> str | None:
    """The Salesforce mapping entry that holds the recovery status, if the mapping has one."""
    if mapping is None:
        return None
    for name in CRM_RECORDS:
        if not mapping.has(CRM, name):
            continue
        fields = mapping.record(CRM, name).fields
        # a dotted field is another object's (a lookup): not readable as the record's own
        if all(f in fields and "." not in fields[f].vendor_field for f in CRM_FIELDS):
            return name
    return None


def systems_of(settings: ComponentSettings, mapping: MerchantMapping | None) -> Systems:
    """The merchant's systems, from its settings and its (loaded) field mapping."""
    record = crm_record(mapping) if settings.salesforce is not None else None
    return Systems(erp=settings.netsuite is not None, crm=record is not None, crm_record=record)
