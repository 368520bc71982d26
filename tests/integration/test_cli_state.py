"""`landscape serve`'s request lines and the journal/tenants/state/latency commands, as a user runs
them: a real `landscape serve stripe --port 0` process, the CLI as subprocesses."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.processes import Started, start_process, stop_process

LANDSCAPE = [sys.executable, "-m", "harness.cli"]
KEY = {"Authorization": "Bearer sk_test_state"}
LINE = re.compile(r"^\S+T\S+ (\S+) (GET|POST|DELETE) (\S+) (\S+) [\d.]+ms$")


def landscape(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LANDSCAPE, *args], capture_output=True, text=True, timeout=60)


class Fake:
    """A served fake whose stdout (after the startup line) is read into a queue of lines."""

    def __init__(self, started: Started) -> None:
        self.started, self.url = started, started.url
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stdout = self.started.process.stdout
        assert stdout is not None
        try:
            for line in stdout:
                self.lines.put(line.rstrip("\n"))
        except (OSError, ValueError):  # closed when the fake stops
            pass

    def request_lines(self, wait: float) -> list[str]:
        """The request lines printed within `wait` seconds (stops at the first one)."""
        deadline, found = time.monotonic() + wait, []
        while time.monotonic() < deadline and not found:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if LINE.match(line):
                found.append(line)
        return found


def serve(*extra: str) -> Iterator[Fake]:
    started = start_process([*LANDSCAPE, "serve", "stripe", "--port", "0", "--seed", "3", *extra])
    try:
        yield Fake(started)
    finally:
        stop_process(started)


@pytest.fixture
def fake() -> Iterator[Fake]:
    yield from serve()


def create_customer(url: str, email: str = "a@example.com") -> str:
    response = httpx.post(f"{url}/v1/customers", headers=KEY, data={"email": email})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_serve_prints_a_line_per_request(fake: Fake) -> None:
    create_customer(fake.url)
    lines = fake.request_lines(wait=10)
    assert lines, "no request line on stdout"
    tenant, method, path, status = LINE.match(lines[0]).groups()  # type: ignore[union-attr]
    assert (method, path, status) == ("POST", "/v1/customers", "200")
    assert tenant.startswith("sk_test_")


def test_quiet_prints_none_but_the_request_log_still_gets_it(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    for quiet_fake in serve("--quiet", "--request-log", str(log)):
        create_customer(quiet_fake.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "/v1/customers" not in (
                log.read_text() if log.exists() else ""):
            time.sleep(0.05)
        assert " POST /v1/customers 200 " in log.read_text()
        assert quiet_fake.request_lines(wait=0.5) == []


def test_request_log_file_and_stdout_both(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    for both in serve("--request-log", str(log)):
        create_customer(both.url)
        lines = both.request_lines(wait=10)
        assert lines and " POST /v1/customers 200 " in lines[0]
        assert " POST /v1/customers 200 " in log.read_text()


def test_journal_lists_requests_and_filters(fake: Fake) -> None:
    create_customer(fake.url)
    assert httpx.get(f"{fake.url}/v1/customers", headers=KEY).status_code == 200
    listed = landscape("journal", "--url", fake.url)
    assert listed.returncode == 0, listed.stderr
    assert "POST" in listed.stdout and "/v1/customers" in listed.stdout
    assert "200" in listed.stdout
    last = landscape("journal", "--url", fake.url, "--last", "1")
    assert "GET" in last.stdout and "POST" not in last.stdout
    none = landscape("journal", "--url", fake.url, "--path", "/v1/invoices*")
    assert none.returncode == 0 and "no requests" in none.stdout
    hooks = landscape("journal", "--webhooks", "--url", fake.url)
    assert hooks.returncode == 0, hooks.stderr
    assert "no webhook attempts" in hooks.stdout


def test_tenants_lists_the_tenant(fake: Fake) -> None:
    create_customer(fake.url)
    listed = landscape("tenants", "--url", fake.url)
    assert listed.returncode == 0, listed.stderr
    assert "sk_test_" in listed.stdout and "customer 1" in listed.stdout


def test_state_snapshot_restore_reset(fake: Fake) -> None:
    create_customer(fake.url, "kept@example.com")
    saved = landscape("state", "snapshot", "x", "--url", fake.url)
    assert saved.returncode == 0, saved.stderr
    assert "saved snapshot x" in saved.stdout
    added = create_customer(fake.url, "gone@example.com")
    assert httpx.get(f"{fake.url}/v1/customers/{added}", headers=KEY).status_code == 200
    restored = landscape("state", "restore", "x", "--url", fake.url)
    assert restored.returncode == 0, restored.stderr
    assert httpx.get(f"{fake.url}/v1/customers/{added}", headers=KEY).status_code == 404
    assert len(httpx.get(f"{fake.url}/v1/customers", headers=KEY).json()["data"]) == 1
    unknown = landscape("state", "restore", "nope", "--url", fake.url)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no snapshot named 'nope'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    reset = landscape("state", "reset", "--url", fake.url)
    assert reset.returncode == 0, reset.stderr
    assert "reset the fake" in reset.stdout
    assert httpx.get(f"{fake.url}/v1/customers", headers=KEY).json()["data"] == []


def test_latency_set_show_off(fake: Fake) -> None:
    shown = landscape("latency", "show", "--url", fake.url)
    assert shown.returncode == 0 and "no base latency" in shown.stdout
    assert landscape("latency", "set", "--ms", "30", "--url", fake.url).returncode == 0
    shown = landscape("latency", "show", "--url", fake.url)
    assert "30 ms" in shown.stdout, shown.stdout + shown.stderr
    both = landscape("latency", "set", "--ms", "30", "--min-ms", "1", "--url", fake.url)
    assert both.returncode == 2 and "choose one latency distribution" in both.stderr
    half = landscape("latency", "set", "--median-ms", "30", "--url", fake.url)
    assert half.returncode == 2 and "--p99-ms" in half.stderr
    off = landscape("latency", "set", "--off", "--url", fake.url)
    assert off.returncode == 0 and "removed" in off.stdout
    assert "no base latency" in landscape("latency", "show", "--url", fake.url).stdout


def test_no_fake_is_one_line() -> None:
    result = landscape("tenants", "--url", "http://127.0.0.1:9")
    assert result.returncode == 2 and "landscape serve" in result.stderr
    assert "Traceback" not in result.stderr
