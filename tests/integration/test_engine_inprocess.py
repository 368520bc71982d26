"""The same app mounted in-process (httpx's ASGITransport): what property tests use."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.faults import FaultSpec
from simulators.core.pipeline import ConnectionDropped
from simulators.core.simulator import Simulator
from tests.support.toy_vendor import ToyVendor


def test_in_process_transport_drops_after_commit_as_a_transport_error() -> None:
    sim = Simulator(ToyVendor(), seed=1, clock=Clock.frozen(0))
    sim.faults.add(FaultSpec(kind="drop_after", first_n=1), sim.clock.now())

    async def scenario() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=build_app(sim))
        async with httpx.AsyncClient(transport=transport, base_url="http://toy") as client:
            headers = {"authorization": "Bearer t1", "idempotency-key": "k"}
            with pytest.raises(httpx.TransportError) as dropped:
                await client.post("/counters/a", json={}, headers=headers)
            assert isinstance(dropped.value, ConnectionDropped)
            retry = await client.post("/counters/a", json={}, headers=headers)
            return retry.json()["value"], sim.tenants.find("t1").collection("counters")["a"]

    assert asyncio.run(scenario()) == (1, 1)
