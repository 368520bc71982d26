"""2026-09-30.endive: `payment_method_types` is no longer a writable parameter of PaymentIntent
create, update and confirm (400 `payment_method_types_no_longer_supported`); the object still
shows it, read-only. Use dynamic payment methods, `excluded_payment_method_types` or
`allowed_payment_method_types`.

docs.stripe.com/changelog/endive/2026-09-30/
removes-the-payment-method-types-parameter-from-payment-intents-and-setup-intents"""

from simulators.stripe.errors import invalid_request
from simulators.stripe.versions.change import VersionChange


def _refusal(param: str) -> Exception:
    # the code is Stripe's; the message is the fake's own [U]
    return invalid_request("The payment_method_types parameter is no longer supported in this API "
                           "version; use dynamic payment methods, excluded_payment_method_types "
                           "or allowed_payment_method_types.", param,
                           "payment_method_types_no_longer_supported")


_INTENT = ("payment_method_types",)

CHANGE = VersionChange(
    version="2026-09-30.endive",
    entry="https://docs.stripe.com/changelog/endive/2026-09-30/"
          "removes-the-payment-method-types-parameter-from-payment-intents-and-setup-intents",
    removed_params={"post /v1/payment_intents": _INTENT,
                    "post /v1/payment_intents/{intent}": _INTENT,
                    "post /v1/payment_intents/{intent}/confirm": _INTENT},
    refusal=_refusal)
