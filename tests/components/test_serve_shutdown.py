"""A component stopped while a request is still running (components/serve.py): uvicorn cancels the
request once its graceful shutdown (2 s) is over, and the log gets one warning line for it, not
an "Exception in ASGI application" traceback; the client gets a 503 it can retry.

The server is the components' own `serve()` in a process of its own, stopped by SIGTERM, with
a small app whose one endpoint never answers. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import Message, Receive, Scope, Send

from components.serve import _ShutdownGuard

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "scenarios" / "components" / "acme.yaml"  # read, not used: the app is below
SERVER = """
import argparse, asyncio, sys
from pathlib import Path
from starlette.applications import Starlette
from starlette.routing import Route
from components.observability import configure_logging
from components.serve import serve

async def hang(request):
    print("hanging", flush=True)
    await asyncio.Event().wait()  # never answers, as a vendor read that never returns

configure_logging("info")
args = argparse.Namespace(config=Path(sys.argv[1]), host="127.0.0.1", port=0, log_level="info")
serve("test service", args, lambda settings: Starlette(routes=[Route("/hang", hang,
                                                                     methods=["POST"])]))
"""
WAIT_S = 10.0


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        content = path.read_text()
        if text in content:
            return content
        if process.poll() is not None:
            pytest.fail(f"the server exited ({process.returncode}): {content}")
        time.sleep(0.02)
    pytest.fail(f"no {text!r} within {WAIT_S} s: {path.read_text()}")


def test_sigterm_during_a_request_logs_a_warning_not_a_traceback(tmp_path: Path) -> None:
    out, err = tmp_path / "server.out", tmp_path / "server.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(SETTINGS)], cwd=tmp_path, stdout=stdout,
            stderr=stderr, env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    answers: list[httpx.Response | httpx.HTTPError] = []
    caller: threading.Thread | None = None
    try:
        banner = _wait_for(out, "(Ctrl-C stops)", process)
        url = banner.split(" on ", 1)[1].split()[0]

        def call() -> None:
            try:
                answers.append(httpx.post(f"{url}/hang", json={}, timeout=WAIT_S))
            except httpx.HTTPError as exc:
                answers.append(exc)

        caller = threading.Thread(target=call, daemon=True)
        caller.start()
        _wait_for(out, "hanging", process)  # the request is inside the endpoint
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(WAIT_S)
        took = time.monotonic() - stopped
        caller.join(WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT_S)
    logged = err.read_text()
    assert "Exception in ASGI application" not in logged, logged
    assert "Traceback" not in logged and "CancelledError" not in logged, logged
    assert code == 0, logged
    assert took < 2 + 3, f"stopped in {took:.1f} s"  # the 2 s grace period, then out
    warnings = [json.loads(line) for line in logged.splitlines()
                if line.startswith("{") and '"components.serve"' in line]
    assert [(w["level"], w["method"], w["path"]) for w in warnings] == [
        ("warning", "POST", "/hang")], logged
    assert len(answers) == 1, answers
    answer = answers[0]
    assert isinstance(answer, httpx.Response), f"{answer!r}\n{logged}"
    assert answer.status_code == 503 and answer.json() == {"error": "shutting down"}


def _scope() -> Scope:
    return {"type": "http", "method": "GET", "path": "/x", "headers": []}


async def _receive() -> Message:
    return {"type": "http.disconnect"}


async def _cancelled(scope: Scope, receive: Receive, send: Send) -> None:
    raise asyncio.CancelledError


def test_a_cancellation_outside_shutdown_goes_on_unchanged() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    guard = _ShutdownGuard(_cancelled)
    guard.server = uvicorn.Server(uvicorn.Config(_cancelled, log_config=None))
    with pytest.raises(asyncio.CancelledError):  # not stopping: not the guard's business
        asyncio.run(guard(_scope(), _receive, send))
    assert sent == []
    guard.server.should_exit = True
    asyncio.run(guard(_scope(), _receive, send))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 503
