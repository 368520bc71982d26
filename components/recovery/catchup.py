"""Catch-up: the declines whose webhooks never reached the engine, found on the billing
system's event list.

A billing system redelivers a webhook it could not deliver for a while only (Stripe: 3 days in
live mode, a few hours in a sandbox; Chargebee: about 2 days), then gives up. An engine down
longer than that, or one whose every redelivery met a bad moment, would never decide those
declines. So the engine also reads the events, as the vendors advise: at start and then every
`catch_up.interval_seconds`, it lists the payment failures since the last point it caught up to
(kept in the store, so a restart resumes there) and takes each through the same inbox as a
webhook. An event already decided (its webhook came) is dropped there as a duplicate, and one
that the webhook brings after the catch-up took it is dropped the same way: each decline is
decided once, whichever way it arrived.

    Stripe:    GET /v1/events?type=invoice.payment_failed&created[gte]=<point>  (30 days kept)
    Chargebee: GET /api/v2/events?event_type[is]=payment_failed&occurred_at[after]=<point>

The invoice in a listed event is as it was when the event was made, maybe days ago: the engine
reads the invoice again before deciding (a payment made since then stops the retry). Events
younger than `catch_up.settle_seconds` are left to their webhook (the hot path); newer events are
taken first, so an older failure of the same invoice is dropped as stale.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from components.connectors.chargebee import ChargebeeConnector
from components.connectors.errors import UnknownOutcome, VendorError
from components.connectors.stripe import StripeConnector
from components.domain import Decline
from components.observability import log
from components.recovery import intake
from components.settings import CatchUpSettings
from components.store import Store

LOG = logging.getLogger("components.recovery")

STRIPE_EVENT = "invoice.payment_failed"
CHARGEBEE_EVENT = "payment_failed"

# (source, decline) → the HTTP status and body a webhook would have been answered with
Process = Callable[[str, Decline], Awaitable[tuple[int, Any]]]


@dataclass
class CatchUpReport:
    since: float | None = None      # the listing started here (epoch seconds)
    until: float | None = None      # and took events up to here: the new caught-up point
    listed: int = 0                 # payment failures in the window
    decided: int = 0                # new to the inbox: decided now
    dropped: int = 0                # already seen (duplicate) or older than one seen (stale)
    failed: int = 0                 # decided with a vendor error (the engine retries them)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CatchUp:
    def __init__(self, store: Store, *, billing: str, stripe: StripeConnector,
                 chargebee: ChargebeeConnector | None, settings: CatchUpSettings,
                 now: Callable[[], float], process: Process) -> None:
        self.store, self.billing, self.settings = store, billing, settings
        self.stripe, self.chargebee = stripe, chargebee
        self.now, self.process = now, process

    @property
    def cursor(self) -> str:
        return f"catchup:{self.billing}"

    async def run(self) -> CatchUpReport:
        started = self.now()
        until = started - self.settings.settle_seconds
        point = self.store.cursor_get(self.cursor)
        if point is None:
            point = started - self.settings.first_lookback_seconds
        since = min(point - self.settings.overlap_seconds, until)
        report = CatchUpReport(since=since, until=until)
        try:
            events = await self._list(since)
        except (VendorError, UnknownOutcome) as error:  # the point stays: next time again
            report.errors.append(f"listing the events: {error}")
            log(LOG, "catch-up could not list the events", logging.WARNING, error=str(error))
            return report
        if len(events) >= self.settings.max_events:
            report.errors.append(f"more than catch_up.max_events ({self.settings.max_events}) "
                                 f"events since {since:.0f}: the oldest were not read")
            log(LOG, "catch-up window truncated", logging.WARNING, since=since,
                max_events=self.settings.max_events)
        declines = [d for d in map(self._decline, events) if d is not None
                    and since <= d.occurred_at <= until]
        declines.sort(key=lambda d: d.occurred_at, reverse=True)  # newest first: older stale
        report.listed = len(declines)
        for decline in declines:
            status, answer = await self.process(decline.source, decline)
            if answer.get("dropped"):
                report.dropped += 1
            elif status >= 400:
                report.failed += 1
                report.decided += 1
            else:
                report.decided += 1
        # every listed event is in the inbox now (decided, or scheduled again on an error)
        self.store.cursor_advance(self.cursor, until, at=started)
        log(LOG, "caught up", billing=self.billing, **{
            k: v for k, v in report.to_dict().items() if k != "errors"})
        return report

    async def _list(self, since: float) -> list[dict[str, Any]]:
        limit = self.settings.max_events
        if self.billing == "chargebee":
            assert self.chargebee is not None
            return await self.chargebee.list_events(
                event_type=CHARGEBEE_EVENT, occurred_after=max(0, int(since) - 1),
                limit_total=limit)
        # Stripe lists newest first; a window with more than `limit` events keeps the newest
        return await self.stripe.list_events(type_=STRIPE_EVENT, created_gte=max(0, int(since)),
                                             limit_total=limit)

    def _decline(self, event: dict[str, Any]) -> Decline | None:
        try:
            if self.billing == "chargebee":
                return intake.chargebee_decline(event)
            return intake.stripe_decline(event)
        except (intake.Unreadable, KeyError, TypeError) as error:
            log(LOG, "catch-up skipped an unreadable event", logging.WARNING,
                event_id=event.get("id"), error=str(error))
            return None
