"""2025-03-31.basil: an invoice line item names its price under `pricing.price_details`
instead of embedding the `price` object.

docs.stripe.com/changelog/basil ("Replaces top-level price fields with improved price modeling
on invoice items and invoice line items", 2025-03-31)"""

import copy

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _line_item(obj: Obj, ctx: Render) -> None:
    pricing = obj.pop("pricing", None) or {}
    price = (pricing.get("price_details") or {}).get("price")
    if isinstance(price, dict):  # expanded
        price = price["id"]
    stored = ctx.stored("price", price)
    obj["price"] = copy.deepcopy(stored) if stored else None  # a record: the pre-basil shape


CHANGE = VersionChange(
    version="2025-03-31.basil",
    entry="https://docs.stripe.com/changelog/basil",
    down={"line_item": _line_item})
