"""Run the README's commands in order, exactly as written, as a new user would.

    python -m tests.readme_walkthrough [--skip-slow]

Every `sh` block of README.md, line by line (backslash continuations joined, comments dropped),
from the repository root with `.venv/bin` first on the PATH (what `source .venv/bin/activate`
gives). Servers (`landscape serve`, `landscape up`, the components) are started in the
background, waited for, and stopped when a later server wants their port or at the end;
everything else must exit 0 (`landscape run … --without …` and the failing load runs must exit
1: they show a protection missing or the SLA gate failing; `--web` is left to a person).
`make test` is skipped (it is what CI runs; this script is not part of it, since the commands
take several minutes: `make bench` alone about two). Exit 1 if any command failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORTS = {"stripe": 12111, "chargebee": 12112, "netsuite": 12113, "salesforce": 12114}
SLOW = ("make bench", "--processes", "make demo", "landscape load", "harness.model.validate",
        "--calibration", "landscape bench --")
INTERACTIVE = ("--web",)  # a UI a person drives: not walked
# what must fail: it shows a protection missing or a gate failing
EXPECTED_FAILURES = (re.compile(r"^landscape run .*--without"),
                     re.compile(r"^landscape load .*(--mode naive|long-brownout)"))
URL_LINE = re.compile(r"on (https?://127\.0\.0\.1:\d+)")


def commands(readme: Path) -> list[str]:
    """The README's shell commands, in order."""
    found, block, pending = [], False, ""
    for line in readme.read_text().splitlines():
        if line.startswith("```"):
            block = line.strip() == "```sh" if not block else False
            continue
        if not block:
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        try:
            tokens = shlex.split(pending, comments=True)
        except ValueError:  # a quoted argument goes on on the next line
            pending += "\n"
            continue
        pending = ""
        if tokens:
            found.append(shlex.join(tokens))
    return found


@dataclass
class Walk:
    env: dict[str, str]
    servers: dict[str, subprocess.Popen[str]] = field(default_factory=dict)  # key → process
    failures: list[str] = field(default_factory=list)

    def background(self, key: str, command: str, ready: callable) -> None:  # type: ignore[valid-type]
        self.stop(key)
        process = subprocess.Popen(command, shell=True, cwd=ROOT, env=self.env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.servers[key] = process
        ready(process)

    def stop(self, key: str) -> None:
        process = self.servers.pop(key, None)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        for key in list(self.servers):
            self.stop(key)


def wait_url(process: subprocess.Popen[str], health: str, timeout: float = 60) -> str:
    """The URL a server prints (`… on http://127.0.0.1:PORT`), once `health` answers 200."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    url = None
    seen = []
    while url is None:
        line = process.stdout.readline()
        seen.append(line)
        if (not line and process.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError("did not start:\n" + "".join(seen[-20:]))
        match = URL_LINE.search(line)
        url = match.group(1) if match else None
    wait_health(url + health, deadline)
    return url


def wait_health(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2, verify=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} never answered 200")


def run_one(walk: Walk, command: str) -> str:
    tokens = shlex.split(command)
    head = tokens[:2]
    if head == ["make", "test"]:
        return "skipped (this is what CI runs)"
    if head == ["landscape", "serve"]:
        vendor = tokens[2]
        port = tokens[tokens.index("--port") + 1] if "--port" in tokens \
            else str(DEFAULT_PORTS[vendor])
        walk.background(f"port:{port}", command, lambda p: wait_url(p, "/_sim/health"))
        return f"serving on port {port}"
    if head == ["landscape", "up"]:
        folder = tokens[tokens.index("--run-dir") + 1] if "--run-dir" in tokens else None
        name = next((t for t in tokens[2:] if not t.startswith("-") and t != folder), None)
        run_dir = Path(folder) if folder else ROOT / "landscape-run" / (
            name or "netsuite-stripe-salesforce")
        env_file = (run_dir if run_dir.is_absolute() else ROOT / run_dir) / "landscape.env"
        env_file.unlink(missing_ok=True)

        def ready(_: subprocess.Popen[str]) -> None:
            deadline = time.monotonic() + 120
            while not env_file.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{env_file} never appeared")
                time.sleep(0.3)

        walk.background(f"up:{env_file}", command, ready)
        walk.stop(f"up:{env_file}")  # SIGTERM: it must stop everything and exit 0
        return f"up, {env_file.name} written, stopped"
    if tokens[:3] in (["python", "-m", "components.recovery"],
                      ["python", "-m", "components.sync"]):
        port = tokens[tokens.index("--port") + 1]
        walk.background(f"port:{port}", command, lambda p: wait_health(
            f"http://127.0.0.1:{port}/healthz", time.monotonic() + 60))
        return f"healthy on port {port}"
    if any(flag in tokens for flag in INTERACTIVE):
        return "skipped (interactive)"
    expected = 1 if any(p.search(command) for p in EXPECTED_FAILURES) else 0
    done = subprocess.run(command, shell=True, cwd=ROOT, env=walk.env, text=True,
                          capture_output=True, timeout=900)
    if done.returncode != expected:
        raise RuntimeError(f"exit {done.returncode} (expected {expected}):\n"
                           f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
    if tokens[0] == "curl" and (not done.stdout.strip()
                                or re.search(r'"(detail|error)"\s*:', done.stdout)):
        raise RuntimeError(f"the fake refused it: {done.stdout[:500]}")
    return f"exit {done.returncode}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-slow", action="store_true",
                        help="skip make demo, make bench, --processes runs, load runs, the "
                        "model's validation and the wrk benchmarks (landscape bench --…)")
    args = parser.parse_args(argv)
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
    walk = Walk(env)
    try:
        for command in commands(ROOT / "README.md"):
            if args.skip_slow and any(s in command for s in SLOW):
                print(f"-  {command}  (skipped: --skip-slow)")
                continue
            started = time.monotonic()
            try:
                outcome = run_one(walk, command)
                print(f"ok {command}  ({outcome}, {time.monotonic() - started:.1f} s)",
                      flush=True)
            except Exception as exc:  # reported, and the walk goes on
                walk.failures.append(command)
                print(f"FAIL {command}  ({time.monotonic() - started:.1f} s): {exc}",
                      flush=True)
    finally:
        walk.stop_all()
    print(f"{len(walk.failures)} command(s) failed" if walk.failures else "every command worked")
    return 1 if walk.failures else 0


if __name__ == "__main__":
    sys.exit(main())
