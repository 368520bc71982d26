"""Start a fake (or any server) as a real process, wait for its health, stop it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass

import httpx

URL_LINE = re.compile(r"on (https?://127\.0\.0\.1:\d+)")


@dataclass
class Started:
    process: subprocess.Popen
    url: str


def start_process(command: list[str], timeout: float = 30.0, *,
                  verify: str | bool = True) -> Started:
    """Run `command` (which prints `… on http://127.0.0.1:PORT` first) until /_sim/health."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, env={**os.environ,
                                                                       "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    url = None
    lines = []
    while url is None:
        line = process.stdout.readline()
        lines.append(line)
        if not line and process.poll() is not None or time.monotonic() > deadline:
            stop_process(Started(process, ""))
            raise RuntimeError(f"{' '.join(command)} did not start:\n{''.join(lines)}")
        match = URL_LINE.search(line)
        url = match.group(1) if match else None
    while time.monotonic() < deadline:
        try:
            token = os.environ.get("LANDSCAPE_CONTROL_TOKEN")  # a fake that requires one
            headers = {"X-Landscape-Control-Token": token} if token else {}
            if httpx.get(f"{url}/_sim/health", timeout=2, verify=verify,
                         headers=headers).status_code == 200:
                return Started(process, url)
        except httpx.HTTPError:
            time.sleep(0.05)
    stop_process(Started(process, url))
    raise RuntimeError(f"{url} never became healthy")


def stop_process(started: Started, timeout: float = 10.0) -> None:
    """SIGTERM the process group (uvicorn shuts down cleanly), SIGKILL if it lingers."""
    process = started.process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.stdout:
        process.stdout.close()
