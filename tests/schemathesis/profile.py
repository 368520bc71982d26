"""How hard the Schemathesis suites push: `quick` (CI's, the default) or `long`
(LANDSCAPE_PROFILE=long), and the seed every generated request flows from (LANDSCAPE_SEED; the
quick profile uses 0, the long one a fresh seed each run, printed with any failure)."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    seed: int
    examples: int  # generated cases per operation and mode
    few_examples: int  # the same for slow runs: Stripe's big schemas, a reset after every call
    stateful_examples: int  # state machine runs
    stateful_steps: int  # calls per state machine run
    test: str = ""  # the pytest node id, for the replay line

    @property
    def replay(self) -> str:
        return (f"LANDSCAPE_PROFILE={self.name} LANDSCAPE_SEED={self.seed} "
                f".venv/bin/pytest '{self.test}'")


PROFILES = {"quick": dict(examples=3, few_examples=2, stateful_examples=25, stateful_steps=8),
            "long": dict(examples=60, few_examples=40, stateful_examples=150,
                         stateful_steps=12)}


def current(test: str = "") -> Profile:
    name = os.environ.get("LANDSCAPE_PROFILE", "quick")
    if name not in PROFILES:
        raise ValueError(f"LANDSCAPE_PROFILE={name!r}: one of {', '.join(PROFILES)}")
    given = os.environ.get("LANDSCAPE_SEED")
    fresh = random.SystemRandom().randrange(2**32)
    seed = int(given) if given else (0 if name == "quick" else fresh)
    return Profile(name, seed, test=test, **PROFILES[name])  # type: ignore[arg-type]
