"""Charging a retry through a MID, and finding out what became of one whose answer was lost.

Stripe Billing's own invoice on the primary MID is paid through the invoice (`/pay`), so Stripe
keeps its books; any other MID charges the card the merchant vaulted there for the same
customer (found by email) with a PaymentIntent that names the invoice and the idempotency key in
its metadata. Every charge carries the attempt's idempotency key: re-sending it after a timeout
returns Stripe's first answer instead of charging again.

An attempt whose outcome is unknown (timeout, dropped connection, a 5xx after which the charge
may exist) is resolved before the invoice is touched again: look for the payment (the invoice
paid, a PaymentIntent carrying the key), and if there is none, send the same request with the
same key, which Stripe runs once at most.

Finding the card on another MID is a read the decision does not need, so `prefetch` starts it
as the decline arrives, beside the billing and ERP reads: the charge then waits on the slowest
read rather than on their sum (one spare read when the decision is not to retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.retry import RetryPolicy
from components.connectors.stripe import (
    StripeConnector,
    invoice_paid_out_of_band,
    invoice_payment_refs,
)
from components.domain import Attempt, AttemptStatus, ChargeResult, Decline


class Charger:
    def __init__(self, mids: dict[str, StripeConnector], *, billing: str,
                 safe_keys: bool = True) -> None:
        self.mids, self.billing, self.safe_keys = mids, billing, safe_keys
        self.primary = next(iter(mids))
        # (MID, email) → the card lookup started by `prefetch`; taken by the charge or dropped
        self._lookups: dict[tuple[str, str], asyncio.Task[tuple[str, str]]] = {}

    def prefetch(self, decline: Decline) -> None:
        """Start finding the customer's card on every MID that charges by card."""
        email = decline.customer_email
        if not email:
            return
        for mid, gateway in self.mids.items():
            if not self.pays_invoice(mid) and (mid, email) not in self._lookups:
                self._lookups[mid, email] = asyncio.ensure_future(
                    self._find_card(gateway, decline))

    async def forget(self, decline: Decline) -> None:
        """Drop the lookups `prefetch` started for this decline that no charge took."""
        for mid in self.mids:
            task = self._lookups.pop((mid, decline.customer_email or ""), None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    def pays_invoice(self, mid: str) -> bool:
        """Stripe Billing's invoice on the primary MID is paid through the invoice itself."""
        return self.billing == "stripe" and mid == self.primary

    async def charge(self, decline: Decline, attempt: Attempt) -> ChargeResult:
        """Raises UnknownOutcome when the answer was lost, VendorError when refused."""
        if self.safe_keys:
            return await self._send(decline, attempt, attempt.idempotency_key,
                                    self.mids[attempt.mid])
        # The protection switched off: a timeout taken as a failure and tried again under a new
        # key, which is exactly how a retry becomes a second charge.
        gateway = self.mids[attempt.mid]
        single = gateway.with_policy(RetryPolicy(attempts=1, timeout=gateway.policy.timeout))
        for _ in range(gateway.policy.attempts):
            try:
                return await self._send(decline, attempt, f"unsafe:{uuid.uuid4()}", single)
            except UnknownOutcome:
                continue
        raise UnknownOutcome("stripe", "every try timed out")

    async def resolve(self, decline: Decline, attempt: Attempt) -> ChargeResult | None:
        """What became of an attempt whose outcome was unknown; None while it still is."""
        if not self.safe_keys:
            return None  # no key to look for or to re-send under
        gateway = self.mids[attempt.mid]
        try:
            if self.pays_invoice(attempt.mid):
                invoice = await gateway.get_invoice(decline.invoice_id)
                if invoice.get("status") == "paid" and not invoice_paid_out_of_band(invoice):
                    intent, charge = invoice_payment_refs(invoice)
                    return ChargeResult(AttemptStatus.SUCCEEDED, intent, charge_id=charge)
            else:
                for found in await gateway.find_payment_by_metadata(
                        "idempotency_key", attempt.idempotency_key):
                    if found.get("status") == "succeeded":
                        return ChargeResult(AttemptStatus.SUCCEEDED, found["id"],
                                            charge_id=found.get("latest_charge"))
            # not found as paid: the same request under the same key runs at most once
            return await self._send(decline, attempt, attempt.idempotency_key, gateway)
        except UnknownOutcome:
            return None
        except VendorError as error:
            if error.retryable:
                return None
            raise

    async def _send(self, decline: Decline, attempt: Attempt, key: str,
                    gateway: StripeConnector) -> ChargeResult:
        if self.pays_invoice(attempt.mid):
            return await gateway.pay_invoice(decline.invoice_id, idempotency_key=key)
        lookup = self._lookups.pop((attempt.mid, decline.customer_email or ""), None)
        customer, payment_method = await (lookup if lookup is not None
                                          else self._find_card(gateway, decline))
        return await gateway.charge(
            amount=attempt.amount, currency=attempt.currency, customer=customer,
            payment_method=payment_method, idempotency_key=key,
            metadata={"invoice_key": decline.invoice_key, "idempotency_key": key},
            description=f"Recovery of {decline.invoice_key}")

    @staticmethod
    async def _find_card(gateway: StripeConnector, decline: Decline) -> tuple[str, str]:
        """The customer and card on a MID's account: the merchant vaults the card on each MID
        under the same customer email."""
        email = decline.customer_email
        customer = await gateway.find_customer_by_email(email) if email else None
        if customer is None:
            raise VendorError("stripe", ErrorKind.NOT_FOUND, f"no customer {email!r} on MID "
                              f"{gateway.mid}", code="customer_not_on_mid")
        settings = customer.get("invoice_settings") or {}
        method = settings.get("default_payment_method") or customer.get("default_source")
        if not method:
            raise VendorError("stripe", ErrorKind.NOT_FOUND, f"customer {customer['id']} has no "
                              f"default payment method on MID {gateway.mid}",
                              code="no_payment_method_on_mid")
        return customer["id"], method if isinstance(method, str) else method["id"]
