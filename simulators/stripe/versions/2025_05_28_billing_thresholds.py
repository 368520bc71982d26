"""2025-05-28.basil: `billing_thresholds` is back on subscriptions and their items (removed in
2025-03-31.basil with legacy usage-based billing), field and parameter.

docs.stripe.com/changelog/basil/2025-05-28/reintroduce-billing-thresholds"""

import importlib

from simulators.stripe.versions.change import Obj, Render, VersionChange

_legacy = importlib.import_module(
    "simulators.stripe.versions.2025_03_31_legacy_usage_billing")


def _drop(obj: Obj, ctx: Render) -> None:
    obj.pop("billing_thresholds", None)


CHANGE = VersionChange(
    version="2025-05-28.basil",
    entry="https://docs.stripe.com/changelog/basil/2025-05-28/reintroduce-billing-thresholds",
    down={"subscription": _drop, "subscription_item": _drop},
    restored_params=_legacy.THRESHOLDS)
