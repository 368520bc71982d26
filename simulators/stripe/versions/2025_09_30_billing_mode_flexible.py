"""2025-09-30.clover: a subscription created without `billing_mode` gets flexible billing mode
(classic before). A behaviour, not a shape: `billing_subscriptions` asks `created_mode` when it
creates one; the field itself renders the same at every version that shows it.

docs.stripe.com/changelog/clover (2025-09-30: "flexible billing mode is the default");
previewed in docs.stripe.com/changelog/basil/2025-08-27/billing-mode-default-flexible"""

from simulators.stripe.versions.catalog import at_least
from simulators.stripe.versions.change import VersionChange

CHANGE = VersionChange(
    version="2025-09-30.clover",
    entry="https://docs.stripe.com/changelog/basil/2025-08-27/billing-mode-default-flexible")


def created_mode(version: str) -> dict[str, object]:
    """The `billing_mode` of a subscription created at `version` without one."""
    if at_least(version, CHANGE.version):
        return {"flexible": {"proration_discounts": "included"}, "type": "flexible"}
    return {"flexible": None, "type": "classic"}
