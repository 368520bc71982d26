"""Three-way reconciliation over snapshots: plant each drift class, check evidence and repairs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.domain import RECOVERY_STATUSES, OutboxMessage
from components.sync.reconcile import (
    BillingInvoice,
    CrmStatus,
    DriftClass,
    ErpInvoice,
    ErpPayment,
    GatewayPayment,
    Report,
    Snapshot,
    reconcile,
)

AS_OF = 1_800_000_000.0
HOUR, DAY = 3600.0, 86400.0
T = TypeVar("T")
STATES = ("recovered", "retrying", "written_off", "paid", "open", "offline", "heuristic")

# Payload keys of the write-backs, as the table at the end of components/domain.py has them.
PAYLOAD_KEYS = {
    ("stripe", "invoice_paid_out_of_band"): {"invoice_id", "payment_id"},
    ("chargebee", "record_payment"): {"invoice_id", "amount", "currency", "payment_id",
                                      "charge_id", "paid_at"},
    ("netsuite", "apply_payment"): {"invoice_key", "invoice_id", "customer_id", "amount",
                                    "currency", "payment_id", "charge_id", "paid_at"},
    ("salesforce", "recovery_status"): {"invoice_key", "subscription_id", "customer_id",
                                        "recovery_status", "decline_code", "retry_count",
                                        "last_attempt_at", "recovered_amount"},
}


@dataclass
class Builder:
    """Consistent records for invoices in a given state, across the four systems."""

    as_of: float = AS_OF
    gateway: list[GatewayPayment] = field(default_factory=list)
    billing: list[BillingInvoice] = field(default_factory=list)
    erp_payments: list[ErpPayment] = field(default_factory=list)
    erp_invoices: list[ErpInvoice] = field(default_factory=list)
    crm: list[CrmStatus] = field(default_factory=list)

    def invoice(self, n: int, state: str, *, billing: str = "stripe", amount: int = 4900,
                currency: str = "usd", age: float = DAY) -> str:
        key, t, erp_id = f"{billing}:in_{n}", self.as_of - age, f"ns_inv_{n}"
        tried = state in ("recovered", "retrying", "written_off", "offline")
        if tried:
            self.gateway.append(GatewayPayment(f"pi_{n}_f", key, amount, currency, "failed",
                                               t - HOUR, "mid_a", decline_code="do_not_honor"))
        pid = f"pi_{n}" if state in ("recovered", "paid", "heuristic") else None
        if pid:  # the engine's recovery payment carries the invoice key; billing's own does not
            engine_key = key if state == "recovered" else None
            self.gateway.append(GatewayPayment(pid, engine_key, amount, currency, "succeeded", t,
                                               "mid_a", charge_id=f"ch_{n}"))
        paid = state in ("recovered", "paid", "offline", "heuristic")
        # Stripe's own payment, Chargebee's record_payment reference, or the payment the
        # engine's Stripe out-of-band write-back names in the invoice's metadata
        refs = (pid,) if pid else ()
        oob = paid and (not refs or (state == "recovered" and billing == "stripe"))
        status = "paid" if paid else {"written_off": "uncollectible"}.get(state, "open")
        self.billing.append(BillingInvoice(
            key, amount, amount if paid else 0, currency, status, refs,
            paid_out_of_band=oob, failed_attempts=int(tried), updated_at=t))
        self.erp_invoices.append(ErpInvoice(key, erp_id, amount, 0 if paid else amount, currency,
                                            "paidInFull" if paid else "open", f"ns_cust_{n}"))
        if paid and state == "heuristic":  # neither a reference nor an invoice on the ERP side
            self.erp_payments.append(ErpPayment(f"NS-{n}", None, amount, currency,
                                                recorded_at=t + 60))
        elif paid:
            self.erp_payments.append(ErpPayment(f"NS-{n}", key, amount, currency, (erp_id,),
                                                pid, recorded_at=t + 60))
        crm = {"recovered": "recovered", "offline": "recovered", "retrying": "retrying",
               "written_off": "written_off"}.get(state)
        if crm:
            self.crm.append(CrmStatus(key, crm, f"sub_{n}", f"acc_{n}", updated_at=t))
        return key

    def snapshot(self) -> Snapshot:
        return Snapshot(tuple(self.gateway), tuple(self.billing), tuple(self.erp_payments),
                        tuple(self.erp_invoices), tuple(self.crm), self.as_of)


def one(state: str = "recovered", *, billing: str = "stripe", amount: int = 4900,
        currency: str = "usd", age: float = DAY) -> tuple[Snapshot, str]:
    b = Builder()
    key = b.invoice(1, state, billing=billing, amount=amount, currency=currency, age=age)
    return b.snapshot(), key


def classes(report: Report) -> set[DriftClass]:
    return {d.drift_class for d in report.drifts}


# -- planting: each turns a consistent recovered invoice into exactly one drift class -------


def _map(items: tuple[T, ...], key: str, change: Callable[[T], T]) -> tuple[T, ...]:
    return tuple(change(x) if getattr(x, "invoice_key", None) == key else x for x in items)


def _paying(s: Snapshot, key: str) -> GatewayPayment:
    return next(p for p in s.gateway if p.invoice_key == key and p.status == "succeeded")


def plant(s: Snapshot, key: str, cls: DriftClass) -> Snapshot:
    p = _paying(s, key)
    erp = next(e for e in s.erp_payments if e.payment_ref == p.payment_id)
    if cls is DriftClass.BILLING_OPEN_GATEWAY_PAID:  # the billing write-back was lost
        return replace(s, billing=_map(s.billing, key, lambda b: replace(
            b, status="open", amount_paid=0, payment_refs=(), paid_out_of_band=False)))
    if cls is DriftClass.ERP_PAYMENT_MISSING:
        return replace(s, erp_payments=tuple(e for e in s.erp_payments if e is not erp))
    if cls is DriftClass.ERP_PAYMENT_DUPLICATE:  # a non-idempotent write, repeated
        return replace(s, erp_payments=(*s.erp_payments, replace(erp, external_id="NS-again")))
    if cls is DriftClass.ERP_AMOUNT_MISMATCH:
        return replace(s, erp_payments=tuple(replace(e, amount=e.amount - 100) if e is erp else e
                                             for e in s.erp_payments))
    if cls is DriftClass.ERP_PAYMENT_ORPHAN:
        ghost = ErpPayment("NS-ghost", key, p.amount, p.currency, (), "pi_ghost", p.created_at)
        return replace(s, erp_payments=(*s.erp_payments, ghost))
    if cls is DriftClass.GATEWAY_DUPLICATE_CHARGE:
        dup = replace(p, payment_id=f"{p.payment_id}_dup", created_at=p.created_at + 1)
        return replace(s, gateway=(*s.gateway, dup))
    if cls is DriftClass.CRM_STATUS_DRIFT:  # the "recovered" write-back never arrived
        return replace(s, crm=_map(s.crm, key, lambda c: replace(c, recovery_status="retrying")))
    if cls is DriftClass.CURRENCY_MISMATCH:
        return replace(s, erp_invoices=_map(s.erp_invoices, key,
                                            lambda i: replace(i, currency="jpy")))
    if cls is DriftClass.GATEWAY_PAYMENT_ORPHAN:  # a charge for an invoice billing never had
        return replace(s, billing=tuple(b for b in s.billing if b.invoice_key != key))
    if cls is DriftClass.PAID_TWICE:  # the merchant recorded a bank transfer first
        return replace(s, billing=_map(s.billing, key, partial(_paid_by_hand)))
    if cls is DriftClass.ERP_PAYMENT_REFUNDED:  # refunded, and the ERP still books it
        return replace(s, gateway=tuple(replace(x, amount_refunded=x.amount) if x is p else x
                                        for x in s.gateway))
    raise AssertionError(cls)


def _paid_by_hand(b: BillingInvoice) -> BillingInvoice:
    """Paid by a bank transfer: on Stripe marked paid out of band with no gateway payment named,
    on Chargebee a recorded payment with the transfer's reference."""
    if b.invoice_key.startswith("stripe:"):
        return replace(b, status="paid", amount_paid=b.amount_due, payment_refs=(),
                       paid_out_of_band=True)
    return replace(b, status="paid", amount_paid=b.amount_due, payment_refs=("BT-2026-0042",))


def _mark_paid(b: BillingInvoice, body: dict[str, Any]) -> BillingInvoice:
    if "amount" not in body:  # Stripe paid_out_of_band, naming the payment in its metadata
        return replace(b, status="paid", amount_paid=b.amount_due, paid_out_of_band=True,
                       payment_refs=(body["payment_id"],))
    return replace(b, status="paid", amount_paid=b.amount_paid + body["amount"],
                   payment_refs=(*b.payment_refs, body["payment_id"]))  # Chargebee record_payment


def apply_repairs(s: Snapshot, messages: list[OutboxMessage]) -> Snapshot:
    """Each repair applied the way its write-back would land in the vendor."""
    for m in messages:
        assert set(m.payload) == PAYLOAD_KEYS[(m.destination, m.kind)]
        body = m.payload
        if m.destination in ("stripe", "chargebee"):
            key = f"{m.destination}:{body['invoice_id']}"
            s = replace(s, billing=_map(s.billing, key, partial(_mark_paid, body=body)))
        elif m.destination == "netsuite":
            applied = (body["invoice_id"],) if body["invoice_id"] else ()
            payment = ErpPayment(f"NS-{body['payment_id']}", body["invoice_key"], body["amount"],
                                 body["currency"], applied, body["payment_id"], s.as_of)
            s = replace(s, erp_payments=(*s.erp_payments, payment))
        else:
            assert body["recovery_status"] in RECOVERY_STATUSES
            crm = CrmStatus(body["invoice_key"], body["recovery_status"], updated_at=s.as_of)
            s = replace(s, crm=(*(c for c in s.crm if c.invoice_key != crm.invoice_key), crm))
    return s


# -- examples ---------------------------------------------------------------------------------


def test_a_consistent_snapshot_is_all_matched() -> None:
    b = Builder()
    keys = [b.invoice(n, state, billing=("stripe", "chargebee")[n % 2])
            for n, state in enumerate(STATES)]
    report = reconcile(b.snapshot())
    assert report.clean and report.matched == sorted(keys)
    assert report.summary()["matched"] == len(STATES)
    assert report.heuristic_matches == [{"external_id": "NS-6", "payment_id": "pi_6",
                                         "invoice_key": "stripe:in_6", "amount": 4900,
                                         "currency": "usd"}]
    json.dumps(report.to_dict())


def test_billing_open_while_the_gateway_is_paid_gets_the_billing_write_back() -> None:
    for billing, kind in (("stripe", "invoice_paid_out_of_band"), ("chargebee", "record_payment")):
        s, key = one(billing=billing)
        report = reconcile(plant(s, key, DriftClass.BILLING_OPEN_GATEWAY_PAID))
        [drift] = report.drifts
        assert drift.evidence["gateway"][0]["payment_id"] == "pi_1"
        assert drift.evidence["billing"][0]["status"] == "open"
        [m] = drift.repair
        assert (m.destination, m.kind, m.payload["invoice_id"]) == (billing, kind, "in_1")
        assert m.dedupe_key == f"repair:billing_open_gateway_paid:{key}:pi_1"
        assert not drift.needs_human and report.matched == []


def test_a_missing_erp_payment_gets_apply_payment() -> None:
    s, key = one(billing="chargebee", amount=1234, currency="eur")
    [drift] = reconcile(plant(s, key, DriftClass.ERP_PAYMENT_MISSING)).drifts
    assert drift.drift_class is DriftClass.ERP_PAYMENT_MISSING
    [m] = drift.repair
    assert (m.destination, m.kind) == ("netsuite", "apply_payment")
    assert m.payload == {"invoice_key": key, "invoice_id": "ns_inv_1", "customer_id": "ns_cust_1",
                         "amount": 1234, "currency": "eur", "payment_id": "pi_1",
                         "charge_id": "ch_1", "paid_at": AS_OF - DAY}


@pytest.mark.parametrize("cls", [
    DriftClass.ERP_PAYMENT_DUPLICATE, DriftClass.ERP_AMOUNT_MISMATCH, DriftClass.ERP_PAYMENT_ORPHAN,
    DriftClass.GATEWAY_DUPLICATE_CHARGE, DriftClass.CURRENCY_MISMATCH, DriftClass.PAID_TWICE,
    DriftClass.ERP_PAYMENT_REFUNDED,
])
def test_money_drifts_need_a_human_and_carry_no_repair(cls: DriftClass) -> None:
    s, key = one()
    report = reconcile(plant(s, key, cls))
    [drift] = report.drifts
    assert drift.drift_class is cls and drift.needs_human and drift.repair == ()
    assert report.needs_human() == [drift] and report.repairs() == []
    assert report.summary()[cls] == 1


def test_duplicate_evidence_lists_both_sides() -> None:
    s, key = one()
    [erp_dup] = reconcile(plant(s, key, DriftClass.ERP_PAYMENT_DUPLICATE)).drifts
    assert [e["external_id"] for e in erp_dup.evidence["erp"]] == ["NS-1", "NS-again"]
    [gw_dup] = reconcile(plant(s, key, DriftClass.GATEWAY_DUPLICATE_CHARGE)).drifts
    assert [p["payment_id"] for p in gw_dup.evidence["gateway"]] == ["pi_1", "pi_1_dup"]


def test_an_erp_payment_applied_twice_is_a_duplicate() -> None:
    s, _ = one()
    erp = replace(s.erp_payments[0], applied_to=("ns_inv_1", "ns_inv_1"))
    [drift] = reconcile(replace(s, erp_payments=(erp,))).drifts
    assert drift.drift_class is DriftClass.ERP_PAYMENT_DUPLICATE
    assert drift.evidence["reason"] == "applied twice"


def test_amount_mismatch_and_orphan_evidence() -> None:
    s, key = one()
    [mismatch] = reconcile(plant(s, key, DriftClass.ERP_AMOUNT_MISMATCH)).drifts
    assert mismatch.evidence["difference"] == -100
    assert mismatch.evidence["erp"][0]["match"] == "id"
    [orphan] = reconcile(plant(s, key, DriftClass.ERP_PAYMENT_ORPHAN)).drifts
    assert orphan.evidence["reason"] == "gateway payment not found" and orphan.invoice_key == key
    failed_ref = replace(s.erp_payments[0], external_id="NS-x", payment_ref="pi_1_f")
    [orphan] = reconcile(replace(s, erp_payments=(*s.erp_payments, failed_ref))).drifts
    assert orphan.evidence["reason"] == "gateway payment failed" and orphan.invoice_key == key


def test_an_erp_payment_by_invoice_key_alone_matches() -> None:
    s, key = one()
    by_key = replace(s.erp_payments[0], payment_ref=None)
    report = reconcile(replace(s, erp_payments=(by_key,)))
    assert report.clean and report.matched == [key]
    wrong = replace(by_key, amount=1)
    [drift] = reconcile(replace(s, erp_payments=(wrong,))).drifts
    assert drift.evidence["erp"][0]["match"] == "invoice_key"


def test_an_unlinked_erp_payment_outside_three_days_is_an_orphan() -> None:
    b = Builder()
    b.invoice(1, "heuristic", age=10 * DAY)
    s = b.snapshot()
    late = replace(s.erp_payments[0], recorded_at=s.erp_payments[0].recorded_at + 4 * DAY)
    report = reconcile(replace(s, erp_payments=(late,)))
    assert classes(report) == {DriftClass.ERP_PAYMENT_ORPHAN, DriftClass.ERP_PAYMENT_MISSING}
    assert report.heuristic_matches == []


@pytest.mark.parametrize(("crm", "expected"), [
    (None, "recovered"), ("retrying", "recovered"), ("not_started", "recovered"),
])
def test_crm_status_drift_gets_the_salesforce_write_back(crm: str | None, expected: str) -> None:
    s, key = one()
    crm_records = (replace(s.crm[0], recovery_status=crm),) if crm else ()
    [drift] = reconcile(replace(s, crm=crm_records)).drifts
    assert drift.drift_class is DriftClass.CRM_STATUS_DRIFT
    [m] = drift.repair
    assert (m.destination, m.kind) == ("salesforce", "recovery_status")
    assert m.payload["recovery_status"] == expected and m.payload["recovered_amount"] == 4900
    assert m.payload["retry_count"] == 1 and m.payload["decline_code"] == "do_not_honor"
    assert m.dedupe_key == f"repair:crm_status_drift:{key}:recovered"


def test_crm_claiming_a_recovery_that_did_not_happen_is_drift() -> None:
    b = Builder()
    key = b.invoice(1, "retrying")
    b.crm = [replace(b.crm[0], recovery_status="recovered")]
    [drift] = reconcile(b.snapshot()).drifts
    assert drift.repair[0].payload["recovery_status"] == "retrying"
    assert drift.repair[0].payload["recovered_amount"] == 0 and drift.invoice_key == key


@pytest.mark.parametrize("cls", list(DriftClass))
def test_young_differences_are_in_transit_not_drift(cls: DriftClass) -> None:
    young, _ = one(age=60)
    old, key = one(age=DAY)
    report = reconcile(plant(young, "stripe:in_1", cls))
    assert report.drifts == [] and {d.drift_class for d in report.in_transit} == {cls}
    assert all(d.repair == () for d in report.in_transit)  # reported, not repaired
    assert report.summary()["in_transit"] == 1 and not report.clean
    assert classes(reconcile(plant(old, key, cls))) == {cls}
    assert reconcile(plant(young, "stripe:in_1", cls), settle_seconds=0).in_transit == []


@pytest.mark.parametrize("billing", ["stripe", "chargebee"])
@pytest.mark.parametrize("cls", sorted(c for c in DriftClass if not c.needs_human))
def test_repairs_are_deterministic_and_applying_them_reconciles_clean(
        cls: DriftClass, billing: str) -> None:
    s, key = one(billing=billing)
    drifted = plant(s, key, cls)
    first, second = reconcile(drifted), reconcile(drifted)
    keys = [m.dedupe_key for m in first.repairs()]
    assert keys == [m.dedupe_key for m in second.repairs()] and len(keys) == len(set(keys)) == 1
    outbox: dict[str, OutboxMessage] = {}
    for m in first.repairs() + second.repairs():  # the store skips a known dedupe key
        outbox.setdefault(m.dedupe_key, m)
    assert len(outbox) == 1
    repaired = reconcile(apply_repairs(drifted, list(outbox.values())))
    assert repaired.clean and repaired.matched == [key]


def test_every_repairable_drift_at_once_is_repaired_in_one_pass() -> None:
    b = Builder()
    keys = [b.invoice(n, "recovered", billing=("stripe", "chargebee")[n % 2]) for n in range(6)]
    s = b.snapshot()
    for key, cls in zip(keys, [c for c in DriftClass if not c.needs_human] * 2, strict=True):
        s = plant(s, key, cls)
    report = reconcile(s)
    assert len(report.drifts) == 6
    assert reconcile(apply_repairs(s, report.repairs())).clean


def test_report_to_dict_is_json_ready() -> None:
    s, key = one()
    doc = json.loads(json.dumps(reconcile(plant(s, key, DriftClass.ERP_PAYMENT_MISSING)).to_dict()))
    assert doc["summary"]["erp_payment_missing"] == 1 and doc["clean"] is False
    assert doc["drifts"][0]["repair"][0]["kind"] == "apply_payment"
    assert doc["drifts"][0]["needs_human"] is False


# -- properties -------------------------------------------------------------------------------

invoice_specs = st.tuples(
    st.sampled_from(STATES),
    st.sampled_from(["stripe", "chargebee"]),
    st.integers(100, 10**6),
    st.sampled_from(["usd", "eur", "gbp"]),
    st.integers(1, 24 * 60),  # age in hours: distinct, so heuristic matches stay unambiguous
)


@st.composite
def consistent_snapshots(draw: st.DrawFn) -> tuple[Snapshot, str]:
    """A random consistent snapshot and the key of one recovered invoice in it."""
    specs = draw(st.lists(invoice_specs, max_size=8, unique_by=lambda spec: spec[4]))
    b = Builder()
    for n, (state, billing, amount, currency, hours) in enumerate(specs):
        b.invoice(n, state, billing=billing, amount=amount, currency=currency, age=hours * HOUR)
    target = b.invoice(len(specs), "recovered", billing=draw(st.sampled_from(["stripe",
                                                                            "chargebee"])),
                       age=(24 * 60 + 1) * HOUR)
    return b.snapshot(), target


@given(consistent_snapshots())
def test_random_consistent_snapshots_are_clean(case: tuple[Snapshot, str]) -> None:
    s, _ = case
    report = reconcile(s)
    assert report.clean and len(report.matched) == len(s.billing)


@given(consistent_snapshots(), st.sampled_from(list(DriftClass)))
def test_a_planted_drift_is_found_as_exactly_its_class(case: tuple[Snapshot, str],
                                                       cls: DriftClass) -> None:
    s, key = case
    report = reconcile(plant(s, key, cls))
    assert classes(report) == {cls} and report.in_transit == []
    assert len(report.matched) == len(s.billing) - 1
    if not cls.needs_human:
        assert reconcile(apply_repairs(plant(s, key, cls), report.repairs())).clean


def test_the_erp_links_a_billing_made_payment_when_billing_lost_its_ref() -> None:
    s, key = one("paid", billing="chargebee")
    s = replace(s, billing=_map(s.billing, key, lambda b: replace(
        b, status="open", amount_paid=0, payment_refs=())))
    [drift] = reconcile(s).drifts
    assert drift.drift_class is DriftClass.BILLING_OPEN_GATEWAY_PAID
    assert reconcile(apply_repairs(s, reconcile(s).repairs())).clean


def test_an_offline_erp_payment_is_consistent_only_once_billing_is_paid() -> None:
    s, key = one("offline")
    assert reconcile(s).clean
    s = replace(s, billing=_map(s.billing, key, lambda b: replace(
        b, status="open", amount_paid=0, paid_out_of_band=False)))
    report = reconcile(s)  # the CRM's "recovered" now disagrees with billing too
    assert classes(report) == {DriftClass.ERP_PAYMENT_ORPHAN, DriftClass.CRM_STATUS_DRIFT}
    [drift] = [d for d in report.drifts if d.needs_human]
    assert drift.evidence["reason"] == "no gateway payment, billing not paid"


# -- paid twice: the gateway's recovery payment and a payment by other means in billing -------


@pytest.mark.parametrize("billing", ["stripe", "chargebee"])
def test_an_invoice_paid_by_bank_transfer_and_by_the_gateway_is_paid_twice(billing: str) -> None:
    s, key = one(billing=billing)
    report = reconcile(plant(s, key, DriftClass.PAID_TWICE))
    [drift] = report.drifts
    assert drift.drift_class is DriftClass.PAID_TWICE and drift.invoice_key == key
    assert drift.needs_human and drift.repair == () and report.repairs() == []
    assert [p["payment_id"] for p in drift.evidence["gateway"]] == ["pi_1"]
    [bill] = drift.evidence["billing"]
    assert bill["status"] == "paid"
    if billing == "stripe":
        assert bill["paid_out_of_band"] and bill["payment_refs"] == []
        assert drift.evidence["other_payment_refs"] == []
    else:
        assert bill["payment_refs"] == drift.evidence["other_payment_refs"] == ["BT-2026-0042"]
    assert [e["payment_ref"] for e in drift.evidence["erp"]] == ["pi_1"]  # the ERP's side
    assert drift.evidence["erp_invoice"][0]["erp_invoice_id"] == "ns_inv_1"


@pytest.mark.parametrize("billing", ["stripe", "chargebee"])
def test_our_own_write_back_is_not_paid_twice(billing: str) -> None:
    s, key = one(billing=billing)  # the write-back names the gateway payment it recorded
    assert reconcile(s).clean
    # a Chargebee record_payment may carry the charge's id rather than the PaymentIntent's
    by_charge = replace(s, billing=_map(s.billing, key, lambda b: replace(
        b, payment_refs=("ch_1",))))
    assert reconcile(by_charge).clean


def test_a_write_back_still_on_its_way_to_an_open_invoice_is_not_paid_twice() -> None:
    for billing in ("stripe", "chargebee"):
        s, key = one(billing=billing)
        report = reconcile(plant(s, key, DriftClass.BILLING_OPEN_GATEWAY_PAID))
        assert classes(report) == {DriftClass.BILLING_OPEN_GATEWAY_PAID}


def test_a_stripe_write_back_paid_but_not_yet_named_is_in_transit() -> None:
    s, key = one()  # paid out of band a minute ago; the metadata write is the next request
    s = replace(s, billing=_map(s.billing, key, lambda b: replace(
        _paid_by_hand(b), updated_at=AS_OF - 60)))
    report = reconcile(s)
    assert report.drifts == [] and [d.drift_class for d in report.in_transit] == [
        DriftClass.PAID_TWICE]
    assert classes(reconcile(s, settle_seconds=30)) == {DriftClass.PAID_TWICE}


def test_paid_twice_books_nothing_more_in_the_erp() -> None:
    # the gateway's payment never reached the ERP: which of the two payments stays is a
    # human's decision, so no apply_payment is queued for it
    s, key = one(billing="chargebee")
    s = plant(plant(s, key, DriftClass.PAID_TWICE), key, DriftClass.ERP_PAYMENT_MISSING)
    report = reconcile(s)
    assert classes(report) == {DriftClass.PAID_TWICE} and report.repairs() == []
    assert reconcile(replace(s, has_erp=False)).drifts[0].evidence["erp"] == []


def test_billing_paid_by_its_own_payment_and_a_recovery_payment_is_a_duplicate_charge() -> None:
    # Stripe collected the invoice itself and the engine charged too: both are gateway
    # payments, a duplicate charge, not a payment by other means
    s, key = one("paid")
    engine = GatewayPayment("pi_engine", key, 4900, "usd", "succeeded", AS_OF - DAY + 5, "mid_b",
                            charge_id="ch_engine")
    assert classes(reconcile(replace(s, gateway=(*s.gateway, engine)))) == {
        DriftClass.GATEWAY_DUPLICATE_CHARGE}


def test_a_bank_transfer_alone_is_not_paid_twice() -> None:
    s, key = one("offline", billing="chargebee")
    s = replace(s, billing=_map(s.billing, key, _paid_by_hand))
    assert reconcile(s).clean


# -- refunds: a human settles a duplicate or a double payment by refunding the second money --


def _refunded(p: GatewayPayment, amount: int | None = None) -> GatewayPayment:
    return replace(p, amount_refunded=p.amount if amount is None else amount)


@pytest.mark.parametrize("billing", ["stripe", "chargebee"])
def test_paid_twice_then_refunded_in_full_is_settled(billing: str) -> None:
    # the gateway's payment never reached the ERP (the paid-twice rule books nothing): once the
    # human refunds it, nothing is left to book and nothing to repair
    s, key = one(billing=billing)
    s = plant(plant(s, key, DriftClass.PAID_TWICE), key, DriftClass.ERP_PAYMENT_MISSING)
    assert classes(reconcile(s)) == {DriftClass.PAID_TWICE}
    refunded = replace(s, gateway=tuple(_refunded(p) if p.payment_id == "pi_1" else p
                                        for p in s.gateway))
    report = reconcile(refunded)
    assert report.clean and report.repairs() == [], report.drifts


def test_paid_twice_refunded_in_part_is_still_paid_twice() -> None:
    s, key = one(billing="chargebee")
    s = plant(s, key, DriftClass.PAID_TWICE)
    part = replace(s, gateway=tuple(_refunded(p, 1000) if p.payment_id == "pi_1" else p
                                    for p in s.gateway))
    [drift] = reconcile(part).drifts
    assert drift.drift_class is DriftClass.PAID_TWICE
    assert drift.evidence["gateway"][0]["amount_refunded"] == 1000


def test_a_duplicate_charge_refunded_in_full_is_settled() -> None:
    s, key = one()
    s = plant(s, key, DriftClass.GATEWAY_DUPLICATE_CHARGE)
    assert classes(reconcile(s)) == {DriftClass.GATEWAY_DUPLICATE_CHARGE}
    dup = next(p for p in s.gateway if p.payment_id.endswith("_dup"))
    settled = replace(s, gateway=tuple(_refunded(p) if p is dup else p for p in s.gateway))
    assert reconcile(settled).clean
    part = replace(s, gateway=tuple(_refunded(p, 1) if p is dup else p for p in s.gateway))
    assert classes(reconcile(part)) == {DriftClass.GATEWAY_DUPLICATE_CHARGE}


@pytest.mark.parametrize("billing", ["stripe", "chargebee"])
def test_a_refunded_payment_the_erp_still_books_is_the_books_to_correct(billing: str) -> None:
    s, key = one(billing=billing)  # the ERP booked the gateway's payment before the transfer
    s = plant(s, key, DriftClass.PAID_TWICE)
    refunded = replace(s, gateway=tuple(_refunded(p) if p.payment_id == "pi_1" else p
                                        for p in s.gateway))
    [drift] = reconcile(refunded).drifts
    assert drift.drift_class is DriftClass.ERP_PAYMENT_REFUNDED and drift.repair == ()
    assert drift.needs_human
    assert drift.evidence["gateway"][0]["amount_refunded"] == 4900
    assert [e["payment_ref"] for e in drift.evidence["erp"]] == ["pi_1"]
    # the human takes the payment out of the books: nothing is left
    unbooked = replace(refunded, erp_payments=tuple(e for e in refunded.erp_payments
                                                    if e.payment_ref != "pi_1"))
    assert reconcile(unbooked).clean
