"""The shared store for several engine replicas: PostgreSQL through psycopg 3 (one connection,
autocommit off, one transaction per call). Races between replicas are settled by the database:
ON CONFLICT on the unique keys, row locks on upserts, SKIP LOCKED on outbox claims."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from components.store.sql import SQLStore
from components.store.tables import POSTGRES, StoreError, mask_url

CONNECT_TIMEOUT_S = 5


class PostgresStore(SQLStore):
    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = mask_url(url)  # never log the password
        try:
            self._conn = psycopg.connect(url, autocommit=False, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            fix = ("write the url as postgresql://user:password@host:5432/dbname"
                   if isinstance(exc, psycopg.ProgrammingError) else
                   "check that the server is running and reachable at that host and port, "
                   "and the user, password and database name in the url")
            raise StoreError(f"cannot connect to the PostgreSQL store {self.url}: {reason}; "
                             f"{fix}") from exc
        self._create_schema(self.url)

    @contextmanager
    def _begin(self, write: bool) -> Iterator[psycopg.Cursor[tuple[object, ...]]]:
        # with autocommit off, transaction() begins, and commits or rolls back on exit
        with self._conn.transaction(), self._conn.cursor() as cursor:
            yield cursor

    def close(self) -> None:
        self._conn.close()
