"""The typed control client (simulators/client.py): sync over loopback HTTP(S), async and sync
in-process, and its two kinds of error (the fake said no; nothing answers)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.client import (
    AsyncControlClient,
    ClockState,
    ControlClient,
    ControlError,
    FakeUnreachable,
    InstalledFault,
)
from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.faults import FaultSpec, Match
from simulators.core.latency import Latency
from simulators.core.simulator import Limits, Simulator
from simulators.core.states import ProviderState, StateError, states_by_name
from simulators.core.tenancy import Tenant
from simulators.registry import create_vendor
from tests.support.toy_vendor import ToyVendor

KEY = {"authorization": "Bearer t1"}
SCHEMAS = Path(__file__).resolve().parents[2] / "scenarios" / "schemas"


class StatefulToy(ToyVendor):
    """The toy vendor plus one provider state, to drive `/_sim/states` through the client."""

    def provider_states(self) -> dict[str, ProviderState]:
        def counter_at(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
            if "name" not in params:
                raise StateError("needs params.name")
            tenant.collection("counters")[params["name"]] = int(params.get("value", 0))
            return {"counter": params["name"]}

        return states_by_name(ProviderState("a counter at a value", "counter `name` holds "
                                            "`value`", counter_at,
                                            {"name": "counter name", "value": "default 0"}))


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connecting there is refused, always."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- sync, over loopback HTTP -------------------------------------------------------------------
def test_sync_client_over_http_drives_faults_and_reads_journal(toy) -> None:
    with ControlClient(toy.url) as fake, httpx.Client(base_url=toy.url, headers=KEY) as api:
        health = fake.health()
        assert (health.vendor, health.seed, health.clock.mode) == ("toy", 7, "controlled")
        fault = fake.faults.add(FaultSpec(kind="http_error", status=503, first_n=1,
                                          match=Match(method="POST", path="/counters/*")))
        assert isinstance(fault, InstalledFault)
        assert (fault.id, fault.kind, fault.status, fault.hits) == ("flt_1", "http_error", 503, 0)
        assert api.post("/counters/a").status_code == 503
        assert api.post("/counters/a").status_code == 200
        [listed] = fake.faults.list()
        assert (listed.id, listed.matched, listed.hits) == ("flt_1", 1, 1)
        other = fake.faults.add({"kind": "rate_limit", "retry_after": 3})
        fake.faults.remove(fault.id)
        assert [f.id for f in fake.faults.list()] == [other.id]
        fake.faults.clear()
        assert fake.faults.list() == []

        posts = fake.journal.requests(method="POST", path="/counters/*")
        assert [e["status"] for e in posts] == [503, 200]
        assert posts[0]["faults"] == ["flt_1:http_error"] and posts[0]["tenant"] == "t1"
        assert fake.journal.requests(status=200, limit=1)[0]["seq"] == posts[1]["seq"]
        fake.journal.clear_requests()
        assert fake.journal.requests() == []


def test_sync_client_over_http_settings_clock_seed_and_tenants(toy, tmp_path) -> None:
    with ControlClient(toy.url + "/") as fake, httpx.Client(base_url=toy.url, headers=KEY) as api:
        assert fake.latency.get() is None
        assert fake.latency.set({"kind": "fixed", "ms": 0}) == Latency(kind="fixed", ms=0)
        assert fake.latency.get() == Latency(kind="fixed", ms=0)
        assert fake.latency.set(None) is None and fake.latency.get() is None
        assert fake.limits.set(Limits(rate_per_second=50)).rate_per_second == 50
        assert fake.limits.get() == Limits(rate_per_second=50) == toy.sim.limits

        start = fake.clock.now()
        advanced = fake.clock.advance(60)
        assert isinstance(advanced, ClockState)
        assert advanced.now == start + 60 and advanced.mode == "controlled"
        assert fake.clock.set(start + 3600).now == start + 3600 == fake.clock.describe().now
        assert fake.seed.set(99) == 99 and fake.seed.get() == 99

        assert api.post("/counters/a", json={"by": 5}).json()["value"] == 5
        [summary] = fake.tenants()
        assert (summary.id, summary.objects) == ("t1", {"counters": 1})
        state = fake.tenant_state("t1")
        assert state["data"]["counters"] == {"a": 5}
        fake.snapshot(tmp_path / "all.json")
        fake.reset_tenant("t1")
        assert fake.tenant_state("t1")["data"].get("counters", {}) == {}
        fake.restore_tenant("t1", state)
        assert api.get("/counters/a").json()["value"] == 5
        fake.reset_tenant("t1")
        fake.restore(tmp_path / "all.json")
        assert api.get("/counters/a").json()["value"] == 5


def test_declare_tenant_and_full_reset_with_seed(toy) -> None:
    with ControlClient(toy.url) as fake:
        declared = fake.declare_tenant("acme", {"plan": "small", "region": "eu"})
        assert (declared.id, declared.settings, declared.schema_name) == (
            "acme", {"plan": "small", "region": "eu"}, None)
        merged = fake.declare_tenant("acme", {"plan": "large"})
        assert merged.settings == {"plan": "large", "region": "eu"}
        replaced = fake.declare_tenant("acme", {"plan": "large"}, replace=True)
        assert replaced.settings == {"plan": "large"} == toy.sim.tenants.find("acme").settings
        fake.faults.add({"kind": "hang"})
        fake.clock.advance(100)

        reset = fake.reset(seed=11)
        assert reset.seed == 11 == fake.health().seed == fake.seed.get()
        assert fake.faults.list() == [] and fake.journal.requests() == []
        assert "acme" not in [t.id for t in fake.tenants()]  # declared after start: gone
        assert fake.reset().seed == 11  # no seed: keep the one it now runs with


def test_declare_tenant_sends_a_schema_file_inline_and_the_fake_checks_it() -> None:
    sim = Simulator(create_vendor("chargebee"), clock=Clock.frozen(0))
    with ControlClient(build_app(sim)) as fake:
        declared = fake.declare_tenant("acme-test", {"api_key": "k1"},
                                       schema=SCHEMAS / "chargebee-custom-fields.yaml")
        assert declared.schema_name == "chargebee-custom-fields"
        assert sim.tenants.find("acme-test").schema.name == "chargebee-custom-fields"
        with pytest.raises(ControlError, match="400 from PUT .*salesforce"):
            fake.declare_tenant("acme-test", schema=SCHEMAS / "salesforce-cpq.yaml")


def test_sync_client_over_https_trusts_the_ca_it_is_given(start_fake) -> None:
    fake = start_fake("stripe", tls=True)
    with ControlClient(fake.url, verify=fake.ca_file) as control:
        assert control.health().vendor == "stripe"
    with ControlClient(fake.url) as untrusting, pytest.raises(FakeUnreachable) as refused:
        untrusting.health()
    assert "certificate" in str(refused.value) and fake.url in str(refused.value)


# -- errors -------------------------------------------------------------------------------------
def test_control_plane_errors_carry_status_and_detail(toy) -> None:
    with ControlClient(toy.url) as fake:
        with pytest.raises(ControlError) as unknown:
            fake.faults.remove("flt_99")
        assert unknown.value.status == 404
        assert unknown.value.detail == "no fault 'flt_99'; GET /_sim/faults lists them"
        assert str(unknown.value).startswith(f"404 from DELETE {toy.url}/_sim/faults/flt_99: ")
        with pytest.raises(ControlError, match="422 .*fault kind 'latency' needs latency"):
            fake.faults.add({"kind": "latency"})
        with pytest.raises(ControlError, match="404 .*no tenant 'nobody'"):
            fake.tenant_state("nobody")


def test_nothing_listening_names_the_url_and_how_to_start_a_fake(closed_port) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    with ControlClient(url) as fake, pytest.raises(FakeUnreachable) as sync_error:
        fake.health()
    assert f"no fake answers at {url}" in str(sync_error.value)
    assert "landscape serve" in str(sync_error.value) and sync_error.value.url == url

    async def scenario() -> None:
        async with AsyncControlClient(url) as fake:
            await fake.faults.list()

    with pytest.raises(FakeUnreachable, match=f"no fake answers at {url}"):
        asyncio.run(scenario())


# -- in-process ---------------------------------------------------------------------------------
def delivered_to_mock(sim: Simulator) -> list[httpx.Request]:
    """Webhooks of an in-process fake go to a mock transport: no sockets, nothing to wait for."""
    received: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    sim.webhooks.transport = httpx.MockTransport(receive)
    return received


def test_async_client_in_process() -> None:
    sim = Simulator(StatefulToy(), seed=3, clock=Clock.frozen(1_000_000))
    received = delivered_to_mock(sim)
    app = build_app(sim)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with AsyncControlClient(app) as fake, httpx.AsyncClient(
                transport=transport, base_url="http://toy", headers=KEY) as api:
            assert (await fake.health()).vendor == "toy"
            await fake.declare_tenant("t1", {"tier": "gold"})
            [info] = await fake.states()
            assert info.name == "a counter at a value" and set(info.params) == {"name", "value"}
            made = await fake.set_state("a counter at a value", {"name": "c", "value": 41},
                                        tenant="t1")
            assert (made.state, made.tenant, made.created) == (
                "a counter at a value", "t1", {"counter": "c"})
            assert (await api.post("/counters/c")).json()["value"] == 42
            with pytest.raises(ControlError, match="404 .*no provider state 'nope'"):
                await fake.set_state("nope")
            with pytest.raises(ControlError, match="400 .*needs params.name"):
                await fake.set_state("a counter at a value", tenant="t1")

            await api.post("/notify", json={"url": "http://127.0.0.1:1/hook",
                                            "events": ["counter.bumped"]})
            flushed = await fake.flush_webhooks()
            assert (flushed.attempted, flushed.pending) == (1, 0)
            [attempt] = await fake.journal.webhooks(outcome="delivered")
            assert (attempt["event_type"], attempt["tenant"]) == ("counter.bumped", "t1")
            await fake.journal.clear_webhooks()
            assert await fake.journal.webhooks() == []
            assert (await fake.clock.advance(30)).now == 1_000_030

    asyncio.run(scenario())
    assert sim.tenants.find("t1").settings == {"tier": "gold"}
    assert [r.url.path for r in received] == ["/hook"]


def test_sync_client_in_process_runs_the_app_on_its_own_loop() -> None:
    sim = Simulator(ToyVendor(), seed=5, clock=Clock.frozen(0))
    with ControlClient(build_app(sim)) as fake:
        assert fake.health().seed == 5
        fault = fake.faults.add({"kind": "http_error", "status": 500})
        assert sim.faults.faults[fault.id].spec.status == 500  # the very Simulator we built
        assert fake.clock.advance(10).now == 10 == sim.clock.now()
        with pytest.raises(ControlError) as unknown:
            fake.faults.remove("flt_99")
        assert unknown.value.status == 404
