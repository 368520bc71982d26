"""Calibrate the model at one load level of the process landscape and check it at others.

    python -m harness.model.validate [--calibrate 2] [--levels 4 8 12 16] [--seconds 30]
    python -m harness.model.validate --against load [--calibrate 1] [--levels 2 4 6]

Measurements come from `measure.py` (this process drives the landscape's intercept endpoint
at a fixed open-loop rate, not Locust); percentiles measured elsewhere (harness.load.run_load,
a production histogram) go through `compare_percentiles`. From the calibration level only:
- each call's latency distribution: the topology's profiles (what the fakes draw from), or with
  `--latency journal` fitted from what the fakes drew (`latency_ms` in their request journals,
  by method and path: the empirical percentiles 1…99),
- the engine's CPU per decision and each fake's CPU per request from /proc (utime + stime)
  divided by the decisions and requests served, and the share of a core a busy process got
  on this (shared) host just before the level, which stretches that CPU in wall time,
- one offset: the decision latency the calls and CPU queues do not explain, the measured mean
  minus the model's mean (negative when the model's two FCFS slices of CPU per decision cost
  more than the event loop, which overlaps CPU with I/O, really spends).
The other levels are predicted with these and nothing else, and compared: p50, p95, p99 with
relative errors, and Little's law (L = λW) on both sides. The figures go to
`<out>/validation.json` and `<out>/validation.md`.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import statistics
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from components.settings import OutboxSettings
from harness.model.measure import Level, measure, measurement_topology
from harness.model.sim import simulate
from harness.model.spec import OPS, ModelSpec, sampler, spec_from_topology
from harness.model.stats import littles_law, percentiles_ms, percentiles_s
from harness.model.workload import LoadProfile
from simulators.core.latency import Latency

GOAL = 0.10  # relative error the model aims for
POOLED = 20_000  # declines pooled per prediction (the p99 of 20,000 rests on 200 of them)
RELAY_CONCURRENCY = OutboxSettings().concurrency  # one merchant's sync relay


def fitted_latency(entries: list[dict[str, Any]], method: str, path: str) -> Latency | None:
    """The empirical distribution of what the fake drew for matching requests."""
    drawn = sorted(float(e["latency_ms"]) for e in entries
                   if e.get("method") == method and "latency_ms" in e
                   and fnmatch.fnmatchcase(str(e.get("path", "")).split("?")[0], path))
    if len(drawn) < 20:
        return None
    points = {float(q): drawn[min(len(drawn) - 1, round(q / 100 * len(drawn)))]
              for q in range(1, 100)}
    values = [points[q] for q in sorted(points)]
    for i in range(1, len(values)):  # the fake refuses a profile that decreases
        values[i] = max(values[i], values[i - 1])
    return Latency(kind="percentiles", percentiles=dict(zip(sorted(points), values,
                                                            strict=True)))


def _window(level: Level) -> float:
    """The seconds the level spent sending (its `seconds` runs to the last answer)."""
    return level.sent / level.achieved_rate if level.achieved_rate else level.seconds


def calibrate(spec: ModelSpec, level: Level, soft_share: float,
              window: float | None = None,
              fit_latency: bool = True, engines: int = 1,
              profile: LoadProfile | None = None) -> tuple[ModelSpec, dict[str, Any]]:
    """The model fitted to one measured level (see the module's docstring); `engines`
    processes (one per merchant under `landscape load`), `profile` the level's workload
    (default: one merchant, Poisson arrivals at the level's rate)."""
    decisions = max(len(level.latencies), 1)
    engine_cpu = sum(v for k, v in level.cpu_seconds.items() if k.endswith("recovery"))
    fits: dict[str, str] = {}
    templates = []
    for template in spec.templates:
        latency = dict(template.latency)
        for key, op in OPS.items() if fit_latency else ():
            fit = fitted_latency(level.journal.get(op.vendor, []), op.method, op.path)
            if fit is not None:
                latency[key] = sampler([fit])
                fits[key] = f"{op.method} {op.path}: fitted from {op.vendor}'s journal"
        templates.append(replace(template, latency=latency))
    fake_ms = {vendor: 1000.0 * level.cpu_seconds.get(vendor, 0.0) / max(count, 1)
               for vendor, count in level.requests.items() if count}
    calibrated = replace(spec, templates=templates, fake_service_ms=fake_ms)
    calibrated.engine = replace(spec.engine, replicas=engines, workers=1,
                                cpu_ms=1000.0 * engine_cpu / decisions, soft_share=soft_share,
                                recovered_share=1.0, overhead_ms=0.0,
                                cpu_speed=max(level.host_share, 0.05))
    # under `landscape load` each merchant's sync service has its own relay
    calibrated.outbox = replace(spec.outbox, workers=RELAY_CONCURRENCY, per_merchant=engines > 1)
    predicted = _predict(calibrated, level.rate, window or _window(level), profile=profile)
    offset = (statistics.fmean(level.latencies) - predicted["mean_s"]) * 1000.0
    calibrated.engine = replace(calibrated.engine, overhead_ms=offset)
    facts = {"engine_cpu_ms_per_decision": round(calibrated.engine.cpu_ms, 2),
             "fake_cpu_ms_per_request": {k: round(v, 2) for k, v in fake_ms.items()},
             "overhead_ms": round(calibrated.engine.overhead_ms, 1),
             "host_share": round(level.host_share, 3),
             "latency_fits": fits or "none: the topology's profiles",
             "calibration_rate": level.rate,
             "calibration_declines": len(level.latencies)}
    return calibrated, facts


def _predict(spec: ModelSpec, rate: float, window: float | None = None,
             seed: int = 7, profile: LoadProfile | None = None) -> dict[str, Any]:
    """The model at a constant `rate` over the measured `window` (seconds of sending; the
    decisions then run to the end), replicated with seeds seed, seed+1, … until ~20,000
    declines are pooled: an overloaded level grows its queue for as long as the measurement
    did, no longer. Without a window: one run long enough for the tails. `profile`: the
    workload at that rate (default one merchant, Poisson arrivals). With the decision latency
    (ms), the write-back lag (s: `writeback_lag_s`, over `writebacks` messages)."""
    profile = profile or LoadProfile(merchants=1, declines_per_day=rate * 86400.0,
                                     size_sigma=0.0, diurnal=(1.0,), peaks=[])
    hours = (window or min(3600.0, max(360.0, POOLED / rate))) / 3600.0
    replications = max(1, min(60, math.ceil(POOLED / (rate * hours * 3600.0))))
    latencies: list[float] = []
    lags: list[float] = []
    samples: list[int] = []
    busy = 0.0
    for i in range(replications):
        result = simulate(spec, profile, seed=seed + i, hours=hours)
        latencies += result.latencies
        lags += result.lags
        samples += result.in_flight_samples
        busy += result.cpu_busy
    seconds = hours * 3600.0 * replications
    return {"latency_ms": percentiles_ms(latencies), "replications": replications,
            "mean_s": statistics.fmean(latencies) if latencies else 0.0,
            "littles_law": littles_law(samples, len(latencies), seconds, latencies),
            "engine_utilisation": round(busy / seconds, 4),
            "decisions": len(latencies), "writeback_lag_s": percentiles_s(lags),
            "writebacks": len(lags)}


def _error(predicted: float, measured: float) -> float:
    return (predicted - measured) / measured if measured else 0.0


def against(model: dict[str, Any], measured: dict[str, float],
            figure: str = "latency_ms") -> dict[str, Any]:
    """A prediction (`_predict`) beside measured percentiles ({"p50": ms, "p95": ms, "p99": ms},
    from any source: this module's driver, Locust, a production histogram); `figure`: which
    of the prediction's percentiles (`writeback_lag_s`: the measured ones in seconds too)."""
    row: dict[str, Any] = {"replications": model["replications"]}
    for q in ("p50", "p95", "p99"):
        row[q] = {"predicted": model[figure][q], "measured": measured[q],
                  "error": round(_error(model[figure][q], measured[q]), 4)}
    return row


def compare_percentiles(calibrated: ModelSpec, rate: float, measured: dict[str, float],
                        window: float = 60.0) -> dict[str, Any]:
    """The model at `rate` declines/s over `window` s against percentiles measured elsewhere
    (e.g. harness.load.run_load's engine or Locust figures)."""
    return {"rate": rate, **against(_predict(calibrated, rate, window), measured)}


def compare(calibrated: ModelSpec, levels: list[Level],
            window: float | None = None) -> list[dict[str, Any]]:
    """Predicted against measured, per level, over each level's own window (or `window` s)."""
    rows = []
    for level in levels:
        model = _predict(calibrated, level.rate, window or _window(level))
        row = against(model, percentiles_ms(level.latencies))
        row.update({"rate": level.rate, "declines": len(level.latencies)})
        row["littles_law"] = {
            "model": model["littles_law"],
            "measured": littles_law(level.in_flight, len(level.latencies), level.seconds,
                                    level.latencies)}
        row["client_p99_ms"] = percentiles_ms(level.client_latencies)["p99"]
        row["host_share"] = round(level.host_share, 3)
        row["engine_utilisation_model"] = model["engine_utilisation"]
        row["measured_engine_cpu_share"] = round(sum(
            v for k, v in level.cpu_seconds.items() if k.endswith("recovery")) / level.seconds, 3)
        rows.append(row)
    return rows


def percentile_cells(row: dict[str, Any], calibration: float, count: str = "declines",
                     unit: str = "ms") -> list[str]:
    """A level's first cells: its rate, its `count`, then p50/p95/p99 predicted / measured,
    in `unit` (ms to the ms, s to the 10 ms)."""
    cells = [f"{row['rate']:g}{' (calibration)' if row['rate'] == calibration else ''}",
             str(row[count])]
    digits = 0 if unit == "ms" else 2
    for q in ("p50", "p95", "p99"):
        c = row[q]
        cells.append(f"{c['predicted']:.{digits}f} / {c['measured']:.{digits}f} {unit} "
                     f"({c['error'] * 100:+.1f} %)")
    return cells


def render(rows: list[dict[str, Any]], facts: dict[str, Any], calibration: float) -> str:
    lines = ["| rate /s | declines | p50 model / measured (err) | p95 model / measured (err) "
             "| p99 model / measured (err) | L model | λW model | L measured | λW measured "
             "| client p99 | host share |",
             "|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        cells = percentile_cells(row, calibration)
        ll_model, ll_meas = row["littles_law"]["model"], row["littles_law"]["measured"]
        cells += [f"{ll_model['L']:.2f}", f"{ll_model['lambda_W']:.2f}",
                  f"{ll_meas['L']:.2f}", f"{ll_meas['lambda_W']:.2f}",
                  f"{row['client_p99_ms']:.0f} ms", f"{row['host_share']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"calibration: host share {facts['host_share']} of a core, "
                 f"engine CPU {facts['engine_cpu_ms_per_decision']} ms/decision, "
                 f"fake CPU ms/request {facts['fake_cpu_ms_per_request']}, unexplained "
                 f"overhead {facts['overhead_ms']} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", choices=("driver", "load"), default="driver",
                        help="measure with this module's own open-loop driver (one merchant, "
                        "intercepts only), or with `landscape load` (Locust, the scenario's "
                        "workload: harness/model/against_load.py)")
    parser.add_argument("--topology", default=None,
                        help="default netsuite-stripe-salesforce (--against load: the "
                        "scenario's)")
    parser.add_argument("--calibrate", type=float, default=None,
                        help="declines/s to fit at (default 2; --against load: 1)")
    parser.add_argument("--levels", type=float, nargs="+", default=None,
                        help="default 4 8 12 16 (--against load: 2 4 6)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="per level (default 30; --against load: 40)")
    parser.add_argument("--scenario", default="decline-storm", help="--against load: the "
                        "scenario `landscape load` plays (one without a timeline)")
    parser.add_argument("--intercepts", type=float, default=0.5, help="--against load: the "
                        "share sent as checkout-time intercepts (the rest fail renewals)")
    parser.add_argument("--quiet", type=float, default=30.0, help="--against load: the most "
                        "seconds each run waits for its outboxes before judging")
    parser.add_argument("--soft-share", type=float, default=0.75,
                        help="share of soft declines (retried at once on the alternate MID)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--measured", type=Path, help="a measured.json (--against load: "
                        "measured-load.json) of an earlier run: calibrate and compare without "
                        "measuring")
    parser.add_argument("--latency", choices=("topology", "journal"), default="topology",
                        help="call latency from the topology's profiles (what the fakes draw "
                        "from), or fitted from the calibration level's journals (a few hundred "
                        "draws: noisy tails)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default landscape-run/model-validation (--against load: "
                        "landscape-run/model-validation-load)")
    args = parser.parse_args(argv)
    load = args.against == "load"
    args.calibrate = args.calibrate if args.calibrate is not None else (1.0 if load else 2.0)
    args.levels = args.levels or ([2.0, 4.0, 6.0] if load else [4.0, 8.0, 12.0, 16.0])
    args.seconds = args.seconds or (40.0 if load else 30.0)
    args.out = args.out or Path("landscape-run/model-validation" + ("-load" if load else ""))
    if load:
        from harness.model.against_load import run

        args.load_topology = args.topology
        return run(args)
    args.topology = args.topology or "netsuite-stripe-salesforce"
    rates = [args.calibrate, *args.levels]
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / "measured.json"
    if args.measured:  # compare again without measuring again
        levels = [Level(**level) for level in json.loads(args.measured.read_text())]
    else:
        levels = measure(args.topology, rates, args.seconds, seed=args.seed,
                         run_dir=args.out / "landscape", soft_share=args.soft_share)
        for level in levels:  # what the fit needs of the journals, not every field
            level.journal = {v: [{k: e.get(k) for k in ("method", "path", "latency_ms")}
                                 for e in entries] for v, entries in level.journal.items()}
        raw.write_text(json.dumps([asdict(level) for level in levels]))
        print(f"measurements: {raw} (compare again: --measured {raw})")
    topology = measurement_topology(args.topology, 1)
    spec = spec_from_topology(topology, source="intercept")
    calibrated, facts = calibrate(spec, levels[0], args.soft_share,
                                  fit_latency=args.latency == "journal")
    args.calibrate = levels[0].rate
    rows = compare(calibrated, levels)
    table = render(rows, facts, args.calibrate)
    print(table)
    (args.out / "validation.md").write_text(table + "\n")
    (args.out / "validation.json").write_text(json.dumps(
        {"calibration": facts, "levels": rows, "measured": [lv.digest() for lv in levels],
         "goal_relative_error": GOAL, "source": "harness.model.measure (own open-loop driver)"},
        indent=1))
    print(f"figures: {args.out / 'validation.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
