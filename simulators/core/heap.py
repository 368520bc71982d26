"""Garbage collection for a served fake: reference counting, and a full collection only as a
safety net once the heap has doubled.

CPython frees an object by reference counting as soon as nothing refers to it; its collector is
there for reference cycles, which counting never frees. A fake's requests leave none
(tests/unit/test_heap.py checks each vendor's requests, served connections over HTTP and TLS,
and webhook deliveries), so a collection finds nothing and only stops the fake while it walks
the objects made since the last one. At 1,000 creates a second that was ~16 young and ~8
middle-generation collections a second, up to 2.6 ms each, and the fake Stripe's overhead at
p99 was about 1 ms higher than with collection off (BENCHMARKS.md, "The fakes: throughput,
tails and overhead"). A collection of the whole heap is worse: 0.6 s at a million objects,
1.3 s at two million on the benchmark machine. So a served fake runs with automatic collection
off (`gc.disable()`) and lets reference counting free its objects.

The safety net is for a cycle that does appear (a library's, a new code path's): every
`LOOK_SECONDS` the fake's loop reads the heap's size, Python's count of allocated memory blocks
(O(arenas): 0.4 ms at 6 million blocks). Once it has doubled since the last complete collection
(and grown by at least `MIN_GROWTH` blocks, so a young fake does not walk everything every few
seconds), a complete collection runs at the first quiet look: the process used less than
`QUIET_CPU` of a core since the look before (an idle fake, or one between a load test's phases),
so a load test's latencies are not its victims. If the heap reaches `BUSY_LIMIT` times its size
at the last one first, it runs at once: memory stays bounded under endless load.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections.abc import Callable

MIN_GROWTH = 3_000_000  # memory blocks allocated since the last complete collection before another
LOOK_SECONDS = 1.0  # how often the loop reads the heap's size
QUIET_CPU = 0.05  # of a core, between two looks: below it the fake is idle (or nearly)
BUSY_LIMIT = 4  # a complete collection runs, busy or not, at this many times the heap's size


def heap_blocks() -> int:
    """The heap's size: memory blocks Python has allocated (objects, strings, numbers); O(arenas),
    not O(objects)."""
    return sys.getallocatedblocks()


class Collector:
    """The safety net (see the module's doc): `look` decides, `watch` looks from the loop."""

    def __init__(self, cpu: Callable[[], float] = time.process_time,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.blocks_at_complete = 0  # heap_blocks() right after the last complete collection
        self.complete_collections = 0
        self.freed = 0  # objects the complete collections found in cycles (0 if none leaked)
        self._cpu, self._clock = cpu, clock
        self._cpu_at_look, self._at_look = cpu(), clock()
        self._watching = False

    def complete(self) -> None:
        """Collect everything: the one full walk."""
        self.freed += gc.collect()
        self.blocks_at_complete = heap_blocks()
        self.complete_collections += 1

    def look(self) -> None:
        """Run a complete collection if the heap has doubled and the fake is quiet, or has grown
        to `BUSY_LIMIT` times its size, since the last one."""
        cpu, now = self._cpu(), self._clock()
        quiet = cpu - self._cpu_at_look < QUIET_CPU * (now - self._at_look)
        grown = heap_blocks() - self.blocks_at_complete
        doubling = max(self.blocks_at_complete, MIN_GROWTH)
        if grown > (BUSY_LIMIT - 1) * doubling or (grown > doubling and quiet):
            self.complete()
        # from here: the collection's own CPU is not the fake's load
        self._cpu_at_look, self._at_look = self._cpu(), self._clock()

    def watch(self) -> None:
        """Look every `LOOK_SECONDS` from the running loop, for as long as it runs (once)."""
        if self._watching:
            return
        self._watching = True
        loop = asyncio.get_running_loop()

        def tick() -> None:
            self.look()
            loop.call_later(LOOK_SECONDS, tick)

        self._cpu_at_look, self._at_look = self._cpu(), self._clock()
        loop.call_later(LOOK_SECONDS, tick)


_installed: Collector | None = None


def install() -> Collector | None:
    """Tune this process's collector for a long-running fake (idempotent): collect what startup
    built once, then turn automatic collection off; `watch` (from the serving loop) starts the
    safety net. `LANDSCAPE_GC=default` leaves CPython's collector as it is (what
    `landscape bench --state` compares against)."""
    global _installed
    if os.environ.get("LANDSCAPE_GC") == "default":
        return None
    if _installed is None:
        _installed = Collector()
        _installed.complete()
        gc.disable()
    return _installed


def watch() -> None:
    """Start the safety net on the running loop, if `install` tuned this process."""
    if _installed is not None:
        _installed.watch()
