"""The Store protocol in the SQL that SQLite and PostgreSQL share; a backend only supplies the
connection and its transactions (`_begin`). Every method is one short transaction.

Outbox lease: `due_messages` claims the due rows and, in the same transaction, moves their
next_attempt_at forward by LEASE_SECONDS, so another relay asking at the same time (another
replica, another process) does not see them; the claiming relay then calls mark_done,
mark_retry or mark_dead. A relay that dies mid-send loses its claim when the lease runs out,
and the message is sent again (at least once; receivers dedupe). On PostgreSQL the claim is
`FOR UPDATE SKIP LOCKED`, so concurrent relays never wait on each other; on SQLite
`BEGIN IMMEDIATE` serialises the claims.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any, Protocol

from components.domain import Attempt, AttemptStatus, DecisionRecord, OutboxMessage, Writeback
from components.store import Admission
from components.store.tables import (
    ATTEMPT_COLUMNS,
    DECISION_COLUMNS,
    INBOX_LEASE_SECONDS,
    LEASE_SECONDS,
    MESSAGE_COLUMNS,
    SCHEMA_VERSION,
    Dialect,
    StoreError,
    attempt_from_row,
    attempt_row,
    ddl,
    decision_from_row,
    dump_json,
    load_json,
    message_from_row,
    message_row,
    migration,
    writeback_from_row,
)

_ATTEMPTS = ", ".join(ATTEMPT_COLUMNS)
_MESSAGES = ", ".join(MESSAGE_COLUMNS)
_DECISIONS = ", ".join(DECISION_COLUMNS)
_NOT_PAID = (AttemptStatus.DECLINED.value, AttemptStatus.UNKNOWN.value)


class Cursor(Protocol):
    """What the SQL here needs of a sqlite3 or psycopg cursor."""

    @property
    def rowcount(self) -> int: ...
    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class _Tx:
    """One transaction's cursor, taking statements written with `?` placeholders."""

    def __init__(self, cursor: Cursor, dialect: Dialect) -> None:
        self._cursor, self._dialect = cursor, dialect

    def run(self, sql: str, *params: Any) -> Cursor:
        self._cursor.execute(self._dialect.sql(sql), params)
        return self._cursor


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class SQLStore:
    dialect: Dialect

    def __init__(self) -> None:
        self._lock = threading.RLock()  # one connection: threads take turns

    def _begin(self, write: bool) -> AbstractContextManager[Cursor]:
        raise NotImplementedError

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[_Tx]:
        with self._lock, self._begin(write) as cursor:
            yield _Tx(cursor, self.dialect)

    def _create_schema(self, where: str) -> None:
        with self._tx() as tx:
            if self.dialect.schema_lock:
                tx.run(self.dialect.schema_lock)
            for statement in ddl(self.dialect):
                tx.run(statement)
            (found,) = tx.run("SELECT MAX(version) FROM schema_version").fetchone()
            if found is None:  # a new store: its tables are the current version's
                found = SCHEMA_VERSION
            # an older store is upgraded in place, one version at a time, in this transaction
            # (on PostgreSQL under the schema lock, so replicas starting together take turns)
            for version in range(found, SCHEMA_VERSION):
                for statement in migration(self.dialect, version):
                    tx.run(statement)
            for version in range(found, SCHEMA_VERSION + 1):
                tx.run("INSERT INTO schema_version (version) VALUES (?) ON CONFLICT DO NOTHING",
                       version)
        if found > SCHEMA_VERSION:
            raise StoreError(f"store {where} has schema version {found}, this code knows "
                             f"{SCHEMA_VERSION}: upgrade the components or use another store")

    # -- inbox ----------------------------------------------------------------------------------
    def admit_event(self, source: str, event_id: str, object_key: str,
                    occurred_at: float, received_at: float) -> Admission:
        with self._tx() as tx:
            # A concurrent insert of the same key waits for the first one's commit, then skips.
            first = tx.run("INSERT INTO inbox (source, event_id, object_key, occurred_at, "
                           "received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                           source, event_id, object_key, occurred_at, received_at).fetchone()
            if first is None:
                # seen before: a duplicate, unless its handler died before deciding it (then
                # this delivery takes it over, once the lease of the one before has run out)
                taken = tx.run(
                    "UPDATE inbox SET received_at = ? WHERE source = ? AND event_id = ? AND "
                    "received_at < ? AND NOT EXISTS (SELECT 1 FROM inbox_decided d WHERE "
                    "d.source = inbox.source AND d.event_id = inbox.event_id) RETURNING 1",
                    received_at, source, event_id, received_at - INBOX_LEASE_SECONDS).fetchone()
                if taken is None:
                    return Admission.DUPLICATE
            # The upsert locks the object's row, so admissions about one object take turns.
            (newest,) = tx.run(
                "INSERT INTO inbox_objects (source, object_key, occurred_at, received_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (source, object_key) DO UPDATE SET "
                "received_at = excluded.received_at, occurred_at = CASE WHEN "
                "excluded.occurred_at > inbox_objects.occurred_at THEN excluded.occurred_at "
                "ELSE inbox_objects.occurred_at END RETURNING occurred_at",
                source, object_key, occurred_at, received_at).fetchone()
        return Admission.STALE if newest > occurred_at else Admission.NEW

    def event_decided(self, source: str, event_id: str, at: float) -> None:
        with self._tx() as tx:
            tx.run("INSERT INTO inbox_decided (source, event_id, decided_at) VALUES (?, ?, ?) "
                   "ON CONFLICT DO NOTHING", source, event_id, at)

    # -- attempts ledger ------------------------------------------------------------------------
    def reserve_attempt(self, attempt: Attempt) -> bool:
        with self._tx() as tx:
            return tx.run(f"INSERT INTO attempts ({_ATTEMPTS}) VALUES "
                          f"({_marks(len(ATTEMPT_COLUMNS))}) ON CONFLICT DO NOTHING RETURNING 1",
                          *attempt_row(attempt)).fetchone() is not None

    def finish_attempt(self, idempotency_key: str, status: AttemptStatus, *, at: float,
                       charge_id: str | None = None, decline_code: str | None = None,
                       outbox: tuple[OutboxMessage, ...] = ()) -> None:
        with self._tx() as tx:
            # a charge id once known is kept (an unknown outcome resolved later may lack it)
            found = tx.run("UPDATE attempts SET status = ?, charge_id = COALESCE(?, charge_id), "
                           "decline_code = ?, updated_at = ? WHERE idempotency_key = ?",
                           status.value, charge_id, decline_code, at, idempotency_key).rowcount
            if not found:
                raise LookupError(f"no attempt with idempotency key {idempotency_key!r}")
            self._enqueue(tx, outbox, at)

    def attempts(self, invoice_key: str) -> list[Attempt]:
        with self._tx(write=False) as tx:
            rows = tx.run(f"SELECT {_ATTEMPTS} FROM attempts WHERE invoice_key = ? "
                          "ORDER BY attempt_no", invoice_key).fetchall()
        return [attempt_from_row(row) for row in rows]

    def card_attempts_since(self, card_fingerprint: str, since: float) -> int:
        with self._tx(write=False) as tx:
            (count,) = tx.run("SELECT COUNT(*) FROM attempts WHERE card_fingerprint = ? AND "
                              "created_at >= ? AND status IN (?, ?)",
                              card_fingerprint, since, *_NOT_PAID).fetchone()
        return int(count)

    def unresolved_attempts(self) -> list[Attempt]:
        with self._tx(write=False) as tx:
            rows = tx.run(f"SELECT {_ATTEMPTS} FROM attempts WHERE status = ? "
                          "ORDER BY created_at", AttemptStatus.UNKNOWN.value).fetchall()
        return [attempt_from_row(row) for row in rows]

    # -- the decision log -----------------------------------------------------------------------
    def record_decision(self, record: DecisionRecord) -> None:
        with self._tx() as tx:
            tx.run(f"INSERT INTO decisions ({_DECISIONS}) VALUES "
                   f"({_marks(len(DECISION_COLUMNS))})",
                   *(getattr(record, c) for c in DECISION_COLUMNS))

    def decisions(self, invoice_key: str) -> list[DecisionRecord]:
        with self._tx(write=False) as tx:
            rows = tx.run(f"SELECT {_DECISIONS} FROM decisions WHERE invoice_key = ? "
                          "ORDER BY id", invoice_key).fetchall()
        return [decision_from_row(row) for row in rows]

    # -- scheduled retries ----------------------------------------------------------------------
    def schedule_retry(self, invoice_key: str, due_at: float, decline: dict[str, Any]) -> None:
        with self._tx() as tx:
            tx.run("INSERT INTO retries (invoice_key, due_at, decline) VALUES (?, ?, ?) "
                   "ON CONFLICT (invoice_key) DO UPDATE SET due_at = excluded.due_at, "
                   "decline = excluded.decline", invoice_key, due_at, dump_json(decline))

    def due_retries(self, now: float, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """Claim due retries for LEASE_SECONDS, as due_messages claims the outbox."""
        with self._tx() as tx:
            rows = tx.run("SELECT invoice_key, decline FROM retries WHERE due_at <= ? "
                          "ORDER BY due_at, invoice_key LIMIT ?" + self.dialect.claim,
                          now, limit).fetchall()
            if rows:
                tx.run(f"UPDATE retries SET due_at = ? WHERE invoice_key IN "
                       f"({_marks(len(rows))})", now + LEASE_SECONDS, *(r[0] for r in rows))
        return [(row[0], load_json(row[1])) for row in rows]

    def cancel_retry(self, invoice_key: str) -> None:
        with self._tx() as tx:
            tx.run("DELETE FROM retries WHERE invoice_key = ?", invoice_key)

    def scheduled_retries(self) -> list[tuple[str, float]]:
        with self._tx(write=False) as tx:
            rows = tx.run("SELECT invoice_key, due_at FROM retries ORDER BY due_at").fetchall()
        return [(row[0], float(row[1])) for row in rows]

    # -- outbox and dead letters ----------------------------------------------------------------
    def enqueue(self, messages: list[OutboxMessage], *, at: float) -> int:
        with self._tx() as tx:
            return self._enqueue(tx, messages, at)

    @staticmethod
    def _enqueue(tx: _Tx, messages: tuple[OutboxMessage, ...] | list[OutboxMessage],
                 at: float) -> int:
        added = 0
        for message in messages:
            added += tx.run(
                "INSERT INTO outbox (destination, kind, dedupe_key, payload, correlation_id, "
                "attempts, next_attempt_at, last_error, status, created_at) VALUES "
                f"({_marks(10)}) ON CONFLICT (dedupe_key) DO NOTHING RETURNING 1",
                *message_row(message, at)).fetchone() is not None
        return added

    def due_messages(self, now: float, limit: int,
                     skip: Collection[str] = ()) -> list[OutboxMessage]:
        """Claim up to `limit` due messages for LEASE_SECONDS (see the module docstring)."""
        lease_until = now + LEASE_SECONDS
        skipped = sorted(skip)
        others = f"AND destination NOT IN ({_marks(len(skipped))}) " if skipped else ""
        with self._tx() as tx:
            rows = tx.run(f"SELECT {_MESSAGES} FROM outbox WHERE status = 'pending' AND "
                          f"next_attempt_at <= ? {others}ORDER BY next_attempt_at, id LIMIT ?"
                          + self.dialect.claim, now, *skipped, limit).fetchall()
            if rows:
                tx.run(f"UPDATE outbox SET next_attempt_at = ? WHERE id IN ({_marks(len(rows))})",
                       lease_until, *(row[0] for row in rows))
        return [replace(message_from_row(row), next_attempt_at=lease_until) for row in rows]

    def mark_done(self, message_id: int, *, at: float) -> None:
        with self._tx() as tx:
            tx.run("UPDATE outbox SET status = 'done', updated_at = ? WHERE id = ?",
                   at, message_id)

    def mark_retry(self, message_id: int, *, next_attempt_at: float, error: str,
                   failing_since: float | None = None) -> None:
        with self._tx() as tx:
            # failing_since is kept from the first failure of a run (a replay clears it)
            tx.run("UPDATE outbox SET status = 'pending', attempts = attempts + 1, "
                   "next_attempt_at = ?, last_error = ?, "
                   "failing_since = COALESCE(failing_since, ?) WHERE id = ?",
                   next_attempt_at, error, failing_since, message_id)

    def defer(self, message_id: int, *, until: float) -> None:
        with self._tx() as tx:
            tx.run("UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                   until, message_id)

    def earlier_pending(self, destination: str, invoice_key: str,
                        before_id: int) -> float | None:
        with self._tx(write=False) as tx:
            # `->>` reads a top-level field in both SQLite (3.38+) and PostgreSQL
            (due,) = tx.run("SELECT MAX(next_attempt_at) FROM outbox WHERE status = 'pending' "
                            "AND destination = ? AND id < ? "
                            "AND CAST(payload ->> 'invoice_key' AS TEXT) = ?",
                            destination, before_id, invoice_key).fetchone()
        return None if due is None else float(due)

    def mark_dead(self, message_id: int, *, error: str) -> None:
        with self._tx() as tx:
            tx.run("UPDATE outbox SET status = 'dead', last_error = ? WHERE id = ?",
                   error, message_id)

    def dead_letters(self) -> list[OutboxMessage]:
        with self._tx(write=False) as tx:
            rows = tx.run(f"SELECT {_MESSAGES} FROM outbox WHERE status = 'dead' "
                          "ORDER BY id").fetchall()
        return [message_from_row(row) for row in rows]

    def replay_dead(self, message_ids: list[int] | None = None, *, now: float) -> int:
        if message_ids is not None and not message_ids:
            return 0
        only = "" if message_ids is None else f" AND id IN ({_marks(len(message_ids))})"
        with self._tx() as tx:
            return tx.run("UPDATE outbox SET status = 'pending', attempts = 0, "
                          "failing_since = NULL, "
                          f"next_attempt_at = ? WHERE status = 'dead'{only}",
                          now, *(message_ids or ())).rowcount

    def next_due(self) -> float | None:
        """When the next scheduled retry or pending outbox message falls due (None: nothing
        waits): a loop on virtual time sleeps until then instead of polling."""
        with self._tx(write=False) as tx:
            (retry,) = tx.run("SELECT MIN(due_at) FROM retries").fetchone()
            (message,) = tx.run("SELECT MIN(next_attempt_at) FROM outbox "
                                "WHERE status = 'pending'").fetchone()
        due = [float(t) for t in (retry, message) if t is not None]
        return min(due) if due else None

    def writebacks(self, since: float, until: float) -> list[Writeback]:
        with self._tx(write=False) as tx:
            # only mark_done sets updated_at; the CASE keeps a pending message's done unknown
            rows = tx.run("SELECT destination, kind, created_at, CASE WHEN status = 'done' "
                          "THEN updated_at END, attempts, status FROM outbox "
                          "WHERE created_at >= ? AND created_at <= ? ORDER BY created_at, id",
                          since, until).fetchall()
        return [writeback_from_row(row) for row in rows]

    def outbox_depth(self) -> int:
        with self._tx(write=False) as tx:
            (count,) = tx.run("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()
        return int(count)

    # -- cursors --------------------------------------------------------------------------------
    def cursor_get(self, name: str) -> float | None:
        with self._tx(write=False) as tx:
            row = tx.run("SELECT position FROM cursors WHERE name = ?", name).fetchone()
        return None if row is None else float(row[0])

    def cursor_advance(self, name: str, position: float, *, at: float) -> float:
        with self._tx() as tx:
            (kept,) = tx.run(
                "INSERT INTO cursors (name, position, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at, "
                "position = CASE WHEN excluded.position > cursors.position "
                "THEN excluded.position ELSE cursors.position END RETURNING position",
                name, position, at).fetchone()
        return float(kept)

    # -- context cache --------------------------------------------------------------------------
    def cache_put(self, kind: str, key: str, doc: dict[str, Any], version: float) -> bool:
        with self._tx() as tx:
            # equal versions rewrite (idempotent); an older version never replaces a newer one
            return tx.run("INSERT INTO cache (kind, key, doc, version) VALUES (?, ?, ?, ?) "
                          "ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc, "
                          "version = excluded.version WHERE cache.version <= excluded.version "
                          "RETURNING 1", kind, key, dump_json(doc), version).fetchone() is not None

    def cache_get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._tx(write=False) as tx:
            row = tx.run("SELECT doc FROM cache WHERE kind = ? AND key = ?", kind, key).fetchone()
        return None if row is None else load_json(row[0])

    def cache_find(self, kind: str, field: str, value: str) -> list[dict[str, Any]]:
        """Meant for string fields (ids, emails): a JSON boolean reads as 1/0 in SQLite but
        true/false in PostgreSQL."""
        with self._tx(write=False) as tx:
            # `->>` reads a top-level field in both SQLite (3.38+) and PostgreSQL
            rows = tx.run("SELECT doc FROM cache WHERE kind = ? AND CAST(doc ->> ? AS TEXT) = ? "
                          "ORDER BY key", kind, field, value).fetchall()
        return [load_json(row[0]) for row in rows]

    # -- housekeeping ---------------------------------------------------------------------------
    def prune(self, *, before: float) -> int:
        """Retention: see components.store.tables; run it on a schedule."""
        with self._tx() as tx:
            return sum(tx.run(statement, before).rowcount for statement in (
                "DELETE FROM inbox WHERE received_at < ?",
                "DELETE FROM inbox_objects WHERE received_at < ?",
                "DELETE FROM inbox_decided WHERE decided_at < ?",
                "DELETE FROM outbox WHERE status = 'done' AND updated_at < ?",
                "DELETE FROM cache WHERE version < ?",
                "DELETE FROM decisions WHERE at < ?",
            ))
