"""SIGTERM while requests hang (a `hang` fault): the fake exits after its grace period with one
line per interrupted request, not a CancelledError traceback each (simulators/core/server.py)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import httpx

from harness.processes import start_process, stop_process
from simulators.client import ControlClient

HUNG = 2


def test_sigterm_with_hung_requests_exits_without_tracebacks() -> None:
    started = start_process([sys.executable, "-m", "harness.cli", "serve", "stripe",
                             "--port", "0"])
    answers: list[object] = []

    def call() -> None:
        try:
            answers.append(httpx.post(f"{started.url}/v1/customers", timeout=30,
                                      headers={"authorization": "Bearer sk_test_shutdown"}))
        except httpx.HTTPError as exc:
            answers.append(exc)

    try:
        with ControlClient(started.url) as fake:
            fake.faults.add({"kind": "hang", "seconds": 600, "match": {"path": "/v1/customers"}})
            callers = [threading.Thread(target=call) for _ in range(HUNG)]
            for caller in callers:
                caller.start()
            deadline = time.monotonic() + 10
            while fake.faults.list()[0].hits < HUNG:  # both are inside the hang
                assert time.monotonic() < deadline, "the requests never reached the hang"
                time.sleep(0.05)
        # uvicorn waits 2 s for them, then cancels them
        os.killpg(started.process.pid, signal.SIGTERM)
        output, _ = started.process.communicate(timeout=20)
    finally:
        stop_process(started)  # only if it is still running
    for caller in callers:
        caller.join(10)
    assert "Traceback" not in output and "CancelledError" not in output, output
    assert output.count("shutdown interrupted POST /v1/customers") == HUNG, output
    statuses = [a.status_code for a in answers if isinstance(a, httpx.Response)]
    assert len(answers) == HUNG and set(statuses) <= {503}, answers
