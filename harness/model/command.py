"""`landscape simulate`: the model of a topology at scale, its reports, and the sizing answer.

The Typer command in harness/cli.py only parses the flags; this runs the model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from harness.model.report import print_summary, write_html
from harness.model.sim import simulate
from harness.model.sizing import size
from harness.model.spec import ModelSpec, spec_from_topology
from harness.model.workload import LoadProfile
from harness.topology import DEFAULT_TOPOLOGY, load_topology


class FlagError(ValueError):
    """A flag out of range; the message names it and the fix."""


def check_flags(merchants: int, hours: float, declines_per_day: float, replicas: int | None,
                outbox_workers: int | None, start_hour: float) -> None:
    if merchants < 1 or merchants > 1_000_000:
        raise FlagError(f"--merchants {merchants}: give 1 to 1,000,000 merchants")
    if not 0 < hours <= 168:
        raise FlagError(f"--hours {hours:g}: give more than 0 and at most 168 simulated hours")
    if not 0 < declines_per_day <= 100_000:
        raise FlagError(f"--declines-per-day {declines_per_day:g}: give a mean above 0 and at "
                        "most 100,000 declines per merchant per day")
    if replicas is not None and not 1 <= replicas <= 10_000:
        raise FlagError(f"--replicas {replicas}: give 1 to 10,000 engine replicas")
    if outbox_workers is not None and not 1 <= outbox_workers <= 10_000:
        raise FlagError(f"--outbox-workers {outbox_workers}: give 1 to 10,000 relay workers")
    if not 0 <= start_hour < 24:
        raise FlagError(f"--start-hour {start_hour:g}: give an hour of day, 0 to 23.99 UTC")


def calibrated(spec: ModelSpec, measured: Path) -> ModelSpec:
    """`spec` with each call's latency and the engine's CPU per decision fitted from the
    calibration level of a validation run (its measured.json): on a dedicated core (host share
    1.0) and without the offset fitted for this machine."""
    from harness.model.measure import Level
    from harness.model.validate import calibrate

    try:
        level = Level(**json.loads(measured.read_text())[0])
    except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise FlagError(f"--calibration {measured}: not a measured.json of "
                        f"`python -m harness.model.validate` ({type(exc).__name__}); run it, "
                        f"or leave the flag out to use the topology's latency profiles") from None
    fitted, _ = calibrate(spec, level, spec.engine.soft_share)
    fitted.engine = replace(spec.engine, cpu_ms=fitted.engine.cpu_ms)
    return replace(fitted, fake_service_ms={}, outbox=spec.outbox)


def run_simulate(topology_ref: str | None, *, merchants: int, hours: float, seed: int | None,
                 replicas: int | None, outbox_workers: int | None, declines_per_day: float,
                 start_hour: float, source: str, sizing: bool, report_dir: Path,
                 console: Console, calibration: Path | None = None) -> dict[str, Any]:
    """Run the model, print the summary, write report.html and result.json; returns the
    summary. Raises TopologyError or FlagError (one line each)."""
    check_flags(merchants, hours, declines_per_day, replicas, outbox_workers, start_hour)
    topology = load_topology(topology_ref or DEFAULT_TOPOLOGY)
    seed = topology.seed if seed is None else seed
    spec = spec_from_topology(topology, source=source, replicas=replicas)
    if outbox_workers is not None:
        spec.outbox.workers = outbox_workers
    if calibration is not None:
        spec = calibrated(spec, calibration)
    profile = LoadProfile(merchants=merchants, declines_per_day=declines_per_day)
    total = hours * 3600.0
    with Progress(TextColumn("simulating {task.description}"), BarColumn(),
                  TextColumn("{task.fields[at]}"), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(f"{merchants:,} merchants, {hours:g} h", total=total, at="")

        def progress(done: float) -> None:
            bar.update(task, completed=done, at=f"{done / 3600:.1f} h simulated")

        result = simulate(spec, profile, seed=seed, hours=hours, start_hour=start_hour,
                          progress=progress)
        summary = result.summary()
        if sizing:
            bar.update(task, description="sizing: the busiest hour", completed=0, at="")
            summary["sizing"] = size(spec, profile, seed=seed)
    print_summary(summary, console)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "result.json").write_text(json.dumps(summary, indent=1))
    console.print(f"report: {write_html(summary, report_dir / 'report.html')}")
    return summary
