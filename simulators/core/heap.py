"""Garbage collection for a served fake, whose heap is mostly long-lived: the app, the vendor's
OpenAPI spec and, as a load test runs, every object it creates.

CPython's full collection walks every tracked object, and runs once the objects that survived
since the last one reach a quarter of the heap: a fake holding a million objects stopped for
seconds, and its p99 grew with its state. Here whatever survives a collection of the middle
generation (every ~7,000 allocations) is frozen (`gc.freeze`: moved where collections never
look), so a collection walks only young objects, however much state the fake holds. Frozen
objects are still freed by reference counting (a request's objects, an evicted journal entry, a
deleted customer); only a reference cycle among them would outlive its use, and the fakes'
requests leave none (tests/unit/test_heap.py). As a safety net anyway, once the heap has
doubled since the last complete collection (and grown by at least `MIN_GROWTH` memory blocks),
everything is unfrozen, collected and frozen again: one full walk each time the heap doubles,
O(1) amortised per object. The walk stops the fake (0.6 s at a million objects, 1.3 s at two
million on the benchmark machine), so it waits for a quiet moment, a second without a collection
of the middle generation (an idle fake, or one between a load test's phases), unless the heap
reaches `BUSY_LIMIT` times its size first: memory stays bounded under endless load, and a load
test's latencies are not its victims in between. The heap's size is Python's count of allocated
memory blocks, which dead frozen objects leave as reference counting frees them; it is read
only once enough objects were frozen since the last look for the heap to have grown that much,
so its cost (0.4 ms at 6 million blocks) stays rare. (Counting the frozen objects instead walks
all of them: past a million objects that stopped a fake for ~0.1 s, several times on its way to
each doubling.) The floor keeps a young fake (the startup heap is ~100,000 objects, 400,000
blocks) from walking everything every few seconds under load.

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
import sys
from typing import Any

MIN_GROWTH = 3_000_000  # memory blocks allocated since the last complete collection before another
MIDDLE_THRESHOLD = 1  # young collections before one of the middle generation (CPython: 10)
LOOKS_PER_DOUBLING = 8  # how often the heap's size is read on its way to doubling, at most
QUIET_SECONDS = 1.0  # a complete collection waits for this long without a middle collection
BUSY_LIMIT = 4  # ... unless the heap has grown to this many times its size at the last one


def heap_blocks() -> int:
    """The heap's size: memory blocks Python has allocated (objects, strings, numbers); O(arenas),
    not O(objects)."""
    return sys.getallocatedblocks()


class Freezer:
    """The `gc.callbacks` hook (see the module's doc). `complete` is also what a caller runs
    when it knows nothing is in flight (after startup)."""

    def __init__(self) -> None:
        self.blocks_at_complete = 0  # heap_blocks() right after the last complete collection
        self.frozen_since_look = 0  # objects frozen since the heap's size was last read
        self.middle_collections = 0
        self.complete_collections = 0
        self._pending = False  # a complete collection is waiting to run
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
        self.blocks_at_complete = heap_blocks()
        self.frozen_since_look = 0
        self.complete_collections += 1

    def _complete_if_pending(self) -> None:
        if self._pending:  # (not if a complete collection ran since it was asked for)
            self.complete()

    def _complete_when_quiet(self, seen: int) -> None:
        """Run the pending complete collection if no middle collection ran since `seen` (the
        fake allocated little for `QUIET_SECONDS`: it is idle or nearly), else look again then."""
        if not self._pending:
            return
        if self.middle_collections == seen:
            self.complete()
            return
        asyncio.get_running_loop().call_later(QUIET_SECONDS, self._complete_when_quiet,
                                              self.middle_collections)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation", 0) < 1 or self._completing:
            return  # (while completing, the whole heap is unfrozen: none of it is new)
        self.middle_collections += 1
        # what the collection just promoted to the oldest generation: the rest is frozen
        self.frozen_since_look += len(gc.get_objects(generation=2))
        gc.freeze()
        doubling = max(self.blocks_at_complete, MIN_GROWTH)
        if self.frozen_since_look < doubling // (LOOKS_PER_DOUBLING * 3):
            return  # (an object is ~3-4 blocks: itself, its strings and numbers)
        self.frozen_since_look = 0
        grown = heap_blocks() - self.blocks_at_complete
        try:  # gc.collect() does nothing inside a collection: it runs from the loop, after
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop in this thread: a later collection looks again
        if grown > (BUSY_LIMIT - 1) * doubling:  # busy all along: now, whatever it costs
            self._pending = True
            loop.call_soon(self._complete_if_pending)
        elif grown > doubling and not self._pending:
            self._pending = True
            loop.call_later(QUIET_SECONDS, self._complete_when_quiet, self.middle_collections)


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
