"""The model's reports: a terminal summary (rich) and one self-contained HTML page with inline
SVG plots (harness/svg.py; the page style is the run report's, harness/report.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.report import CSS
from harness.svg import LegendItem, Scale, Svg, axes, esc, fmt, legend, nice_max

BLUE, ORANGE, GREEN, RED = "#0072B2", "#E69F00", "#009E73", "#D55E00"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h"


def print_summary(summary: dict[str, Any], console: Console) -> None:
    lat, sla = summary["latency_ms"], summary["sla"]
    verdict = "[green]meets[/green]" if sla["p99_under"] else "[red]misses[/red]"
    console.print(
        f"[bold]{summary['topology']}[/bold]: {summary['merchants']:,} merchants × "
        f"{summary['declines_per_merchant_day']:g} declines/day, {summary['hours']:g} h from "
        f"{summary['start_hour']:g}:00 UTC, seed {summary['seed']}, {summary['replicas']} "
        f"replica(s), {summary['outbox_workers']} outbox worker(s)")
    console.print(
        f"{summary['declines']:,} declines: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, "
        f"p99 {lat['p99']:.0f} ms (max {lat['max']:.0f}) — {verdict} p99 < "
        f"{summary['sla_ms']:g} ms; {sla['share_under'] * 100:.2f} % under "
        f"{summary['sla_ms']:g} ms; {sla['merchants_over_1pct']} merchant(s) with > 1 % over")
    lag = summary["writeback_lag_s"]
    console.print(f"write-back lag: p50 {lag['p50']:.1f} s, p99 {lag['p99']:.1f} s, max "
                  f"{lag['max']:.1f} s over {summary['writebacks']:,} write-backs; engine CPU "
                  f"{summary['engine_utilisation'] * 100:.1f} % busy")
    table = Table(title="vendor pressure (per account = per merchant)", title_justify="left")
    for heading in ("vendor", "requests", "429s", "failed", "queued at limit", "wait mean/max",
                    "peak rps (account)", "peak rps (platform)", "peak in flight (account)"):
        table.add_column(heading, justify="left" if heading == "vendor" else "right")
    for name, v in summary["vendors"].items():
        table.add_row(name, f"{v['requests']:,}", f"{v['throttled_429']:,}", str(v["failed"]),
                      f"{v['queued_at_limit']:,}",
                      f"{v['queue_wait_mean_ms']:.0f}/{v['queue_wait_max_ms']:.0f} ms",
                      str(v["account_peak_rps"]), str(v["platform_peak_rps"]),
                      str(v["account_peak_in_flight"]))
    console.print(table)
    ll = summary["littles_law"]
    console.print(f"Little's law: L {ll['L']:.3f} in flight (sampled each second) vs λW "
                  f"{ll['lambda_W']:.3f} ({ll['relative_error'] * 100:+.1f} %)")
    speed = summary["speed"]
    console.print(f"simulated {speed['events']:,} events in {speed['wall_s']:.1f} s "
                  f"({speed['events_per_s']:,} events/s)")
    if summary.get("sizing"):
        print_sizing(summary["sizing"], console)


def print_sizing(sizing: dict[str, Any], console: Console) -> None:
    replicas = sizing["replicas"]
    console.print(
        f"[bold]sizing[/bold] (busiest {sizing['window_hours']:g} h from "
        f"{sizing['window_start_hour']:g}:00 UTC, peak {sizing['peak_declines_per_s']:g} "
        f"declines/s): {replicas if replicas else 'no'} engine replica(s), "
        f"{sizing['outbox_workers']} outbox worker(s) (CPU ≤ "
        f"{sizing['target_utilisation'] * 100:.0f} %, lag p99 < {sizing['lag_target_s']:g} s)")
    if sizing.get("unmet"):
        console.print(f"[red]{sizing['unmet']}[/red]")
    table = Table(title=f"vendor API quota needed (×{sizing['headroom']:g} headroom)",
                  title_justify="left")
    for heading in ("vendor", "per account rps", "per account concurrency", "platform rps"):
        table.add_column(heading, justify="left" if heading == "vendor" else "right")
    for name, q in sizing["quota"].items():
        table.add_row(name, str(q["per_account_rps"]), str(q["per_account_concurrency"]),
                      str(q["platform_peak_rps"]))
    console.print(table)


# -- HTML -------------------------------------------------------------------------------------
def _line_chart(title: str, series: Sequence[tuple[str, str, list[tuple[float, float]]]],
                y_label: str, hline: float | None = None) -> str:
    width, height = 960, 300
    svg = Svg(width, height, title)
    points = [p for _, _, pts in series for p in pts]
    if not points:
        return "<p class=empty>no data</p>"
    x = Scale(min(p[0] for p in points), max(max(p[0] for p in points),
                                             min(p[0] for p in points) + 1), 70, width - 20)
    top = nice_max(max([p[1] for p in points] + [hline or 0]) * 1.05)
    y = Scale(0, top, height - 70, 20)
    span = (x.hi - x.lo) / 3600
    step = 3600 * (0.25 if span <= 2 else 1 if span <= 6 else 3 if span <= 24 else 12)
    ticks = [step * i for i in range(int(x.lo // step), int(x.hi // step) + 2)
             if x.lo <= step * i <= x.hi]
    axes(svg, x, y, "hour (UTC)", y_label, x_format=lambda v: fmt(v / 3600), x_ticks=ticks)
    if hline is not None:
        svg.line(x.start, y(hline), x.end, y(hline), stroke=RED, dash="6 4",
                 title=f"SLA {fmt(hline)}")
    for _, colour, pts in series:
        svg.polyline([(x(a), y(b)) for a, b in pts], stroke=colour)
    legend(svg, 70, height - 12, [LegendItem(label, colour, "line") for label, colour, _ in
                                  series], width - 100)
    return f"<figure>{svg.render()}</figure>"


def _table(headings: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}' \
           f"</tbody></table></div>"


def render_html(summary: dict[str, Any]) -> str:
    lat, sla, series = summary["latency_ms"], summary["sla"], summary["series"]
    verdict = "meets" if sla["p99_under"] else "misses"
    facts = _table(("measure", "value"), [
        ("merchants", f"{summary['merchants']:,}"),
        ("declines per merchant per day (mean)", summary["declines_per_merchant_day"]),
        ("simulated", f"{summary['hours']:g} h from {summary['start_hour']:g}:00 UTC"),
        ("declines decided", f"{summary['declines']:,}"),
        ("decision latency p50 / p95 / p99 / max",
         f"{lat['p50']:.0f} / {lat['p95']:.0f} / {lat['p99']:.0f} / {lat['max']:.0f} ms"),
        (f"SLA p99 < {summary['sla_ms']:g} ms", verdict),
        (f"share under {summary['sla_ms']:g} ms", f"{sla['share_under'] * 100:.3f} %"),
        ("write-back lag p50 / p99 / max", " / ".join(
            f"{summary['writeback_lag_s'][k]:.1f} s" for k in ("p50", "p99", "max"))),
        ("engine replicas × workers, CPU busy", f"{summary['replicas']} × "
         f"{summary['workers_per_replica']}, {summary['engine_utilisation'] * 100:.1f} %"),
        ("Little's law L / λW", f"{summary['littles_law']['L']:.3f} / "
         f"{summary['littles_law']['lambda_W']:.3f}"),
        ("speed", f"{summary['speed']['events']:,} events in {summary['speed']['wall_s']} s"),
    ])
    vendors = _table(("vendor", "requests", "429s", "queued at limit", "wait max ms",
                      "peak rps / account", "peak rps / platform", "peak in flight / account"),
                     [(n, v["requests"], v["throttled_429"], v["queued_at_limit"],
                       v["queue_wait_max_ms"], v["account_peak_rps"], v["platform_peak_rps"],
                       v["account_peak_in_flight"]) for n, v in summary["vendors"].items()])
    load = _line_chart("Declines per 5 minutes", [
        ("declines / 5 min", BLUE, [(p["t"], p["declines"]) for p in series])], "declines")
    latency = _line_chart("Decision latency", [
        ("p50", BLUE, [(p["t"], p["p50_ms"]) for p in series]),
        ("p99", ORANGE, [(p["t"], p["p99_ms"]) for p in series])], "ms",
        hline=summary["sla_ms"])
    lag = _line_chart("Write-back lag", [
        ("p99 lag", GREEN, [(p["t"], p["lag_p99_s"]) for p in series])], "seconds")
    sizing = ""
    if summary.get("sizing"):
        s = summary["sizing"]
        sizing = (f"<section><h2>Sizing</h2><p>{esc(s['replicas'])} engine replica(s) and "
                  f"{esc(s['outbox_workers'])} outbox worker(s) for the busiest "
                  f"{esc(s['window_hours'])} h (peak {esc(s['peak_declines_per_s'])} "
                  f"declines/s).{' ' + esc(s['unmet']) if s.get('unmet') else ''}</p>"
                  + _table(("vendor", "per account rps", "per account concurrency",
                            "platform rps"),
                           [(n, q["per_account_rps"], q["per_account_concurrency"],
                             q["platform_peak_rps"]) for n, q in s["quota"].items()])
                  + _table(("replicas", "outbox workers", "p99 ms", "CPU busy", "lag p99 s"),
                           [(c["replicas"], c["outbox_workers"], c["p99_ms"], c["utilisation"],
                             c["lag_p99_s"]) for c in s["candidates"]]) + "</section>")
    title = f"model · {summary['topology']} · {summary['merchants']:,} merchants"
    body = (f"<header><h1>{esc(title)}</h1><p>A discrete-event model (harness/model): "
            f"predictions, not measurements.</p></header>"
            f"<section><h2>Prediction</h2>{facts}</section>"
            f"<section><h2>Load over the day</h2>{load}</section>"
            f"<section><h2>Decision latency against the SLA</h2>{latency}</section>"
            f"<section><h2>Write-back lag</h2>{lag}</section>"
            f"<section><h2>Vendor pressure</h2>{vendors}</section>{sizing}")
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            f"{body}\n<footer>landscape model report · self-contained: nothing is loaded from "
            f"anywhere.</footer>\n</main>\n</body>\n</html>\n")


def write_html(summary: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(summary), encoding="utf-8")
    return path
