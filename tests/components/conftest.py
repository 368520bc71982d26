"""A throwaway PostgreSQL cluster on loopback, for tests of the PostgreSQL store.

`postgres_url` (session) starts one cluster; `fresh_postgres_url` gives each test its own empty
database on it. Missing PostgreSQL binaries fail the tests that need them (never a silent skip).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

_INSTALL = ("PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH, in "
            "/usr/local/bin or /usr/lib/postgresql/*/bin: install them (Debian/Ubuntu: "
            "`apt-get install postgresql`, macOS: `brew install postgresql@15`) or put their bin "
            "directory on PATH")


def _pg_bin(name: str) -> str:
    for found in (shutil.which(name), f"/usr/local/bin/{name}",
                  *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)):
        if found and os.access(found, os.X_OK):
            return found
    pytest.fail(_INSTALL, pytrace=False)


def _run_as() -> list[str]:
    """initdb and postgres refuse to run as root: drop to the `postgres` user when root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("the tests run as root and PostgreSQL refuses root: create a `postgres` "
                    "user (`useradd -r postgres`) or run the tests as a normal user",
                    pytrace=False)
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check(command: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        detail = log.read_text() if log and log.exists() else ""
        pytest.fail(f"{what} failed ({done.returncode}): {done.stderr or done.stdout}{detail}",
                    pytrace=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A superuser URL (trust auth) to the `postgres` database of a fresh loopback cluster."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    as_user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="store-pg-"))  # not under pytest's 0700 root-only tmp
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    data, log, port = root / "data", root / "server.log", _free_port()
    _check([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8"], "initdb")
    options = (f"-k {root} -h 127.0.0.1 -p {port} -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off")
    _check([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
           "pg_ctl start", log)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> str:
    """A URL to a new, empty database on the session's cluster (CREATE DATABASE t_<n>)."""
    name = f"t_{next(_numbers)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"
