"""An exploration spread over worker processes, in chunks of scenarios.

One Hypothesis run keeps what it generated in memory and uses one core. A long profile (a
hundred thousand scenarios) is therefore played as chunks, each an ordinary exploration with
its own seed (derived from the run's), on `workers` processes that each build the landscape
once. A chunk's failure carries the command that replays that chunk alone, exactly.

    python -m harness.explore --scenarios 100000 --workers 2 --stats explore-stats.json
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from simulators.landscape import derive_seed

CHUNK = 2000  # scenarios per chunk: Hypothesis's memory of one run stays small


@dataclass(frozen=True)
class Plan:
    """What to explore: `explore`'s arguments, less the seed and the count."""

    ref: str
    without: tuple[str, ...] = ()
    steps: int = 8
    shrink: bool = True
    merchants: int | None = None
    kinds: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    dunning: bool = False


def chunks(seed: int, scenarios: int, size: int = CHUNK) -> list[tuple[int, int]]:
    """(seed, scenarios) of each chunk: a run that fits one chunk keeps the run's own seed, so
    its replay command is the command that was run."""
    if scenarios <= size:
        return [(seed, scenarios)]
    out = []
    for i, start in enumerate(range(0, scenarios, size)):
        out.append((derive_seed(seed, f"chunk-{i}") & 0xFFFFFFFF, min(size, scenarios - start)))
    return out


def _build(plan: Plan) -> None:
    from harness.explore import CUSTOMERS
    from harness.explore_world import world

    parent = os.getppid()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    world(plan.ref, CUSTOMERS, tuple(sorted(plan.without)), plan.merchants, plan.dunning)


def _exit_with(parent: int) -> None:
    """A worker whose exploration was killed (SIGKILL, a closed terminal) must not play its
    chunk on for an hour: it leaves when its parent is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _chunk(plan: Plan, seed: int, scenarios: int) -> tuple[dict[str, Any], float, float]:
    from harness.explore import explore
    from harness.explore_world import close_worlds

    started = time.time()
    try:
        stats = explore(plan.ref, without=plan.without, seed=seed, scenarios=scenarios,
                        steps=plan.steps, shrink=plan.shrink, merchants=plan.merchants,
                        kinds=plan.kinds, watch=plan.watch, rules=plan.rules,
                        dunning=plan.dunning)
    finally:
        # the next chunk on a fresh world, exactly as its replay command plays it (the first
        # was built by `_build` before any chunk started)
        close_worlds()
    return stats.to_dict(), started, time.time()


def explore_chunks(plan: Plan, seed: int, scenarios: int, workers: int, size: int = CHUNK,
                   progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Every chunk on `workers` processes (each builds the landscape before its first chunk);
    the merged statistics, `seconds` being the wall time from the first chunk's start to the
    last one's end (the builds left out, as `--bench` leaves them out). `progress` gets the
    statistics so far after each chunk (a long profile writes them as it goes)."""
    planned = chunks(seed, scenarios, size)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited loop
    merged: dict[str, Any] = {"topology": plan.ref, "without": sorted(plan.without),
                              "seed": seed, "workers": workers, "chunks": len(planned),
                              "scenarios": 0, "settled": 0, "steps": 0, "rules": {},
                              "failures": []}
    first, last = float("inf"), 0.0
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_build, initargs=(plan,)) as pool:
        futures = [pool.submit(_chunk, plan, s, n) for s, n in planned]
        for future in as_completed(futures):
            stats, started, ended = future.result()
            first, last = min(first, started), max(last, ended)
            merged["scenarios"] += stats["scenarios"]
            merged["settled"] += stats["settled"]
            merged["steps"] += stats["steps"]
            for name, count in stats["rules"].items():
                merged["rules"][name] = merged["rules"].get(name, 0) + count
            merged["failures"] += stats["failures"]
            merged["chunks_done"] = merged.get("chunks_done", 0) + 1
            _rate(merged, last - first)
            if progress:
                progress(merged)
    merged["rules"] = dict(sorted(merged["rules"].items()))
    _rate(merged, last - first)
    return merged


def _rate(merged: dict[str, Any], seconds: float) -> None:
    merged["seconds"] = round(seconds, 3)
    merged["scenarios_per_second"] = (round(merged["scenarios"] / seconds, 1) if seconds > 0
                                      else None)
    merged["settled_per_second"] = (round(merged["settled"] / seconds, 1) if seconds > 0
                                    else None)
