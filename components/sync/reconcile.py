"""Three-way reconciliation (gateway ↔ billing ↔ ERP, plus CRM status), the pure part.

`reconcile(snapshot)` compares canonical records gathered elsewhere for one merchant and time
range. It returns a `Report`: invoices fully consistent, differences still settling (a write-back
on its way: reported, not repaired) and drifts, each with its evidence and the outbox messages
that repair it. Classes where money is in the books or a refund is at stake carry no repair
(`needs_human`). A merchant without an ERP is reconciled gateway ↔ billing (+ CRM), one without
a CRM with no CRM status (`Snapshot.has_erp`, `has_crm`): an absent system's empty records are
not drift.

A system that could not be read (`Snapshot.unreachable`: down, refusing, or not answering within
the reconciliation's deadline) is named in the report, which is then not clean. Without the
gateway or the billing system nothing can be judged, so nothing is; without the ERP or the CRM
the rest is reconciled as if the merchant had none (no drift found in it, nothing repaired).

An invoice paid twice — by a recovery payment of the gateway and by other means the billing
system recorded (a bank transfer: a Chargebee payment whose reference is no gateway payment of
ours, or a Stripe invoice the merchant marked paid out of band, which names none) — is
`PAID_TWICE`: a refund is at stake, so a human decides, and nothing is written back for it.
Once the human has refunded the gateway's payment in full (its charge shows it), the invoice
is paid once, and a duplicate charge whose extra payment was refunded is settled too. A refunded
payment the ERP still books is `ERP_PAYMENT_REFUNDED`, the human's to correct in the books.

Matching, best first: the propagated gateway payment id (billing `payment_refs`, ERP
`payment_ref`), then the invoice key, then, only for an ERP payment with neither, amount +
currency within 3 days, recorded as `match: "heuristic"`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from components.domain import OutboxMessage

HEURISTIC_WINDOW = 3 * 86400.0  # gateway vs ERP dates differ by T+1…T+3 (weekends, cut-offs)
SUCCEEDED = "succeeded"
FAILED = "failed"


# -- snapshots --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayPayment:
    """A gateway payment (Stripe PaymentIntent)."""

    payment_id: str
    invoice_key: str | None  # from the engine's metadata: set only on recovery payments
    amount: int
    currency: str
    status: str  # succeeded | failed | processing | canceled …
    created_at: float
    mid: str = ""
    charge_id: str | None = None
    decline_code: str | None = None
    amount_refunded: int = 0  # of its charge: a duplicate refunded in full is settled

    @property
    def refunded(self) -> bool:
        return self.amount > 0 and self.amount_refunded >= self.amount


@dataclass(frozen=True)
class BillingInvoice:
    invoice_key: str
    amount_due: int
    amount_paid: int
    currency: str
    status: str  # open | paid | void | uncollectible
    payment_refs: tuple[str, ...] = ()  # gateway payment ids the billing system knows paid it
    paid_out_of_band: bool = False      # marked paid with no payment recorded on its side
    failed_attempts: int = 0            # collection attempts the billing system saw fail
    updated_at: float = 0.0


@dataclass(frozen=True)
class ErpPayment:
    """A NetSuite customer payment."""

    external_id: str
    invoice_key: str | None
    amount: int
    currency: str
    applied_to: tuple[str, ...] = ()  # ERP invoice ids
    payment_ref: str | None = None    # gateway payment id, from memo or a custom field
    recorded_at: float = 0.0


@dataclass(frozen=True)
class ErpInvoice:
    invoice_key: str
    erp_invoice_id: str
    amount_total: int
    amount_remaining: int
    currency: str
    status: str
    customer_id: str | None = None  # the ERP's customer id, for the apply_payment write-back


@dataclass(frozen=True)
class CrmStatus:
    """The recovery fields of a Salesforce subscription/account."""

    invoice_key: str
    recovery_status: str  # one of domain.RECOVERY_STATUSES
    subscription_id: str | None = None
    customer_id: str | None = None
    updated_at: float = 0.0


@dataclass(frozen=True)
class Unreachable:
    system: str   # gateway | billing | erp | crm
    vendor: str   # stripe | chargebee | netsuite | salesforce
    error: str    # what the reads met: the vendor's error, or the deadline

    def to_dict(self) -> dict[str, str]:
        return {"system": self.system, "vendor": self.vendor, "error": self.error}


@dataclass(frozen=True)
class Snapshot:
    gateway: tuple[GatewayPayment, ...]
    billing: tuple[BillingInvoice, ...]
    erp_payments: tuple[ErpPayment, ...]
    erp_invoices: tuple[ErpInvoice, ...]
    crm: tuple[CrmStatus, ...]
    as_of: float
    # whether the merchant has an ERP / a CRM (`components.systems`): an absent system's empty
    # records are not drift, and nothing is repaired in it
    has_erp: bool = True
    has_crm: bool = True
    unreachable: tuple[Unreachable, ...] = ()


# -- report -----------------------------------------------------------------------------------


class DriftClass(StrEnum):
    BILLING_OPEN_GATEWAY_PAID = "billing_open_gateway_paid"
    ERP_PAYMENT_MISSING = "erp_payment_missing"
    ERP_PAYMENT_DUPLICATE = "erp_payment_duplicate"
    ERP_AMOUNT_MISMATCH = "erp_amount_mismatch"
    ERP_PAYMENT_ORPHAN = "erp_payment_orphan"
    GATEWAY_DUPLICATE_CHARGE = "gateway_duplicate_charge"
    # money taken for an invoice the billing system does not have (a forged or misrouted
    # failure event acted on): a refund is a human's decision
    GATEWAY_PAYMENT_ORPHAN = "gateway_payment_orphan"
    CRM_STATUS_DRIFT = "crm_status_drift"
    CURRENCY_MISMATCH = "currency_mismatch"
    # billing paid by other means (a bank transfer) and the gateway's recovery payment too: the
    # customer paid twice, a refund is a human's decision
    PAID_TWICE = "paid_twice"
    # the gateway's payment was refunded in full and the ERP still books it: the books show
    # money the merchant gave back (the refund, or the payment's removal, is the human's entry)
    ERP_PAYMENT_REFUNDED = "erp_payment_refunded"

    @property
    def needs_human(self) -> bool:
        return self not in REPAIRABLE


REPAIRABLE = frozenset({
    DriftClass.BILLING_OPEN_GATEWAY_PAID,
    DriftClass.ERP_PAYMENT_MISSING,
    DriftClass.CRM_STATUS_DRIFT,
})


@dataclass(frozen=True)
class Drift:
    drift_class: DriftClass
    invoice_key: str | None  # None: an ERP payment tied to no invoice
    evidence: dict[str, Any]
    repair: tuple[OutboxMessage, ...] = ()
    newest_at: float = 0.0  # newest evidence: younger than the settle time means in transit

    @property
    def needs_human(self) -> bool:
        return self.drift_class.needs_human

    def to_dict(self) -> dict[str, Any]:
        return {
            "drift_class": str(self.drift_class),
            "invoice_key": self.invoice_key,
            "needs_human": self.needs_human,
            "newest_at": self.newest_at,
            "evidence": self.evidence,
            "repair": [
                {"destination": m.destination, "kind": m.kind, "dedupe_key": m.dedupe_key,
                 "payload": m.payload}
                for m in self.repair
            ],
        }


@dataclass
class Report:
    as_of: float
    matched: list[str] = field(default_factory=list)
    in_transit: list[Drift] = field(default_factory=list)
    drifts: list[Drift] = field(default_factory=list)
    heuristic_matches: list[dict[str, Any]] = field(default_factory=list)  # low-confidence links
    unreachable: list[Unreachable] = field(default_factory=list)  # systems not read

    @property
    def clean(self) -> bool:
        return not self.drifts and not self.in_transit and not self.unreachable

    def repairs(self) -> list[OutboxMessage]:
        """The outbox messages to enqueue; their dedupe keys make enqueuing twice a no-op."""
        return [m for d in self.drifts for m in d.repair]

    def needs_human(self) -> list[Drift]:
        return [d for d in self.drifts if d.needs_human]

    def summary(self) -> dict[str, int]:
        counts = {str(c): 0 for c in DriftClass}
        for d in self.drifts:
            counts[d.drift_class] += 1
        return {"matched": len(self.matched), "in_transit": len(self.in_transit), **counts}

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "clean": self.clean,
            "summary": self.summary(),
            "matched": list(self.matched),
            "in_transit": [d.to_dict() for d in self.in_transit],
            "drifts": [d.to_dict() for d in self.drifts],
            "heuristic_matches": list(self.heuristic_matches),
            "unreachable": [u.to_dict() for u in self.unreachable],
        }


# -- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ErpLink:
    erp: ErpPayment
    invoice_key: str | None
    payment: GatewayPayment | None
    match: str  # id | invoice_key | heuristic | none


@dataclass
class _Index:
    payments: dict[str, GatewayPayment]
    linked: dict[str, str]  # gateway payment id → invoice key
    billing: dict[str, BillingInvoice]
    erp_invoices: dict[str, ErpInvoice]  # by invoice key
    erp_invoice_keys: dict[str, str]     # ERP invoice id → invoice key
    crm: dict[str, CrmStatus]
    succeeded: dict[str, list[GatewayPayment]]  # by invoice key, oldest first
    failed: dict[str, list[GatewayPayment]]
    charges: frozenset[str] = frozenset()  # the gateway payments' charge ids

    @classmethod
    def of(cls, s: Snapshot) -> _Index:
        erp_keys = {i.erp_invoice_id: i.invoice_key for i in s.erp_invoices}
        # Which invoice a payment paid, weakest source first: the ERP's application of it, the
        # billing system's refs, the engine's own metadata naming the invoice it charged for.
        linked = {e.payment_ref: key for e in s.erp_payments
                  if e.payment_ref and (key := _erp_key(e, erp_keys))}
        linked.update({ref: b.invoice_key for b in s.billing for ref in b.payment_refs})
        linked.update({p.payment_id: p.invoice_key for p in s.gateway if p.invoice_key})
        succeeded: dict[str, list[GatewayPayment]] = defaultdict(list)
        failed: dict[str, list[GatewayPayment]] = defaultdict(list)
        for p in sorted(s.gateway, key=lambda p: (p.created_at, p.payment_id)):
            key = linked.get(p.payment_id)
            if key and p.status == SUCCEEDED:
                succeeded[key].append(p)
            elif key and p.status == FAILED:
                failed[key].append(p)
        return cls(
            payments={p.payment_id: p for p in s.gateway},
            linked=linked,
            billing={b.invoice_key: b for b in s.billing},
            erp_invoices={i.invoice_key: i for i in s.erp_invoices},
            erp_invoice_keys=erp_keys,
            crm={c.invoice_key: c for c in s.crm},
            succeeded=succeeded,
            failed=failed,
            charges=frozenset(p.charge_id for p in s.gateway if p.charge_id),
        )

    def erp_key(self, e: ErpPayment) -> str | None:
        return _erp_key(e, self.erp_invoice_keys)

    def is_gateway_ref(self, ref: str) -> bool:
        """Whether a billing payment reference is a gateway payment of the snapshot (its id, or
        its charge's: a Chargebee payment may carry either)."""
        return ref in self.payments or ref in self.charges


def _erp_key(e: ErpPayment, erp_invoice_keys: dict[str, str]) -> str | None:
    keys = (erp_invoice_keys.get(i) for i in e.applied_to)
    return e.invoice_key or next((k for k in keys if k), None)


def _match_erp(s: Snapshot, ix: _Index) -> list[_ErpLink]:
    ordered = sorted(s.erp_payments, key=lambda e: (e.recorded_at, e.external_id))
    links: list[_ErpLink] = []
    claimed: set[str] = set()
    for e in ordered:  # 1. the propagated id
        if e.payment_ref:
            key = ix.linked.get(e.payment_ref) or ix.erp_key(e)
            links.append(_ErpLink(e, key, ix.payments.get(e.payment_ref), "id"))
            claimed.add(e.payment_ref)
    for e in ordered:  # 2. the invoice key: a payment already claimed means a second application
        key = ix.erp_key(e)
        if not e.payment_ref and key:
            paid = ix.succeeded.get(key, [])
            free = [p for p in paid if p.payment_id not in claimed]
            payment = (free or paid)[0] if paid else None
            if payment:
                claimed.add(payment.payment_id)
            links.append(_ErpLink(e, key, payment, "invoice_key"))
    candidates = [p for ps in ix.succeeded.values() for p in ps]
    for e in ordered:  # 3. heuristic, only with neither id nor invoice
        if e.payment_ref or ix.erp_key(e):
            continue
        near = [p for p in candidates if p.payment_id not in claimed
                and (p.amount, p.currency) == (e.amount, e.currency)
                and abs(p.created_at - e.recorded_at) <= HEURISTIC_WINDOW]
        best = min(near, key=lambda p: (abs(p.created_at - e.recorded_at), p.payment_id),
                   default=None)
        if best:
            claimed.add(best.payment_id)
            links.append(_ErpLink(e, ix.linked.get(best.payment_id), best, "heuristic"))
        else:
            links.append(_ErpLink(e, None, None, "none"))
    return links


# -- evidence ---------------------------------------------------------------------------------


def _gw(p: GatewayPayment) -> dict[str, Any]:
    out = {"payment_id": p.payment_id, "amount": p.amount, "currency": p.currency,
           "status": p.status, "created_at": p.created_at, "mid": p.mid}
    return {**out, "amount_refunded": p.amount_refunded} if p.amount_refunded else out


def _bill(b: BillingInvoice) -> dict[str, Any]:
    return {"invoice_key": b.invoice_key, "amount_due": b.amount_due,
            "amount_paid": b.amount_paid, "currency": b.currency, "status": b.status,
            "payment_refs": list(b.payment_refs), "paid_out_of_band": b.paid_out_of_band}


def _erp(link: _ErpLink) -> dict[str, Any]:
    e = link.erp
    return {"external_id": e.external_id, "amount": e.amount, "currency": e.currency,
            "applied_to": list(e.applied_to), "payment_ref": e.payment_ref,
            "recorded_at": e.recorded_at, "match": link.match}


def _erp_inv(i: ErpInvoice) -> dict[str, Any]:
    return {"erp_invoice_id": i.erp_invoice_id, "amount_total": i.amount_total,
            "amount_remaining": i.amount_remaining, "currency": i.currency, "status": i.status}


def _newest(*times: float) -> float:
    return max(times, default=0.0)


# -- repairs ----------------------------------------------------------------------------------


def _message(cls: DriftClass, key: str, tail: str, destination: str, kind: str,
             payload: dict[str, Any]) -> OutboxMessage:
    # Deterministic, so a second run's repair is skipped by the outbox as already known.
    return OutboxMessage(destination=destination, kind=kind,
                         dedupe_key=f"repair:{cls}:{key}:{tail}", payload=payload,
                         correlation_id=f"reconcile:{key}")


def _billing_repair(key: str, p: GatewayPayment) -> tuple[OutboxMessage, ...]:
    billing, _, invoice_id = key.partition(":")
    cls = DriftClass.BILLING_OPEN_GATEWAY_PAID
    if billing == "stripe":
        return (_message(cls, key, p.payment_id, "stripe", "invoice_paid_out_of_band",
                         {"invoice_id": invoice_id, "payment_id": p.payment_id}),)
    if billing == "chargebee":
        return (_message(cls, key, p.payment_id, "chargebee", "record_payment",
                         {"invoice_id": invoice_id, "amount": p.amount, "currency": p.currency,
                          "payment_id": p.payment_id, "charge_id": p.charge_id,
                          "paid_at": p.created_at}),)
    return ()  # a billing system we cannot write to: reported with no repair


def _apply_payment(key: str, p: GatewayPayment, inv: ErpInvoice | None) -> OutboxMessage:
    return _message(DriftClass.ERP_PAYMENT_MISSING, key, p.payment_id, "netsuite",
                    "apply_payment",
                    {"invoice_key": key, "invoice_id": inv.erp_invoice_id if inv else None,
                     "customer_id": inv.customer_id if inv else None, "amount": p.amount,
                     "currency": p.currency, "payment_id": p.payment_id,
                     "charge_id": p.charge_id, "paid_at": p.created_at})


# -- checks -----------------------------------------------------------------------------------


def _erp_drifts(links: list[_ErpLink], ix: _Index) -> Iterator[Drift]:
    by_payment: dict[str, list[_ErpLink]] = defaultdict(list)
    for link in links:
        e, p, key = link.erp, link.payment, link.invoice_key
        if p and p.status == SUCCEEDED:
            by_payment[p.payment_id].append(link)
        if len(set(e.applied_to)) < len(e.applied_to):
            yield Drift(DriftClass.ERP_PAYMENT_DUPLICATE, key,
                        {"erp": [_erp(link)], "reason": "applied twice"},
                        newest_at=e.recorded_at)
        reason = _orphan_reason(link, ix)
        if reason:
            yield Drift(DriftClass.ERP_PAYMENT_ORPHAN, key,
                        {"erp": [_erp(link)], "gateway": [_gw(p)] if p else [], "reason": reason},
                        newest_at=_newest(e.recorded_at, p.created_at if p else 0.0))
        elif p and p.currency != e.currency and key is None:
            yield Drift(DriftClass.CURRENCY_MISMATCH, None,
                        {"erp": [_erp(link)], "gateway": [_gw(p)]},
                        newest_at=_newest(e.recorded_at, p.created_at))
        elif p and p.currency == e.currency and p.amount != e.amount:
            yield Drift(DriftClass.ERP_AMOUNT_MISMATCH, key,
                        {"erp": [_erp(link)], "gateway": [_gw(p)],
                         "difference": e.amount - p.amount},
                        newest_at=_newest(e.recorded_at, p.created_at))
    for group in by_payment.values():
        if len(group) > 1:
            p = group[0].payment
            assert p is not None
            yield Drift(DriftClass.ERP_PAYMENT_DUPLICATE, group[0].invoice_key,
                        {"gateway": [_gw(p)], "erp": [_erp(g) for g in group]},
                        newest_at=_newest(p.created_at, *(g.erp.recorded_at for g in group)))


def _orphan_reason(link: _ErpLink, ix: _Index) -> str | None:
    p = link.payment
    if link.match == "id" and p is None:
        return "gateway payment not found"
    if link.match == "id" and p and p.status != SUCCEEDED:
        return f"gateway payment {p.status}"
    if link.match == "invoice_key" and p is None:
        bill = ix.billing.get(link.invoice_key or "")
        # Money taken outside the gateway is consistent once billing also shows it paid.
        return None if bill and bill.status == "paid" else "no gateway payment, billing not paid"
    if link.match == "none":
        return "no reference, no invoice, no heuristic match"
    return None


def _invoice_drifts(key: str, ix: _Index, mine: list[_ErpLink], in_erp: set[str], *,
                    has_erp: bool = True, has_crm: bool = True) -> Iterator[Drift]:
    """Drifts of one invoice; `mine` are the ERP payments linked to it, `in_erp` the gateway
    payment ids any ERP payment accounts for. Without an ERP or a CRM its checks are skipped."""
    bill, inv = ix.billing.get(key), ix.erp_invoices.get(key)
    paid, failed = ix.succeeded.get(key, []), ix.failed.get(key, [])
    currencies = {("billing", bill.currency)} if bill else set()
    currencies |= {("erp_invoice", inv.currency)} if inv else set()
    currencies |= {("gateway", p.currency) for p in paid}
    currencies |= {("erp", lk.erp.currency) for lk in mine}
    if len({c for _, c in currencies}) > 1:
        # A human looks first: no write-back should carry money in the wrong currency.
        yield Drift(DriftClass.CURRENCY_MISMATCH, key,
                    {"currencies": sorted([side, c] for side, c in currencies),
                     "gateway": [_gw(p) for p in paid], "billing": [_bill(bill)] if bill else [],
                     "erp": [_erp(lk) for lk in mine],
                     "erp_invoice": [_erp_inv(inv)] if inv else []},
                    newest_at=_newest(*(p.created_at for p in paid),
                                      *(lk.erp.recorded_at for lk in mine)))
        return
    # a payment refunded in full kept no money: whatever it was (a duplicate, the second money
    # of an invoice paid twice, an orphan), a human has settled it; if the ERP still books it,
    # the books are the human's to correct too
    for p in (p for p in paid if p.refunded and p.payment_id in in_erp):
        booked = [lk for lk in mine if lk.payment and lk.payment.payment_id == p.payment_id]
        yield Drift(DriftClass.ERP_PAYMENT_REFUNDED, key,
                    {"gateway": [_gw(p)], "erp": [_erp(lk) for lk in booked],
                     "billing": [_bill(bill)] if bill else []},
                    newest_at=_newest(p.created_at, *(lk.erp.recorded_at for lk in booked)))
    paid = [p for p in paid if not p.refunded]
    paying = _paying(paid, bill, in_erp)
    twice = _paid_twice(paid, bill, ix)
    if paid and bill is None:
        yield Drift(DriftClass.GATEWAY_PAYMENT_ORPHAN, key,
                    {"gateway": [_gw(p) for p in paid], "billing": []},
                    newest_at=_newest(*(p.created_at for p in paid)))
        return
    if len(paid) > 1:
        yield Drift(DriftClass.GATEWAY_DUPLICATE_CHARGE, key,
                    {"gateway": [_gw(p) for p in paid], "billing": [_bill(bill)] if bill else []},
                    newest_at=_newest(*(p.created_at for p in paid)))
    if paying and bill and bill.status in ("open", "uncollectible"):
        yield Drift(DriftClass.BILLING_OPEN_GATEWAY_PAID, key,
                    {"gateway": [_gw(paying)], "billing": [_bill(bill)]},
                    _billing_repair(key, paying), _newest(paying.created_at, bill.updated_at))
    if twice:
        assert bill is not None
        yield Drift(DriftClass.PAID_TWICE, key,
                    {"gateway": [_gw(p) for p in twice], "billing": [_bill(bill)],
                     "other_payment_refs": [r for r in bill.payment_refs
                                            if not ix.is_gateway_ref(r)],
                     "erp": [_erp(lk) for lk in mine],
                     "erp_invoice": [_erp_inv(inv)] if inv else []},
                    newest_at=_newest(bill.updated_at, *(p.created_at for p in twice)))
    # Paid twice, the ERP is left as it is: the billing system says the other payment settled
    # the invoice, and the gateway's is the second money (as a duplicate charge's second
    # payment is never booked). Applying it in the ERP would book money a human may refund
    # (a reversal in the books after they close); which of the two payments stays is theirs
    # to decide, with the ERP's side in the drift's evidence.
    if has_erp and paying and paying.payment_id not in in_erp and not twice:
        yield Drift(DriftClass.ERP_PAYMENT_MISSING, key,
                    {"gateway": [_gw(paying)], "erp": [],
                     "erp_invoice": [_erp_inv(inv)] if inv else []},
                    (_apply_payment(key, paying, inv),), paying.created_at)
    if bill and has_crm:
        yield from _crm_drift(key, ix, bill, paying, failed)


def _paying(paid: list[GatewayPayment], bill: BillingInvoice | None,
            in_erp: set[str]) -> GatewayPayment | None:
    """The payment that settles the invoice; any other succeeded one is the duplicate."""
    refs = bill.payment_refs if bill else ()
    return (next((p for p in paid if p.payment_id in refs), None)
            or next((p for p in paid if p.payment_id in in_erp), None)
            or (paid[0] if paid else None))


def _paid_twice(paid: list[GatewayPayment], bill: BillingInvoice | None,
                ix: _Index) -> list[GatewayPayment]:
    """The gateway's succeeded payments of an invoice the billing system shows paid by other
    means; [] when it is not paid twice.

    Other means: a payment reference that is no gateway payment's (a Chargebee bank transfer),
    or a Stripe out-of-band payment naming no gateway payment (the merchant's: the engine's
    write-back names its payment on the invoice). A gateway payment whose write-back has not
    landed is not paid twice while the invoice is open (`BILLING_OPEN_GATEWAY_PAID`); once the
    invoice is paid by something else, that write-back can only fail as "already paid". Our
    own write-back landing is not either: it names the payment, so the payment is in the refs.
    A Stripe write-back's first moment (paid, not yet named) reads as paid twice, but with the
    invoice's paid time as its newest evidence: in transit for the settle time, not drift."""
    if not paid or bill is None or bill.status != "paid":
        return []
    recorded = set(bill.payment_refs)
    other = any(not ix.is_gateway_ref(r) for r in bill.payment_refs) or (
        bill.paid_out_of_band and not bill.payment_refs)
    if not other:
        return []
    return [p for p in paid if p.payment_id not in recorded and p.charge_id not in recorded]


def _implied_status(bill: BillingInvoice, paying: GatewayPayment | None,
                    failed: list[GatewayPayment]) -> tuple[frozenset[str], str, bool] | None:
    """(statuses the CRM may show, the one a repair writes, whether a missing record is fine)."""
    tried = bool(failed) or bill.failed_attempts > 0
    if bill.status == "void":
        return None  # nothing to recover, and no status a write-back could fix
    if paying or bill.status == "paid":
        # Paid by a recovery payment (the engine's, or after a failure): recovered.
        if tried or (paying and paying.invoice_key):
            return frozenset({"recovered"}), "recovered", False
        return frozenset({"not_started"}), "not_started", True
    if bill.status == "uncollectible":
        return frozenset({"written_off", "failed"}), "written_off", False
    if tried:  # open: the engine may still retry, or have given up
        return frozenset({"retrying", "failed", "written_off"}), "retrying", False
    return frozenset({"not_started"}), "not_started", True


def _crm_drift(key: str, ix: _Index, bill: BillingInvoice, paying: GatewayPayment | None,
               failed: list[GatewayPayment]) -> Iterator[Drift]:
    implied = _implied_status(bill, paying, failed)
    crm = ix.crm.get(key)
    if implied is None:
        return
    allowed, target, optional = implied
    if (crm is None and optional) or (crm and crm.recovery_status in allowed):
        return
    attempts = [*failed, *([paying] if paying else [])]
    recovered = (paying.amount if paying else bill.amount_paid) if target == "recovered" else 0
    payload = {
        "invoice_key": key,
        "subscription_id": crm.subscription_id if crm else None,
        "customer_id": crm.customer_id if crm else None,
        "recovery_status": target,
        "decline_code": failed[-1].decline_code if failed else None,
        "retry_count": len(failed),
        "last_attempt_at": max((p.created_at for p in attempts), default=None),
        "recovered_amount": recovered,
    }
    # Keyed by the target status: a later, different status is a new repair, not a duplicate.
    repair = _message(DriftClass.CRM_STATUS_DRIFT, key, target, "salesforce", "recovery_status",
                      payload)
    yield Drift(DriftClass.CRM_STATUS_DRIFT, key,
                {"crm": [{"recovery_status": crm.recovery_status,
                          "subscription_id": crm.subscription_id}] if crm else [],
                 "expected": sorted(allowed), "gateway": [_gw(p) for p in attempts],
                 "billing": [_bill(bill)]},
                (repair,),
                _newest(bill.updated_at, crm.updated_at if crm else 0.0,
                        *(p.created_at for p in attempts)))


# -- entry point ------------------------------------------------------------------------------


def reconcile(snapshot: Snapshot, *, settle_seconds: float = 300.0) -> Report:
    missing = {u.system for u in snapshot.unreachable}
    if missing & {"gateway", "billing"}:  # the money's side unknown: judge nothing
        return Report(as_of=snapshot.as_of, unreachable=list(snapshot.unreachable))
    if missing:  # an ERP or CRM not read: reconciled as if absent, and said so
        snapshot = replace(snapshot, has_erp=snapshot.has_erp and "erp" not in missing,
                           has_crm=snapshot.has_crm and "crm" not in missing)
    report = _reconcile(snapshot, settle_seconds)
    report.unreachable = list(snapshot.unreachable)
    return report


def _reconcile(snapshot: Snapshot, settle_seconds: float) -> Report:
    ix = _Index.of(snapshot)
    links = _match_erp(snapshot, ix)
    found = list(_erp_drifts(links, ix))
    by_invoice: dict[str, list[_ErpLink]] = defaultdict(list)
    for lk in links:
        if lk.invoice_key:
            by_invoice[lk.invoice_key].append(lk)
    in_erp = {lk.payment.payment_id for lk in links if lk.payment}
    invoices = sorted(set(ix.billing) | set(ix.succeeded) | set(by_invoice))
    for key in invoices:
        found.extend(_invoice_drifts(key, ix, by_invoice.get(key, []), in_erp,
                                     has_erp=snapshot.has_erp, has_crm=snapshot.has_crm))
    found.sort(key=lambda d: (d.invoice_key or "", d.drift_class))
    report = Report(as_of=snapshot.as_of)
    for d in found:
        if snapshot.as_of - d.newest_at < settle_seconds:
            report.in_transit.append(replace(d, repair=()))  # reported, not repaired
        else:
            report.drifts.append(d)
    touched = {d.invoice_key for d in found}
    report.matched = [k for k in invoices if k not in touched]
    report.heuristic_matches = [
        {"external_id": lk.erp.external_id, "payment_id": lk.payment.payment_id,
         "invoice_key": lk.invoice_key, "amount": lk.erp.amount, "currency": lk.erp.currency}
        for lk in links if lk.match == "heuristic" and lk.payment
    ]
    return report
