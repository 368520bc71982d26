"""core/heap.py: a served fake freezes what survives a full collection, which is safe only if its
requests leave no reference cycles behind (frozen cycles are never collected). Both are checked
here; the figures it buys are in BENCHMARKS.md."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest

from simulators.chargebee.vendor import DEMO_KEY as CHARGEBEE_KEY
from simulators.core import heap
from simulators.core.app import build_app
from simulators.core.config import build_simulator
from simulators.core.heap import Freezer
from simulators.core.snapshot import copy_tree
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
        gc.unfreeze()
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


def test_freezer_freezes_what_survives_a_collection(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "MIN_GROWTH", 10**12)  # no look at the heap's size here
    freezer = Freezer()
    kept = [[i] for i in range(1000)]  # survivors to be frozen
    gc.collect()
    before = gc.get_freeze_count()
    freezer("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    assert gc.get_freeze_count() >= before + len(kept)
    assert freezer.frozen_since_look >= len(kept)
    frozen = gc.get_freeze_count()
    freezer("stop", {"generation": 0, "collected": 0, "uncollectable": 0})  # youngest: ignored
    assert gc.get_freeze_count() == frozen
    freezer.complete()
    assert freezer.complete_collections == 1 and freezer.frozen_since_look == 0
    assert freezer.blocks_at_complete > 0


class Recording(Freezer):
    """A Freezer whose complete collection only notes when it ran (a real one walks the whole
    test process)."""

    def __init__(self) -> None:
        super().__init__()
        self.ran_after: list[int] = []  # middle collections seen when each ran

    def complete(self) -> None:
        self._pending = False
        self.blocks_at_complete = heap.heap_blocks()
        self.frozen_since_look = 0
        self.complete_collections += 1
        self.ran_after.append(self.middle_collections)


MIDDLE = {"generation": 1, "collected": 0, "uncollectable": 0}


def _grown(monkeypatch: pytest.MonkeyPatch, blocks: list[int]) -> Recording:
    """A freezer whose heap is `blocks[0]` blocks (changed by the test), last walked at 1M, and
    which has frozen enough since to look at it on the next collection."""
    monkeypatch.setattr(heap, "heap_blocks", lambda: blocks[0])
    monkeypatch.setattr(heap, "QUIET_SECONDS", 0.05)
    monkeypatch.setattr(heap.gc, "get_freeze_count", _walks_the_frozen_heap)
    freezer = Recording()
    freezer.blocks_at_complete = 1_000_000
    return freezer


def _walks_the_frozen_heap() -> int:
    raise AssertionError("counting the frozen objects walks all of them (a stop per count)")


def test_a_doubled_heap_is_walked_once_the_fake_is_quiet(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The complete collection a doubled heap calls for waits for a moment without collections
    (a fake between a load test's phases), not for the next collection under load."""
    blocks = [1_000_000 + heap.MIN_GROWTH + 1]
    freezer = _grown(monkeypatch, blocks)

    async def busy_then_quiet() -> None:
        freezer.frozen_since_look = 10**9
        freezer("stop", MIDDLE)  # looks: doubled, so one is pending
        assert freezer._pending and freezer.complete_collections == 0
        for _ in range(8):  # 0.16 s of collections: the fake is busy, nothing runs
            await asyncio.sleep(0.02)
            freezer("stop", MIDDLE)
        assert freezer.complete_collections == 0
        await asyncio.sleep(0.2)  # quiet now
        assert freezer.ran_after == [9]

    asyncio.run(busy_then_quiet())


def test_a_heap_four_times_its_size_is_walked_even_when_busy(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under endless load memory stays bounded: at `BUSY_LIMIT` times the heap walked last, the
    complete collection runs right after the collection that saw it."""
    blocks = [1_000_000 + heap.MIN_GROWTH + 1]
    freezer = _grown(monkeypatch, blocks)

    async def busy_all_along() -> None:
        freezer.frozen_since_look = 10**9
        freezer("stop", MIDDLE)
        await asyncio.sleep(0.02)
        freezer("stop", MIDDLE)  # (not enough frozen since the look: no new look)
        assert freezer.complete_collections == 0
        blocks[0] = 1_000_000 + (heap.BUSY_LIMIT - 1) * heap.MIN_GROWTH + 1
        freezer.frozen_since_look = 10**9
        freezer("stop", MIDDLE)
        await asyncio.sleep(0)
        assert freezer.ran_after == [3]

    asyncio.run(busy_all_along())


def test_a_complete_collection_does_not_set_off_another(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """complete()'s own full collection unfreezes the whole heap: the hook must not count any of
    it as newly frozen (nor look again right behind it)."""
    freezer = Freezer()
    gc.callbacks.append(freezer)
    freezer.complete()
    assert freezer.complete_collections == 1 and freezer.frozen_since_look == 0
    assert freezer.middle_collections == 0 and not freezer._pending


def test_copy_tree_is_a_deep_copy() -> None:
    tree = {"a": [1, {"b": None, "c": [True, 1.5, "x"]}], "d": {"e": ()}, "f": b"g"}
    copied = copy_tree(tree)
    assert copied == tree
    assert copied["a"] is not tree["a"] and copied["a"][1] is not tree["a"][1]
    assert copied["a"][1]["c"] is not tree["a"][1]["c"] and copied["d"] is not tree["d"]


def test_install_collects_the_middle_generation_every_third_collection(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A served fake's middle generation holds two young collections' survivors, not ten: its
    collections (and the freeze after each) stay about as short as young ones."""
    monkeypatch.delenv("LANDSCAPE_GC", raising=False)
    monkeypatch.setattr(heap, "_installed", None)
    young, _, oldest = gc.get_threshold()
    assert heap.install() is not None
    assert gc.get_threshold() == (young, heap.MIDDLE_THRESHOLD, oldest)
    seen: list[int] = []

    def generation(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            seen.append(info["generation"])

    gc.callbacks.append(generation)
    kept = [[i] for i in range(young * 10)]  # allocations enough for several collections
    assert len(kept) and seen.count(0) >= 2 and 1 in seen
    assert seen.count(1) >= len(seen) // (heap.MIDDLE_THRESHOLD + 2) - 1


def test_the_default_collector_is_left_alone(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDSCAPE_GC", "default")
    monkeypatch.setattr(heap, "_installed", None)
    thresholds = gc.get_threshold()
    assert heap.install() is None and gc.get_threshold() == thresholds
