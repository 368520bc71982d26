"""2025-03-31.basil: legacy usage-based billing removed: prices (and plans) lose
`recurring.aggregate_usage`; subscriptions and their items lose `billing_thresholds` (field and
parameter; brought back in 2025-05-28.basil, see 2025_05_28_billing_thresholds.py).

docs.stripe.com/changelog/basil/2025-03-31/deprecate-legacy-usage-based-billing"""

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _price(obj: Obj, ctx: Render) -> None:
    stored = ctx.stored("price", obj.get("id")) or {}
    recurring = obj.get("recurring")
    if isinstance(recurring, dict):
        recurring["aggregate_usage"] = (stored.get("recurring") or {}).get("aggregate_usage")
        recurring.pop("meter", None)
    if obj.get("object") == "plan":
        obj["aggregate_usage"] = (stored.get("recurring") or {}).get("aggregate_usage")
        obj.pop("meter", None)


def _thresholds(obj: Obj, ctx: Render) -> None:
    obj.setdefault("billing_thresholds", None)


THRESHOLDS = {
    "post /v1/subscriptions": ("billing_thresholds", "items[].billing_thresholds"),
    "post /v1/subscriptions/{subscription_exposed_id}": (
        "billing_thresholds", "items[].billing_thresholds"),
}

CHANGE = VersionChange(
    version="2025-03-31.basil",
    entry="https://docs.stripe.com/changelog/basil/2025-03-31/"
          "deprecate-legacy-usage-based-billing",
    down={"price": _price, "plan": _price, "subscription": _thresholds,
          "subscription_item": _thresholds},
    removed_params={**THRESHOLDS, "post /v1/prices": ("recurring.aggregate_usage",)})
