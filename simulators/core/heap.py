"""Garbage collection for a served fake, whose heap is mostly long-lived: the app, the vendor's
OpenAPI spec and, as a load test runs, every object it creates.

CPython's full collection walks every tracked object, and runs once the objects that survived
since the last one reach a quarter of the heap: a fake holding a million objects stopped for
seconds, and its p99 grew with its state. Here whatever survives a collection of the middle
generation (every ~7,000 allocations) is frozen (`gc.freeze`: moved where collections never
look), so a collection walks only young objects, however much state the fake holds. Frozen
objects are still freed by reference counting (a request's objects, an evicted journal entry, a
deleted customer); only a reference cycle among them would outlive its use, and the fakes'
requests leave none (tests/unit/test_heap.py). As a safety net anyway, once the frozen heap has
doubled since the last complete collection (and grown by at least `MIN_GROWTH` objects),
everything is unfrozen, collected and frozen again: one full walk each time the heap doubles,
O(1) amortised per object. The floor keeps a young fake (the startup heap is ~140,000 objects)
from stopping for a full walk every few seconds under load, which set the p99 of creates; past
it, a full walk costs ~0.7 s per million objects on the benchmark machine (BENCHMARKS.md).

The middle generation is collected once more than `MIDDLE_THRESHOLD` young collections ran since
its last one: with 1, every third collection (CPython's 10: every eleventh). It then holds two
young collections' survivors rather than ten, so each of its collections (and the freeze after
it) stops the fake for not much longer than a young one instead of several times as long: at
1,000 req/s, those were the longest pauses a request could sit behind (BENCHMARKS.md, "The
fakes: throughput, tails and overhead").
"""

from __future__ import annotations

import asyncio
import gc
import os
from typing import Any

MIN_GROWTH = 1_000_000  # objects frozen since the last complete collection before another
MIDDLE_THRESHOLD = 1  # young collections before one of the middle generation (CPython: 10)


class Freezer:
    """The `gc.callbacks` hook (see the module's doc). `complete` is also what a caller runs
    when it knows nothing is in flight (after startup)."""

    def __init__(self) -> None:
        self.frozen_since_complete = 0
        self.frozen_at_complete = 0
        self.complete_collections = 0
        self._pending = False
        self._completing = False  # complete()'s own collection is not one to react to

    def complete(self) -> None:
        """Unfreeze, collect everything, freeze the survivors: the one full walk."""
        self._pending = False
        self._completing = True
        try:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        finally:
            self._completing = False
        self.frozen_at_complete = gc.get_freeze_count()
        self.frozen_since_complete = 0
        self.complete_collections += 1

    def _complete_if_pending(self) -> None:
        if self._pending:  # (not if a complete collection ran since it was asked for)
            self.complete()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation", 0) < 1 or self._completing:
            return  # (while completing, the whole heap is unfrozen: none of it is new)
        # what the collection just promoted to the oldest generation: the rest is frozen
        self.frozen_since_complete += len(gc.get_objects(generation=2))
        gc.freeze()
        limit = max(self.frozen_at_complete, MIN_GROWTH)
        if self.frozen_since_complete <= limit or self._pending:
            return
        # many promoted objects died since (freed by reference counting): count what is left
        self.frozen_since_complete = gc.get_freeze_count() - self.frozen_at_complete
        if self.frozen_since_complete > limit:
            try:  # gc.collect() does nothing inside a collection: run it right after
                asyncio.get_running_loop().call_soon(self._complete_if_pending)
                self._pending = True
            except RuntimeError:
                pass  # no loop in this thread: the next collection tries again


_installed: Freezer | None = None


def install() -> Freezer | None:
    """Tune this process's collector for a long-running fake (idempotent): collect and freeze
    what startup built, then freeze what survives each collection of the middle generation,
    which runs after every two young ones (`MIDDLE_THRESHOLD`); CPython's young threshold is
    kept, so its young collections stay short. `LANDSCAPE_GC=default`
    leaves CPython's collector as it is (what `landscape bench --state` compares against)."""
    global _installed
    if os.environ.get("LANDSCAPE_GC") == "default":
        return None
    if _installed is None:
        _installed = Freezer()
        young, _, oldest = gc.get_threshold()
        gc.set_threshold(young, MIDDLE_THRESHOLD, oldest)
        gc.callbacks.append(_installed)
        _installed.complete()
    return _installed
