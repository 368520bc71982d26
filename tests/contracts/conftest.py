from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pact import Pact

from tests.contracts.pactfile import new_pact, settle

# pact's Rust core reports usage over the network unless told not to: these tests stay offline
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.when == "call":
        item.stash[PASSED] = report.passed
    return report


@pytest.fixture
def contract(request: pytest.FixtureRequest,
             tmp_path: Path) -> Iterator[Callable[[str, str], Pact]]:
    """`contract(consumer, provider)` -> a fresh Pact (one per interaction: a served Pact takes
    no more); settled against contracts/pacts/ once the test has passed."""
    made: list[tuple[Pact, str, str]] = []

    def make(consumer: str, provider: str) -> Pact:
        pact = new_pact(consumer, provider)
        made.append((pact, consumer, provider))
        return pact

    yield make
    if request.node.stash.get(PASSED, False):
        for n, (pact, consumer, provider) in enumerate(made):
            settle(pact, consumer, provider, tmp_path / str(n))
