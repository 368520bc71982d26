"""2025-03-31.basil: singular discounts removed in favour of stackable `discounts`: the
`coupon` and `promotion_code` parameters of customers and subscriptions, and the `discount`
field of subscriptions and invoices (the SDK pinned to 2026-10-28.endive has neither; customers
keep theirs).

docs.stripe.com/changelog/basil/2025-03-31/deprecate-singular-coupon-promotion-code"""

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _discount(obj: Obj, ctx: Render) -> None:
    obj["discount"] = None  # the fake applies no coupons


_PARAMS = ("coupon", "promotion_code")

CHANGE = VersionChange(
    version="2025-03-31.basil",
    entry="https://docs.stripe.com/changelog/basil/2025-03-31/"
          "deprecate-singular-coupon-promotion-code",
    down={"subscription": _discount, "invoice": _discount},
    removed_params={"post /v1/customers": _PARAMS, "post /v1/customers/{customer}": _PARAMS,
                    "post /v1/subscriptions": _PARAMS,
                    "post /v1/subscriptions/{subscription_exposed_id}": _PARAMS})
