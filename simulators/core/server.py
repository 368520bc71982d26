"""Serving a fake over loopback HTTP(S) with uvicorn: in the foreground (the CLI) or in a
background thread (tests, benchmarks). Only loopback addresses are allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.core import heap
from simulators.core.one_write import OneWriteHttpTools
from simulators.core.tls import ServerCertificate

log = logging.getLogger("landscape.server")
SHUTTING_DOWN = (b'{"error": "the fake is shutting down", '
                 b'"fix": "retry once it (or another fake) is running"}')


class NotLoopback(ValueError):
    pass


def check_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopback(f"--host {host!r} is not a loopback address; fakes only listen on "
                          "127.0.0.1 (or ::1/localhost) so nothing leaves this machine")


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket; port 0 picks a free one (read it back with getsockname)."""
    check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class QuietShutdown:
    """uvicorn cancels the requests still running when its graceful shutdown times out (a `hang`
    fault, a slow body) and logs each one's CancelledError traceback. This logs one line per
    request instead and answers 503, or closes the connection if the answer had begun."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # `send` is passed on as it is: the pipeline reaches the connection through it
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            if scope["type"] != "http":
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the request ends here; nothing else waits on it
            log.warning("shutdown interrupted %s %s", scope["method"], scope["path"])
            await _end(send)


async def _end(send: Send) -> None:
    cycle = getattr(send, "__self__", None)  # uvicorn's request/response cycle
    if not getattr(cycle, "response_started", False):
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"connection", b"close"),
            (b"content-length", str(len(SHUTTING_DOWN)).encode())]})
        await send({"type": "http.response.body", "body": SHUTTING_DOWN})
        return
    # part of the answer was sent: close the connection (as the pipeline's drop does)
    transport = getattr(cycle, "transport", None)
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0.01)  # let uvicorn see the disconnect before we return


def _config(app: ASGIApp, tls: ServerCertificate | None, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        QuietShutdown(app), http=OneWriteHttpTools, lifespan="on", log_level=log_level,
        access_log=False,
        proxy_headers=False,  # on loopback, never behind a proxy: the peer is the client
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,  # then close connections still open (hangs, keep-alives)
        ssl_certfile=str(tls.cert_file) if tls else None,
        ssl_keyfile=str(tls.key_file) if tls else None)


def url_of(sock: socket.socket, tls: ServerCertificate | None) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{host}:{port}"


class _FakeServer(uvicorn.Server):
    """uvicorn's server, which once started watches the process's heap (core/heap.py)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        heap.watch()


def serve_forever(app: ASGIApp, sock: socket.socket, tls: ServerCertificate | None = None,
                  log_level: str = "warning") -> None:
    """Serve until Ctrl-C/SIGTERM (uvicorn handles both and shuts down cleanly). The process is
    the fake's own: reference counting frees its objects, with a full collection as a safety
    net when its heap has doubled (core/heap.py)."""
    heap.install()
    _FakeServer(_config(app, tls, log_level)).run(sockets=[sock])


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0,
                    tls: ServerCertificate | None = None,
                    log_level: str = "warning") -> RunningServer:
    sock = bind(host, port)
    server = uvicorn.Server(_config(app, tls, log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake did not start within 10 s")
        time.sleep(0.01)
    return RunningServer(url_of(sock, tls), server, thread)
