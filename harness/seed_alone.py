"""What Hypothesis generates decided by the seed alone.

Hypothesis (6.131 and later) also draws from the constants it finds in the project's modules
that happen to be imported, so the same seed generates other examples in a test run alone than
in its whole suite, or in `python -m harness.explore` than in a worker of its pool: a printed
replay command would not replay. `seed_alone()` keeps that pool empty (Hypothesis's own global
constants stay), in every process that generates: the explorer, its workers, the test suite.
"""

from __future__ import annotations

from hypothesis.internal.conjecture import providers


def seed_alone() -> None:
    """Idempotent. Uses a private hook of Hypothesis (`_get_local_constants`, pinned in
    pyproject.toml's version range): if it is gone, generation still works, only less exactly
    replayable, so this does nothing then."""
    if not hasattr(providers, "_get_local_constants"):
        return
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()  # what was drawn from the pool before
