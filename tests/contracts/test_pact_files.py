"""The committed pacts hold only what the consumer tests record: an interaction no consumer test
makes any more (a call the components stopped making) must be removed, by regenerating."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from tests.contracts.pactfile import PACTS, RECOVERY, REGENERATE, ROOT, SYNC

HERE = Path(__file__).parent


def _strings_in_consumer_tests() -> set[str]:
    found: set[str] = set()
    for module in HERE.glob("test_consumer_*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_committed_interaction_is_recorded_by_a_consumer_test() -> None:
    known = _strings_in_consumer_tests()
    files = sorted(PACTS.glob("*.json"))
    assert files, f"no pacts in {PACTS.relative_to(ROOT)}: run `make pacts`"
    stale = []
    for path in files:
        pact = json.loads(path.read_text())
        assert pact["metadata"]["pactSpecification"]["version"].startswith("4"), path.name
        assert pact["consumer"]["name"] in (RECOVERY, SYNC), path.name
        assert path.name == f"{pact['consumer']['name']}-{pact['provider']['name']}.json"
        stale += [f"{path.name}: {i['description']!r}" for i in pact["interactions"]
                  if i["description"] not in known]
    assert not stale, ("interactions no consumer test records any more:\n  " +
                       "\n  ".join(stale) + f"\nregenerate: `make pacts` ({REGENERATE}=1)")
