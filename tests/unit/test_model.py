"""The SimPy model (harness/model): reproducible, consistent with Little's law, limits that
bite, and a sizing answer that never shrinks as the load grows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.model.measure import Level
from harness.model.sim import simulate
from harness.model.sizing import size
from harness.model.spec import AccountLimits, spec_from_topology
from harness.model.validate import calibrate, compare, compare_percentiles
from harness.model.workload import LoadProfile
from harness.topology import load_topology


@pytest.fixture(scope="module")
def spec():
    return spec_from_topology(load_topology("netsuite-stripe-salesforce"))


def _digest(spec, profile, seed):
    summary = simulate(spec, profile, seed=seed, hours=1.0, start_hour=12).summary()
    summary.pop("speed")
    return summary


def test_same_seed_same_prediction_other_seed_other_draws(spec) -> None:
    profile = LoadProfile(merchants=300, declines_per_day=100)
    first, again = _digest(spec, profile, 3), _digest(spec, profile, 3)
    assert first == again
    assert first["declines"] > 1000
    assert _digest(spec, profile, 4)["latency_ms"] != first["latency_ms"]


def test_littles_law_holds_in_the_model(spec) -> None:
    summary = simulate(spec, LoadProfile(merchants=1000, declines_per_day=100), seed=5,
                       hours=1.0, start_hour=12).summary()
    law = summary["littles_law"]
    assert law["L"] > 0.2
    assert abs(law["relative_error"]) < 0.05, law


def test_a_rate_limit_shows_as_429s_and_latency(spec) -> None:
    tight = replace(spec, templates=[replace(t, limits={**t.limits, "stripe": AccountLimits(
        rate_per_second=1.0, burst=1)}) for t in spec.templates])
    profile = LoadProfile(merchants=2, declines_per_day=20_000)
    free = simulate(spec, profile, seed=1, hours=0.25, start_hour=12).summary()
    limited = simulate(tight, profile, seed=1, hours=0.25, start_hour=12).summary()
    assert free["vendors"]["stripe"]["throttled_429"] == 0
    assert limited["vendors"]["stripe"]["throttled_429"] > 0
    assert limited["latency_ms"]["p99"] > free["latency_ms"]["p99"] + 500


def test_naive_mode_and_chargebee_change_the_decision_path() -> None:
    naive = load_topology("netsuite-stripe-salesforce")
    for m in naive.merchants.values():
        m.components.settings["mode"] = "naive"
    assert "netsuite_invoice" in spec_from_topology(naive).templates[0].path.reads
    chargebee = spec_from_topology(load_topology("salesforce-cpq-chargebee-stripe"))
    assert chargebee.templates[0].path.reads[0] == "chargebee_invoice"


def test_more_load_never_needs_fewer_replicas_or_workers(spec) -> None:
    heavy = spec.with_engine(cpu_ms=150.0)  # CPU-bound enough for replicas to matter
    answers = [size(heavy, LoadProfile(merchants=1000, declines_per_day=d), seed=2,
                    window_hours=0.1) for d in (40, 120, 360)]
    replicas = [a["replicas"] for a in answers]
    workers = [a["outbox_workers"] for a in answers]
    assert all(r is not None for r in replicas), answers
    assert replicas == sorted(replicas) and replicas[-1] > replicas[0], replicas
    assert workers == sorted(workers), workers
    for a in answers:
        assert a["at_size"]["latency_ms"]["p99"] < heavy.sla_ms


def test_calibration_and_comparison_take_measured_levels(spec, monkeypatch) -> None:
    """The validation interface on synthetic measurements (no processes): a level measured at
    a rate gives a calibrated spec, and the comparison reports errors per percentile."""
    monkeypatch.setattr("harness.model.validate.POOLED", 2000)
    def level(rate: float, base: float) -> Level:
        lat = [base + 0.001 * (i % 200) for i in range(400)]
        return Level(rate=rate, seconds=400 / rate, latencies=lat, in_flight=[1] * 100,
                     cpu_seconds={"acme recovery": 400 * 0.01, "stripe": 1.0},
                     requests={"stripe": 1000})
    calibrated, facts = calibrate(spec, level(2.0, 0.35), soft_share=0.5, window=300)
    assert facts["engine_cpu_ms_per_decision"] == pytest.approx(10.0)
    rows = compare(calibrated, [level(2.0, 0.35), level(8.0, 0.40)], window=300)
    assert [r["rate"] for r in rows] == [2.0, 8.0]
    assert abs(rows[0]["p50"]["error"]) < 0.25
    assert set(rows[1]["littles_law"]) == {"model", "measured"}
    elsewhere = compare_percentiles(calibrated, 2.0, {"p50": 350, "p95": 500, "p99": 550},
                                    window=300)
    assert elsewhere["p99"]["measured"] == 550 and "error" in elsewhere["p50"]


def test_the_fast_latency_draw_is_the_fakes_own() -> None:
    """The model's precomputed draws equal simulators/core/latency.py's, draw for draw."""
    import random

    from harness.model.spec import sampler
    from simulators.core.latency import Latency

    for latency in (Latency(kind="percentiles", percentiles={10: 50, 50: 120, 99: 800}),
                    Latency(kind="lognormal", median_ms=80, p99_ms=250),
                    Latency(kind="uniform", min_ms=5, max_ms=9)):
        ours, theirs = random.Random(3), random.Random(3)
        draw = sampler([latency])
        assert all(abs(draw(ours) - latency.draw_ms(theirs) / 1000) < 1e-12
                   for _ in range(2000))


def test_even_arrivals_are_the_load_plan_s_own() -> None:
    """`landscape load`'s constant shape (harness/load_profiles.py) and the model's `even`
    arrivals put the same declines at the same times; weights split them between merchants."""
    import random

    from harness.load_profiles import Profile
    from harness.model.workload import arrivals, merchant_weights

    profile = LoadProfile(merchants=2, declines_per_day=3 * 86400 / 2, diurnal=(1.0,),
                          peaks=[], weights=(40.0, 20.0), even=True)
    ours = list(arrivals(profile, 0.0, 70.0, random.Random(1)))
    planned = Profile("constant", 3.0, 70.0).arrivals()
    assert len(ours) == len(planned) == 210
    assert max(abs(a - b) for a, b in zip(ours, planned, strict=True)) < 0.01
    assert merchant_weights(profile, random.Random(1)) == [40.0, 60.0]


def test_a_webhook_mix_takes_each_merchant_s_webhook_path(spec) -> None:
    topology = load_topology("netsuite-stripe-salesforce")
    mixed = spec.with_webhooks(topology, 0.5)
    assert all(t.webhook_path is not None and t.webhook_path.reads == ("stripe_intent",)
               for t in mixed.templates)
    assert all(t.path.reads == ("stripe_invoice",) for t in mixed.templates)
    profile = LoadProfile(merchants=2, declines_per_day=4 * 86400 / 2, diurnal=(1.0,), peaks=[],
                          weights=(2.0, 1.0), even=True)
    summary = simulate(mixed, profile, seed=3, hours=0.05).summary()
    assert summary["declines"] == 720
    assert abs(summary["littles_law"]["relative_error"]) < 0.1  # jittered sampling: no aliasing
    # no mix: the draws (and so the figures) are those of a spec without one
    assert _digest(spec.with_webhooks(topology, 0.0), LoadProfile(merchants=50), 3) \
        == _digest(spec, LoadProfile(merchants=50), 3)


def test_a_load_run_folder_calibrates_and_compares(tmp_path, monkeypatch) -> None:
    """--against load on a synthetic run folder (what run_load writes): decisions from the
    engines' logs, Locust's records, CPU less idle, the fakes' request logs in the window."""
    import json

    from harness.model import against_load

    monkeypatch.setattr("harness.model.validate.POOLED", 1000)
    folders = []
    for rate in (1.0, 3.0):
        folder = tmp_path / f"load-{rate:g}"
        (folder / "landscape" / "logs").mkdir(parents=True)
        n = int(rate * 20)
        decisions = [{"merchant": "acme", "source": "intercept" if i % 2 else "stripe",
                      "status": "not_retried" if i % 5 == 0 else "recovered",
                      "latency_s": 0.35 + 0.01 * (i % 20), "end": 1000.0 + i / rate + 0.4}
                     for i in range(n)]
        arrivals = [{"kind": "intercept", "merchant": "acme", "due": 1000.0 + i / rate,
                     "done": 1000.0 + i / rate + 0.4, "error": None, "engine_ms": 400}
                    for i in range(1, n, 2)]
        (folder / "decisions.json").write_text(json.dumps(
            {"start": 999.0, "window_end": 1100.0, "decisions": decisions,
             "arrivals": arrivals}))
        (folder / "result.json").write_text(json.dumps({"passed": True, "load": {
            "sent": n, "planned": n, "cpu_seconds": {"acme recovery": 1.0, "stripe": 2.0},
            "cpu_idle_per_s": {"acme recovery": 0.001}, "cpu_window_s": 100.0,
            "latency": {"engine": {"all": {"p99": 700.0, "p99_bucket_ms": [500, 750]}},
                        "locust": {"intercept": {"p99": 560.0}}}}}))
        (folder / "landscape" / "logs" / "stripe-requests.log").write_text(
            "1970-01-01T00:16:38.000+00:00 k GET /v1/x 200 1ms\n"          # before: not counted
            + "1970-01-01T00:16:50.000+00:00 k GET /v1/x 200 1ms\n" * 100)
        folders.append(against_load.read_level(rate, 20.0, folder, 0.8))
    level = folders[0]
    assert level.requests == {"stripe": 100}
    assert level.cpu_seconds["acme recovery"] == pytest.approx(0.9)
    assert level.soft_share() == pytest.approx(0.8)
    assert len(level.intercept_latencies) == 10 and level.intercepts_in_flight
    law = against_load.measured_littles_law(folders[1])
    assert law["L"] == pytest.approx(law["lambda_W"], rel=0.15)
    topology = load_topology("netsuite-stripe-salesforce")
    mixed, profile = against_load.load_spec(topology, 0.5)
    calibrated, facts = calibrate(mixed, level.as_level(), level.soft_share(), window=20.0,
                                  fit_latency=False, engines=2,
                                  profile=against_load.profile_at(profile, 1.0))
    assert calibrated.engine.replicas == 2 and facts["engine_cpu_ms_per_decision"] > 0
    rows = against_load.compare_load(calibrated, profile, folders)
    assert [r["rate"] for r in rows] == [1.0, 3.0]
    table = against_load.render_load(rows, facts, 1.0)
    assert "1 (calibration)" in table and "PASS" in table


def _relay_model(spec, templates, fake_service_ms):
    """A model with no decisions of its own: the test hands its relay the write-backs."""
    import random

    import simpy

    from harness.model.sim import Model, Result, VendorStats

    model = Model(replace(spec, templates=templates, fake_service_ms=fake_service_ms),
                  LoadProfile(merchants=len(templates), declines_per_day=1.0), seed=3)
    model.rng = random.Random(3)
    model.result = Result(model.spec, model.profile, 3, 0.0, 60.0)
    model.result.vendors = {v: VendorStats() for v in ("stripe", "chargebee", "netsuite",
                                                       "salesforce")}
    model.env = simpy.Environment()
    return model


def _netsuite_at(template, seconds):
    fixed = {op: (lambda _rng, s=seconds: s) for op in template.latency}
    return replace(template, latency=fixed, limits={
        **template.limits, "netsuite": AccountLimits(max_concurrency=5, client_slots=5)})


def test_the_relay_keeps_the_erp_connector_busy_while_write_backs_wait(spec) -> None:
    """60 recoveries committed at once, each written back to NetSuite as two calls (the
    payment, then the invoice) through the connector's 5 slots at 1 s a call, beside the
    queries of the sync's ERP feed: the slots are never idle while calls wait, so the last lands
    once the calls made so far have had their turn (plus the relay's poll), not later. (The
    relay used to compute a batch's second call ahead of time; queued ahead, it held a slot
    idle until it began: 31 s here, and lags 3-10x the measured under `landscape load`.)"""
    template = _netsuite_at(spec.templates[0], 1.0)
    model = _relay_model(spec, [template], {})
    for _ in range(60):
        model._relay(0, template, ("wb_netsuite_paid",))
    model.env.run()
    lags = sorted(model.result.lags)
    calls = model.result.vendors["netsuite"].requests  # the 120 writes and the ERP feed's reads
    assert len(lags) == 60 and calls > 120
    assert 120 / 5 <= lags[-1] <= calls / 5 + spec.outbox.poll_seconds + 1e-6


def test_one_account_s_backlog_does_not_hold_the_fake_for_another_account(spec) -> None:
    """Two merchants' NetSuite accounts on one fake NetSuite process: acme's write-backs queue
    for its connector's 5 slots for a minute, hooli's single write-back (two 0.2 s calls) lands
    after the relay's poll and its own calls. A call waiting for a slot used to be booked in the
    fake's queue at its future start, holding the fake busy until then for everyone: hooli's
    write-back waited behind acme's backlog (its calls 1.8 s where the fake served them in
    0.9 s under `landscape load`)."""
    acme, hooli = _netsuite_at(spec.templates[0], 1.0), _netsuite_at(spec.templates[0], 0.2)
    spec = replace(spec, outbox=replace(spec.outbox, per_merchant=True))  # a sync each
    model = _relay_model(spec, [acme, hooli], {"netsuite": 0.5})
    for _ in range(150):  # acme's: 300 calls of 1 s through 5 slots
        model._relay(0, acme, ("wb_netsuite_paid",))
    model._later(5.0, lambda: model._relay(1, hooli, ("wb_netsuite_paid",)))
    model.env.run()
    lags = model.result.lags
    assert len(lags) == 151 and max(lags) > 60  # acme's backlog
    hooli_lag = [lag for lag in lags if lag < 2.0]  # acme's first alone take 2 s and more
    assert len(hooli_lag) == 1
    assert hooli_lag[0] <= spec.outbox.poll_seconds + 2 * (0.2 + 0.0005) + 1e-6

