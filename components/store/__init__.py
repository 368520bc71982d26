"""The one storage interface of the components: inbox, attempts ledger, outbox, dead letters,
context cache. `open_store(url)` picks the backend: `sqlite:///path.db` (default, WAL, embedded)
or `postgresql://…` (several engine replicas sharing state).

Calls are synchronous and short (one transaction each): the services call them from async code,
which keeps runs on a virtual clock deterministic (no threads).
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Any, Protocol

from components.domain import Attempt, AttemptStatus, DecisionRecord, OutboxMessage, Writeback
from components.store.tables import StoreError

__all__ = ["Admission", "Store", "StoreError", "open_store"]


class Admission(StrEnum):
    NEW = "new"              # first time this event is seen, and it is the newest for its object
    DUPLICATE = "duplicate"  # this event id was already admitted
    STALE = "stale"          # an event about the same object that happened later was admitted


class Store(Protocol):
    # -- inbox: each event processed once, older events about an object dropped ---------------
    def admit_event(self, source: str, event_id: str, object_key: str,
                    occurred_at: float, received_at: float) -> Admission:
        """NEW the first time (or when the handler that took it died undecided, its lease
        run out: `tables.INBOX_LEASE_SECONDS`), DUPLICATE after, STALE when a later event
        about the same object was admitted."""
        ...

    def event_decided(self, source: str, event_id: str, at: float) -> None:
        """The admitted event's decision is recorded: from now on it is only a duplicate."""
        ...

    # -- attempts ledger ------------------------------------------------------------------------
    def reserve_attempt(self, attempt: Attempt) -> bool:
        """Write a PENDING attempt; False if its idempotency key or (invoice, attempt_no) exists."""
        ...

    def finish_attempt(self, idempotency_key: str, status: AttemptStatus, *, at: float,
                       charge_id: str | None = None, decline_code: str | None = None,
                       outbox: tuple[OutboxMessage, ...] = ()) -> None:
        """Record an attempt's result and queue its write-backs (at `at`), in one
        transaction."""
        ...

    def attempts(self, invoice_key: str) -> list[Attempt]: ...
    def card_attempts_since(self, card_fingerprint: str, since: float) -> int:
        """Declined or unknown attempts on a card since a time (card-network retry caps)."""
        ...

    def unresolved_attempts(self) -> list[Attempt]:
        """Attempts whose outcome is UNKNOWN, oldest first (to be looked up at the gateway)."""
        ...

    # -- the decision log: why each decline was, or was not, retried ----------------------------
    def record_decision(self, record: DecisionRecord) -> None:
        """Append the engine's decision on a decline (one row per handling)."""
        ...

    def decisions(self, invoice_key: str) -> list[DecisionRecord]:
        """The invoice's recorded decisions, oldest first (newest last)."""
        ...

    # -- scheduled retries (one per invoice) ------------------------------------------------------
    def schedule_retry(self, invoice_key: str, due_at: float, decline: dict[str, Any]) -> None:
        """Schedule (or move) the invoice's next retry; `decline` is what to decide on then."""
        ...

    def due_retries(self, now: float, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """Claim the due retries for a lease (as `due_messages`); the engine then cancels or
        reschedules each."""
        ...

    def cancel_retry(self, invoice_key: str) -> None: ...
    def scheduled_retries(self) -> list[tuple[str, float]]: ...

    # -- outbox and dead letters ---------------------------------------------------------------
    def enqueue(self, messages: list[OutboxMessage], *, at: float) -> int:
        """Add messages queued at `at` (a known dedupe_key is skipped); returns how many were
        new."""
        ...

    def due_messages(self, now: float, limit: int,
                     skip: Collection[str] = ()) -> list[OutboxMessage]:
        """Claim up to `limit` due messages, oldest due first, none for a destination in
        `skip` (one the relay already has enough of under way)."""
        ...

    def mark_done(self, message_id: int, *, at: float) -> None: ...
    def mark_retry(self, message_id: int, *, next_attempt_at: float, error: str,
                   failing_since: float | None = None) -> None:
        """Back to pending for another try; `failing_since` is recorded on the first failure
        of a run and kept after (the relay's give-up clock)."""
        ...

    def defer(self, message_id: int, *, until: float) -> None:
        """Move a pending message's next try (no attempt counted): it waits for another."""
        ...

    def earlier_pending(self, destination: str, invoice_key: str,
                        before_id: int) -> float | None:
        """When the last of the pending messages queued before `before_id` for the same
        destination and invoice (payload `invoice_key`) is due; None if there is none."""
        ...

    def mark_dead(self, message_id: int, *, error: str) -> None: ...
    def dead_letters(self) -> list[OutboxMessage]: ...
    def replay_dead(self, message_ids: list[int] | None = None, *, now: float) -> int:
        """Dead letters back to pending, due now, with a fresh give-up clock (all when ids is
        None); returns how many."""
        ...

    def writebacks(self, since: float, until: float) -> list[Writeback]:
        """The messages queued from `since` to `until` (both included), oldest first, done or
        not (`done` None: pending or dead): a write-back's lag runs from its queueing (with
        the result it reports) to its send. Messages of a store older than version 5 have no
        queue time and are left out."""
        ...

    def outbox_depth(self) -> int: ...
    def next_due(self) -> float | None:
        """The earliest due time of a scheduled retry or pending outbox message."""
        ...


    # -- cursors: named positions that only move forward ----------------------------------------
    def cursor_get(self, name: str) -> float | None: ...
    def cursor_advance(self, name: str, position: float, *, at: float) -> float:
        """Move the cursor to `position` unless it is already further; returns where it is."""
        ...

    # -- context cache --------------------------------------------------------------------------
    def cache_put(self, kind: str, key: str, doc: dict[str, Any], version: float) -> bool:
        """Keep `doc` unless a version at least as new is cached; True if it was kept."""
        ...

    def cache_get(self, kind: str, key: str) -> dict[str, Any] | None: ...
    def cache_find(self, kind: str, field: str, value: str) -> list[dict[str, Any]]:
        """Cached docs of a kind whose top-level `field` equals `value`."""
        ...

    # -- housekeeping ---------------------------------------------------------------------------
    def prune(self, *, before: float) -> int:
        """Drop inbox entries, finished outbox messages, cache entries and recorded decisions
        older than `before`."""
        ...

    def close(self) -> None: ...


def open_store(url: str) -> Store:
    """`sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite://` (in memory) or
    `postgresql://user@host:port/db` (SQLAlchemy's spelling)."""
    if url.startswith("sqlite:"):
        from components.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    if url.startswith(("postgresql:", "postgres:")):
        from components.store.postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError(f"store url {url!r}: use sqlite:///path/to.db or postgresql://user@host/db")
