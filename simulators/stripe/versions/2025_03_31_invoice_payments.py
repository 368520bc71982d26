"""2025-03-31.basil: invoice payments are their own objects (`invoice_payment`, listed at
GET /v1/invoice_payments, includable as the invoice's `payments`). The invoice loses
`payment_intent`, `charge`, `paid`, `paid_out_of_band`, `application_fee_amount` and
`transfer_data`; charges and PaymentIntents lose `invoice`.

docs.stripe.com/changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices"""

from simulators.stripe.versions.change import Obj, Render, VersionChange


def _invoice(obj: Obj, ctx: Render) -> None:
    payments = (obj.pop("payments", None) or {}).get("data") or []
    default = next((p for p in payments if p.get("is_default")), None)
    intent = ((default or {}).get("payment") or {}).get("payment_intent")
    if isinstance(intent, dict):  # expanded
        intent = intent["id"]
    stored = ctx.stored("payment_intent", intent) or {}
    off_stripe = obj.pop("amount_paid_off_stripe", 0) or 0
    obj["payment_intent"] = intent
    obj["charge"] = stored.get("latest_charge")
    obj["paid"] = obj["status"] == "paid"
    obj["paid_out_of_band"] = obj["status"] == "paid" and off_stripe > 0
    obj["application_fee_amount"] = None  # Connect: the fake has none
    obj["transfer_data"] = None


def _with_invoice(collection: str):
    def down(obj: Obj, ctx: Render) -> None:
        obj["invoice"] = (ctx.stored(collection, obj.get("id")) or {}).get("invoice")
    return down


CHANGE = VersionChange(
    version="2025-03-31.basil",
    entry="https://docs.stripe.com/changelog/basil/2025-03-31/"
          "add-support-for-multiple-partial-payments-on-invoices",
    down={"invoice": _invoice, "charge": _with_invoice("charge"),
          "payment_intent": _with_invoice("payment_intent")})
