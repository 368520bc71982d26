"""Consumer side: one Pact per test, written to a temporary directory, then held against the
committed pact in contracts/pacts/ (or merged into it when regenerating).

A consumer test that now sends or expects something else fails here until the pacts are
regenerated (`make pacts`) and the diff reviewed: a contract cannot drift silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pact import Pact

ROOT = Path(__file__).resolve().parents[2]
PACTS = ROOT / "contracts" / "pacts"
REGENERATE = "LANDSCAPE_WRITE_PACTS"  # =1: merge what the consumer tests record into PACTS
RECOVERY, SYNC = "landscape-recovery", "landscape-sync"


def new_pact(consumer: str, provider: str) -> Pact:
    return Pact(consumer, provider).with_specification("V4")


def pact_file(consumer: str, provider: str, folder: Path = PACTS) -> Path:
    return folder / f"{consumer}-{provider}.json"


def identity(interaction: dict[str, Any]) -> tuple[str, str]:
    """What Pact itself tells interactions apart by: the description and the provider states."""
    return interaction["description"], json.dumps(interaction.get("providerStates", []),
                                                  sort_keys=True)


def settle(pact: Pact, consumer: str, provider: str, scratch: Path) -> None:
    """Call once the consumer test has passed: its interactions must be those committed."""
    pact.write_file(scratch, overwrite=True)
    recorded = json.loads(pact_file(consumer, provider, scratch).read_text())["interactions"]
    if os.environ.get(REGENERATE) == "1":
        pact.write_file(PACTS, overwrite=False)
        return
    committed_file = pact_file(consumer, provider)
    committed = {}
    if committed_file.exists():
        committed = {identity(i): i for i in json.loads(committed_file.read_text())
                     ["interactions"]}
    for interaction in recorded:
        name = interaction["description"]
        fix = (f"if the change is meant, regenerate with `make pacts` ({REGENERATE}=1) and "
               f"review the diff of {committed_file.relative_to(ROOT)}")
        assert identity(interaction) in committed, (
            f"{committed_file.relative_to(ROOT)} has no interaction {name!r} with these "
            f"provider states; {fix}")
        assert committed[identity(interaction)] == interaction, (
            f"interaction {name!r} in {committed_file.relative_to(ROOT)} differs from what the "
            f"consumer test now records:\n  committed: "
            f"{json.dumps(committed[identity(interaction)], sort_keys=True)}\n  recorded:  "
            f"{json.dumps(interaction, sort_keys=True)}\n{fix}")
