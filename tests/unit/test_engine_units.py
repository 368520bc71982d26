"""Engine pieces without HTTP: latency draws, fault selection, forms, seeds, clock, tenancy."""

from __future__ import annotations

import random
import statistics

import pytest
from pydantic import ValidationError

from simulators.core import forms
from simulators.core.clock import Clock
from simulators.core.faults import FaultEngine, FaultSpec
from simulators.core.latency import Latency
from simulators.core.randomness import Seeds
from simulators.core.tenancy import Tenant


def draws(latency: Latency, n: int = 4000, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [latency.draw_ms(rng) for _ in range(n)]


def test_fixed_and_uniform_latency() -> None:
    assert set(draws(Latency(kind="fixed", ms=120), 10)) == {120}
    values = draws(Latency(kind="uniform", min_ms=50, max_ms=60))
    assert min(values) >= 50 and max(values) <= 60 and max(values) - min(values) > 8


def test_lognormal_latency_hits_its_median_and_p99() -> None:
    values = sorted(draws(Latency(kind="lognormal", median_ms=100, p99_ms=500), 20000))
    assert 90 < statistics.median(values) < 110
    assert 420 < values[int(0.99 * len(values))] < 600


def test_percentile_latency_interpolates_the_given_points() -> None:
    values = sorted(draws(Latency(kind="percentiles", percentiles={50: 100, 90: 300, 99: 900})))
    assert 90 < values[len(values) // 2] < 110
    assert 270 < values[int(0.9 * len(values))] < 330


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "fixed"},
        {"kind": "uniform", "min_ms": 5, "max_ms": 1},
        {"kind": "lognormal", "median_ms": 10},
        {"kind": "percentiles", "percentiles": {50: 9, 90: 1}},
        {"kind": "fixed", "ms": 1, "typo": 2},
    ],
)
def test_bad_latency_specs_are_rejected(spec: dict) -> None:
    with pytest.raises(ValidationError):
        Latency(**spec)


def test_same_seed_same_latency_draws() -> None:
    latency = Latency(kind="lognormal", median_ms=100, sigma=0.5)
    a, b = Seeds(3), Seeds(3)
    assert [latency.draw_ms(a.stream("latency")) for _ in range(50)] == [
        latency.draw_ms(b.stream("latency")) for _ in range(50)
    ]
    assert latency.draw_ms(Seeds(4).stream("latency")) != latency.draw_ms(
        Seeds(3).stream("latency")
    )


def test_streams_are_independent() -> None:
    one, two = Seeds(9), Seeds(9)
    two.stream("latency").random()  # extra draws on one stream ...
    assert one.token("ids:t", 12) == two.token("ids:t", 12)  # ... never shift another


def hits(engine: FaultEngine, seeds: Seeds, now: float, n: int, **request) -> list[bool]:
    request = {"method": "POST", "path": "/v1/charges", "tenant": "t1", **request}
    return [bool(engine.draw(seeds.stream("faults"), now, **request)) for _ in range(n)]


def test_fault_probability_is_reproducible_from_the_seed() -> None:
    def run(seed: int) -> list[bool]:
        engine = FaultEngine()
        engine.add(FaultSpec(kind="http_error", probability=0.3), now=0)
        return hits(engine, Seeds(seed), 0, 200)

    assert run(5) == run(5)
    assert run(5) != run(6)
    assert 35 < sum(run(5)) < 85


def test_fault_match_first_n_and_window() -> None:
    engine = FaultEngine()
    engine.add(
        FaultSpec(kind="http_error", first_n=2, match={"method": "POST", "path": "/v1/charges*"}),
        now=0,
    )
    seeds = Seeds(1)
    assert hits(engine, seeds, 0, 1, method="GET") == [False]
    assert hits(engine, seeds, 0, 1, path="/v1/customers") == [False]
    assert hits(engine, seeds, 0, 4) == [True, True, False, False]

    windowed = FaultEngine()
    windowed.add(FaultSpec(kind="brownout", window_start=10, window_end=20), now=100)
    assert hits(windowed, seeds, 105, 1) == [False]
    assert hits(windowed, seeds, 110, 1) == [True]
    assert hits(windowed, seeds, 120, 1) == [False]


def test_fault_tenant_match_and_webhook_separation() -> None:
    engine = FaultEngine()
    engine.add(FaultSpec(kind="http_error", match={"tenant": "t2"}), now=0)
    engine.add(FaultSpec(kind="webhook_drop", match={"event_type": "invoice.*"}), now=0)
    seeds = Seeds(1)
    assert hits(engine, seeds, 0, 1, tenant="t1") == [False]
    assert [
        f.spec.kind
        for f in engine.draw(seeds.stream("faults"), 0, method="POST", path="/", tenant="t2")
    ] == ["http_error"]
    webhook = engine.draw(
        seeds.stream("faults"),
        0,
        method="POST",
        path="/",
        tenant="t1",
        webhook=True,
        event_type="invoice.paid",
        url="http://x",
    )
    assert [f.spec.kind for f in webhook] == ["webhook_drop"]


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "latency"},
        {"kind": "concurrency_limit"},
        {"kind": "brownout"},
        {"kind": "nope"},
        {"kind": "http_error", "probability": 2},
        {"kind": "http_error", "window_start": 5, "window_end": 1},
    ],
)
def test_bad_fault_specs_are_rejected(spec: dict) -> None:
    with pytest.raises(ValidationError):
        FaultSpec(**spec)


def test_controlled_clock_only_moves_when_told() -> None:
    clock = Clock.frozen(1000)
    assert clock.now() == 1000
    clock.advance(60)
    assert clock.now() == 1060
    clock.set(1000)  # never backwards
    assert clock.now() == 1060
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_bracketed_forms_both_styles() -> None:
    decoded = forms.decode(
        "items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2"
        "&metadata[order]=42&expand[]=a&expand[]=b.c&email=a%40b.c"
    )
    assert decoded == {
        "items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}],
        "metadata": {"order": "42"},
        "expand": ["a", "b.c"],
        "email": "a@b.c",
    }
    chargebee = forms.decode(
        "subscription_items%5Bitem_price_id%5D%5B0%5D=basic"
        "&subscription_items%5Bquantity%5D%5B0%5D=2"
    )
    assert chargebee == {"subscription_items": {"item_price_id": ["basic"], "quantity": ["2"]}}
    assert forms.decode_pairs(forms.encode(decoded)) == decoded
    assert forms.decode("a[%C2%B3]=x") == {"a": {"³": "x"}}  # a digit, but not an index
    with pytest.raises(forms.FormError):
        forms.decode("a[b=1")
    with pytest.raises(forms.FormError):
        forms.decode("a=1&a[b]=2")


def test_tenant_snapshot_restore_and_isolation() -> None:
    a, b = Tenant("a", "toy"), Tenant("b", "toy")
    a.collection("customers")["c1"] = {"id": "c1"}
    snap = a.snapshot()
    a.collection("customers")["c2"] = {"id": "c2"}
    assert b.collection("customers") == {}
    a.restore(snap)
    assert list(a.collection("customers")) == ["c1"]
    with pytest.raises(ValueError):
        Tenant("x", "stripe").restore(snap)


def test_virtual_time_runs_timers_far_from_its_origin() -> None:
    # at a large virtual time, asyncio's nanosecond clock resolution vanishes in float spacing;
    # the loop must still run a timer that is due exactly now (it once spun forever here)
    import asyncio

    from simulators.core.virtual_time import run

    async def sleeps() -> float:
        loop = asyncio.get_running_loop()
        loop.virtual_now = 1.7e9 + 0.1  # type: ignore[attr-defined]
        for _ in range(100):
            await asyncio.sleep(0.0137)
        return loop.time() - 1.7e9

    assert abs(run(sleeps()) - (0.1 + 100 * 0.0137)) < 1e-3
