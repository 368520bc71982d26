"""The embedded store: one SQLite file in WAL mode, safe to share between processes on one host
(readers never block, writers take turns through BEGIN IMMEDIATE and a busy timeout)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from components.store.sql import SQLStore
from components.store.tables import SQLITE, StoreError

BUSY_TIMEOUT_MS = 5000
_MEMORY_URLS = ("sqlite://", "sqlite://:memory:", "sqlite:///:memory:")
_FILE_PREFIX = "sqlite:///"


class SQLiteStore(SQLStore):
    dialect = SQLITE

    def __init__(self, path: str, *, schema: bool = True) -> None:
        super().__init__()
        self.path = path
        try:
            # isolation_level=None: no implicit transactions, ours are explicit
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                         timeout=BUSY_TIMEOUT_MS / 1000)
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints in WAL
            if schema:  # a copy gets its schema with its contents
                self._create_schema(repr(path))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store {path!r}: {exc}; check that the "
                             "directory exists and is writable, and that the file is an SQLite "
                             "database (url: sqlite:///relative.db or sqlite:////abs.db)") from exc

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """SQLAlchemy's spelling: sqlite:///relative.db, sqlite:////absolute.db, sqlite://."""
        if url in _MEMORY_URLS:
            return cls(":memory:")
        if url.startswith(_FILE_PREFIX) and len(url) > len(_FILE_PREFIX):
            return cls(url[len(_FILE_PREFIX):])
        raise StoreError(f"store url {url!r} is not an SQLite url: use sqlite:///relative.db, "
                         "sqlite:////absolute/path.db or sqlite:// (in memory)")

    @contextmanager
    def _begin(self, write: bool) -> Iterator[sqlite3.Cursor]:
        cursor = self._conn.cursor()
        # IMMEDIATE takes the write lock up front, so a read-then-write never fails midway
        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield cursor
        except BaseException:
            if self._conn.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        else:
            cursor.execute("COMMIT")
        finally:
            cursor.close()

    def copy(self) -> SQLiteStore:
        """An in-memory copy of this store's contents (many runs can start from one state)."""
        clone = SQLiteStore(":memory:", schema=False)
        self._conn.backup(clone._conn)
        return clone

    def close(self) -> None:
        self._conn.close()
