"""2025-03-31.basil: invoices and their line items name what generated them under `parent`;
the invoice's `subscription`, `subscription_details`, `quote`, `subscription_proration_date`
and the line item's `type`, `subscription_item`, `invoice_item`, `proration`,
`proration_details` are gone (the SDK keeps the line item's `subscription`).

docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects"""

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _invoice(obj: Obj, ctx: Render) -> None:
    parent = obj.pop("parent", None) or {}
    details = parent.get("subscription_details") or {}
    quote = parent.get("quote_details") or {}
    obj["subscription"] = details.get("subscription")
    obj["subscription_details"] = {"metadata": details.get("metadata")} if details else None
    obj["subscription_proration_date"] = details.get("subscription_proration_date")
    if obj["subscription_proration_date"] is None:
        del obj["subscription_proration_date"]  # the fake never previews prorations
    obj["quote"] = quote.get("quote")


def _line_item(obj: Obj, ctx: Render) -> None:
    parent = obj.pop("parent", None) or {}
    sub_item = parent.get("subscription_item_details")
    details = sub_item or parent.get("invoice_item_details") or {}
    obj["type"] = "subscription" if sub_item else "invoiceitem"
    obj["subscription"] = details.get("subscription")
    obj["subscription_item"] = (sub_item or {}).get("subscription_item")
    if details.get("invoice_item"):
        obj["invoice_item"] = details["invoice_item"]
    obj["proration"] = bool(details.get("proration"))
    obj["proration_details"] = details.get("proration_details")


CHANGE = VersionChange(
    version="2025-03-31.basil",
    entry="https://docs.stripe.com/changelog/basil/2025-03-31/"
          "adds-new-parent-field-to-invoicing-objects",
    down={"invoice": _invoice, "line_item": _line_item})
