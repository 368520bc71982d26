"""What `landscape load` shows: a terminal table, an HTML section of the report, and load.csv
with the final figures (written here from Locust's JSON and the engines' histograms: Locust's
own _stats.csv is rewritten once a second and is stale when it exits). The write-back lag
(harness/load_writebacks.py) is a line of its own, and a row of load.csv in ms whose
`failures` are the write-backs not sent (still pending, or dead letters)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

VENDOR_ROWS = 8  # vendor calls shown, slowest first
CSV_COLUMNS = ("source", "series", "count", "failures", "p50_ms", "p95_ms", "p99_ms", "max_ms",
               "p99_bucket_ms", "within_sla", "rate_per_s")


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per series: the engines' histograms by source, each decision from the engines'
    logs (unbucketed), then Locust's by request."""
    latency = (result.get("load") or {}).get("latency") or {}
    out = []
    for series, s in (latency.get("engine") or {}).items():
        bucket = s.get("p99_bucket_ms")
        out.append({"source": "engine histogram", "series": series, "count": s["count"],
                    "failures": "", "p50_ms": s["p50"], "p95_ms": s["p95"],
                    "p99_ms": s["p99"], "max_ms": "",
                    "p99_bucket_ms": f"{bucket[0]}-{bucket[1] or 'inf'}" if bucket else "",
                    "within_sla": s["within_sla"], "rate_per_s": ""})
    for series, s in (latency.get("engine_log") or {}).items():
        out.append({"source": "engine log (exact)", "series": series, "count": s["count"],
                    "failures": "", "p50_ms": s["p50"], "p95_ms": s["p95"],
                    "p99_ms": s["p99"], "max_ms": s["max"], "p99_bucket_ms": "",
                    "within_sla": s["within_sla"], "rate_per_s": ""})
    for series, s in (latency.get("locust") or {}).items():
        out.append({"source": "locust (from scheduled time)", "series": series,
                    "count": s["count"], "failures": s["failures"], "p50_ms": s["p50"],
                    "p95_ms": s["p95"], "p99_ms": s["p99"], "max_ms": s["max"],
                    "p99_bucket_ms": "", "within_sla": "", "rate_per_s": s["rate"]})
    return out


def writeback_row(result: dict[str, Any]) -> dict[str, Any] | None:
    """load.csv's write-back lag row (ms, as the other rows; seconds in the result)."""
    lag = (result.get("load") or {}).get("writeback_lag_s")
    if not lag:
        return None
    return {"source": "outbox (queued to sent)", "series": "write-back lag",
            "count": lag["count"], "failures": lag["pending"] + lag["dead"],
            **{f"{q}_ms": None if lag[q] is None else round(lag[q] * 1000, 1)
               for q in ("p50", "p95", "p99", "max")},
            "p99_bucket_ms": "", "within_sla": "", "rate_per_s": ""}


def writeback_text(result: dict[str, Any]) -> str | None:
    """The write-back lag in a sentence (None for a run that did not measure it)."""
    lag = (result.get("load") or {}).get("writeback_lag_s")
    if not lag:
        return None
    figures = ", ".join(f"{q} {lag[q]:.2f} s" for q in ("p50", "p95", "p99", "max")
                        if lag[q] is not None)
    text = (f"Write-back lag (queued with the decision to sent, the outboxes' own times): "
            f"{lag['count']} sent" + (f", {figures}" if figures else "")
            + f"; {lag['pending']} still pending, {lag['dead']} dead letters")
    for merchant, why in (lag.get("unread") or {}).items():
        text += f"; {merchant} not read: {why}"
    return text


def write_outputs(result: dict[str, Any], folder: Path) -> dict[str, Path]:
    """result.json, load.csv and report.html in `folder`."""
    from harness.report import write_html

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(json.dumps(result, indent=1, default=str))
    with (folder / "load.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows(result))
        if (lag := writeback_row(result)) is not None:
            writer.writerow(lag)
    return {"json": folder / "result.json", "csv": folder / "load.csv",
            "html": write_html(result, folder / "report.html")}


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "–"
    return f"{value:,.0f}" if isinstance(value, float) else str(value)


def print_load(result: dict[str, Any], console: Console) -> None:
    load = result.get("load") or {}
    if not load:
        return
    console.print(f"[bold]Load[/bold]: {load['shape']} {load['rate']:g}/s for "
                  f"{load['duration']:g} s, engine mode {load.get('engine_mode')}: "
                  f"{load['sent']} of {load['planned']} arrivals sent "
                  f"({load['intercepts']} intercepts, {load['renewals']} webhook-driven), "
                  f"{load['achieved_rate']:g}/s achieved"
                  + (f", {load['workers']} Locust workers" if load.get("workers") else ""))
    table = Table(title="Decision latency (ms): the engines' histograms and Locust",
                  title_justify="left", title_style="bold")
    for heading in ("source", "series", "count", "fail", "p50", "p95", "p99", "p99 bucket",
                    "≤ SLA"):
        table.add_column(heading, justify="left" if heading in ("source", "series") else "right")
    for row in rows(result):
        within = row["within_sla"]
        table.add_row(row["source"], row["series"], _cell(row["count"]),
                      _cell(row["failures"]), _cell(row["p50_ms"]), _cell(row["p95_ms"]),
                      _cell(row["p99_ms"]), row["p99_bucket_ms"] or "–",
                      f"{within:.2%}" if isinstance(within, float) else "–")
    console.print(table)
    if (lag := writeback_text(result)) is not None:
        console.print(lag, markup=False, highlight=False)
    calls = load.get("vendor_latency") or []
    if calls:
        slow = Table(title="Vendor calls during the load (the fakes' request logs), slowest p99 "
                     "first", title_justify="left", title_style="bold")
        for heading in ("vendor", "call", "count", "errors", "p50 ms", "p99 ms", "max ms"):
            slow.add_column(heading, justify="left" if heading in ("vendor", "call") else "right")
        for c in calls[:VENDOR_ROWS]:
            slow.add_row(c["vendor"], c["call"], str(c["count"]), str(c["errors"]),
                         _cell(c["p50"]), _cell(c["p99"]), _cell(c["max"]))
        console.print(slow)
    console.print("[dim]engine histogram: interpolated within its bucket (the gate reads the "
                  "le=1.0 bucket exactly); engine log: each decision's own latency; Locust: "
                  "from the scheduled time, rounded above 100 ms; "
                  "renewal = the fake's provider-state call, not a decision[/dim]")


def load_html(result: dict[str, Any]) -> str:
    """The report's section on the load (empty for a scenario run)."""
    from harness.report import _html_table
    from harness.svg import esc

    load = result.get("load")
    if not load:
        return ""
    head = (f"<p>{esc(load['shape'])} arrivals at {load['rate']:g}/s for {load['duration']:g} s "
            f"(engine mode {esc(str(load.get('engine_mode')))}): {load['sent']} of "
            f"{load['planned']} sent, {load['intercepts']} as checkout-time intercepts and "
            f"{load['renewals']} as renewals failing at the fake (webhook-driven); "
            f"{load['achieved_rate']:g}/s achieved"
            + (f", {load['workers']} Locust workers" if load.get("workers") else "")
            + ". Open loop: latency from each arrival's scheduled time.</p>")
    table = _html_table(
        ["source", "series", "count", "failures", "p50 ms", "p95 ms", "p99 ms", "max ms",
         "p99 bucket ms", "≤ SLA"],
        [[esc(r["source"]), esc(r["series"]), *(esc(_cell(r[k])) for k in (
            "count", "failures", "p50_ms", "p95_ms", "p99_ms", "max_ms", "p99_bucket_ms")),
          esc(f"{r['within_sla']:.2%}" if isinstance(r["within_sla"], float) else "–")]
         for r in rows(result)], text_columns=(0, 1))
    if (lag := writeback_text(result)) is not None:
        table += f"<p>{esc(lag)}.</p>"
    calls = load.get("vendor_latency") or []
    if calls:
        table += ("<p>Vendor calls during the load (the fakes' request logs), slowest p99 "
                  "first:</p>" + _html_table(
                      ["vendor", "call", "count", "errors", "p50 ms", "p99 ms", "max ms"],
                      [[esc(c["vendor"]), esc(c["call"]), str(c["count"]), str(c["errors"]),
                        *(esc(_cell(c[k])) for k in ("p50", "p99", "max"))]
                       for c in calls[:VENDOR_ROWS]], text_columns=(0, 1)))
    errors = load.get("locust_errors") or []
    listed = "".join(f"<li>{esc(e['name'])}: {esc(e['error'])} ×{e['occurrences']}</li>"
                     for e in errors)
    note = ("<p>The engine's percentiles are interpolated inside the histogram bucket they fall "
            "in (250 ms wide between 0.75 s and 1 s); the gate reads the share at or under the "
            "SLA exactly, from its bucket bound. The engine log rows are each decision's "
            "own latency as the engine logged it (to the millisecond, nearest rank). Locust "
            "rounds times above 100 ms.</p>")
    return head + table + note + (f"<p>Locust errors:</p><ul>{listed}</ul>" if listed else "")


def print_sweep(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Rate sweep: the gate at each decline rate", title_justify="left",
                  title_style="bold")
    for heading in ("rate/s", "mode", "sent", "achieved/s", "engine p50", "engine p99",
                    "p99 bucket", "≤ SLA", "Locust intercept p99", "outbox drained", "gate"):
        table.add_column(heading, justify="right")
    for r in rows:
        bucket = r["p99_bucket"]
        table.add_row(f"{r['rate']:g}", str(r["mode"]), f"{r['sent']}/{r['planned']}",
                      f"{r['achieved']:g}", _cell(r["engine_p50"]), _cell(r["engine_p99"]),
                      f"{bucket[0]}-{bucket[1] or 'inf'}" if bucket else "–",
                      f"{r['within_sla']:.2%}" if r["within_sla"] is not None else "–",
                      _cell(r["locust_intercept_p99"]),
                      f"in {r['quiet_s']:g} s" if not r["outbox_left"]
                      else f"{r['outbox_left']} left at {r['quiet_s']:g} s",
                      "[green]PASS[/green]" if r["passed"] else
                      f"[red]FAIL[/red] {', '.join(r['failed'])}")
    console.print(table)
    held = [r["rate"] for r in rows if r["passed"]]
    fast = [r["rate"] for r in rows if r["latency_held"]]
    console.print(f"highest rate holding the whole gate: {max(held):g}/s" if held
                  else "no rate held the whole gate")
    console.print(f"highest rate holding p99 decision latency alone: {max(fast):g}/s" if fast
                  else "no rate held the p99 decision latency")
