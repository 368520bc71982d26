"""A served fake delivers each URL's webhooks on its own lane: an endpoint that is slow to
answer holds back only its own deliveries, never another URL's (real vendors deliver to each
endpoint independently)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest


class Endpoint(http.server.BaseHTTPRequestHandler):
    """A webhook receiver; `hold` (when set on the server) keeps an answer back until released."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["content-length"]))
        server: Any = self.server
        server.received.append(self.headers.get("Stripe-Signature", ""))
        server.arrived.set()
        if server.hold is not None:
            server.hold.wait(timeout=20)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoints() -> Iterator[tuple[Any, Any]]:
    servers = []
    for hold in (threading.Event(), None):
        server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
        server.daemon_threads = True
        server.received, server.arrived, server.hold = [], threading.Event(), hold
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield servers[0], servers[1]
    finally:
        for server in servers:
            if server.hold is not None:
                server.hold.set()
            server.shutdown()


def test_a_slow_endpoint_does_not_hold_back_another(start_fake: Any, endpoints: Any) -> None:
    slow, fast = endpoints
    fake = start_fake("stripe")
    stripe = httpx.Client(base_url=fake.url, headers={"Authorization": "Bearer sk_test_lanes"},
                          trust_env=False)
    for server in (slow, fast):
        stripe.post("/v1/webhook_endpoints", data={
            "url": f"http://127.0.0.1:{server.server_port}/hooks",
            "enabled_events[]": "customer.created"}).raise_for_status()
    stripe.post("/v1/customers", data={"email": "first@example.com"}).raise_for_status()
    assert slow.arrived.wait(10) and fast.arrived.wait(10)
    fast.arrived.clear()
    # the slow endpoint is still answering the first event; the second goes to both
    stripe.post("/v1/customers", data={"email": "second@example.com"}).raise_for_status()
    assert fast.arrived.wait(10), "the fast endpoint waited for the slow one's answer"
    assert len(fast.received) == 2 and len(slow.received) == 1
    slow.hold.set()  # the slow endpoint answers: its second delivery follows
    deadline = threading.Event()
    for _ in range(100):
        if len(slow.received) == 2:
            break
        deadline.wait(0.1)
    assert len(slow.received) == 2


def test_health_counts_deliveries_until_answered(start_fake: Any, endpoints: Any) -> None:
    """`webhooks_unsettled` (what `landscape load` waits on before its first decline) stays
    above 0 while an endpoint has not answered, and is 0 once it has."""
    slow, _ = endpoints
    fake = start_fake("stripe")
    stripe = httpx.Client(base_url=fake.url, headers={"Authorization": "Bearer sk_test_settle"},
                          trust_env=False)
    stripe.post("/v1/webhook_endpoints", data={
        "url": f"http://127.0.0.1:{slow.server_port}/hooks",
        "enabled_events[]": "customer.created"}).raise_for_status()

    def unsettled() -> int:
        return int(httpx.get(f"{fake.url}/_sim/health").json()["webhooks_unsettled"])

    assert unsettled() == 0
    stripe.post("/v1/customers", data={"email": "held@example.com"}).raise_for_status()
    assert slow.arrived.wait(10)
    assert unsettled() >= 1  # delivered, not answered
    slow.hold.set()
    waited = threading.Event()
    for _ in range(100):
        if unsettled() == 0:
            break
        waited.wait(0.1)
    assert unsettled() == 0
