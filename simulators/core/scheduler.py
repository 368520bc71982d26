"""Clock-driven work for every vendor: entries in tenant state, one heap in memory.

A vendor schedules work on a tenant (`tenant.schedule(key, at, kind, ...)`: renew this
subscription at t, retry that invoice at t) and says what to do when a kind falls due
(`Vendor.scheduled_work()`). The entries live in the tenant's `_schedule` collection, so
snapshots keep them; the heap only indexes them and is rebuilt after a restore or reset. Finding
the next piece of work costs O(log n), never a rescan of the data.

An entry with a `lane` (a Stripe test clock) is not run on the fake's own clock: its vendor runs
that lane when the lane's own time moves (`due_in_lane`).
"""

from __future__ import annotations

import collections
import heapq
import inspect
import itertools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from simulators.core.tenancy import SCHEDULE, Tenant

# Who runs the work and is handed to it: the fake (a Simulator, seen by vendors as a
# `vendor.Engine`). The scheduler only passes it on, so it is a type parameter, not an import.
Sim = TypeVar("Sim")

# handler(sim, tenant, key, entry): entry["at"] is when the work was due
Work = Callable[[Sim, Tenant, str, dict[str, Any]], Awaitable[None] | None]


class Scheduler(Generic[Sim]):
    def __init__(self, find_tenant: Callable[[str], Tenant | None]) -> None:
        self._find = find_tenant
        self._heap: list[tuple[float, int, str, str, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._work: dict[str, Work[Sim]] = {}
        self.on_change: Callable[[], None] | None = None  # wakes the background runner
        self.ran: collections.Counter[str] = collections.Counter()  # work done, by kind

    def handle(self, kinds: Mapping[str, Work[Sim]]) -> None:
        self._work.update(kinds)

    # -- indexing (Tenant.schedule calls `push`) ------------------------------------------------
    def push(self, tenant: Tenant, key: str, entry: dict[str, Any]) -> None:
        if entry.get("lane") is None:
            heapq.heappush(self._heap, (entry["at"], next(self._seq), tenant.id, key, entry))
            if self.on_change is not None:
                self.on_change()

    def rebuild(self, tenants: Iterable[Tenant]) -> None:
        self._heap = [(entry["at"], next(self._seq), tenant.id, key, entry)
                      for tenant in tenants
                      for key, entry in tenant.data.get(SCHEDULE, {}).items()
                      if entry.get("lane") is None]
        heapq.heapify(self._heap)
        if self.on_change is not None:
            self.on_change()

    def _current(self, tenant_id: str, key: str, entry: dict[str, Any]) -> Tenant | None:
        """The tenant, if the heap item is still its entry (not rescheduled or cancelled)."""
        tenant = self._find(tenant_id)
        if tenant is not None and tenant.data.get(SCHEDULE, {}).get(key) is entry:
            return tenant
        return None

    # -- running ---------------------------------------------------------------------------
    def next_due(self) -> float | None:
        while self._heap:
            at, _, tenant_id, key, entry = self._heap[0]
            if self._current(tenant_id, key, entry) is not None:
                return at
            heapq.heappop(self._heap)  # stale: the entry was replaced or removed
        return None

    def pending(self) -> int:
        return len(self._heap)

    async def run_due(self, sim: Sim, now: float) -> int:
        """Run every entry due by `now`, earliest first; returns how many ran."""
        ran = 0
        while (due := self.next_due()) is not None and due <= now:
            _, _, tenant_id, key, entry = heapq.heappop(self._heap)
            tenant = self._current(tenant_id, key, entry)
            if tenant is None:
                continue
            del tenant.data[SCHEDULE][key]
            await self._run(sim, tenant, key, entry)
            self.ran[entry["kind"]] += 1
            ran += 1
        return ran

    async def _run(self, sim: Sim, tenant: Tenant, key: str, entry: dict[str, Any]) -> None:
        work = self._work.get(entry["kind"])
        if work is None:
            raise LookupError(f"no work registered for scheduled kind {entry['kind']!r}; "
                              f"the vendor's scheduled_work() must name it")
        result = work(sim, tenant, key, entry)
        if inspect.isawaitable(result):
            await result

    @staticmethod
    def due_in_lane(tenant: Tenant, lane: str, until: float) -> tuple[str, dict[str, Any]] | None:
        """The earliest entry of one lane due by `until`, removed from the schedule (or None).
        A lane is small (one test clock's objects), so a scan is fine here."""
        schedule = tenant.data.get(SCHEDULE, {})
        due = [(entry["at"], n, key) for n, (key, entry) in enumerate(schedule.items())
               if entry.get("lane") == lane and entry["at"] <= until]
        if not due:
            return None
        _, _, key = min(due)
        return key, schedule.pop(key)
