"""Metrics, structured logs and correlation ids, shared by both services.

Each service owns its own Prometheus registry (two services, or a test's many, can live in one
process). Logs are one JSON object per line; `correlation_id` follows an event from intake to
write-back: it is set at intake, stored on the attempt and on each outbox message, and put back
in context when the relay sends the message.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_correlation: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")

# Decision latency buckets: the SLA is p99 < 1 s, so resolution matters around 50 ms … 2 s.
DECISION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)


def correlation_id() -> str:
    return _correlation.get()


@contextmanager
def correlated(cid: str) -> Iterator[str]:
    """Run a block with `cid` as the correlation id of every log line and outbox message."""
    token = _correlation.set(cid)
    try:
        yield cid
    finally:
        _correlation.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 3), "level": record.levelname.lower(),
            "logger": record.name, "msg": record.getMessage(),
        }
        if cid := correlation_id():
            line["correlation_id"] = cid
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for the `components` loggers (a service's entry point calls it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("components")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def log(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    """One structured log line: `log(LOG, "decision", action="retry_now", invoice_key=…)`."""
    if logger.isEnabledFor(level):
        logger.log(level, msg, extra={"fields": fields})


class Metrics:
    """The services' Prometheus metrics, on a registry of their own."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.decision_latency = Histogram(
            "recovery_decision_latency_seconds",
            "From receipt of a decline (webhook or intercept) to the known result of the retry "
            "authorization, or to the decision not to retry", ["source", "mode"],
            buckets=DECISION_BUCKETS, registry=r)
        self.outcomes = Counter(
            "recovery_outcomes_total", "Decisions and retry results", ["outcome", "reason"],
            registry=r)
        self.events = Counter(
            "recovery_events_total", "Events received, by source and inbox verdict",
            ["source", "verdict"], registry=r)
        self.vendor_errors = Counter(
            "vendor_errors_total", "Vendor calls that failed, by vendor and error class",
            ["vendor", "kind"], registry=r)
        self.writebacks = Counter(
            "outbox_writebacks_total", "Outbox messages sent, by destination and result",
            ["destination", "result"], registry=r)
        self.outbox_depth = Gauge("outbox_depth", "Write-backs waiting to be sent", registry=r)
        self.dlq_size = Gauge("outbox_dead_letters", "Write-backs given up on", registry=r)
        self.cache_reads = Counter(
            "context_reads_total", "Context reads on the hot path, by where they were answered",
            ["source"], registry=r)
        self.service = service

    def watch(self, depth: Callable[[], int], dead: Callable[[], int]) -> None:
        """Read the outbox gauges from the store at scrape time."""
        self.outbox_depth.set_function(lambda: float(depth()))
        self.dlq_size.set_function(lambda: float(dead()))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class Stopwatch:
    """Elapsed seconds on the running loop's clock (virtual under a virtual-time loop)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._start = clock()

    def elapsed(self) -> float:
        return self._clock() - self._start
