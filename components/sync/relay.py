"""The outbox relay: due write-backs out, with backoff, and the dead letters for what will
not go. A vendor that is down (a NetSuite brownout) only delays its messages: they wait with
capped exponential backoff (jitter from the seeded RNG) and drain when it is back; nothing is
lost and nothing is sent twice. A message is given up on (a dead letter) only when the vendor
refuses it for good (a 4xx) or has kept failing for `outbox.give_up_after_seconds` (3 days by
default) since its first failure: a time, not a count of tries, so a long brownout does not
dead-letter what would have gone through an hour later.

Order: the messages for one invoice to one destination go out in the order they were queued. A
message whose predecessor is still waiting out a backoff waits with it (`Store.defer`), so a
"retrying" status sent late never overwrites the "recovered" queued after it."""

from __future__ import annotations

import asyncio
import logging
import random
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
        """Send what is due: invoices side by side (at most `concurrency` messages in flight:
        one at a time cannot keep up with a decline storm against a 600 ms ERP), each
        invoice's messages in order."""
        report = DrainReport()
        lanes: dict[str, list[OutboxMessage]] = {}
        for message in self.store.due_messages(self.now(), self.settings.batch):
            lane = str(message.payload.get("invoice_key") or f"message:{message.id}")
            lanes.setdefault(lane, []).append(message)
        slots = asyncio.Semaphore(self.settings.concurrency)

        async def send_lane(messages: list[OutboxMessage]) -> None:
            for message in sorted(messages, key=lambda m: m.id or 0):  # as queued
                if self._wait_for_earlier(message, report):
                    continue
                async with slots:
                    await self._deliver(message, report)

        await asyncio.gather(*(send_lane(messages) for messages in lanes.values()))
        return report

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
