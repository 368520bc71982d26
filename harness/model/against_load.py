"""The model against `landscape load` itself: Locust runs of a scenario at several rates, each a
fresh landscape (harness.load.run_load), the model fitted to the first and predicting the rest.

    python -m harness.model.validate --against load [--calibrate 1] [--levels 2 4 6]
                                     [--seconds 40] [--scenario decline-storm]

What is measured, per rate (run_load writes it to the level's folder, decisions.json):
- every decision on arrival from the engines' logs ("decline handled": each engine's own
  stopwatch, the value its `recovery_decision_latency_seconds` histogram observes, to the ms,
  unbucketed), intercepts and webhook-driven renewals of both merchants alike;
- every arrival's scheduled and answered time from Locust's records (an intercept also with
  the engine's `latency_ms` from its answer), for the Little's-law check: the intercepts in
  flight at the client, sampled every 20 ms, against their rate × the engine's mean latency;
- the CPU seconds of every process from the load's start to the end of the quiet phase (/proc),
  less its idle burn (measured for 2 s before the load) over as long, and the requests each
  fake served in that window (its request log);
- every write-back queued in that window, from the merchants' stores: queued (with the
  decision's result) and sent (the relay's mark of done), its lag the difference, as the
  model's `writeback_lag_s` (queued and not sent: counted apart). A folder from before the
  outbox kept its queue times has none: its write-back lag is not compared.

The model is given the same workload: the topology's merchants in proportion to their data
volumes (as the plan splits the arrivals), evenly spaced arrivals at the rate (the plan's
constant shape), the intercept share (`--intercepts`) taking the checkout path and the rest the
webhook path (the billing read is the PaymentIntent instead of the invoice), the share of
declines retried at once on the alternate MID as measured at calibration (the scenario's decline
codes: soft ones retried, hard and expired cards not), as many engine processes as merchants
(pooled in the model: really each merchant has its own, which matters only near saturation),
each fake's CPU per request, and the relay's own time per write-back (`fit_relay`). A
scenario with a timeline (faults) is refused: the model plays none.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.model.measure import Level, host_share
from harness.model.spec import ModelSpec, spec_from_topology
from harness.model.stats import littles_law, percentiles_ms, percentiles_s
from harness.model.workload import LoadProfile
from harness.topology import Topology, load_topology

SAMPLE_S = 0.02  # the client's intercepts in flight, sampled this often (Little's law)
VENDORS = ("stripe", "chargebee", "netsuite", "salesforce")


@dataclass
class LoadLevel:
    """One `landscape load` run, as the validation reads it."""

    rate: float
    duration: float
    folder: str
    host_share: float
    sent: int = 0
    planned: int = 0
    latencies: list[float] = field(default_factory=list)      # every decision, engine, s
    statuses: dict[str, int] = field(default_factory=dict)
    intercept_latencies: list[float] = field(default_factory=list)
    intercepts_in_flight: list[int] = field(default_factory=list)  # client side, sampled
    intercept_window: float = 0.0
    client_intercept: list[float] = field(default_factory=list)   # from the scheduled time
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    histogram: dict[str, Any] = field(default_factory=dict)  # the engines' (the gate's) figures
    locust: dict[str, Any] = field(default_factory=dict)
    passed: bool = False
    writeback_lags: list[float] = field(default_factory=list)  # each sent write-back, s
    writebacks_unsent: int = 0  # queued in the window, still pending or dead when read

    def as_level(self) -> Level:
        """The shape `validate.calibrate` fits from."""
        return Level(rate=self.rate, seconds=self.duration, sent=self.sent,
                     latencies=self.latencies, statuses=self.statuses,
                     cpu_seconds=self.cpu_seconds, requests=self.requests,
                     achieved_rate=self.sent / self.duration if self.duration else 0.0,
                     host_share=self.host_share)

    def soft_share(self) -> float:
        """Declines retried at once (a charge on the alternate MID), of those decided."""
        decided = sum(self.statuses.values())
        tried = sum(n for s, n in self.statuses.items() if s != "not_retried")
        return tried / decided if decided else 0.75


def _requests(log: Path, start: float, end: float) -> int:
    """Requests a fake logged between `start` and `end` (epoch s): `<ISO time> key METHOD …`."""
    count = 0
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return 0
    for line in lines:
        stamp = line.split(" ", 1)[0]
        try:
            at = datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            continue
        if start <= at <= end:
            count += 1
    return count


def _busy(load: dict[str, Any]) -> dict[str, float]:
    """Each process's CPU seconds over the load and quiet phase less what it burns idle (its
    polls and loops, measured just before the load) over as long."""
    idle, window = load.get("cpu_idle_per_s") or {}, float(load.get("cpu_window_s") or 0.0)
    return {k: max(0.0, v - idle.get(k, 0.0) * window)
            for k, v in (load.get("cpu_seconds") or {}).items()}


def read_level(rate: float, duration: float, folder: Path, share: float) -> LoadLevel:
    """A finished run's folder (result.json, decisions.json, the fakes' request logs)."""
    result = json.loads((folder / "result.json").read_text())
    raw = json.loads((folder / "decisions.json").read_text())
    load = result["load"]
    level = LoadLevel(rate=rate, duration=duration, folder=str(folder), host_share=share,
                      sent=load["sent"], planned=load["planned"], passed=result["passed"],
                      cpu_seconds=_busy(load),
                      histogram=load["latency"]["engine"].get("all", {}),
                      locust=load["latency"]["locust"].get("intercept", {}))
    start, end = raw["start"], raw["window_end"]
    for d in raw["decisions"]:
        if not (start - 1 <= d["end"] - d["latency_s"] and d["end"] <= end):
            continue  # outside the load (a late webhook redelivery during reconciliation)
        level.latencies.append(d["latency_s"])
        level.statuses[d["status"]] = level.statuses.get(d["status"], 0) + 1
        if d["source"] == "intercept":
            level.intercept_latencies.append(d["latency_s"])
    for w in raw.get("writebacks") or []:  # none in a folder from before they were measured
        if not start - 1 <= w["committed"] <= end:
            continue
        if w["done"] is None:
            level.writebacks_unsent += 1
        else:
            level.writeback_lags.append(w["done"] - w["committed"])
    logs = folder / "landscape" / "logs"
    level.requests = {v: n for v in VENDORS
                      if (n := _requests(logs / f"{v}-requests.log", start, end))}
    spans = [(a["due"], a["done"]) for a in raw["arrivals"] if a["kind"] == "intercept"]
    level.client_intercept = [done - due for due, done in spans]
    if spans:
        first, last = min(s for s, _ in spans), max(e for _, e in spans)
        level.intercept_window = last - first
        steps = int(level.intercept_window / SAMPLE_S)
        level.intercepts_in_flight = [
            sum(1 for s, e in spans if s <= t < e)
            for t in (first + i * SAMPLE_S for i in range(steps))]
    return level


def measure_load(scenario: str, topology: str | None, rates: list[float], seconds: float, *,
                 seed: int | None, intercepts: float, quiet: float, out: Path,
                 say: Any = print) -> list[LoadLevel]:
    """One `landscape load` run per rate (a fresh landscape each), read back."""
    from harness.load import run_load

    levels = []
    for rate in rates:
        share = host_share()
        folder = out / f"load-{rate:g}"
        say(f"landscape load {scenario} --rate {rate:g} --duration {seconds:g} "
            f"(host share {share:.2f} of a core before it)")
        result = run_load(scenario, topology, rate=rate, duration=seconds, seed=seed,
                          intercepts=intercepts, quiet=quiet, report_dir=folder,
                          say=lambda m: say(f"  {m}"))
        level = read_level(rate, seconds, folder, share)
        p = percentiles_ms(level.latencies)
        lag = percentiles_s(level.writeback_lags)
        say(f"  {rate:g}/s: {len(level.latencies)} decisions, p50 {p['p50']:.0f} ms, p95 "
            f"{p['p95']:.0f} ms, p99 {p['p99']:.0f} ms; {len(level.writeback_lags)} "
            f"write-backs, lag p50 {lag['p50']:.2f} s, p99 {lag['p99']:.2f} s; gate "
            f"{'PASS' if result['passed'] else 'FAIL'}")
        levels.append(level)
    return levels


def load_topology_for(scenario: str, topology: str | None) -> Topology:
    from harness.load import resolve_scenario

    sc = resolve_scenario(scenario)
    if sc.timeline:
        raise SystemExit(f"{scenario}: its timeline (faults, kills) is not in the model; "
                         "validate against a scenario without one (decline-storm)")
    return load_topology(topology or sc.topology)


def load_spec(topo: Topology, intercepts: float) -> tuple[ModelSpec, LoadProfile]:
    """The model of the load's workload (see the module's docstring); the profile's rate is
    set per level (`profile_at`)."""
    spec = spec_from_topology(topo, source="intercept").with_webhooks(topo, 1.0 - intercepts)
    weights = tuple(float(m.data.customers) for m in topo.merchants.values())
    profile = LoadProfile(merchants=len(weights), declines_per_day=0.0, size_sigma=0.0,
                          diurnal=(1.0,), peaks=[], weights=weights, even=True)
    return spec, profile


def profile_at(profile: LoadProfile, rate: float) -> LoadProfile:
    return replace(profile, declines_per_day=rate * 86400.0 / profile.merchants)


def measured_littles_law(level: LoadLevel) -> dict[str, float]:
    """The client's intercepts in flight (Locust's records) against the intercept rate × the
    engine's mean intercept latency: apart when requests wait where the engine's stopwatch
    does not run (the accept queue, the event loop before the handler)."""
    return littles_law(level.intercepts_in_flight, len(level.intercept_latencies),
                       level.intercept_window, level.intercept_latencies)


def fit_relay(calibrated: ModelSpec, profile: LoadProfile, level: LoadLevel,
              facts: dict[str, Any]) -> ModelSpec:
    """The relay's own time per message (claiming it, marking it done: the sync's work the
    model does not play): the calibration level's median write-back lag less the model's
    there. The median, not the mean as for the decisions' overhead: the typical write-back is a
    Stripe or Salesforce one, where that time shows, and the mean is moved by NetSuite's tail,
    which the model plays. Nothing measured (an old folder): none."""
    from harness.model.validate import _predict

    if not level.writeback_lags:
        return calibrated
    model = _predict(calibrated, level.rate, level.duration,
                     profile=profile_at(profile, level.rate))
    measured = percentiles_s(level.writeback_lags)["p50"]
    overhead = max(0.0, measured - model["writeback_lag_s"]["p50"])
    facts["relay_overhead_ms"] = round(overhead * 1000.0, 1)
    return replace(calibrated, outbox=replace(calibrated.outbox, overhead_s=overhead))


def compare_load(calibrated: ModelSpec, profile: LoadProfile,
                 levels: list[LoadLevel]) -> list[dict[str, Any]]:
    from harness.model.validate import _predict, against

    rows = []
    for level in levels:
        model = _predict(calibrated, level.rate, level.duration,
                         profile=profile_at(profile, level.rate))
        row = against(model, percentiles_ms(level.latencies))
        row.update({"rate": level.rate, "declines": len(level.latencies),
                    "littles_law": {"model": model["littles_law"],
                                    "measured": measured_littles_law(level)},
                    "client_p99_ms": percentiles_ms(level.client_intercept)["p99"],
                    "host_share": round(level.host_share, 3),
                    "engine_utilisation_model": model["engine_utilisation"],
                    "histogram_p99_ms": level.histogram.get("p99"),
                    "histogram_p99_bucket_ms": level.histogram.get("p99_bucket_ms"),
                    "locust_intercept_p99_ms": level.locust.get("p99"),
                    "gate": "PASS" if level.passed else "FAIL",
                    "writeback_lag_s": writeback_lag(model, level)})
        rows.append(row)
    return rows


def writeback_lag(model: dict[str, Any], level: LoadLevel) -> dict[str, Any] | None:
    """The model's write-back lag (`_predict`) against the level's, p50/p95/p99 in seconds,
    and write-backs per decision on both sides; None when the level measured none."""
    from harness.model.validate import against

    if not level.writeback_lags:
        return None
    row = against(model, percentiles_s(level.writeback_lags), "writeback_lag_s")
    queued = len(level.writeback_lags) + level.writebacks_unsent
    row.update({"rate": level.rate, "writebacks": len(level.writeback_lags),
                "unsent": level.writebacks_unsent,
                "per_decision": {
                    "model": round(model["writebacks"] / max(model["decisions"], 1), 3),
                    "measured": round(queued / max(len(level.latencies), 1), 3)}})
    return row


def render_load(rows: list[dict[str, Any]], facts: dict[str, Any], calibration: float) -> str:
    from harness.model.validate import percentile_cells

    lines = ["| rate /s | decisions | p50 model / measured (err) | p95 model / measured (err) "
             "| p99 model / measured (err) | L / λW model | L / λW measured (intercepts) "
             "| histogram p99 (bucket) | Locust intercept p99 | gate |",
             "|---:|---:|---|---|---|---:|---:|---:|---:|---|"]
    for row in rows:
        cells = percentile_cells(row, calibration)
        m, x = row["littles_law"]["model"], row["littles_law"]["measured"]
        cells.append(f"{m['L']:.2f} / {m['lambda_W']:.2f}")
        cells.append(f"{x['L']:.2f} / {x['lambda_W']:.2f}")
        bucket = row.get("histogram_p99_bucket_ms") or ["?", "?"]
        hist = row.get("histogram_p99_ms")
        cells.append(f"{hist:.0f} ({bucket[0]}–{bucket[1] or '∞'})" if hist is not None
                     else "–")
        loc = row.get("locust_intercept_p99_ms")
        cells.append(f"{loc:.0f} ms" if loc is not None else "–")
        cells.append(row["gate"])
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *render_writeback_lag(rows, calibration), ""]
    lines.append(f"calibration ({facts['calibration_rate']:g}/s, {facts['calibration_declines']} "
                 f"decisions): host share {facts['host_share']} of a core, engine CPU "
                 f"{facts['engine_cpu_ms_per_decision']} ms/decision, fake CPU ms/request "
                 f"{facts['fake_cpu_ms_per_request']}, retried at once "
                 f"{facts.get('soft_share', '?')}, unexplained overhead {facts['overhead_ms']} ms"
                 + (f", relay overhead {facts['relay_overhead_ms']} ms a write-back"
                    if "relay_overhead_ms" in facts else ""))
    return "\n".join(lines)


def render_writeback_lag(rows: list[dict[str, Any]], calibration: float) -> list[str]:
    """The second table: write-back lag, model against measured, per level."""
    from harness.model.validate import percentile_cells

    measured = [row["writeback_lag_s"] for row in rows if row.get("writeback_lag_s")]
    if not measured:
        return ["write-back lag: not measured (run folders from before the outbox kept its "
                "queue times: measure again)"]
    lines = ["| rate /s | write-backs sent | lag p50 model / measured (err) | lag p95 model / "
             "measured (err) | lag p99 model / measured (err) | per decision model / measured "
             "| not sent |", "|---:|---:|---|---|---|---:|---:|"]
    for lag in measured:
        cells = percentile_cells(lag, calibration, count="writebacks", unit="s")
        per = lag["per_decision"]
        cells += [f"{per['model']:.2f} / {per['measured']:.2f}", str(lag["unsent"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("write-back lag: from the decision's commit (model) or the message's queueing "
                 "with the decision's result (measured) to the answer of its last vendor call "
                 "(model) or the relay's mark of done (measured); both include the relay's "
                 "poll wait")
    return lines


def run(args: Any) -> int:
    """`python -m harness.model.validate --against load …` (validate.main parses the flags)."""
    from harness.model.validate import GOAL, calibrate

    topo = load_topology_for(args.scenario, args.load_topology)
    rates = [args.calibrate, *args.levels]
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / "measured-load.json"
    if args.measured:
        levels = [LoadLevel(**lv) for lv in json.loads(args.measured.read_text())]
    else:
        levels = measure_load(args.scenario, args.load_topology, rates, args.seconds,
                              seed=args.seed, intercepts=args.intercepts, quiet=args.quiet,
                              out=args.out)
        raw.write_text(json.dumps([asdict(lv) for lv in levels]))
        print(f"measurements: {raw} (compare again: --against load --measured {raw})")
    spec, profile = load_spec(topo, args.intercepts)
    soft = levels[0].soft_share()
    calibrated, facts = calibrate(spec, levels[0].as_level(), soft, window=levels[0].duration,
                                  fit_latency=False, engines=len(topo.merchants),
                                  profile=profile_at(profile, levels[0].rate))
    facts["soft_share"] = round(soft, 3)
    calibrated = fit_relay(calibrated, profile, levels[0], facts)
    rows = compare_load(calibrated, profile, levels)
    table = render_load(rows, facts, levels[0].rate)
    print(table)
    (args.out / "validation.md").write_text(table + "\n")
    (args.out / "validation.json").write_text(json.dumps(
        {"calibration": facts, "levels": rows, "goal_relative_error": GOAL,
         "source": f"landscape load {args.scenario} (Locust), engine logs",
         "seconds": args.seconds, "intercepts": args.intercepts,
         "mean_ms": {f"{lv.rate:g}": round(statistics.fmean(lv.latencies) * 1000, 1)
                     for lv in levels if lv.latencies}}, indent=1))
    print(f"figures: {args.out / 'validation.json'}")
    return 0
