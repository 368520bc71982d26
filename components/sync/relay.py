"""The outbox relay: due write-backs out, with backoff, and the dead letters for what will
not go. A vendor that is down (a NetSuite brownout) only delays its messages: they wait with
exponential backoff and drain when it is back; nothing is lost and nothing is sent twice."""

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
    errors: list[str] = field(default_factory=list)


class OutboxRelay:
    def __init__(self, store: Store, deployment: Deployment, *, settings: OutboxSettings,
                 metrics: Metrics, now: Callable[[], float], seed: int = 0) -> None:
        self.store, self.deployment, self.settings = store, deployment, settings
        self.metrics, self.now = metrics, now
        self.rng = random.Random(seed)

    def backoff(self, attempts: int) -> float:
        cap = min(self.settings.max_delay, self.settings.base_delay * 2 ** attempts)
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
            for message in messages:
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
            total.errors += report.errors
            if not (report.sent or report.retried or report.dead):
                break
        return total

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
                if final or message.attempts + 1 >= self.settings.max_attempts:
                    self._dead(message, str(error), report)
                    return
                wait = max(self.backoff(message.attempts),
                           getattr(error, "retry_after", None) or 0.0)
                self.store.mark_retry(message.id, next_attempt_at=self.now() + wait,
                                      error=str(error))
                self.metrics.writebacks.labels(message.destination, "retry").inc()
                report.retried += 1
                log(LOG, "write-back retried", destination=message.destination,
                    kind=message.kind, attempts=message.attempts + 1, wait=round(wait, 3),
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
