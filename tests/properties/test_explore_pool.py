"""The long profile's machinery (harness/explore_pool.py): an exploration split into chunks
with derived seeds, played on worker processes, its statistics merged as the chunks finish."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

from harness.explore import CUSTOMERS, DEFAULT_TOPOLOGY
from harness.explore_pool import Plan, chunks, explore_chunks
from harness.explore_world import close_worlds, world
from simulators.landscape import derive_seed


def test_a_run_that_fits_one_chunk_keeps_its_seed_and_a_longer_one_derives_each() -> None:
    assert chunks(7, 150, size=200) == [(7, 150)]
    planned = chunks(7, 450, size=200)
    assert [n for _, n in planned] == [200, 200, 50]
    assert [s for s, _ in planned] == [derive_seed(7, f"chunk-{i}") & 0xFFFFFFFF
                                       for i in range(3)]
    assert len({s for s, _ in planned}) == 3


def test_two_workers_play_every_chunk_and_merge_what_they_did() -> None:
    seen: list[dict[str, Any]] = []
    merged = explore_chunks(Plan(DEFAULT_TOPOLOGY, shrink=False), seed=3, scenarios=24,
                            workers=2, size=12, progress=lambda so_far: seen.append(dict(so_far)))
    assert merged["chunks"] == merged["chunks_done"] == 2
    assert [s["chunks_done"] for s in seen] == [1, 2]
    assert not merged["failures"], merged["failures"]
    assert merged["scenarios"] >= 24  # Hypothesis may play a few more than it was asked
    assert 0 < merged["settled"] <= merged["scenarios"]
    assert merged["steps"] == sum(merged["rules"].values())
    assert merged["scenarios_per_second"] and merged["settled_per_second"]


def test_a_chunk_plays_in_the_pool_exactly_as_its_replay_command_plays_it() -> None:
    """Each chunk runs on a fresh world: the two chunks one worker plays in turn are the same
    scenarios as each chunk played alone in a process of its own (its replay command)."""
    plan = Plan(DEFAULT_TOPOLOGY, shrink=False)
    pooled = explore_chunks(plan, seed=5, scenarios=24, workers=1, size=12)
    alone = [explore_chunks(plan, seed=seed, scenarios=n, workers=1, size=n)
             for seed, n in chunks(5, 24, size=12)]
    for field in ("scenarios", "settled", "steps"):
        assert pooled[field] == sum(s[field] for s in alone), field
    assert pooled["rules"] == dict(sorted(sum((Counter(s["rules"]) for s in alone),
                                              Counter()).items()))


def test_time_moves_past_a_due_instant_closer_than_the_loops_resolution() -> None:
    """A fake's due instant a rounding error ahead of the clock (the fakes' epoch time and the
    loop's differ in their last bits after years of virtual time) is waited for, not spun on:
    asyncio runs a timer due within its resolution at once, without moving time."""
    close_worlds()
    w = world(DEFAULT_TOPOLOGY, CUSTOMERS, (), 1, False)
    w.reset(1)
    # the loop as after thousands of scenarios: 2**33 s of virtual time, where a float's step
    # is 2 µs (the fakes' clock reads the loop's time relative to its origin: unchanged)
    w.loop.virtual_now += 2.0**33
    w.stage.world.clock._loop_origin += 2.0**33
    start, seen = w.now(), []
    real = w.next_due

    def next_due() -> float | None:  # due one float step ahead of now, 50 times over
        seen.append(w.now())
        assert len(seen) < 1000, "advance spins without moving time"
        return math.nextafter(seen[-1], math.inf) if len(seen) <= 50 else real()

    w.next_due = next_due  # type: ignore[method-assign]
    try:
        w.run(w.advance(5))
        ended = w.now()
    finally:
        del w.next_due
        close_worlds()
    stuck = max(len(list(same)) for _, same in itertools.groupby(seen[:50]))
    assert stuck < 3, f"advance looked {stuck} times at one instant without moving time"
    assert ended >= start + 5  # and the 5 seconds asked for passed
