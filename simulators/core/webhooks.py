"""Outbound webhook delivery, shared by every fake.

A vendor hands over a `Delivery` (URL, body, how to sign it, its retry schedule); the dispatcher
sends it in the background, retries failures on the vendor's schedule *on the simulated clock*,
applies webhook faults (drop, duplicate, delay, reorder, burst) and records every attempt in the
webhook journal. Deliveries due to one URL start in the order they were queued, up to
`concurrency` at once (the fake-wide setting `webhook_concurrency_per_endpoint`): the vendors
deliver concurrently and promise no order, and one at a time would make the fake, not the
endpoint, the bottleneck (an engine that answers a webhook once it has decided, ~0.4 s, could be
sent no more than ~2.5 a second). Each URL has its own lane: a served fake's background runner
starts what is due and goes on (`start_due`), so a slow or hanging endpoint, or one account's
burst of notifications, holds back no other URL's deliveries (it did: one round of every URL's
due deliveries had to finish before the next began, and a load test's second merchant got its
NetSuite notifications 20-26 s late behind the first's).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import orjson

from simulators.core.clock import Clock
from simulators.core.faults import FaultEngine
from simulators.core.journal import Journal
from simulators.core.randomness import Seeds

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULT_REORDER_HOLD = 30.0
ANSWER_KEPT = 300  # bytes of an endpoint's answer kept per attempt (as Stripe's dashboard)
DEFAULT_CONCURRENCY = 16  # deliveries in flight to one URL
log = logging.getLogger("landscape.webhooks")


def pretty_body(payload: Any) -> bytes:
    """`json.dumps(payload, indent=2)` as bytes, the way the vendors pretty-print a webhook's
    body. orjson writes the same bytes for ASCII text without leaving a reference cycle per call
    (json's indenting encoder does: nested functions closing over each other), which would wait
    for a full collection (core/heap.py); non-ASCII text goes through json, which escapes it."""
    try:
        body = orjson.dumps(payload, option=orjson.OPT_INDENT_2)
    except TypeError:  # an integer wider than 64 bits
        body = b"\x80"
    return body if body.isascii() else json.dumps(payload, indent=2).encode()


@dataclass
class Delivery:
    tenant: str
    endpoint: str  # the vendor's endpoint id (or URL when the vendor has no endpoint objects)
    url: str
    event_id: str
    event_type: str
    body: bytes
    schedule: list[float]  # seconds to wait after each failed attempt before the next
    sign: Callable[[bytes, float], dict[str, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    timeout: float = 10.0
    on_result: Callable[[Delivery, bool], None] | None = None
    id: str = ""
    attempts: int = 0
    copy: int = 0  # 0 for the original, n for the n-th injected duplicate
    burst: bool = False  # sent at the same instant as its copies, not one after another
    released: bool = False  # held for a reorder, now due: goes after the rest of its round


class Owner(Protocol):
    """What the dispatcher needs from the fake that owns it (a `Simulator`)."""

    @property
    def clock(self) -> Clock: ...
    @property
    def seeds(self) -> Seeds: ...
    @property
    def faults(self) -> FaultEngine: ...  # read on every send: a reset replaces the engine

    def wake_background(self) -> None:
        """A delivery was queued: let the background runner recompute its wait."""


class WebhookDispatcher:
    def __init__(self, sim: Owner, capacity: int = 20_000) -> None:
        self.sim = sim
        self.journal = Journal(capacity)
        # None: real HTTP, to loopback hosts only. An in-process landscape gives its own
        # transport (e.g. one that routes hosts to mounted ASGI apps); it decides what is reached.
        self.transport: httpx.AsyncBaseTransport | None = None
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        self.concurrency = DEFAULT_CONCURRENCY
        self.reset()

    def reset(self) -> None:
        """Forget pending and held deliveries and the journal (the fake's reset)."""
        self.journal.clear()
        self._queue: list[tuple[float, int, Delivery]] = []
        self._held: dict[str, list[tuple[float, Delivery]]] = {}  # url -> (release_at, delivery)
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._lanes: dict[str, list[Delivery]] = {}  # url -> taken from the queue, not started
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}

    # -- enqueueing, where webhook faults apply ---------------------------------------------
    def send(self, delivery: Delivery) -> None:
        now = self.sim.clock.now()
        delivery.id = delivery.id or f"whd_{next(self._ids)}"
        faults = self.sim.faults.draw(
            self.sim.seeds.stream("faults"), now, method="POST", path=urlsplit(delivery.url).path,
            tenant=delivery.tenant, webhook=True, event_type=delivery.event_type,
            url=delivery.url)
        due = now
        copies = 0
        burst = False
        for fault in faults:
            spec = fault.spec
            if spec.kind == "webhook_drop":
                self._log(delivery, "dropped", fault=fault.id)
                if delivery.on_result:
                    delivery.on_result(delivery, False)
                return
            if spec.kind == "webhook_delay":
                due += spec.seconds or 0.0
            elif spec.kind in ("webhook_duplicate", "webhook_burst"):
                copies += spec.copies or 1
                burst = burst or spec.kind == "webhook_burst"
            elif spec.kind == "webhook_reorder":
                hold = spec.seconds or DEFAULT_REORDER_HOLD
                self._held.setdefault(delivery.url, []).append((now + hold, delivery))
                self._log(delivery, "held_for_reorder", fault=fault.id)
                return
        delivery.burst = burst
        self._push(due, delivery)
        for n in range(1, copies + 1):
            self._push(due, replace(delivery, id=f"{delivery.id}.{n}", copy=n, on_result=None))
        self._release_held(delivery.url, due)

    def _push(self, due: float, delivery: Delivery) -> None:
        heapq.heappush(self._queue, (due, next(self._seq), delivery))
        self.sim.wake_background()

    def _release_held(self, url: str, after: float) -> None:
        """A later delivery to the same URL was queued: the held ones now go out after it (due
        with it, sent once the rest of its round has been, whatever the concurrency)."""
        for _, held in self._held.pop(url, []):
            held.released = True
            self._push(after, held)

    # -- the clock drives attempts ----------------------------------------------------------
    def next_due(self) -> float | None:
        times = [self._queue[0][0]] if self._queue else []
        times += [t for held in self._held.values() for t, _ in held]
        return min(times) if times else None

    def pending(self) -> int:
        return (len(self._queue) + sum(len(h) for h in self._held.values())
                + sum(len(lane) for lane in self._lanes.values()))

    def unsettled(self) -> int:
        """Deliveries due by now and not started, and URLs whose lane is still delivering: 0
        once every delivery due so far has been answered (or failed, its retry not yet due)."""
        now = self.sim.clock.now()
        due = sum(1 for t, *_ in self._queue if t <= now)
        due += sum(1 for held in self._held.values() for t, _ in held if t <= now)
        return due + len(self._lane_tasks)

    async def run_due(self) -> int:
        """Attempt every delivery due by now and wait for the attempts (and for what their
        URLs' lanes had before them); returns how many were due."""
        async with self._lock:
            due = self._take_due()
            await asyncio.gather(*self._to_lanes(due))
            return sum(len(batch) for batch in due.values())

    def start_due(self) -> int:
        """Start every delivery due by now on its URL's lane and return (see the module's doc);
        returns how many were due."""
        due = self._take_due()
        self._to_lanes(due)
        return sum(len(batch) for batch in due.values())

    def _take_due(self) -> dict[str, list[Delivery]]:
        now = self.sim.clock.now()
        for url, held in list(self._held.items()):
            expired = [(t, d) for t, d in held if t <= now]
            if expired:
                self._held[url] = [(t, d) for t, d in held if t > now]
                for _, delivery in expired:
                    self._push(now, delivery)
        due: dict[str, list[Delivery]] = {}
        while self._queue and self._queue[0][0] <= now:
            _, _, delivery = heapq.heappop(self._queue)
            due.setdefault(delivery.url, []).append(delivery)
        return due

    def _to_lanes(self, due: dict[str, list[Delivery]]) -> list[asyncio.Task[None]]:
        """Each URL's deliveries after what its lane already holds; a lane not running starts."""
        tasks = []
        for url, batch in due.items():
            self._lanes.setdefault(url, []).extend(batch)
            task = self._lane_tasks.get(url)
            if task is None:
                task = self._lane_tasks[url] = asyncio.get_running_loop().create_task(
                    self._lane(url))
            tasks.append(task)
        return tasks

    async def _lane(self, url: str) -> None:
        """One URL's deliveries, a batch at a time in the order they were taken."""
        try:
            while self._lanes.get(url):
                batch = self._lanes.pop(url)
                try:
                    await self._deliver_in_order(batch)
                except Exception:  # the lane goes on with what came after
                    log.exception("webhook deliveries to %s failed", url)
        finally:
            if self._lane_tasks.get(url) is asyncio.current_task():
                del self._lane_tasks[url]

    async def _deliver_in_order(self, batch: list[Delivery]) -> None:
        """One URL's due deliveries, started in queue order, `concurrency` at a time; a burst's
        copies of one event take one place and go out at once; deliveries held for a reorder go
        once the others have (so after the later one that released them)."""
        released = [d for d in batch if d.released]
        others = [d for d in batch if not d.released]
        for d in released:
            d.released = False  # once: a retry of it waits for no round
        if released and others:
            await self._deliver_in_order(others)
            await self._deliver_in_order(released)
            return
        groups: list[list[Delivery]] = []
        for delivery in batch:
            if (groups and delivery.burst and groups[-1][0].burst
                    and groups[-1][0].event_id == delivery.event_id):
                groups[-1].append(delivery)
            else:
                groups.append([delivery])
        places = asyncio.Semaphore(max(1, self.concurrency))  # FIFO: starts keep queue order

        async def send(group: list[Delivery]) -> None:
            async with places:
                await asyncio.gather(*(self._attempt(d) for d in group))
        await asyncio.gather(*(send(g) for g in groups))

    async def _attempt(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        host = urlsplit(delivery.url).hostname or ""
        if self.transport is None and host not in LOOPBACK_HOSTS:
            self._log(delivery, "refused", error=f"{host} is not a loopback address")
            self._finish(delivery, False)
            return
        now = self.sim.clock.now()
        headers = {"content-type": "application/json", **delivery.headers}
        if delivery.sign:
            headers.update(delivery.sign(delivery.body, now))
        started = self.sim.clock.monotonic()
        status, error, answer = None, None, None
        try:
            response = await self._http().post(
                delivery.url, content=delivery.body, headers=headers,
                auth=httpx.USE_CLIENT_DEFAULT if delivery.auth is None else delivery.auth,
                timeout=delivery.timeout)
            status = response.status_code
            # the start of the endpoint's answer, as the vendors' dashboards show it
            answer = response.content[:ANSWER_KEPT].decode("utf-8", "replace")
            # httpx's response and its stream refer to each other: a cycle per delivery that
            # only a full collection would free (core/heap.py); the body is read, so let go
            response.stream = httpx.ByteStream(b"")
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        self._log(delivery, "delivered" if ok else "failed", status=status, error=error,
                  duration_ms=round((self.sim.clock.monotonic() - started) * 1000, 2),
                  response=answer)
        if ok:
            self._finish(delivery, True)
        elif delivery.attempts <= len(delivery.schedule):
            self._push(now + delivery.schedule[delivery.attempts - 1], delivery)
        else:
            self._log(delivery, "gave_up")
            self._finish(delivery, False)

    @staticmethod
    def _finish(delivery: Delivery, ok: bool) -> None:
        if delivery.on_result:
            delivery.on_result(delivery, ok)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(verify=False, trust_env=False,
                                             transport=self.transport)
        return self._client

    async def close(self) -> None:
        lanes = list(self._lane_tasks.values())
        for task in lanes:
            task.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _log(self, delivery: Delivery, outcome: str, **extra: Any) -> None:
        self.journal.record({
            "at": self.sim.clock.now(), "delivery": delivery.id, "tenant": delivery.tenant,
            "endpoint": delivery.endpoint, "url": delivery.url, "event_id": delivery.event_id,
            "event_type": delivery.event_type, "attempt": delivery.attempts,
            "copy": delivery.copy, "outcome": outcome,
            **{k: v for k, v in extra.items() if v is not None}})
