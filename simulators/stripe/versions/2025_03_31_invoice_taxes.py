"""2025-03-31.basil: taxes as `total_taxes` on invoices and `taxes` on line items; the
invoice's `tax`, `total_tax_amounts` and the line item's `tax_amounts`, `tax_rates`,
`amount_excluding_tax`, `unit_amount_excluding_tax` are gone.

docs.stripe.com/changelog/basil/2025-03-31/invoice-tax-configurations"""

from typing import Any

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _amounts(taxes: list[Obj]) -> list[dict[str, Any]]:
    return [{"amount": t["amount"], "inclusive": t.get("tax_behavior") == "inclusive",
             "tax_rate": (t.get("tax_rate_details") or {}).get("tax_rate"),
             "taxability_reason": t.get("taxability_reason"),
             "taxable_amount": t.get("taxable_amount")} for t in taxes or []]


def _invoice(obj: Obj, ctx: Render) -> None:
    taxes = obj.pop("total_taxes", None) or []
    obj["total_tax_amounts"] = _amounts(taxes)
    obj["tax"] = sum(t["amount"] for t in taxes) if taxes else None


def _line_item(obj: Obj, ctx: Render) -> None:
    taxes = obj.pop("taxes", None) or []
    obj["tax_amounts"] = _amounts(taxes)
    obj["tax_rates"] = []  # the fake applies no tax rates
    inclusive = sum(t["amount"] for t in taxes if t.get("tax_behavior") == "inclusive")
    obj["amount_excluding_tax"] = obj["amount"] - inclusive
    unit = (obj.get("pricing") or {}).get("unit_amount_decimal")
    obj["unit_amount_excluding_tax"] = unit


CHANGE = VersionChange(
    version="2025-03-31.basil",
    entry="https://docs.stripe.com/changelog/basil/2025-03-31/invoice-tax-configurations",
    down={"invoice": _invoice, "line_item": _line_item})
