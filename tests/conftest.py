"""Shared fixtures: real fakes on loopback ports, started in a background thread."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from harness.seed_alone import seed_alone
from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.server import RunningServer, start_in_thread
from simulators.core.simulator import Simulator
from simulators.core.tls import ServerCertificate, ensure_certificates
from simulators.registry import create_vendor

# Property tests are derandomized by default, so CI is reproducible run to run; use
# HYPOTHESIS_PROFILE=explore for fresh random examples (a failure prints how to replay it).
settings.register_profile("default", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
seed_alone()  # a test generates the same alone as in the suite: its replay command replays


@dataclass
class Fake:
    url: str
    sim: Simulator
    server: RunningServer
    tls: ServerCertificate | None

    @property
    def ca_file(self) -> str | None:
        return str(self.tls.ca_file) if self.tls else None


@pytest.fixture(scope="session")
def tls_certificates(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return ensure_certificates(Path(tmp_path_factory.mktemp("tls")))


CONFORMANCE = pytest.StashKey[Callable[[], None]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Once a test has passed, its fakes' responses must match the vendors' documents."""
    result = yield  # a test that failed keeps its own failure
    check = item.stash.get(CONFORMANCE, None)
    if check is not None:
        check()
    return result


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What the report-only part of the SDK-types check found (tests/support/conformance.py)."""
    from tests.support.conformance import REPORTED

    if REPORTED:
        unique = sorted(set(REPORTED))
        terminalreporter.section("SDK types: report-only mismatches (not failing)")
        for line in unique[:40]:
            terminalreporter.write_line(line)
        if len(unique) > 40:
            terminalreporter.write_line(f"... and {len(unique) - 40} more")


@pytest.fixture
def start_fake(request: pytest.FixtureRequest,
               tls_certificates: ServerCertificate) -> Iterator[Callable[..., Fake]]:
    """`start_fake("stripe", tls=False, seed=0, controlled_clock=False)` -> Fake (stopped after).

    Every complete vendor response a fake serves is recorded, and when the test is over each
    one is held to the vendor's published OpenAPI document (and Stripe's official spec, and
    for Stripe and Chargebee the official SDKs' types at the SDKs' API version); the test fails
    on any that does not match (tests/support/conformance.py). A fake whose traffic
    is deliberately off-spec is started with `check_responses=False`, saying why where it is.
    """
    from tests.support.recording import Recorder

    running: list[tuple[Fake, Recorder, bool]] = []

    def start(vendor: str, *, tls: bool = False, seed: int = 0,
              controlled_clock: bool = False, simulator: Simulator | None = None,
              check_responses: bool = True) -> Fake:
        sim = simulator or Simulator(create_vendor(vendor), seed=seed,
                                     clock=Clock.frozen() if controlled_clock else Clock.real())
        cert = tls_certificates if tls else None
        recorder = Recorder(build_app(sim))
        server = start_in_thread(recorder, tls=cert)
        fake = Fake(server.url, sim, server, cert)
        running.append((fake, recorder, check_responses))
        return fake

    request.node.stash[CONFORMANCE] = lambda: _check_conformance(running)
    yield start
    for fake, _, _ in running:
        fake.server.stop()


def _check_conformance(running: list[tuple[Fake, Any, bool]]) -> None:
    from tests.support import conformance

    found: list[str] = []
    for fake, recorder, check in running:
        if check:
            app = getattr(recorder.app, "app", None)  # the pipeline's FastAPI app
            document = getattr(app, "openapi", None)  # what its /_sim/openapi.json serves
            for response in list(recorder.seen):
                found += conformance.problems(fake.sim.vendor.name, response, document)
    if found:
        more = f"\n... and {len(found) - 20} more" if len(found) > 20 else ""
        pytest.fail(f"{len(found)} response(s) do not match the vendor's OpenAPI document (a "
                    "fake that must serve off-spec traffic is started with "
                    "check_responses=False):\n" + "\n".join(found[:20]) + more, pytrace=False)


@pytest.fixture
def receiver() -> Iterator:
    """A webhook receiver on 127.0.0.1 (see harness/receiver.py)."""
    from harness.receiver import start_receiver

    rec = start_receiver()
    yield rec
    rec.stop()


@pytest.fixture
def toy(start_fake) -> Fake:
    """The engine with a minimal vendor (tests/support/toy_vendor.py), on a controlled clock."""
    from tests.support.toy_vendor import ToyVendor

    return start_fake("toy", simulator=Simulator(ToyVendor(), seed=7, clock=Clock.frozen()))
