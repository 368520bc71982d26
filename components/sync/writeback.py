"""Sending one outbox message to its destination, in the merchant's own fields.

Every write is safe to send twice: NetSuite payments are upserted by external id, Salesforce and
NetSuite status fields are plain updates of the same values, Chargebee's record_payment carries
an idempotency key and is skipped when the invoice already shows the payment, Stripe's
out-of-band payment of a paid invoice is the desired state already (the invoice then names the
gateway payment only if the out-of-band payment was ours: see `pay_invoice_out_of_band`).
"""

from __future__ import annotations

from typing import Any

from components.connectors.errors import ErrorKind, VendorError
from components.context import read_erp_invoice
from components.domain import OutboxMessage
from components.mapping import MerchantMapping
from components.systems import systems_of
from components.wiring import Deployment


class NotDeliverable(Exception):
    """The message cannot be sent as it is (no connector, no mapping, no record to update):
    retrying will not help; it goes to the dead letters with this reason."""


def _key_value(mapping: MerchantMapping, vendor: str, record: str,
               canonical: dict[str, Any]) -> tuple[str, Any]:
    """The record's key field and the canonical value it holds."""
    rmap = mapping.record(vendor, record)
    for name, fmap in rmap.fields.items():
        if fmap.vendor_field == rmap.key:
            return rmap.key, canonical.get(name)
    raise NotDeliverable(f"{mapping.source}: vendors.{vendor}.{record}: the key field "
                         f"{rmap.key} is not mapped to a canonical field")


def _major(amount: int, mapping: MerchantMapping | None) -> float:
    return amount / 10.0 ** (mapping.currency_exponent if mapping else 2)


async def send(message: OutboxMessage, deployment: Deployment) -> None:
    handler = _HANDLERS.get((message.destination, message.kind))
    if handler is None:
        raise NotDeliverable(f"no write-back for {message.destination}/{message.kind}")
    # the engine queues nothing for a system the merchant lacks; a message queued before the
    # settings changed (or a replayed dead letter) has nowhere to go
    absent = systems_of(deployment.settings, deployment.mapping).absent(message.destination)
    if absent:
        raise NotDeliverable(absent)
    await handler(message.payload, message, deployment)


async def _stripe_paid_out_of_band(p: dict[str, Any], m: OutboxMessage, d: Deployment) -> None:
    # the invoice is left naming the payment it records (`metadata[recovery_payment_id]`):
    # reconciliation tells our out-of-band payment from the merchant's own by it
    await d.vendors.primary.pay_invoice_out_of_band(
        p["invoice_id"], idempotency_key=m.dedupe_key,
        payment_id=str(p["payment_id"]) if p.get("payment_id") else None)


async def _chargebee_record_payment(p: dict[str, Any], m: OutboxMessage, d: Deployment) -> None:
    if d.vendors.chargebee is None:
        raise NotDeliverable("no chargebee section in the settings")
    try:
        await d.vendors.chargebee.record_payment(
            p["invoice_id"], amount=int(p["amount"]), reference_number=str(p["payment_id"]),
            id_at_gateway=p.get("charge_id"), date=int(p["paid_at"]),
            comment=f"Recovered by retry ({p['payment_id']})",
            idempotency_key=m.dedupe_key[:100])
    except VendorError as error:
        if error.code != "invoice_already_paid":
            raise
        # paid by another payment: no retry can change that, and days of them would only
        # delay the human who must choose which payment to refund
        raise NotDeliverable(f"{error}: the customer may have paid twice (reconciliation "
                             f"reports it as paid_twice); a refund is a human's decision") \
            from error


async def _chargebee_stop_dunning(p: dict[str, Any], m: OutboxMessage, d: Deployment) -> None:
    if d.vendors.chargebee is None:
        raise NotDeliverable("no chargebee section in the settings")
    await d.vendors.chargebee.stop_dunning(p["invoice_id"], idempotency_key=m.dedupe_key[:100])


async def _erp_invoice_id(p: dict[str, Any], d: Deployment) -> str:
    """The ERP's invoice id alone (a status update): a message naming it costs no lookup (two
    reads of the account's 5 requests in flight)."""
    return str(p["invoice_id"]) if p.get("invoice_id") else (await _erp_invoice(p, d))[0]


async def _erp_invoice(p: dict[str, Any], d: Deployment) -> tuple[str, str]:
    """The ERP's invoice and customer ids: from the message, or looked up by the billing id."""
    if p.get("invoice_id") and p.get("customer_id"):
        return str(p["invoice_id"]), str(p["customer_id"])
    if d.vendors.netsuite is None:
        raise NotDeliverable("no netsuite section in the settings")
    billing, billing_invoice_id = str(p["invoice_key"]).split(":", 1)
    entry = await read_erp_invoice(d.vendors.netsuite, d.vendors.erp_invoice_key_field,
                                   billing, billing_invoice_id)
    if entry is None:  # the ERP may not have synced the invoice yet: worth retrying later
        raise VendorError("netsuite", ErrorKind.UNAVAILABLE,
                          f"no ERP invoice for {p['invoice_key']} yet")
    return entry["erp_invoice_id"], entry["erp_customer_id"]


async def _netsuite_apply_payment(p: dict[str, Any], m: OutboxMessage, d: Deployment) -> None:
    netsuite, mapping = d.vendors.netsuite, d.mapping
    if netsuite is None:
        raise NotDeliverable("no netsuite section in the settings")
    invoice_id, customer_id = await _erp_invoice(p, d)
    fields: dict[str, Any] = {}
    if mapping is not None and mapping.has("netsuite", "payment"):
        fields = mapping.to_vendor("netsuite", "payment", {
            "charge_id": p.get("charge_id"), "recovered_by_retry": True})
        fields = {k: v for k, v in fields.items() if k.startswith("cust")}
    await netsuite.apply_payment(
        external_id=f"recovery-{p['payment_id']}", customer_id=customer_id,
        invoice_id=invoice_id, amount=_major(int(p["amount"]), mapping),
        memo=str(p["payment_id"]), fields=fields)
    await _netsuite_status(netsuite, mapping, invoice_id, {"recovery_status": "recovered"})


async def _netsuite_recovery_status(p: dict[str, Any], m: OutboxMessage, d: Deployment) -> None:
    if d.vendors.netsuite is None:
        raise NotDeliverable("no netsuite section in the settings")
    invoice_id = await _erp_invoice_id(p, d)
    await _netsuite_status(d.vendors.netsuite, d.mapping, invoice_id, {
        "recovery_status": p["recovery_status"], "last_decline_code": p.get("decline_code"),
        "retry_count": p.get("retry_count"), "next_retry_at": p.get("next_retry_at")})


async def _netsuite_status(netsuite: Any, mapping: MerchantMapping | None, invoice_id: str,
                           canonical: dict[str, Any]) -> None:
    if mapping is None or not mapping.has("netsuite", "invoice"):
        return  # a merchant without recovery fields in the ERP: nothing to write
    fields = mapping.record("netsuite", "invoice").fields
    body = mapping.to_vendor("netsuite", "invoice",
                             {k: v for k, v in canonical.items() if k in fields})
    if body:
        await netsuite.update("invoice", invoice_id, body)


async def _salesforce_recovery_status(p: dict[str, Any], m: OutboxMessage,
                                      d: Deployment) -> None:
    salesforce, mapping = d.salesforce, d.mapping
    record = systems_of(d.settings, mapping).crm_record
    if salesforce is None or mapping is None or record is None:
        raise NotDeliverable("no salesforce section, or no salesforce recovery-status mapping")
    canonical = {"subscription_id": p.get("subscription_id"), "customer_id": p.get("customer_id"),
                 "recovery_status": p["recovery_status"],
                 "last_decline_code": p.get("decline_code"), "retry_count": p.get("retry_count"),
                 "last_attempt_at": p.get("last_attempt_at"),
                 "recovered_amount": p.get("recovered_amount")}
    rmap = mapping.record("salesforce", record)
    key_field, key = _key_value(mapping, "salesforce", record, canonical)
    if key is None:
        raise NotDeliverable(f"no {key_field} value to find the Salesforce record by")
    found = await salesforce.get_by_external_id(rmap.object, key_field, str(key))
    if found is None:
        raise NotDeliverable(f"no {rmap.object} with {key_field} = {key}")
    writable = {k: v for k, v in canonical.items()
                if k in rmap.fields and v is not None and rmap.fields[k].vendor_field != key_field
                and "." not in rmap.fields[k].vendor_field and rmap.fields[k].vendor_field != "Id"}
    await salesforce.update(rmap.object, found["Id"],
                            mapping.to_vendor("salesforce", record, writable))


_HANDLERS = {
    ("stripe", "invoice_paid_out_of_band"): _stripe_paid_out_of_band,
    ("chargebee", "record_payment"): _chargebee_record_payment,
    ("chargebee", "stop_dunning"): _chargebee_stop_dunning,
    ("netsuite", "apply_payment"): _netsuite_apply_payment,
    ("netsuite", "recovery_status"): _netsuite_recovery_status,
    ("salesforce", "recovery_status"): _salesforce_recovery_status,
}
