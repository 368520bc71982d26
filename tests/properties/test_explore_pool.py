"""The long profile's machinery (harness/explore_pool.py): an exploration split into chunks
with derived seeds, played on worker processes, its statistics merged as the chunks finish."""

from __future__ import annotations

from typing import Any

from harness.explore import DEFAULT_TOPOLOGY
from harness.explore_pool import Plan, chunks, explore_chunks
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
