"""The queues of the model, computed instead of scheduled: each costs no SimPy event.

Requests reach these at the simulation's current time, in time order, so a heap of the times
each server becomes free is an exact first-come-first-served queue with c servers: the next
request starts on the server free soonest, when it is free.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


class Servers:
    """c servers, first come first served (engine replicas, a fake's process, relay workers,
    a client-side concurrency semaphore)."""

    __slots__ = ("free", "busy")

    def __init__(self, count: int) -> None:
        self.free = [0.0] * max(1, count)
        self.busy = 0.0  # service time given, for utilisation

    def take(self, now: float, service: float) -> tuple[float, float]:
        """(start, end) of a request arriving at `now` needing `service` seconds."""
        start = max(now, heapq.heappop(self.free))
        end = start + service
        heapq.heappush(self.free, end)
        self.busy += service
        return start, end


@dataclass
class Relay:
    """An outbox relay's slots for one destination: a batch holds one while it sends, its
    calls made as it goes (not computed ahead: see Model._sending); the batches that find
    none free wait in line."""

    slots: int
    merchant: int = -1  # whose, when each merchant has its own (-1: every merchant's)
    in_use: int = 0
    busy: float = 0.0  # slot-seconds spent sending, for utilisation


@dataclass
class InFlight:
    """Requests in flight at a vendor account, for a concurrency limit the vendor enforces
    (the fake answers 429 beyond it instead of queueing)."""

    ends: list[float] = field(default_factory=list)
    peak: int = 0

    def count(self, now: float) -> int:
        while self.ends and self.ends[0] <= now:
            heapq.heappop(self.ends)
        return len(self.ends)

    def add(self, end: float) -> None:
        heapq.heappush(self.ends, end)
        self.peak = max(self.peak, len(self.ends))


@dataclass
class Bucket:
    """A token bucket (simulators/core/limits.py LimitState.take), lazily refilled."""

    rate: float
    capacity: float
    tokens: float
    updated: float = 0.0

    def take(self, now: float) -> float | None:
        """None if a token was spent, else seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate
