"""`landscape load --sweep 2,4,8`: the same load at rising rates, one landscape each, and a
table of which rates hold the gate (the highest sustainable decline rate on this machine)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from harness.load import LoadError, run_load


def parse_rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        rates = []
    if not rates or any(r <= 0 for r in rates):
        raise LoadError(f"--sweep {text!r}: give rates above 0, separated by commas, e.g. 2,4,8")
    return sorted(rates)


def run_sweep(scenario: str, rates: str, *, report_dir: Path | None = None,
              **options: Any) -> list[dict[str, Any]]:
    """One load run per rate (each in report_dir/rate-<r>); a row per rate."""
    folder = Path(report_dir or Path("landscape-run") / f"sweep-{Path(scenario).stem}")
    rows = []
    for rate in parse_rates(rates):
        result = run_load(scenario, rate=rate, report_dir=folder / f"rate-{rate:g}", **options)
        rows.append(sweep_row(result))
        _write_csv(rows, folder / "sweep.csv")  # after each rate: a long sweep cut short keeps it
    return rows


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def sweep_row(result: dict[str, Any]) -> dict[str, Any]:
    load = result["load"]
    engine = load["latency"]["engine"]["all"]
    intercepts = load["latency"]["locust"].get("intercept") or {}
    return {"rate": load["rate"], "mode": load["engine_mode"], "planned": load["planned"],
            "sent": load["sent"], "achieved": load["achieved_rate"],
            "engine_p50": engine["p50"], "engine_p99": engine["p99"],
            "p99_bucket": engine.get("p99_bucket_ms"), "within_sla": engine["within_sla"],
            "locust_intercept_p99": intercepts.get("p99"),
            "latency_held": next(c["passed"] for c in result["invariants"]
                                 if c["id"] == "decision_p99"),
            "outbox_left": load.get("outbox_left"), "quiet_s": load.get("quiet_s"),
            "passed": result["passed"],
            "failed": [c["id"] for c in result["invariants"] if not c["passed"]],
            "report": result.get("report")}
