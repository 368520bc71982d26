"""2025-03-31.basil: billing periods live on subscription items; the subscription's
`current_period_start`/`current_period_end` are gone.

docs.stripe.com/changelog/basil/2025-03-31/deprecate-subscription-current-period-start-and-end"""

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _subscription(obj: Obj, ctx: Render) -> None:
    items = (obj.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    obj["current_period_start"] = first.get("current_period_start")
    obj["current_period_end"] = first.get("current_period_end")
    # the items lose theirs in _item, which runs on them after this (parents first)


def _item(obj: Obj, ctx: Render) -> None:
    obj.pop("current_period_start", None)
    obj.pop("current_period_end", None)


CHANGE = VersionChange(
    version="2025-03-31.basil",
    entry="https://docs.stripe.com/changelog/basil/2025-03-31/"
          "deprecate-subscription-current-period-start-and-end",
    down={"subscription": _subscription, "subscription_item": _item})
