"""The recovery decision: decline classification and the retry policy, rule by rule."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.domain import (
    Action,
    Attempt,
    AttemptStatus,
    Decision,
    Decline,
    DeclineClass,
    InvoiceContext,
)
from components.recovery.declines import (
    DAY,
    DECLINE_CLASSES,
    HOUR,
    NEVER_RETRIED_BY_STRIPE,
    Classifier,
    classify,
)
from components.recovery.policy import PolicySettings, decide, idempotency_key

SOFT, TECHNICAL, FIX, HARD, DUPLICATE = (
    DeclineClass.SOFT, DeclineClass.TECHNICAL, DeclineClass.FIX, DeclineClass.HARD,
    DeclineClass.DUPLICATE)
T0 = 1_700_000_000.0
KEY = "stripe:in_1"
STOPPING = (HARD, FIX, DUPLICATE)

EXPECTED = {
    SOFT: ["insufficient_funds", "card_velocity_exceeded", "withdrawal_count_limit_exceeded",
           "try_again_later", "do_not_honor", "generic_decline", "call_issuer", "no_action_taken",
           "card_declined"],
    TECHNICAL: ["processing_error", "issuer_not_available", "reenter_transaction",
                "approve_with_id"],
    FIX: ["expired_card", "incorrect_cvc", "invalid_cvc", "incorrect_zip", "invalid_expiry_month",
          "invalid_expiry_year", "authentication_required", "card_not_supported",
          "currency_not_supported", "not_permitted", "service_not_allowed"],
    HARD: ["incorrect_number", "invalid_number", "invalid_account",
           "new_account_information_available", "lost_card", "stolen_card", "pickup_card",
           "restricted_card", "revocation_of_authorization", "revocation_of_all_authorizations",
           "stop_payment_order", "transaction_not_allowed", "do_not_try_again", "fraudulent",
           "merchant_blacklist", "security_violation", "highest_risk_level"],
    DUPLICATE: ["duplicate_transaction"],
}


def a_decline(code: str | None = "insufficient_funds", **kw: Any) -> Decline:
    fields: dict[str, Any] = dict(
        source="stripe", event_id="evt_1", billing="stripe", invoice_id="in_1",
        customer_id="cus_1", amount=5000, currency="usd", decline_code=code, card_brand="visa",
        card_fingerprint="fp_1", occurred_at=T0)
    return Decline(**{**fields, **kw})


def a_context(**kw: Any) -> InvoiceContext:
    return InvoiceContext(**{**dict(invoice_key=KEY, amount_due=5000, currency="usd",
                                    status="open", erp_amount_remaining=5000), **kw})


def an_attempt(no: int, status: AttemptStatus = AttemptStatus.DECLINED, *, at: float = T0,
               mid: str = "primary", code: str | None = "insufficient_funds",
               fingerprint: str | None = "fp_1") -> Attempt:
    return Attempt(idempotency_key(KEY, no), KEY, no, mid, 5000, "usd", status, at,
                   card_fingerprint=fingerprint, decline_code=code)


def run(decline: Decline | None = None, context: InvoiceContext | None = None,
        history: tuple[Attempt, ...] = (), *, now: float = T0, d30: int = 1, d24: int = 1,
        **settings: Any) -> Decision:
    return decide(decline or a_decline(), context or a_context(), history,
                  card_attempts_30d=d30, card_attempts_24h=d24, now=now,
                  settings=PolicySettings(**settings))


# --- classification -------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "expected"),
                         [(c, cls) for cls, codes in EXPECTED.items() for c in codes])
def test_every_code_in_the_table_has_its_class(code: str, expected: DeclineClass) -> None:
    assert classify(code).decline_class == expected
    assert classify(code.upper()).decline_class == expected


def test_the_table_is_exactly_the_listed_codes() -> None:
    assert set(DECLINE_CLASSES) == {c for codes in EXPECTED.values() for c in codes}


def test_codes_stripe_never_retries_are_never_retried() -> None:
    assert all(classify(c).decline_class in (HARD, FIX) for c in NEVER_RETRIED_BY_STRIPE)


def test_unknown_or_missing_codes_are_soft_within_the_caps() -> None:
    unknown = classify("something_new")
    assert (unknown.decline_class, unknown.reason, unknown.visa_category) == (
        SOFT, "unknown_code:something_new", 4)
    assert classify(None).reason == "no_decline_code"


def test_visa_category_comes_from_the_usual_iso_code() -> None:
    assert [classify(c).visa_category for c in ("insufficient_funds", "do_not_honor",
                                                "expired_card", "lost_card")] == [2, 4, 3, 1]


@pytest.mark.parametrize(("advice", "expected"), [
    ("do_not_try_again", HARD), ("confirm_card_data", FIX), ("try_again_later", SOFT)])
def test_advice_codes_override_the_decline_code(advice: str, expected: DeclineClass) -> None:
    found = classify("processing_error", advice_code=advice)
    assert (found.decline_class, found.reason) == (expected, f"advice_code:{advice}")


def test_advice_never_loosens_a_hard_decline_code() -> None:
    assert classify("stolen_card", advice_code="try_again_later").decline_class == HARD


@pytest.mark.parametrize(("mac", "expected"), [
    ("01", FIX), ("02", SOFT), ("03", HARD), ("04", FIX), ("21", HARD), ("40", FIX)])
def test_mastercard_advice_codes(mac: str, expected: DeclineClass) -> None:
    found = classify("generic_decline", network_advice_code=mac, card_brand="mastercard")
    assert found.decline_class == expected and found.reason == f"mac:{mac}"


def test_mac_03_beats_a_try_again_later_advice() -> None:
    found = classify("insufficient_funds", advice_code="try_again_later",
                     network_advice_code="03", card_brand="mastercard")
    assert (found.decline_class, found.signal) == (HARD, "mac_03")


@pytest.mark.parametrize(("mac", "after"), [
    ("24", HOUR), ("25", DAY), ("26", 2 * DAY), ("27", 4 * DAY), ("28", 6 * DAY), ("29", 8 * DAY),
    ("30", 10 * DAY)])
def test_mac_24_to_30_name_the_earliest_retry(mac: str, after: float) -> None:
    found = classify("insufficient_funds", network_advice_code=mac, card_brand="mastercard")
    assert (found.decline_class, found.earliest_retry_after) == (SOFT, after)


def test_network_advice_codes_of_other_brands_are_not_read_as_mac() -> None:
    assert classify("insufficient_funds", network_advice_code="03",
                    card_brand="visa").decline_class == SOFT


def test_a_radar_block_is_hard_by_policy() -> None:
    found = classify("generic_decline", outcome_type="blocked")
    assert (found.decline_class, found.reason) == (HARD, "outcome:blocked")
    assert classify("generic_decline", outcome_type="issuer_declined").decline_class == SOFT


def test_merchant_overrides_are_a_dict_merge() -> None:
    custom = Classifier({"do_not_honor": HARD, "fraudulent": SOFT, "new_code": TECHNICAL})
    assert [custom.classify(c).decline_class for c in
            ("do_not_honor", "fraudulent", "new_code", "insufficient_funds")] == [
        HARD, SOFT, TECHNICAL, SOFT]
    assert classify("do_not_honor").decline_class == SOFT  # the default table is untouched


def test_an_override_is_used_by_decide() -> None:
    decision = decide(a_decline("do_not_honor"), a_context(), (), card_attempts_30d=1,
                      card_attempts_24h=1, now=T0, settings=PolicySettings(),
                      classifier=Classifier({"do_not_honor": HARD}))
    assert decision.reason == "hard_decline:do_not_honor"


# --- policy rules in order ------------------------------------------------------------------

@pytest.mark.parametrize("context", [a_context(status="paid"), a_context(status="void"),
                                     a_context(amount_due=0)])
def test_1_invoice_not_open(context: InvoiceContext) -> None:
    assert run(context=context).reason == "invoice_not_open"


def test_2_paid_in_erp_and_its_switch() -> None:
    paid = a_context(erp_amount_remaining=0)
    assert (run(context=paid).action, run(context=paid).reason) == (Action.NO_RETRY, "paid_in_erp")
    assert run(context=paid, check_erp_paid=False).action == Action.RETRY_LATER
    assert run(context=a_context(erp_amount_remaining=None)).action == Action.RETRY_LATER


def test_3_billing_dunning_in_flight_and_its_switch() -> None:
    dunning = a_context(dunning_in_flight=True)
    assert run(context=dunning).reason == "billing_dunning_in_flight"
    assert run(context=dunning, check_dunning=False).action == Action.RETRY_LATER


@pytest.mark.parametrize("status", [AttemptStatus.PENDING, AttemptStatus.UNKNOWN])
def test_4_an_attempt_in_flight(status: AttemptStatus) -> None:
    assert run(history=(an_attempt(1, status),)).reason == "attempt_in_flight"


def test_4_already_recovered() -> None:
    history = (an_attempt(1), an_attempt(2, AttemptStatus.SUCCEEDED))
    assert run(history=history).reason == "already_recovered"


@pytest.mark.parametrize(("code", "reason"), [
    ("stolen_card", "hard_decline:stolen_card"), ("expired_card", "needs_customer:expired_card"),
    ("duplicate_transaction", "duplicate_transaction")])
def test_5_declines_that_stop(code: str, reason: str) -> None:
    decision = run(a_decline(code))
    assert (decision.action, decision.reason) == (Action.NO_RETRY, reason)


def test_5_a_hard_decline_on_an_engine_attempt_stops_too() -> None:
    history = (an_attempt(1, at=T0 + DAY, code="lost_card"),)
    assert run(history=history, now=T0 + 2 * DAY).reason == "hard_decline:lost_card"
    other_card = (an_attempt(1, at=T0 + DAY, code="lost_card", fingerprint="fp_2"),)
    assert run(history=other_card, now=T0 + 2 * DAY).action != Action.NO_RETRY


def test_5_mac_03_names_the_signal() -> None:
    decline = a_decline("generic_decline", card_brand="mastercard", network_advice_code="03")
    assert run(decline).reason == "hard_decline:mac_03"


def test_6_grace_period_over() -> None:
    assert run(now=T0 + 14 * DAY + 1).reason == "grace_period_over"
    assert run(context=a_context(first_failed_at=T0 - 15 * DAY)).reason == "grace_period_over"
    assert run(now=T0 + 21 * DAY + 1, grace_period_seconds=30 * DAY).reason == "retry_window_over"


def test_6_retry_budget_spent() -> None:
    history = tuple(an_attempt(n, at=T0 + n) for n in (1, 2))
    assert run(history=history, now=T0 + 9 * DAY,
               max_attempts_per_invoice=2).reason == "retry_budget_spent"


@pytest.mark.parametrize(("brand", "d30", "d24", "settings", "capped"), [
    ("visa", 14, 0, {}, False), ("visa", 15, 0, {}, True),
    ("visa", 15, 0, {"visa_cap_per_30_days": 20}, False),
    ("visa", 20, 0, {"visa_cap_per_30_days": 20}, True),
    ("mastercard", 9, 9, {}, False), ("mastercard", 10, 10, {}, True),
    ("mastercard", 35, 0, {}, True), ("amex", 15, 0, {}, True), ("discover", 14, 14, {}, False),
    (None, 15, 0, {}, True),
])
def test_7_network_caps(brand: str | None, d30: int, d24: int, settings: dict[str, Any],
                        capped: bool) -> None:
    decision = run(a_decline(card_brand=brand), d30=d30, d24=d24, **settings)
    assert (decision.reason == f"network_cap:{brand or 'unknown'}") is capped


def test_8_a_soft_decline_waits_for_the_schedule() -> None:
    decision = run()
    assert (decision.action, decision.retry_at, decision.reason, decision.mid) == (
        Action.RETRY_LATER, T0 + DAY, "scheduled_retry:insufficient_funds", "primary")
    assert run(now=T0 + DAY).action == Action.RETRY_NOW  # due at the scheduled time


def test_8_the_schedule_counts_from_the_last_engine_attempt() -> None:
    history = (an_attempt(1, at=T0 + DAY),)
    assert run(history=history, now=T0 + DAY).retry_at == T0 + 3 * DAY


def test_8_a_technical_decline_retries_soon() -> None:
    decision = run(a_decline("processing_error"), now=T0 + 10)
    assert (decision.action, decision.retry_at) == (Action.RETRY_LATER, T0 + 60)
    assert run(a_decline("processing_error"), now=T0 + 60).action == Action.RETRY_NOW


def test_8_mac_earliest_retry_binds() -> None:
    decline = a_decline(card_brand="mastercard", network_advice_code="27")
    decision = run(decline)
    assert (decision.retry_at, decision.reason) == (T0 + 4 * DAY, "issuer_retry_after:mac_27")


def test_8_best_hour_shifts_later_retries_only() -> None:
    decision = run(now=T0, best_hour_utc=0)
    assert decision.retry_at is not None and decision.retry_at % DAY == 0
    assert T0 + DAY <= decision.retry_at < T0 + 2 * DAY
    assert run(a_decline("processing_error"), best_hour_utc=0).retry_at == T0 + 60


def test_8_a_retry_beyond_the_grace_period_is_not_scheduled() -> None:
    assert run(soft_retry_delays=(15 * DAY,)).reason == "grace_period_over"


def test_9_an_alternate_mid_is_tried_at_once() -> None:
    decision = run(mids=("primary", "alternate"))
    assert (decision.action, decision.mid, decision.reason) == (
        Action.RETRY_NOW, "alternate", "untried_mid:insufficient_funds")


def test_9_after_every_mid_was_tried_it_cycles_from_the_primary_on_the_schedule() -> None:
    history = (an_attempt(1, mid="alternate"),)
    decision = run(history=history, mids=("primary", "alternate"))
    assert (decision.action, decision.mid, decision.retry_at) == (
        Action.RETRY_LATER, "primary", T0 + 2 * DAY)


def test_9_only_routable_classes_go_to_another_mid() -> None:
    decision = run(mids=("primary", "alternate"), alternate_mid_on=frozenset({TECHNICAL}))
    assert (decision.action, decision.mid) == (Action.RETRY_LATER, "primary")


def test_idempotency_key_is_per_attempt() -> None:
    assert idempotency_key(KEY, 2) == "recovery:stripe:in_1:2"


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        PolicySettings(mids=())
    with pytest.raises(ValueError):
        PolicySettings(best_hour_utc=24)


# --- properties -----------------------------------------------------------------------------

codes = st.one_of(st.none(), st.sampled_from(sorted(DECLINE_CLASSES)), st.text(max_size=8))
brands = st.sampled_from([None, "visa", "mastercard", "amex", "discover"])
macs = st.sampled_from([None, "01", "02", "03", "21", "24", "25", "30"])
advices = st.sampled_from([None, "do_not_try_again", "confirm_card_data", "try_again_later"])
statuses = st.sampled_from(list(AttemptStatus))
settings_st = st.builds(
    PolicySettings, max_attempts_per_invoice=st.integers(1, 8),
    mids=st.sampled_from([("primary",), ("primary", "alternate"), ("a", "b", "c")]),
    best_hour_utc=st.sampled_from([None, 0, 9]), check_dunning=st.booleans(),
    check_erp_paid=st.booleans())


@st.composite
def situations(draw: st.DrawFn) -> tuple[Decline, tuple[Attempt, ...], float, PolicySettings]:
    decline = a_decline(draw(codes), card_brand=draw(brands), network_advice_code=draw(macs),
                        advice_code=draw(advices))
    history = tuple(an_attempt(n, draw(statuses), at=T0 + draw(st.floats(0, 20 * DAY)),
                               code=draw(codes))
                    for n in range(1, draw(st.integers(0, 5)) + 1))
    return decline, history, T0 + draw(st.floats(0, 20 * DAY)), draw(settings_st)


def decide_in(decline: Decline, history: tuple[Attempt, ...], now: float,
              settings: PolicySettings) -> Decision:
    return decide(decline, a_context(), history, card_attempts_30d=len(history),
                  card_attempts_24h=0, now=now, settings=settings)


@given(situations())
def test_property_a_stopping_decline_is_never_retried(s: Any) -> None:
    decline, history, now, settings = s
    found = classify(decline.decline_code, advice_code=decline.advice_code,
                     network_advice_code=decline.network_advice_code,
                     card_brand=decline.card_brand)
    if found.decline_class in STOPPING:
        assert decide_in(decline, history, now, settings).action == Action.NO_RETRY


@given(situations())
def test_property_never_retries_after_a_success(s: Any) -> None:
    decline, history, now, settings = s
    done = (*history, an_attempt(9, AttemptStatus.SUCCEEDED))
    assert decide_in(decline, done, now, settings).action == Action.NO_RETRY


@given(situations())
def test_property_retry_at_is_never_before_now(s: Any) -> None:
    decision = decide_in(*s)
    assert decision.retry_at is None or decision.retry_at >= s[2]
    assert (decision.action == Action.NO_RETRY) is (decision.retry_at is None)


@given(decline=st.builds(a_decline, codes, card_brand=brands, network_advice_code=macs),
       settings=settings_st, outcomes=st.lists(codes, min_size=20, max_size=20))
def test_property_a_decline_loop_never_exceeds_the_budget(
        decline: Decline, settings: PolicySettings, outcomes: list[str | None]) -> None:
    history: tuple[Attempt, ...] = ()
    now = T0
    for code in outcomes:
        decision = decide_in(decline, history, now, settings)
        if decision.action == Action.NO_RETRY:
            break
        assert decision.retry_at is not None and decision.mid in settings.mids
        now = decision.retry_at
        history = (*history, an_attempt(len(history) + 1, at=now, mid=decision.mid, code=code))
    assert len(history) <= settings.max_attempts_per_invoice
    assert decision.action == Action.NO_RETRY  # the loop ends well inside 20 rounds


def test_a_billing_decline_is_retried_on_the_schedule_until_the_budget_is_spent() -> None:
    history: tuple[Attempt, ...] = ()
    retries: list[float] = []
    now = T0
    while (decision := run(history=history, now=now)).action != Action.NO_RETRY:
        now = decision.retry_at or now
        retries.append((now - T0) / DAY)
        history = (*history, an_attempt(len(history) + 1, at=now))
    assert retries == [1, 3, 7, 13] and decision.reason == "retry_budget_spent"


def test_replace_keeps_settings_frozen() -> None:
    settings = replace(PolicySettings(), visa_cap_per_30_days=20)
    assert settings.visa_cap_per_30_days == 20 and PolicySettings().visa_cap_per_30_days == 15
