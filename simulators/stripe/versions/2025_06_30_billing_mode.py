"""2025-06-30.basil: a subscription's `billing_mode` is an object (`type` classic|flexible,
`flexible`, `updated_at`), shown from this version on (before it, only in preview as a string).

docs.stripe.com/changelog/basil/2025-06-30/billing-mode-hash"""

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _subscription(obj: Obj, ctx: Render) -> None:
    obj.pop("billing_mode", None)


CHANGE = VersionChange(
    version="2025-06-30.basil",
    entry="https://docs.stripe.com/changelog/basil/2025-06-30/billing-mode-hash",
    down={"subscription": _subscription})
