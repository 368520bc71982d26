"""The Store protocol, one suite over SQLite (file and memory) and PostgreSQL, plus the races that
several processes or engine replicas sharing one store must settle."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from components.domain import Attempt, AttemptStatus, DecisionRecord, OutboxMessage
from components.store import Admission, Store, open_store
from components.store.sqlite import SQLiteStore
from components.store.tables import INBOX_LEASE_SECONDS, LEASE_SECONDS, StoreError, mask_url


def _url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite-file":
        return f"sqlite:///{tmp_path}/store.db"  # tmp_path is absolute: sqlite:////tmp/…
    if kind == "sqlite-memory":
        return "sqlite://"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(_url(request.param, request, tmp_path))
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite-file", "postgres"])
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens another connection to one shared store, as another process or replica would."""
    url, opened = _url(request.param, request, tmp_path), []

    def connect_one() -> Store:
        opened.append(open_store(url))
        return opened[-1]

    yield connect_one
    for each in opened:
        each.close()


def attempt(key: str = "k1", *, invoice: str = "stripe:in_1", no: int = 1,
            card: str | None = "fp_1", at: float = 100.0) -> Attempt:
    return Attempt(idempotency_key=key, invoice_key=invoice, attempt_no=no, mid="mid_a",
                   amount=1999, currency="usd", status=AttemptStatus.PENDING, created_at=at,
                   card_fingerprint=card)


def message(dedupe: str, *, due: float = 0.0, **payload: Any) -> OutboxMessage:
    return OutboxMessage(destination="netsuite", kind="apply_payment", dedupe_key=dedupe,
                         payload=payload or {"invoice_id": dedupe}, correlation_id="c-1",
                         next_attempt_at=due)


def run_together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """`work(i)` on n threads released at once, so their transactions overlap."""
    barrier = threading.Barrier(n)

    def go(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


# -- inbox --------------------------------------------------------------------------------------
def test_admit_event_new_duplicate_stale(store: Store) -> None:
    assert store.admit_event("stripe", "evt_1", "in_1", 10.0, 100.0) is Admission.NEW
    assert store.admit_event("stripe", "evt_1", "in_1", 10.0, 101.0) is Admission.DUPLICATE
    assert store.admit_event("stripe", "evt_2", "in_1", 20.0, 102.0) is Admission.NEW
    assert store.admit_event("stripe", "evt_0", "in_1", 15.0, 103.0) is Admission.STALE
    # the stale event's id is recorded: its redelivery is a duplicate, not stale again
    assert store.admit_event("stripe", "evt_0", "in_1", 15.0, 104.0) is Admission.DUPLICATE
    # only a strictly later event makes one stale; the newest stays 20 after a stale one
    assert store.admit_event("stripe", "evt_3", "in_1", 20.0, 105.0) is Admission.NEW
    assert store.admit_event("stripe", "evt_4", "in_1", 19.0, 106.0) is Admission.STALE
    # objects and sources are independent
    assert store.admit_event("stripe", "evt_5", "in_2", 1.0, 107.0) is Admission.NEW
    assert store.admit_event("chargebee", "evt_1", "in_1", 1.0, 108.0) is Admission.NEW


# -- attempts ledger ------------------------------------------------------------------------------
def test_reserve_attempt_is_idempotent_per_key_and_attempt_no(store: Store) -> None:
    first = attempt("k1", no=1)
    assert store.reserve_attempt(first)
    assert not store.reserve_attempt(first)
    assert not store.reserve_attempt(attempt("k-other", no=1))  # same invoice and attempt_no
    assert store.reserve_attempt(attempt("k2", no=2))
    assert store.reserve_attempt(attempt("k3", invoice="stripe:in_2", no=1))
    assert store.attempts("stripe:in_1") == [first, attempt("k2", no=2)]
    assert store.attempts("stripe:in_9") == []


def test_finish_attempt_records_result_and_queues_write_backs(store: Store) -> None:
    store.reserve_attempt(attempt("k1"))
    store.finish_attempt("k1", AttemptStatus.SUCCEEDED, at=105.5, charge_id="ch_1",
                         outbox=(message("m1"), message("m2")))
    (done,) = store.attempts("stripe:in_1")
    assert (done.status, done.charge_id, done.decline_code, done.updated_at) == (
        AttemptStatus.SUCCEEDED, "ch_1", None, 105.5)
    assert store.outbox_depth() == 2
    # a later correction without a charge id keeps the known one
    store.finish_attempt("k1", AttemptStatus.DECLINED, at=106.0, decline_code="do_not_honor")
    (again,) = store.attempts("stripe:in_1")
    assert (again.status, again.charge_id, again.decline_code) == (
        AttemptStatus.DECLINED, "ch_1", "do_not_honor")


def test_finish_attempt_and_its_outbox_are_one_transaction(store: Store) -> None:
    store.reserve_attempt(attempt("k1"))
    unserialisable = message("m2", when=object())
    with pytest.raises(TypeError):
        store.finish_attempt("k1", AttemptStatus.SUCCEEDED, at=105.0, charge_id="ch_1",
                             outbox=(message("m1"), unserialisable))
    (kept,) = store.attempts("stripe:in_1")
    assert (kept.status, kept.charge_id, kept.updated_at) == (AttemptStatus.PENDING, None, None)
    assert store.outbox_depth() == 0
    with pytest.raises(LookupError, match="no-such-key"):
        store.finish_attempt("no-such-key", AttemptStatus.FAILED, at=1.0)


def test_card_attempts_since_counts_declined_and_unknown(store: Store) -> None:
    outcomes = [AttemptStatus.DECLINED, AttemptStatus.UNKNOWN, AttemptStatus.SUCCEEDED,
                AttemptStatus.FAILED, AttemptStatus.PENDING, AttemptStatus.DECLINED]
    for no, status in enumerate(outcomes, start=1):
        store.reserve_attempt(attempt(f"k{no}", no=no, at=100.0 + no))
        if status is not AttemptStatus.PENDING:
            store.finish_attempt(f"k{no}", status, at=200.0)
    store.reserve_attempt(attempt("other-card", no=9, card="fp_2", at=150.0))
    store.finish_attempt("other-card", AttemptStatus.DECLINED, at=200.0)
    assert store.card_attempts_since("fp_1", 0.0) == 3
    assert store.card_attempts_since("fp_1", 102.0) == 2  # created_at >= since
    assert store.card_attempts_since("fp_1", 106.5) == 0
    assert store.card_attempts_since("fp_2", 0.0) == 1


# -- outbox and dead letters ----------------------------------------------------------------------
def test_enqueue_skips_known_dedupe_keys_and_keeps_payloads(store: Store) -> None:
    payload = {"amount": 1999, "nested": {"ids": ["a", "b"]}, "paid": True, "note": None}
    assert store.enqueue([message("m1", **payload), message("m2")], at=0.0) == 2
    assert store.enqueue([message("m1"), message("m3")], at=0.0) == 1
    assert store.outbox_depth() == 3
    first = store.due_messages(now=1.0, limit=10)[0]
    assert (first.dedupe_key, first.payload, first.destination, first.kind,
            first.correlation_id, first.attempts) == (
        "m1", payload, "netsuite", "apply_payment", "c-1", 0)


def test_due_messages_in_order_and_leased(store: Store) -> None:
    store.enqueue([message("late", due=50.0), message("a", due=10.0), message("b", due=10.0),
                   message("c", due=5.0)], at=0.0)
    assert [m.dedupe_key for m in store.due_messages(now=20.0, limit=2)] == ["c", "a"]
    # leased: hidden from the next claim, which gets the rest that is due
    (b,) = store.due_messages(now=20.0, limit=10)
    assert (b.dedupe_key, b.next_attempt_at) == ("b", 20.0 + LEASE_SECONDS)
    assert store.due_messages(now=20.0 + LEASE_SECONDS - 1, limit=10) == []
    # a relay that never answered loses its lease: due again (at least once delivery)
    after = store.due_messages(now=20.0 + LEASE_SECONDS, limit=10)
    assert [m.dedupe_key for m in after] == ["late", "a", "b", "c"]  # all due at 50: by id
    assert store.outbox_depth() == 4


def test_done_retry_dead_and_replay(store: Store) -> None:
    store.enqueue([message("m1"), message("m2"), message("m3")], at=0.0)
    m1, m2, m3 = store.due_messages(now=100.0, limit=10)
    assert m1.id is not None and m2.id is not None and m3.id is not None
    store.mark_done(m1.id, at=101.0)
    store.mark_retry(m2.id, next_attempt_at=200.0, error="HTTP 503")
    store.mark_dead(m3.id, error="HTTP 400: bad field")
    assert store.outbox_depth() == 1
    assert store.due_messages(now=199.0, limit=10) == []
    (retried,) = store.due_messages(now=200.0, limit=10)
    assert (retried.id, retried.attempts, retried.last_error, retried.status) == (
        m2.id, 1, "HTTP 503", "pending")
    store.mark_retry(m2.id, next_attempt_at=300.0, error="HTTP 502")
    store.mark_dead(m2.id, error="gave up")
    dead = store.dead_letters()
    assert [(m.id, m.status, m.last_error) for m in dead] == [
        (m2.id, "dead", "gave up"), (m3.id, "dead", "HTTP 400: bad field")]
    assert store.outbox_depth() == 0
    assert store.replay_dead([m3.id], now=400.0) == 1
    assert store.replay_dead([], now=400.0) == 0
    assert store.replay_dead([m1.id], now=400.0) == 0  # done, not dead
    (replayed,) = store.due_messages(now=400.0, limit=10)
    assert (replayed.id, replayed.attempts, replayed.status) == (m3.id, 0, "pending")
    store.mark_done(m3.id, at=401.0)
    assert store.replay_dead(None, now=500.0) == 1
    assert store.dead_letters() == []
    assert [m.id for m in store.due_messages(now=500.0, limit=10)] == [m2.id]



def test_failing_since_is_kept_from_the_first_failure_and_cleared_by_a_replay(
        store: Store) -> None:
    store.enqueue([message("m1")], at=0.0)
    (m1,) = store.due_messages(now=100.0, limit=10)
    assert m1.id is not None and m1.failing_since is None
    store.mark_retry(m1.id, next_attempt_at=110.0, error="503", failing_since=100.0)
    (again,) = store.due_messages(now=110.0, limit=10)
    store.mark_retry(m1.id, next_attempt_at=130.0, error="503", failing_since=110.0)
    (again,) = store.due_messages(now=130.0, limit=10)
    assert (again.attempts, again.failing_since) == (2, 100.0)  # the first failure's time
    store.mark_dead(m1.id, error="gave up")
    store.replay_dead(None, now=500.0)
    (replayed,) = store.due_messages(now=500.0, limit=10)
    assert (replayed.attempts, replayed.failing_since) == (0, None)  # a fresh give-up clock


def test_earlier_pending_and_defer_keep_one_invoice_s_messages_in_order(store: Store) -> None:
    store.enqueue([message("a1", invoice_key="stripe:in_a"),
                   message("b1", invoice_key="stripe:in_b"),
                   message("a2", invoice_key="stripe:in_a")], at=0.0)
    a1, b1, a2 = store.due_messages(now=10.0, limit=10)
    assert a1.id and b1.id and a2.id
    store.mark_retry(a1.id, next_attempt_at=60.0, error="503", failing_since=10.0)
    assert store.earlier_pending("netsuite", "stripe:in_a", a2.id) == 60.0
    assert store.earlier_pending("netsuite", "stripe:in_b", b1.id) is None
    assert store.earlier_pending("salesforce", "stripe:in_a", a2.id) is None
    assert store.earlier_pending("netsuite", "stripe:in_a", a1.id) is None  # nothing before
    store.defer(a2.id, until=60.5)
    store.mark_done(b1.id, at=11.0)
    assert store.due_messages(now=60.0, limit=10)[0].id == a1.id
    store.mark_done(a1.id, at=60.0)
    assert store.earlier_pending("netsuite", "stripe:in_a", a2.id) is None
    (after,) = store.due_messages(now=60.5, limit=10)
    assert (after.id, after.attempts) == (a2.id, 0)  # deferred, not a failed try


def test_writebacks_are_the_messages_queued_in_a_window_with_their_send_times(
        store: Store) -> None:
    store.enqueue([message("before")], at=5.0)
    store.reserve_attempt(attempt("k1"))
    store.finish_attempt("k1", AttemptStatus.SUCCEEDED, at=10.0, charge_id="ch_1",
                         outbox=(message("paid"), message("dead")))
    store.enqueue([message("slow"), message("waiting")], at=12.0)
    store.enqueue([message("after")], at=30.0)
    by_key = {m.dedupe_key: m for m in store.due_messages(now=40.0, limit=10)}
    assert by_key["paid"].created_at == 10.0
    assert by_key["paid"].id and by_key["slow"].id and by_key["dead"].id
    store.mark_done(by_key["paid"].id, at=11.5)
    store.mark_retry(by_key["slow"].id, next_attempt_at=14.0, error="503", failing_since=13.0)
    store.mark_done(by_key["slow"].id, at=16.0)
    store.mark_dead(by_key["dead"].id, error="HTTP 400")
    got = store.writebacks(10.0, 12.0)  # both ends included; `before` and `after` outside
    assert [(w.committed, w.done, w.attempts, w.status) for w in got] == [
        (10.0, 11.5, 0, "done"), (10.0, None, 0, "dead"), (12.0, 16.0, 1, "done"),
        (12.0, None, 0, "pending")]
    assert (got[0].destination, got[0].kind) == ("netsuite", "apply_payment")
    assert [w.committed for w in store.writebacks(0.0, 100.0)] == [5.0, 10.0, 10.0, 12.0,
                                                                    12.0, 30.0]
    assert store.writebacks(31.0, 100.0) == []
    # a relay whose lease ran out fails after another one sent it: pending again, not done
    store.mark_retry(by_key["paid"].id, next_attempt_at=50.0, error="timeout")
    paid, _ = store.writebacks(10.0, 10.0)
    assert (paid.status, paid.done, paid.attempts) == ("pending", None, 1)


def test_a_re_queued_write_back_keeps_when_it_was_first_queued(store: Store) -> None:
    assert store.enqueue([message("m1")], at=10.0) == 1
    assert store.enqueue([message("m1")], at=20.0) == 0  # a known dedupe key: skipped
    assert [w.committed for w in store.writebacks(0.0, 100.0)] == [10.0]


def test_cursors_only_move_forward(store: Store) -> None:
    assert store.cursor_get("catchup:stripe:primary") is None
    assert store.cursor_advance("catchup:stripe:primary", 100.0, at=1.0) == 100.0
    assert store.cursor_advance("catchup:stripe:primary", 50.0, at=2.0) == 100.0
    assert store.cursor_advance("catchup:stripe:primary", 150.0, at=3.0) == 150.0
    assert store.cursor_get("catchup:stripe:primary") == 150.0
    assert store.cursor_get("catchup:chargebee") is None

# -- context cache ------------------------------------------------------------------------------
def test_cache_keeps_the_newest_version(store: Store) -> None:
    assert store.cache_get("invoice", "in_1") is None
    assert store.cache_put("invoice", "in_1", {"status": "open", "customer": "c1"}, 10.0)
    assert not store.cache_put("invoice", "in_1", {"status": "void"}, 9.0)
    assert store.cache_get("invoice", "in_1") == {"status": "open", "customer": "c1"}
    assert store.cache_put("invoice", "in_1", {"status": "open", "customer": "c1"}, 10.0)
    assert store.cache_put("invoice", "in_1", {"status": "paid", "customer": "c1"}, 11.0)
    assert store.cache_get("invoice", "in_1") == {"status": "paid", "customer": "c1"}


def test_cache_find_by_top_level_field(store: Store) -> None:
    store.cache_put("invoice", "in_1", {"customer": "c1", "n": 1}, 1.0)
    store.cache_put("invoice", "in_2", {"customer": "c2"}, 1.0)
    store.cache_put("invoice", "in_3", {"customer": "c1", "n": 3}, 1.0)
    store.cache_put("customer", "c1", {"customer": "c1"}, 1.0)
    assert [d["n"] for d in store.cache_find("invoice", "customer", "c1")] == [1, 3]
    assert store.cache_find("invoice", "n", "3") == [{"customer": "c1", "n": 3}]
    assert store.cache_find("invoice", "customer", "c9") == []
    assert store.cache_find("invoice", "missing", "c1") == []


# -- housekeeping -------------------------------------------------------------------------------
def test_an_event_whose_handler_died_undecided_is_admitted_again_after_its_lease(
        store: Store) -> None:
    assert store.admit_event("stripe", "evt_1", "in_1", 10.0, 100.0) is Admission.NEW
    # its handler is killed before deciding: a redelivery inside the lease is a duplicate
    # (the handler may only be slow), one after it takes the event over, once
    late = 100.0 + INBOX_LEASE_SECONDS + 1
    assert store.admit_event("stripe", "evt_1", "in_1", 10.0, 150.0) is Admission.DUPLICATE
    assert store.admit_event("stripe", "evt_1", "in_1", 10.0, late) is Admission.NEW
    assert store.admit_event("stripe", "evt_1", "in_1", 10.0, late + 1) is Admission.DUPLICATE
    store.event_decided("stripe", "evt_1", late + 2)
    forever = late + 10 * INBOX_LEASE_SECONDS
    assert store.admit_event("stripe", "evt_1", "in_1", 10.0, forever) is Admission.DUPLICATE
    # a decided event is never taken over; a stale one stays stale when taken over
    assert store.admit_event("stripe", "evt_2", "in_1", 20.0, 200.0) is Admission.NEW
    store.event_decided("stripe", "evt_2", 200.5)
    assert store.admit_event("stripe", "evt_0", "in_1", 5.0, 201.0) is Admission.STALE
    assert store.admit_event("stripe", "evt_0", "in_1", 5.0, forever) is Admission.STALE


def test_prune_drops_old_inbox_done_messages_and_cache(store: Store) -> None:
    store.admit_event("stripe", "old", "in_1", 1.0, 10.0)
    store.admit_event("stripe", "new", "in_2", 1.0, 500.0)
    store.enqueue([message("done-old"), message("done-new"), message("pending"),
                   message("dead")], at=0.0)
    old, new, _, dead = store.due_messages(now=0.0, limit=10)
    assert old.id and new.id and dead.id
    store.mark_done(old.id, at=10.0)
    store.mark_done(new.id, at=500.0)
    store.mark_dead(dead.id, error="x")
    store.cache_put("invoice", "old", {}, 10.0)
    store.cache_put("invoice", "new", {}, 500.0)
    # inbox row + its object's row, one done message, one cache entry
    assert store.prune(before=100.0) == 4
    assert store.prune(before=100.0) == 0
    assert store.admit_event("stripe", "new", "in_2", 1.0, 501.0) is Admission.DUPLICATE
    assert store.admit_event("stripe", "old", "in_1", 1.0, 502.0) is Admission.NEW  # forgotten
    assert store.outbox_depth() == 1 and len(store.dead_letters()) == 1
    assert store.cache_get("invoice", "old") is None
    assert store.cache_get("invoice", "new") == {}


def decision(invoice: str = "stripe:in_1", *, at: float = 100.0, action: str = "no_retry",
             reason: str = "hard_decline:stolen_card", event: str | None = "evt_1",
             via: str | None = "webhook") -> DecisionRecord:
    return DecisionRecord(invoice_key=invoice, source="stripe", event_id=event, via=via,
                          action=action, reason=reason, status="not_retried", at=at)


def test_decisions_are_kept_per_invoice_newest_last(store: Store) -> None:
    assert store.decisions("stripe:in_1") == []
    first = decision(action="retry_later", reason="vendor_error:unavailable", at=10.0)
    store.record_decision(first)
    store.record_decision(decision("stripe:in_2", event=None, via="intercept", at=11.0))
    # the same instant twice: still in the order recorded
    second = decision(at=10.0, via="retry")
    store.record_decision(second)
    assert store.decisions("stripe:in_1") == [first, second]
    (other,) = store.decisions("stripe:in_2")
    assert other.event_id is None and other.via == "intercept" and other.at == 11.0


def test_prune_drops_old_decisions(store: Store) -> None:
    store.record_decision(decision(at=10.0))
    store.record_decision(decision(at=500.0, reason="retry_budget"))
    assert store.prune(before=100.0) == 1
    assert [d.reason for d in store.decisions("stripe:in_1")] == ["retry_budget"]


# -- several processes or replicas on one store ---------------------------------------------------
def test_concurrent_admissions_of_one_event_yield_one_new(connect: Callable[[], Store]) -> None:
    stores = [connect() for _ in range(4)]
    for round_no in range(5):
        got = run_together(4, lambda i, r=round_no: stores[i].admit_event(
            "stripe", f"evt_{r}", "in_1", float(r), 100.0))
        assert sorted(got) == sorted([Admission.NEW] + [Admission.DUPLICATE] * 3)


def test_concurrent_reservations_of_one_attempt_yield_one(connect: Callable[[], Store]) -> None:
    stores = [connect() for _ in range(4)]
    got = run_together(4, lambda i: stores[i].reserve_attempt(attempt(f"k{i}", no=1)))
    assert got.count(True) == 1
    assert len(stores[0].attempts("stripe:in_1")) == 1


def test_two_relays_claim_disjoint_messages(connect: Callable[[], Store]) -> None:
    relays = [connect() for _ in range(3)]
    relays[0].enqueue([message(f"m{i}") for i in range(60)], at=0.0)

    def drain(i: int) -> list[int]:
        claimed: list[int] = []
        while batch := relays[i].due_messages(now=10.0, limit=4):
            claimed += [m.id for m in batch if m.id is not None]
        return claimed

    claims = run_together(3, drain)
    every = [message_id for claim in claims for message_id in claim]
    assert len(every) == len(set(every)) == 60


def _admit_in_child(path: str, barrier: Any, results: Any) -> None:
    store = SQLiteStore(path)  # each process opens its own connection
    barrier.wait()
    results.put(store.admit_event("stripe", "evt_1", "in_1", 1.0, 2.0).value)
    store.close()


def test_sqlite_processes_sharing_a_file_admit_an_event_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    SQLiteStore(path).close()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(3), context.Queue()
    children = [context.Process(target=_admit_in_child, args=(path, barrier, results))
                for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=20)
        assert child.exitcode == 0
    assert sorted(results.get(timeout=5) for _ in children) == ["duplicate", "duplicate", "new"]


# -- opening: urls, files, errors -----------------------------------------------------------------
def test_sqlite_file_reopens_with_its_data_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/reopen.db"
    first = open_store(url)
    first.reserve_attempt(attempt("k1"))
    first.enqueue([message("m1")], at=0.0)
    first.cache_put("invoice", "in_1", {"status": "open"}, 1.0)
    first.close()
    again = open_store(url)
    assert [a.idempotency_key for a in again.attempts("stripe:in_1")] == ["k1"]
    assert again.outbox_depth() == 1
    assert again.cache_get("invoice", "in_1") == {"status": "open"}
    again.close()
    with sqlite3.connect(tmp_path / "reopen.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(5,)]



V1_OUTBOX = """CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, destination TEXT NOT NULL, kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE, payload TEXT NOT NULL, correlation_id TEXT NOT NULL,
    attempts INTEGER NOT NULL, next_attempt_at REAL NOT NULL, last_error TEXT,
    status TEXT NOT NULL, updated_at REAL)"""


def test_a_version_1_store_is_upgraded_in_place_with_its_messages(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as raw:  # what the first schema left on disk
        raw.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        raw.execute("INSERT INTO schema_version VALUES (1)")
        raw.execute(V1_OUTBOX)
        raw.execute("INSERT INTO outbox (destination, kind, dedupe_key, payload, "
                    "correlation_id, attempts, next_attempt_at, last_error, status) VALUES "
                    "('netsuite', 'apply_payment', 'm1', '{}', 'c', 3, 5.0, '503', 'pending')")
    store = open_store(f"sqlite:///{path}")
    (old,) = store.due_messages(now=10.0, limit=10)
    assert (old.dedupe_key, old.attempts, old.failing_since) == ("m1", 3, None)
    assert old.id is not None
    store.mark_retry(old.id, next_attempt_at=20.0, error="503", failing_since=10.0)
    assert store.cursor_advance("c", 1.0, at=1.0) == 1.0
    store.close()
    open_store(f"sqlite:///{path}").close()  # opening it again changes nothing
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall() \
            == [(1,), (2,), (3,), (4,), (5,)]
        assert raw.execute("SELECT failing_since FROM outbox").fetchall() == [(10.0,)]

def test_a_version_3_store_is_upgraded_with_an_empty_decision_log(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    v3 = open_store(f"sqlite:///{path}")
    v3.reserve_attempt(attempt("k1"))
    v3.close()
    with sqlite3.connect(path) as raw:  # as version 3 left it: no decision log, no created_at
        raw.execute("DROP TABLE decisions")
        raw.execute("ALTER TABLE outbox DROP COLUMN created_at")
        raw.execute("UPDATE schema_version SET version = 3")
    store = open_store(f"sqlite:///{path}")
    assert [a.idempotency_key for a in store.attempts("stripe:in_1")] == ["k1"]
    assert store.decisions("stripe:in_1") == []
    store.record_decision(decision())
    store.close()
    again = open_store(f"sqlite:///{path}")  # reopened: the decision is still there
    assert again.decisions("stripe:in_1") == [decision()]
    again.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall() \
            == [(3,), (4,), (5,)]


def _as_version_4(path: Path) -> None:
    """Rewrite a current SQLite store as version 4 left it: no outbox.created_at."""
    with sqlite3.connect(path) as raw:
        raw.execute("ALTER TABLE outbox DROP COLUMN created_at")
        raw.execute("UPDATE schema_version SET version = 4")


def test_a_version_4_store_is_upgraded_and_its_messages_have_no_queue_time(
        tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    v4 = open_store(f"sqlite:///{path}")
    v4.enqueue([message("old")], at=10.0)
    v4.close()
    _as_version_4(path)
    store = open_store(f"sqlite:///{path}")
    (old,) = store.due_messages(now=20.0, limit=10)
    assert (old.dedupe_key, old.created_at) == ("old", None)  # when it was queued is unknown
    assert old.id is not None
    store.mark_done(old.id, at=21.0)
    store.enqueue([message("new")], at=30.0)
    assert [(w.committed, w.done) for w in store.writebacks(0.0, 100.0)] == [(30.0, None)]
    store.close()
    open_store(f"sqlite:///{path}").close()  # opening it again changes nothing
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall() \
            == [(4,), (5,)]
        assert raw.execute("SELECT dedupe_key, created_at FROM outbox ORDER BY id").fetchall() \
            == [("old", None), ("new", 30.0)]


def test_a_version_4_postgres_store_is_upgraded_once_by_replicas_starting_together(
        fresh_postgres_url: str) -> None:
    import psycopg

    v4 = open_store(fresh_postgres_url)
    v4.enqueue([message("old")], at=10.0)
    v4.close()
    with psycopg.connect(fresh_postgres_url, autocommit=True) as raw:
        raw.execute("ALTER TABLE outbox DROP COLUMN created_at")
        raw.execute("DELETE FROM schema_version")
        raw.execute("INSERT INTO schema_version VALUES (4)")
    stores = run_together(3, lambda _: open_store(fresh_postgres_url))
    stores[0].enqueue([message("new")], at=30.0)
    assert [(w.committed, w.status) for w in stores[1].writebacks(0.0, 100.0)] \
        == [(30.0, "pending")]
    assert [m.created_at for m in stores[2].due_messages(now=40.0, limit=10)] == [None, 30.0]
    for each in stores:
        each.close()
    with psycopg.connect(fresh_postgres_url) as raw:
        versions = raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert versions == [(4,), (5,)]


def test_a_version_3_postgres_store_is_upgraded_with_a_decision_log(
        fresh_postgres_url: str) -> None:
    import psycopg

    open_store(fresh_postgres_url).close()
    with psycopg.connect(fresh_postgres_url, autocommit=True) as raw:
        raw.execute("DROP TABLE decisions")
        raw.execute("ALTER TABLE outbox DROP COLUMN created_at")
        raw.execute("DELETE FROM schema_version")
        raw.execute("INSERT INTO schema_version VALUES (3)")
    stores = run_together(2, lambda _: open_store(fresh_postgres_url))
    stores[0].record_decision(decision())
    assert stores[1].decisions("stripe:in_1") == [decision()]
    for each in stores:
        each.close()
    with psycopg.connect(fresh_postgres_url) as raw:
        versions = raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert versions == [(3,), (4,), (5,)]


def test_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite://", "sqlite://:memory:", "sqlite:///:memory:"):
        memory = SQLiteStore.from_url(url)
        assert memory.path == ":memory:"
        memory.close()
    relative = SQLiteStore.from_url("sqlite:///relative.db")
    relative.close()
    assert (tmp_path / "relative.db").exists()
    absolute = SQLiteStore.from_url(f"sqlite:///{tmp_path}/sub.db")
    assert absolute.path == f"{tmp_path}/sub.db"
    absolute.close()
    with pytest.raises(StoreError, match="sqlite:///relative.db"):
        SQLiteStore.from_url("sqlite:relative.db")


def test_sqlite_store_errors_name_the_path_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "s.db"
    with pytest.raises(StoreError, match="no-such-dir.*directory exists"):
        open_store(f"sqlite:///{missing}")
    (tmp_path / "not-a-db").write_text("hello, not sqlite" * 100)
    with pytest.raises(StoreError, match="not-a-db"):
        SQLiteStore(str(tmp_path / "not-a-db"))
    newer = tmp_path / "newer.db"
    SQLiteStore(str(newer)).close()
    with sqlite3.connect(newer) as raw:
        raw.execute("INSERT INTO schema_version VALUES (99)")
    with pytest.raises(StoreError, match="schema version 99"):
        SQLiteStore(str(newer))


def test_postgres_unreachable_names_the_url_without_its_password() -> None:
    with pytest.raises(StoreError) as raised:
        open_store("postgresql://app:s3cret@127.0.0.1:1/recovery")
    text = str(raised.value)
    assert "postgresql://app:***@127.0.0.1:1/recovery" in text and "s3cret" not in text
    assert "running and reachable" in text
    with pytest.raises(StoreError, match="postgresql://user:password@host"):
        open_store("postgresql://bad host name")


def test_mask_url() -> None:
    assert mask_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert mask_url("postgresql://u@h/db?password=pw&x=1") == "postgresql://u@h/db?password=***&x=1"
    assert mask_url("sqlite:///a.db") == "sqlite:///a.db"


def test_postgres_schema_creation_is_idempotent(fresh_postgres_url: str) -> None:
    stores = run_together(3, lambda _: open_store(fresh_postgres_url))  # replicas starting
    stores[0].enqueue([message("m1")], at=0.0)
    assert stores[2].outbox_depth() == 1
    for each in stores:
        each.close()


def test_a_version_1_postgres_store_is_upgraded_once_by_replicas_starting_together(
        fresh_postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(fresh_postgres_url, autocommit=True) as raw:
        raw.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        raw.execute("INSERT INTO schema_version VALUES (1)")
        raw.execute(V1_OUTBOX.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
                    .replace("REAL", "DOUBLE PRECISION").replace("payload TEXT", "payload JSONB"))
    stores = run_together(3, lambda _: open_store(fresh_postgres_url))
    stores[0].enqueue([message("m1")], at=0.0)
    (m1,) = stores[1].due_messages(now=1.0, limit=10)
    assert m1.id is not None and m1.failing_since is None
    stores[1].mark_retry(m1.id, next_attempt_at=2.0, error="503", failing_since=1.0)
    assert stores[2].due_messages(now=2.0, limit=10)[0].failing_since == 1.0
    for each in stores:
        each.close()
    with psycopg.connect(fresh_postgres_url) as raw:
        versions = raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert versions == [(1,), (2,), (3,), (4,), (5,)]


def test_a_version_2_store_counts_its_inbox_as_decided(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    v2 = open_store(f"sqlite:///{path}")
    assert v2.admit_event("stripe", "evt_1", "in_1", 1.0, 10.0) is Admission.NEW
    v2.close()
    with sqlite3.connect(path) as raw:  # as version 2 left it: no record of decisions
        raw.execute("DROP TABLE inbox_decided")
        raw.execute("ALTER TABLE outbox DROP COLUMN created_at")
        raw.execute("UPDATE schema_version SET version = 2")
    store = open_store(f"sqlite:///{path}")
    # version 2 treated every admitted event as handled: so does the upgraded store
    assert store.admit_event("stripe", "evt_1", "in_1", 1.0, 10_000.0) is Admission.DUPLICATE
    store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall() \
            == [(2,), (3,), (4,), (5,)]
