"""The outbox relay: due write-backs out, with backoff, and the dead letters for what will
not go. A vendor that is down (a NetSuite brownout) only delays its messages: they wait with
capped exponential backoff (jitter from the seeded RNG) and drain when it is back; nothing is
lost and nothing is sent twice. A message is given up on (a dead letter) only when the vendor
refuses it for good (a 4xx) or has kept failing for `outbox.give_up_after_seconds` (3 days by
default) since its first failure: a time, not a count of tries, so a long brownout does not
dead-letter what would have gone through an hour later.

Order: the messages for one invoice to one destination go out in the order they were queued. A
message whose predecessor is still waiting out a backoff waits with it (`Store.defer`), so a
"retrying" status sent late never overwrites the "recovered" queued after it.

Each destination has its own `concurrency` sends at once, and a served relay (`run`) claims more
as soon as they go, never waiting for a round's slowest send: a Stripe or Salesforce write-back
does not queue behind a backlog at a 600 ms ERP, and the ERP's own slots never sit idle while a
round finishes."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from components.connectors.errors import UnknownOutcome, VendorError
from components.domain import OutboxMessage
from components.observability import Metrics, correlated, log
from components.settings import OutboxSettings
from components.store import Store
from components.sync.writeback import NotDeliverable, send
from components.wiring import Deployment

LOG = logging.getLogger("components.sync")


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0  # held back behind an earlier message of the same invoice and vendor
    errors: list[str] = field(default_factory=list)


class OutboxRelay:
    def __init__(self, store: Store, deployment: Deployment, *, settings: OutboxSettings,
                 metrics: Metrics, now: Callable[[], float], seed: int = 0) -> None:
        self.store, self.deployment, self.settings = store, deployment, settings
        self.metrics, self.now = metrics, now
        self.rng = random.Random(seed)

    def backoff(self, attempts: int) -> float:
        # the exponent is bounded: days of tries must not overflow a float
        cap = min(self.settings.max_delay, self.settings.base_delay * 2.0 ** min(attempts, 60))
        return cap / 2 + self.rng.uniform(0, cap / 2)  # "equal jitter": never hammer at once

    async def drain_once(self) -> DrainReport:
        """Send what is due now and wait until it has gone (a test, the World's ticks, `POST
        /v1/outbox/drain`)."""
        report = DrainReport()
        sends = _Sends(self.settings.concurrency)
        await asyncio.gather(*self._start(sends, report))
        return report

    async def run(self) -> None:
        """A served relay: every `poll_seconds`, claim what is due (for each destination, up to
        `batch` under way) and start it at once. Cancelled, it cancels its sends in flight
        (their claims run out, and they are sent again: receivers dedupe)."""
        sends = _Sends(self.settings.concurrency)
        try:
            while True:
                try:
                    self._start(sends, DrainReport())
                except Exception:  # the loop outlives one bad poll (a store error); logged
                    LOG.exception("outbox poll failed")
                await asyncio.sleep(self.settings.poll_seconds)
        finally:
            for task in list(sends.tasks):
                task.cancel()

    def _start(self, sends: _Sends, report: DrainReport) -> list[asyncio.Task[None]]:
        """Claim the due messages and start each in its lane (destination, invoice), after the
        lane's previous one."""
        full = [d for d, n in sends.claimed.items() if n >= self.settings.batch]
        claimed = self.store.due_messages(self.now(), self.settings.batch, skip=full)
        started = []
        for message in sorted(claimed, key=lambda m: m.id or 0):  # as queued
            if message.id in sends.ids:  # still under way from an earlier claim
                continue
            lane = (message.destination,
                    str(message.payload.get("invoice_key") or f"message:{message.id}"))
            task = asyncio.create_task(self._send_after(sends.lanes.get(lane), message,
                                                        sends.slot(message.destination),
                                                        report))
            sends.add(task, lane, message)
            started.append(task)
        return started

    async def _send_after(self, before: asyncio.Task[None] | None, message: OutboxMessage,
                          slot: asyncio.Semaphore, report: DrainReport) -> None:
        if before is not None:
            await asyncio.wait([before])  # its outcome is its own: only the order matters here
        if self._wait_for_earlier(message, report):
            return
        async with slot:
            await self._deliver(message, report)

    async def drain(self, max_rounds: int = 100) -> DrainReport:
        """Send until nothing is due now (what a test or the replay command waits for)."""
        total = DrainReport()
        for _ in range(max_rounds):
            report = await self.drain_once()
            total.sent += report.sent
            total.retried += report.retried
            total.dead += report.dead
            total.deferred += report.deferred
            total.errors += report.errors
            if not (report.sent or report.retried or report.dead):
                break
        return total

    def _wait_for_earlier(self, message: OutboxMessage, report: DrainReport) -> bool:
        """True (and the message deferred) if a message queued before it for the same invoice
        and destination is still pending: it goes first."""
        invoice_key = message.payload.get("invoice_key")
        if not isinstance(invoice_key, str) or message.id is None:
            return False
        due = self.store.earlier_pending(message.destination, invoice_key, message.id)
        if due is None:
            return False
        # just after it, so a batch that claims both sees the earlier one first
        self.store.defer(message.id, until=max(due, self.now()) + 0.001)
        report.deferred += 1
        return True

    async def _deliver(self, message: OutboxMessage, report: DrainReport) -> None:
        assert message.id is not None
        with correlated(message.correlation_id or f"outbox:{message.id}"):
            try:
                await send(message, self.deployment)
            except NotDeliverable as error:
                self._dead(message, str(error), report)
            except (VendorError, UnknownOutcome) as error:
                kind = error.kind.value if isinstance(error, VendorError) else "unknown_outcome"
                self.metrics.vendor_errors.labels(message.destination, kind).inc()
                final = isinstance(error, VendorError) and not error.retryable
                now = self.now()
                failing_since = (message.failing_since if message.failing_since is not None
                                 else now)
                give_up_at = failing_since + self.settings.give_up_after_seconds
                tries = self.settings.max_attempts
                if final or now >= give_up_at or (tries and message.attempts + 1 >= tries):
                    self._dead(message, str(error), report)
                    return
                wait = max(self.backoff(message.attempts),
                           getattr(error, "retry_after", None) or 0.0)
                # the last try falls on the give-up time, not a backoff past it
                next_at = min(now + wait, give_up_at)
                self.store.mark_retry(message.id, next_attempt_at=next_at, error=str(error),
                                      failing_since=failing_since)
                self.metrics.writebacks.labels(message.destination, "retry").inc()
                report.retried += 1
                log(LOG, "write-back retried", destination=message.destination,
                    kind=message.kind, attempts=message.attempts + 1,
                    wait=round(next_at - now, 3), failing_for=round(now - failing_since, 3),
                    error=str(error))
            else:
                self.store.mark_done(message.id, at=self.now())
                self.metrics.writebacks.labels(message.destination, "sent").inc()
                report.sent += 1
                log(LOG, "write-back sent", destination=message.destination, kind=message.kind,
                    dedupe_key=message.dedupe_key)

    def _dead(self, message: OutboxMessage, error: str, report: DrainReport) -> None:
        assert message.id is not None
        self.store.mark_dead(message.id, error=error)
        self.metrics.writebacks.labels(message.destination, "dead").inc()
        report.dead += 1
        report.errors.append(f"{message.destination}/{message.kind}: {error}")
        log(LOG, "write-back dead-lettered", logging.WARNING, destination=message.destination,
            kind=message.kind, dedupe_key=message.dedupe_key, error=error)


class _Sends:
    """The relay's messages under way: each destination's slots, each lane's last message (the
    next one of the lane waits for it), and what is claimed, per destination."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.slots: dict[str, asyncio.Semaphore] = {}
        self.lanes: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.claimed: Counter[str] = Counter()
        self.ids: set[int] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def slot(self, destination: str) -> asyncio.Semaphore:
        if destination not in self.slots:
            self.slots[destination] = asyncio.Semaphore(self.concurrency)
        return self.slots[destination]

    def add(self, task: asyncio.Task[None], lane: tuple[str, str],
            message: OutboxMessage) -> None:
        assert message.id is not None
        message_id = message.id
        self.lanes[lane] = task
        self.claimed[message.destination] += 1
        self.ids.add(message_id)
        self.tasks.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            self.ids.discard(message_id)
            self.claimed[message.destination] -= 1
            if self.lanes.get(lane) is task:
                del self.lanes[lane]
            if not task.cancelled() and task.exception() is not None:
                LOG.error("write-back failed", exc_info=task.exception())

        task.add_done_callback(done)
