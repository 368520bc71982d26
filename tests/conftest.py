"""Shared fixtures: real fakes on loopback ports, started in a background thread."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

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


@pytest.fixture
def start_fake(tls_certificates: ServerCertificate) -> Iterator:
    """`start_fake("stripe", tls=False, seed=0, controlled_clock=False)` -> Fake (stopped after)."""
    running: list[Fake] = []

    def start(vendor: str, *, tls: bool = False, seed: int = 0,
              controlled_clock: bool = False, simulator: Simulator | None = None) -> Fake:
        sim = simulator or Simulator(create_vendor(vendor), seed=seed,
                                     clock=Clock.frozen() if controlled_clock else Clock.real())
        cert = tls_certificates if tls else None
        server = start_in_thread(build_app(sim), tls=cert)
        fake = Fake(server.url, sim, server, cert)
        running.append(fake)
        return fake

    yield start
    for fake in running:
        fake.server.stop()


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


@pytest.fixture
def start_recorded_fake(tls_certificates: ServerCertificate) -> Iterator:
    """Like `start_fake`, but every complete response of its fakes is kept in `.seen`
    (a `tests.support.recording.Recording`; its fakes are stopped after)."""
    from tests.support.recording import Recording

    recording = Recording(tls_certificates)
    with recording:
        yield recording
