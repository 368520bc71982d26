"""The write-backs a recovery outcome owes each system, as outbox messages (canonical payloads;
the sync service's relay maps them to each vendor's fields). Dedupe keys make a message that is
queued twice (a replayed event, a second replica) go out once. Only the systems the merchant
has are owed anything (`components.systems`: a merchant without an ERP or without a CRM)."""

from __future__ import annotations

from components.domain import ChargeResult, Decline, InvoiceContext, OutboxMessage
from components.systems import Systems


def _message(destination: str, kind: str, key: str, payload: dict[str, object],
             cid: str) -> OutboxMessage:
    return OutboxMessage(destination=destination, kind=kind, dedupe_key=f"{destination}:{key}",
                         payload=payload, correlation_id=cid)


def _crm(decline: Decline, status: str, retry_count: int, at: float | None,
         recovered: int | None, decline_code: str | None, key: str, cid: str) -> OutboxMessage:
    return _message("salesforce", "recovery_status", key, {
        "invoice_key": decline.invoice_key, "subscription_id": decline.subscription_id,
        "customer_id": decline.customer_id, "recovery_status": status,
        "decline_code": decline_code, "retry_count": retry_count, "last_attempt_at": at,
        "recovered_amount": recovered}, cid)


def recovered(decline: Decline, context: InvoiceContext, result: ChargeResult, *,
              billing: str, paid_in_billing: bool, attempt_no: int, at: float,
              cid: str, systems: Systems) -> list[OutboxMessage]:
    """A retry succeeded: the money is recorded in billing (unless the billing system took the
    payment itself: Stripe's invoice paid on the primary MID), the ERP gets the payment applied
    to its invoice, the CRM the status."""
    key = f"recovered:{decline.invoice_key}:{result.payment_id}"
    messages = []
    if billing == "stripe" and not paid_in_billing:
        messages.append(_message("stripe", "invoice_paid_out_of_band", key, {
            "invoice_id": decline.invoice_id, "payment_id": result.payment_id}, cid))
    if billing == "chargebee":
        messages.append(_message("chargebee", "record_payment", key, {
            "invoice_id": decline.invoice_id, "amount": context.amount_due,
            "currency": context.currency, "payment_id": result.payment_id,
            "charge_id": result.charge_id, "paid_at": at}, cid))
    messages.append(_message("netsuite", "apply_payment", key, {
        "invoice_key": decline.invoice_key, "invoice_id": context.erp_invoice_id,
        "customer_id": context.erp_customer_id, "amount": context.amount_due,
        "currency": context.currency, "payment_id": result.payment_id,
        "charge_id": result.charge_id, "paid_at": at}, cid))
    messages.append(_crm(decline, "recovered", attempt_no, at, context.amount_due,
                         None, key, cid))
    return systems.only(messages)


def retrying(decline: Decline, context: InvoiceContext, retry_count: int, next_retry_at: float,
             cid: str, *, systems: Systems) -> list[OutboxMessage]:
    key = f"retrying:{decline.invoice_key}:{retry_count}"
    return systems.only([
        _message("netsuite", "recovery_status", key, {
            "invoice_key": decline.invoice_key, "invoice_id": context.erp_invoice_id,
            "recovery_status": "retrying", "decline_code": decline.decline_code,
            "retry_count": retry_count, "next_retry_at": next_retry_at}, cid),
        _crm(decline, "retrying", retry_count, None, None, decline.decline_code, key, cid),
    ])


def failed(decline: Decline, context: InvoiceContext, retry_count: int, reason: str,
           cid: str, *, systems: Systems) -> list[OutboxMessage]:
    key = f"failed:{decline.invoice_key}"
    code = reason.split(":", 1)[1] if ":" in reason else decline.decline_code
    return systems.only([
        _message("netsuite", "recovery_status", key, {
            "invoice_key": decline.invoice_key, "invoice_id": context.erp_invoice_id,
            "recovery_status": "failed", "decline_code": code, "retry_count": retry_count,
            "next_retry_at": None}, cid),
        _crm(decline, "failed", retry_count, None, None, code, key, cid),
    ])
