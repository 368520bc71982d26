"""Serving a component's app with uvicorn on a loopback port: what `python -m components.recovery`
and `python -m components.sync` share.

A problem the user can fix (a bad settings file, a busy port, an unreachable store) ends the
process with one line on stderr, never a traceback: exit code 2 for the configuration, 1 for the
rest. SIGINT and SIGTERM shut the server down cleanly (the app's lifespan closes the store and
the connectors) and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from components.mapping import MappingError
from components.observability import log
from components.settings import ComponentSettings, SettingsError, load_settings
from components.store import StoreError
from components.store.tables import mask_url

EXIT_CONFIG = 2   # the settings (or the command line) need fixing; argparse uses 2 too
EXIT_RUNTIME = 1  # the environment: a busy port, an unreachable store
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
GRACEFUL_SHUTDOWN_S = 2  # then connections still open (keep-alives, slow vendors) are closed
SHUTTING_DOWN = b'{"error": "shutting down"}'
LOG = logging.getLogger("components.serve")


def fail(message: str, code: int = EXIT_RUNTIME) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True,
                        help="the components settings file (YAML), e.g. "
                             "scenarios/components/acme.yaml")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                        help="JSON log lines on stderr from this level up (default: info)")


def add_serve_arguments(parser: argparse.ArgumentParser, default_port: int) -> None:
    add_common_arguments(parser)
    parser.add_argument("--port", type=int, default=default_port,
                        help=f"port to listen on (default {default_port}; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address to listen on (default 127.0.0.1)")


def settings_or_exit(path: Path) -> ComponentSettings:
    try:
        return load_settings(path)
    except SettingsError as exc:
        fail(str(exc), EXIT_CONFIG)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on a loopback address; port 0 picks a free one."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        fail(f"--host {host!r} is not a loopback address: the components listen on 127.0.0.1 "
             "(or ::1/localhost) only", EXIT_CONFIG)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR: a restart need not wait out TIME_WAIT; a live listener still refuses
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, OverflowError) as exc:
        sock.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        fail(f"cannot listen on {host}:{port}: {reason}; stop what is using it or pick another "
             "--port (0 picks a free one)")
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the signal once shut down, so SIGTERM would end the process as
        # killed (-15) and SIGINT with a KeyboardInterrupt traceback; a clean stop exits 0
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


class _ShutdownGuard:
    """Requests still running when the graceful shutdown is over (a vendor read that has not
    returned) are cancelled by uvicorn, which logs each CancelledError as "Exception in ASGI
    application" with its traceback: read as a crash, though it is the server's own stop. Such
    a request gets one warning line instead, and a 503 (retryable) if its answer had not begun;
    if it had, the connection is closed as it would have been. A CancelledError while the
    server is not stopping is not the shutdown's and goes on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.server: uvicorn.Server | None = None  # set once the server exists

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except asyncio.CancelledError:
            if self.server is None or not self.server.should_exit:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the request ends here; nothing else waits on it
            log(LOG, "request cut short by shutdown", logging.WARNING, method=scope["method"],
                path=scope["path"], grace_s=GRACEFUL_SHUTDOWN_S,
                answer="already begun" if started else "503")
            if not started:
                await send({"type": "http.response.start", "status": 503, "headers": [
                    (b"content-type", b"application/json"), (b"connection", b"close"),
                    (b"content-length", str(len(SHUTTING_DOWN)).encode())]})
                await send({"type": "http.response.body", "body": SHUTTING_DOWN})


def serve(title: str, args: argparse.Namespace,
          build: Callable[[ComponentSettings], ASGIApp],
          details: Callable[[ComponentSettings], dict[str, str]] | None = None) -> None:
    """Load the settings, bind the port, build the app (which opens the store), print one
    banner line on stdout, then serve until SIGINT/SIGTERM."""
    settings = settings_or_exit(args.config)
    sock = bind(args.host, args.port)  # before the store: a busy port leaves no files behind
    try:
        app = build(settings)
    except SettingsError as exc:
        fail(str(exc), EXIT_CONFIG)
    except MappingError as exc:
        fail(f"{args.config}: mapping: {exc}", EXIT_CONFIG)
    except StoreError as exc:
        fail(f"{args.config}: store: {exc}")
    shown = {"merchant": settings.merchant, "billing": settings.billing,
             **(details(settings) if details else {}), "store": mask_url(settings.store)}
    print(f"{title} on {url_of(sock)}  " + "  ".join(f"{k} {v}" for k, v in shown.items())
          + "  (Ctrl-C stops)", flush=True)
    # uvicorn's own lines stay at warning unless debugging: the components log JSON lines
    level = args.log_level if args.log_level in ("debug", "error", "critical") else "warning"
    guard = _ShutdownGuard(app)
    config = uvicorn.Config(guard, lifespan="on", log_level=level, access_log=False,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    guard.server = server = _Server(config)
    server.run(sockets=[sock])
