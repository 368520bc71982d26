"""The shared pipeline over real loopback HTTP, with a minimal vendor: every fault kind, limits,
idempotency, the control plane, the clock, webhooks and TLS. The in-flight idempotency rule is
tested in-process, where the test controls when the first request's handler finishes."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest
import requests

from simulators.client import ControlClient
from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.simulator import Simulator
from simulators.registry import VENDORS, create_vendor
from tests.support import conformance
from tests.support.recording import Recorded
from tests.support.toy_vendor import Gate, ToyVendor

AUTH = {"authorization": "Bearer t1"}


def add_fault(fake, **spec) -> dict:
    response = httpx.post(f"{fake.url}/_sim/faults", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def counter(fake, tenant: str = "t1", name: str = "a") -> int | None:
    return fake.sim.tenants.find(tenant).collection("counters").get(name)


def bump(fake, name: str = "a", **kwargs) -> requests.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return requests.post(f"{fake.url}/counters/{name}", json=kwargs or {}, headers=headers,
                         timeout=5)


def test_auth_and_native_errors(toy) -> None:
    assert requests.post(f"{toy.url}/counters/a").json() == {
        "error": {"code": "unauthorized", "message": "no key"}}
    response = requests.get(f"{toy.url}/nowhere", headers=AUTH)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert bump(toy).json()["value"] == 1


def test_tenants_are_isolated(toy) -> None:
    bump(toy)
    requests.post(f"{toy.url}/counters/a", json={"by": 5}, headers={"authorization": "Bearer t2"})
    assert counter(toy, "t1") == 1 and counter(toy, "t2") == 5


@pytest.mark.parametrize("spec,status,code", [
    ({"kind": "http_error", "status": 503}, 503, "api_error"),
    ({"kind": "http_error", "status": 400, "code": "bad"}, 400, "bad"),
    ({"kind": "brownout", "window_end": 60}, 503, "api_error"),
    ({"kind": "rate_limit", "retry_after": 7}, 429, "rate_limit"),
    ({"kind": "auth_expired"}, 401, "unauthorized"),
])
def test_pre_handler_errors_do_not_run_the_handler(toy, spec, status, code) -> None:
    add_fault(toy, **spec)
    response = bump(toy)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert counter(toy) is None
    if spec["kind"] == "rate_limit":
        assert response.headers["retry-after"] == "7"


def test_drop_before_vs_drop_after_commit(toy) -> None:
    add_fault(toy, kind="drop_before", first_n=1)
    with pytest.raises(requests.ConnectionError):
        bump(toy)
    assert counter(toy) is None  # nothing happened
    add_fault(toy, kind="drop_after", first_n=1)
    with pytest.raises(requests.ConnectionError):
        bump(toy)
    assert counter(toy) == 1  # the write happened; the client never learned it
    outcomes = [e["outcome"] for e in httpx.get(f"{toy.url}/_sim/journal/requests").json()]
    assert outcomes == ["dropped_before_handler", "dropped_after_commit"]


def test_post_commit_error_then_idempotent_retry_gets_the_real_result(toy) -> None:
    add_fault(toy, kind="http_error", status=500, after_commit=True, first_n=1)
    first = bump(toy, headers={"idempotency-key": "k1"})
    assert first.status_code == 500 and counter(toy) == 1
    retry = bump(toy, headers={"idempotency-key": "k1"})
    assert retry.status_code == 200 and retry.json()["value"] == 1
    assert retry.headers["idempotent-replayed"] == "true"
    assert counter(toy) == 1


def test_truncated_and_slow_bodies(toy) -> None:
    add_fault(toy, kind="truncate", keep_fraction=0.3, first_n=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        bump(toy).json()
    add_fault(toy, kind="slow_body", chunk_delay_ms=30, first_n=1)
    started = time.perf_counter()
    response = bump(toy)
    assert response.json()["value"] == 2
    assert time.perf_counter() - started > 0.1  # several chunks, each 30 ms apart


def test_hang_outlasts_the_client_timeout(toy) -> None:
    add_fault(toy, kind="hang", seconds=1.0, first_n=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{toy.url}/counters/a", json={}, headers=AUTH, timeout=0.2)


def test_latency_fault_and_base_profile(toy) -> None:
    def elapsed() -> float:
        started = time.perf_counter()
        bump(toy)
        return time.perf_counter() - started

    baseline = min(elapsed() for _ in range(3))
    add_fault(toy, kind="latency", latency={"kind": "fixed", "ms": 150})
    assert elapsed() >= 0.15
    httpx.delete(f"{toy.url}/_sim/faults")
    httpx.put(f"{toy.url}/_sim/latency", json={"kind": "fixed", "ms": 100})
    assert elapsed() >= 0.1 > baseline


def test_decline_fault_is_a_directive_for_the_handler(toy) -> None:
    add_fault(toy, kind="decline", code="do_not_honor", match={"path": "/counters/*"})
    response = bump(toy)
    assert response.status_code == 402
    assert response.json()["error"]["message"] == "do_not_honor"


def test_idempotency_mismatch_and_retention(toy) -> None:
    assert bump(toy, headers={"idempotency-key": "k"}).status_code == 200
    mismatch = bump(toy, by=3, headers={"idempotency-key": "k"})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == \
        "idempotency_mismatch"
    # validation failures store nothing: the same key can then be used for a valid request
    assert bump(toy, by="invalid", headers={"idempotency-key": "v"}).status_code == 400
    assert bump(toy, by=2, headers={"idempotency-key": "v"}).json()["value"] == 3
    # past retention (3600 s for this vendor) the key runs as a new request
    httpx.post(f"{toy.url}/_sim/clock/advance", json={"seconds": 3601})
    again = bump(toy, headers={"idempotency-key": "k"})
    assert "idempotent-replayed" not in again.headers and again.json()["value"] == 4


def test_a_key_in_use_gets_the_in_use_error_then_the_replay() -> None:
    """The in-flight rule, once, in-process: while the first request with a key is inside its
    handler (held there by the toy's gate), a second with the key gets the vendor's in-use
    error; once the first is done, the key replays its result."""
    vendor = ToyVendor()
    gate = vendor.gate = Gate()
    sim = Simulator(vendor, seed=7, clock=Clock.frozen())
    headers = {**AUTH, "idempotency-key": "k"}

    async def held(request: asyncio.Task) -> bool:
        """Whether `request` reached the gated handler (rather than being answered first):
        waits for one or the other, so a broken rule fails the test instead of hanging it."""
        gate.entered.clear()
        entered = asyncio.create_task(gate.entered.wait())
        await asyncio.wait({request, entered}, return_when=asyncio.FIRST_COMPLETED)
        entered.cancel()
        return not request.done()

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=build_app(sim))
        async with httpx.AsyncClient(transport=transport, base_url="http://toy") as client:
            def post() -> asyncio.Task:
                return asyncio.create_task(client.post("/gated/a", json={}, headers=headers))

            first = post()
            assert await held(first)  # the first request holds the key, inside the handler
            second = post()
            assert not await held(second)  # answered without running the handler
            gate.opened.set()
            return [await first, await second, await post()]

    first, second, third = asyncio.run(scenario())
    assert (second.status_code, second.json()) == (
        409, {"error": {"code": "idempotency_in_use", "message": "k"}})
    assert (first.status_code, first.json()["value"]) == (200, 1)
    assert "idempotent-replayed" not in first.headers
    assert (third.status_code, third.json()) == (200, first.json())
    assert third.headers["idempotent-replayed"] == "true"
    assert sim.tenants.find("t1").collection("counters") == {"a": 1}


IN_USE = {  # each vendor's native answer to a key in use (what the engine sends, see above)
    "stripe": (409, lambda body: (body["error"]["type"], body["error"]["code"]),
               ("invalid_request_error", "idempotency_key_in_use"), "POST", "/v1/customers"),
    "chargebee": (429, lambda body: (body["type"], body["api_error_code"]),
                  ("operation_failed", "lock_timeout"), "POST", "/api/v2/customers"),
}


def test_every_vendor_with_idempotency_keys_says_how_a_key_in_use_is_answered() -> None:
    assert {name for name in VENDORS if create_vendor(name).idempotency} == set(IN_USE)


@pytest.mark.parametrize("vendor", list(IN_USE))
def test_a_vendor_answers_a_key_in_use_natively(vendor: str) -> None:
    status, native, expected, method, path = IN_USE[vendor]
    the_vendor = create_vendor(vendor)
    error = the_vendor.idempotency.in_flight("k")
    assert error.status == status and native(error.body) == expected
    assert error.store_idempotent is False  # the key still belongs to the running request
    response = Recorded(method, path, "", status,
                        {"content-type": the_vendor.errors.content_type}, error.encode())
    assert conformance.problems(vendor, response) == []


def test_rate_and_concurrency_limits(toy) -> None:
    httpx.put(f"{toy.url}/_sim/limits", json={"rate_per_second": 2, "burst": 2})
    statuses = [bump(toy).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    httpx.put(f"{toy.url}/_sim/limits", json={})
    add_fault(toy, kind="latency", latency={"kind": "fixed", "ms": 300})
    add_fault(toy, kind="concurrency_limit", limit=1)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(bump(toy).status_code))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 429, 429]


def test_control_plane_state_snapshot_restore_and_reset(toy, tmp_path) -> None:
    bump(toy, by=4)
    state = httpx.get(f"{toy.url}/_sim/tenants/t1/state").json()
    assert state["data"]["counters"] == {"a": 4}
    bump(toy)
    assert httpx.post(f"{toy.url}/_sim/tenants/t1/restore", json=state).status_code == 200
    assert counter(toy) == 4
    # a whole-fake snapshot kept on the client's side (the fake writes files only in its
    # state folder, by name)
    path = tmp_path / "snap.json"
    control = ControlClient(toy.url)
    control.snapshot(path)
    httpx.post(f"{toy.url}/_sim/tenants/t1/reset")
    assert counter(toy) is None
    control.restore(path)
    assert counter(toy) == 4
    refused = httpx.post(f"{toy.url}/_sim/snapshot", json={"path": str(path)})
    assert refused.status_code == 400 and "name" in refused.json()["fix"]
    assert httpx.get(f"{toy.url}/_sim/tenants/nobody/state").status_code == 404
    bad = httpx.post(f"{toy.url}/_sim/faults", json={"kind": "latency"})
    assert bad.status_code == 422 and "needs latency" in bad.text


def test_same_seed_same_outcomes(start_fake) -> None:
    def run() -> list:
        fake = start_fake("toy", simulator=Simulator(ToyVendor(), seed=11, clock=Clock.frozen(0)))
        add_fault(fake, kind="http_error", probability=0.5)
        codes = [bump(fake).status_code for _ in range(30)]
        ids = [bump(fake, name="b").json().get("id") for _ in range(3)]
        return [codes, ids]

    first, second = run(), run()
    assert first == second and 200 in first[0] and 500 in first[0]


def send_events(fake, receiver, *events: str) -> None:
    response = requests.post(f"{fake.url}/notify", headers=AUTH,
                             json={"url": receiver.url, "events": list(events)})
    assert response.status_code == 200


def delivered_types(receiver) -> list[str]:
    return [json.loads(r.body)["type"] for r in receiver.received]


def test_webhooks_are_signed_and_retried_on_the_clock(toy, receiver) -> None:
    receiver.statuses = [500]
    send_events(toy, receiver, "invoice.payment_failed")
    receiver.wait_for(1)
    assert receiver.received[0].headers["x-toy-signature"].endswith(":" + str(
        len(receiver.received[0].body)))
    httpx.post(f"{toy.url}/_sim/clock/advance", json={"seconds": 59})
    assert len(receiver.received) == 1  # the vendor's schedule says 60 s
    httpx.post(f"{toy.url}/_sim/clock/advance", json={"seconds": 1})
    assert len(receiver.wait_for(2)) == 2
    journal = httpx.get(f"{toy.url}/_sim/journal/webhooks").json()
    assert [(e["attempt"], e["outcome"], e.get("status")) for e in journal] == [
        (1, "failed", 500), (2, "delivered", 200)]


def test_webhook_faults(toy, receiver) -> None:
    add_fault(toy, kind="webhook_drop", match={"event_type": "a"})
    add_fault(toy, kind="webhook_duplicate", copies=2, match={"event_type": "b"})
    add_fault(toy, kind="webhook_delay", seconds=30, match={"event_type": "c"})
    send_events(toy, receiver, "a", "b", "c")
    receiver.wait_for(3)
    time.sleep(0.2)
    assert delivered_types(receiver) == ["b", "b", "b"]
    httpx.post(f"{toy.url}/_sim/clock/advance", json={"seconds": 30})
    receiver.wait_for(4)
    assert delivered_types(receiver)[-1] == "c"


def test_webhook_reorder_holds_one_until_the_next(toy, receiver) -> None:
    add_fault(toy, kind="webhook_reorder", first_n=1)
    send_events(toy, receiver, "first", "second", "third")
    receiver.wait_for(3)
    # the held one arrives after the next one; the others go out concurrently, in no set order
    delivered = delivered_types(receiver)
    assert sorted(delivered) == ["first", "second", "third"]
    assert delivered.index("first") > delivered.index("second")


def test_https_with_the_local_ca(start_fake) -> None:
    fake = start_fake("toy", simulator=Simulator(ToyVendor()), tls=True)
    assert fake.url.startswith("https://127.0.0.1:")
    session = requests.Session()
    session.trust_env = False
    session.verify = fake.ca_file
    assert session.get(f"{fake.url}/_sim/health").json()["status"] == "ok"
    with pytest.raises(requests.exceptions.SSLError):
        plain = requests.Session()
        plain.trust_env = False
        plain.get(f"{fake.url}/_sim/health")


def test_webhook_burst_arrives_at_once(toy, receiver) -> None:
    add_fault(toy, kind="webhook_burst", copies=4, first_n=1)
    send_events(toy, receiver, "storm")
    receiver.wait_for(5)
    assert delivered_types(receiver) == ["storm"] * 5
    journal = httpx.get(f"{toy.url}/_sim/journal/webhooks").json()
    assert sorted(e["copy"] for e in journal) == [0, 1, 2, 3, 4]
