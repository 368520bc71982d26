"""core/heap.py: a served fake runs without automatic garbage collection, which is sound only if
its requests leave no reference cycles behind (only a collection frees those). Both are checked
here, and the safety net that collects when the heap has doubled anyway; the figures it buys
are in BENCHMARKS.md."""

from __future__ import annotations

import asyncio
import base64
import gc
import http.server
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.chargebee.vendor import DEMO_KEY as CHARGEBEE_KEY
from simulators.core import heap
from simulators.core.app import build_app
from simulators.core.config import build_simulator
from simulators.core.heap import Collector
from simulators.core.server import start_in_thread
from simulators.core.snapshot import copy_tree
from simulators.core.tls import ensure_certificates
from simulators.core.webhooks import pretty_body
from simulators.registry import VENDORS, create_vendor

FORM = (b"content-type", b"application/x-www-form-urlencoded")


@pytest.fixture
def collector() -> Iterator[None]:
    """Leave the test process's collector as it was."""
    thresholds, callbacks = gc.get_threshold(), list(gc.callbacks)
    try:
        yield
    finally:
        gc.callbacks[:] = callbacks
        gc.set_threshold(*thresholds)
        gc.enable()


async def call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]],
               body: bytes = b"") -> tuple[int, bytes]:
    """One request straight into the ASGI app, as a server would make it (no client objects)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80),
             "headers": [(b"host", b"127.0.0.1"), *headers,
                         (b"content-length", str(len(body)).encode())]}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        else:
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return out["status"], out["body"]


def garbage_cycles(requests: Any) -> int:
    """Objects only a collection would free, left by running `requests` (a coroutine factory)."""
    gc.collect()
    gc.disable()
    try:
        asyncio.run(requests())
        return gc.collect()
    finally:
        gc.enable()


def test_requests_leave_no_reference_cycles(collector: None) -> None:
    stripe = build_app(build_simulator(create_vendor("stripe"), None, seed=1))
    chargebee = build_app(build_simulator(create_vendor("chargebee"), None, seed=1))
    others = [stripe, chargebee, *(build_app(build_simulator(create_vendor(v), None, seed=1))
                                   for v in VENDORS if v not in ("stripe", "chargebee"))]
    bearer = [(b"authorization", b"Bearer sk_test_heap")]
    basic = [(b"authorization", b"Basic " + base64.b64encode(f"{CHARGEBEE_KEY}:".encode()))]

    async def warm_up() -> None:  # first calls fill caches (the spec, route tables)
        await traffic()

    async def traffic() -> None:
        status, body = await call(stripe, "POST", "/v1/customers", [*bearer, FORM],
                                  b"email=a%40example.com&metadata[n]=1")
        assert status == 200, body
        customer = json.loads(body)["id"]
        assert (await call(stripe, "GET", f"/v1/customers/{customer}", bearer))[0] == 200
        assert (await call(stripe, "GET", "/v1/customers/cus_nope", bearer))[0] == 404
        assert (await call(stripe, "POST", "/v1/customers", [*bearer, FORM], b"bogus=1")
                )[0] == 400
        status, body = await call(chargebee, "POST", "/api/v2/customers", [*basic, FORM],
                                  b"first_name=Ada")
        assert status == 200, body
        customer = json.loads(body)["customer"]["id"]
        assert (await call(chargebee, "GET", f"/api/v2/customers/{customer}", basic)
                )[0] == 200
        for app in others:  # no credentials: each vendor's 401 (or 404) path
            assert (await call(app, "GET", "/nowhere", []))[0] in (401, 403, 404)

    asyncio.run(warm_up())
    assert garbage_cycles(traffic) == 0


def _exchange(conn: socket.socket, request: bytes) -> bytes:
    """One request on a raw keep-alive connection (a client that leaves no garbage itself); the
    answer's status line."""
    conn.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += conn.recv(65536)
    return head.split(b"\r\n")[0]


class _Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    got = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["content-length"]))
        _Receiver.got += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_served_connections_and_webhook_deliveries_leave_no_cycles(
        collector: None, tmp_path: Path) -> None:
    """What the ASGI calls above do not cover: uvicorn's connections over HTTP and TLS (each
    request on a new connection) and the webhooks a create sends (httpx's response and stream
    referred to each other; json's indenting encoder left a cycle per body)."""
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    certificate = ensure_certificates(tmp_path)
    servers = [start_in_thread(build_app(build_simulator(create_vendor("stripe"), None, seed=1)),
                               tls=tls) for tls in (None, certificate)]
    client_tls = ssl.create_default_context(cafile=str(certificate.ca_file))
    body = b"email=a%40example.com"
    create = (b"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Authorization: Bearer sk_test_heap\r\n"
              b"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def traffic(rounds: int) -> None:
        for _ in range(rounds):
            for server, tls in zip(servers, (None, client_tls), strict=True):
                host, port = server.url.rsplit("//", 1)[1].split(":")
                conn = socket.create_connection((host, int(port)))
                if tls is not None:
                    conn = tls.wrap_socket(conn, server_hostname=host)
                with conn:
                    assert _exchange(conn, create).startswith(b"HTTP/1.1 200")

    def delivered(count: int) -> None:
        deadline = time.monotonic() + 10
        while _Receiver.got < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _Receiver.got >= count

    try:
        hook = (f"url=http%3A%2F%2F127.0.0.1%3A{receiver.server_port}%2Fhooks"
                "&enabled_events[]=customer.created").encode()
        host, port = servers[0].url.rsplit("//", 1)[1].split(":")
        with socket.create_connection((host, int(port))) as conn:
            assert _exchange(conn, (
                b"POST /v1/webhook_endpoints HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer sk_test_heap\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(hook), hook))).startswith(b"HTTP/1.1 200")
        traffic(5)  # warm up: caches, the webhook client's connection
        delivered(5)
        gc.collect()
        gc.disable()
        traffic(30)
        delivered(35)
        time.sleep(0.2)  # the deliveries' last callbacks
        assert gc.collect() == 0
    finally:
        gc.enable()
        for server in servers:
            server.stop()
        receiver.shutdown()


class Recording(Collector):
    """A Collector on a test's clocks whose complete collection only notes that it ran (a real
    one walks the whole test process)."""

    def __init__(self) -> None:
        self.cpu, self.now = [0.0], [0.0]
        super().__init__(cpu=lambda: self.cpu[0], clock=lambda: self.now[0])
        self.blocks_at_complete = 1_000_000

    def complete(self) -> None:
        self.blocks_at_complete = heap.heap_blocks()
        self.complete_collections += 1

    def second(self, cpu_seconds: float) -> None:
        """One look's second, in which the fake used `cpu_seconds` of CPU."""
        self.now[0] += 1.0
        self.cpu[0] += cpu_seconds
        self.look()


BUSY, IDLE = 0.8, 0.01  # CPU seconds a second: a fake under load, one with nothing to do


@pytest.fixture
def blocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The heap's size as a test sets it (1M blocks at the last complete collection)."""
    size = [1_000_000]
    monkeypatch.setattr(heap, "heap_blocks", lambda: size[0])
    return size


def test_a_heap_that_has_not_doubled_is_left_alone(blocks: list[int]) -> None:
    collector = Recording()
    blocks[0] = 1_000_000 + heap.MIN_GROWTH  # doubled, but not grown by MIN_GROWTH more
    for _ in range(5):
        collector.second(IDLE)
    assert collector.complete_collections == 0


def test_a_doubled_heap_is_walked_once_the_fake_is_quiet(blocks: list[int]) -> None:
    """The complete collection a doubled heap calls for waits for a quiet second (a fake between
    a load test's phases), not for the next look under load."""
    collector = Recording()
    blocks[0] = 1_000_000 + heap.MIN_GROWTH + 1
    for _ in range(10):
        collector.second(BUSY)
    assert collector.complete_collections == 0
    collector.second(IDLE)
    assert collector.complete_collections == 1
    collector.second(IDLE)  # walked: the heap is its new size now
    assert collector.complete_collections == 1


def test_a_heap_four_times_its_size_is_walked_even_when_busy(blocks: list[int]) -> None:
    """Under endless load memory stays bounded: at `BUSY_LIMIT` times the heap walked last (or
    the floor), the complete collection runs at the next look, busy or not."""
    collector = Recording()
    blocks[0] = 1_000_000 + (heap.BUSY_LIMIT - 1) * heap.MIN_GROWTH
    collector.second(BUSY)
    assert collector.complete_collections == 0
    blocks[0] += 1
    collector.second(BUSY)
    assert collector.complete_collections == 1


def test_a_walks_own_cpu_does_not_make_the_next_second_busy(blocks: list[int]) -> None:
    collector = Recording()
    blocks[0] = 1_000_000 + (heap.BUSY_LIMIT - 1) * heap.MIN_GROWTH + 1

    def slow_walk() -> None:
        collector.cpu[0] += 1.5  # a walk of a big heap
        Recording.complete(collector)

    collector.complete = slow_walk  # type: ignore[method-assign]
    collector.second(BUSY)
    assert collector.complete_collections == 1
    assert collector._cpu_at_look == collector.cpu[0]


def test_the_loop_looks_every_second(collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "LOOK_SECONDS", 0.01)
    looks: list[float] = []
    watched = Collector()
    monkeypatch.setattr(watched, "look", lambda: looks.append(1.0))

    async def serving() -> None:
        watched.watch()
        watched.watch()  # once: a second call does not double the looks
        await asyncio.sleep(0.2)

    asyncio.run(serving())
    assert 5 <= len(looks) <= 21


def test_a_complete_collection_frees_cycles_and_counts_them(collector: None) -> None:
    watched = Collector()
    gc.disable()
    for _ in range(100):
        cycle: list[Any] = []
        cycle.append(cycle)
    del cycle
    watched.complete()
    assert watched.freed >= 100 and watched.complete_collections == 1
    assert watched.blocks_at_complete > 0


def test_install_turns_automatic_collection_off(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANDSCAPE_GC", raising=False)
    monkeypatch.setattr(heap, "_installed", None)
    installed = heap.install()
    assert installed is not None and installed.complete_collections == 1
    assert not gc.isenabled()
    assert heap.install() is installed


def test_the_default_collector_is_left_alone(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDSCAPE_GC", "default")
    monkeypatch.setattr(heap, "_installed", None)
    thresholds = gc.get_threshold()
    assert heap.install() is None and gc.get_threshold() == thresholds and gc.isenabled()


def test_copy_tree_is_a_deep_copy() -> None:
    tree = {"a": [1, {"b": None, "c": [True, 1.5, "x"]}], "d": {"e": ()}, "f": b"g"}
    copied = copy_tree(tree)
    assert copied == tree
    assert copied["a"] is not tree["a"] and copied["a"][1] is not tree["a"][1]
    assert copied["a"][1]["c"] is not tree["a"][1]["c"] and copied["d"] is not tree["d"]


@pytest.mark.parametrize("payload", [
    {"id": "evt_1", "data": {"object": {"metadata": {}, "items": [], "n": [1, [], {}]}},
     "text": "tab\t quote\" back\\ ctl\u0001", "ok": True, "none": None, "amount": -5},
    {"name": "Zoë Ñúñez 日本", "emoji": "\U0001F600"},  # non-ASCII: json escapes it
    {"big": 2**70, "float": 1.5},
])
def test_a_webhook_body_is_json_indented_by_two(payload: dict[str, Any]) -> None:
    assert pretty_body(payload) == json.dumps(payload, indent=2).encode()
