"""The report of a scenario run: a terminal summary and one self-contained HTML file.

`harness.scenario_run` turns a run into `result`, a JSON-able dict; this module only reads it:

    print_summary(result, Console())             # PASS/FAIL, merchants, latency, invariants…
    write_html(result, Path("report.html"))      # the same, with plots, in one file

The keys of `result` (all present; lists and dicts may be empty):

    scenario {name, description, file}, topology {name, file, merchants}, seed, mode, passed,
    replay, simulated_seconds, wall_seconds, sla_ms,
    merchants {name: {declines, decisions, recovered, declined, not_retried, deferred, errors,
                      double_charges, drift_found, drift_repaired, needs_human}},
    latency {series: [ms, …]}, latency_percentiles {series: {p50, p95, p99, max, count}},
    timeline {faults: [{label, system, start, end}],
              events: [{t, merchant, kind, latency_ms, invoice}]},
    invariants [{name, passed, detail, violations: [str]}],
    reconciliation {merchant: {consistent, settling, drift_found, drift_repaired, needs_human,
                               drifts: [{class, invoice_key, repaired}]}},
    vendors {vendor: {calls, errors, by_status {status: count}}}

The HTML file loads nothing from anywhere: CSS is inline and the plots are inline SVG drawn by
`harness.svg`. Everything that came from the run (names, labels, violations) is escaped.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.svg import (
    LegendItem,
    Scale,
    Svg,
    axes,
    clip_text,
    esc,
    fmt,
    legend,
    nice_max,
    text_width,
)

OUTCOMES = ("recovered", "declined", "not_retried", "deferred", "error", "unknown")
MARKS = ("kill", "restart", "note")  # events that are not decisions
OUTCOME_STYLE = {  # colour (Okabe-Ito, readable by colour-blind readers) and marker shape
    "recovered": ("#009E73", "circle"), "declined": ("#D55E00", "circle"),
    "not_retried": ("#0072B2", "circle"), "deferred": ("#CC79A7", "circle"),
    "error": ("#111111", "cross"), "unknown": ("#999999", "circle"),
}
MARK_STYLE = {"kill": ("#B2182B", None), "restart": ("#2166AC", "5 3"), "note": ("#777777", "2 3")}
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
SYSTEM_COLOURS = ("#9ecae1", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#d9d9d9", "#fee391")
SLA_COLOUR = "#C0392B"
PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
DECISION_COLUMNS = (  # key in result["merchants"][m], heading
    ("declines", "declines"), ("decisions", "decisions"), ("recovered", "recovered"),
    ("declined", "declined"), ("not_retried", "not retried"), ("deferred", "deferred"),
    ("errors", "errors"), ("double_charges", "double charges"),
)
DRIFT_COLUMNS = (("drift_found", "drift found"), ("drift_repaired", "repaired"),
                 ("needs_human", "needs human"))
MERCHANT_COLUMNS = DECISION_COLUMNS + DRIFT_COLUMNS
ALARMING = {"errors", "double_charges", "needs_human"}  # shown red when not zero
RECONCILIATION_PARTS = (  # segment of a merchant's bar, heading, colour
    ("consistent", "consistent", "#009E73"), ("settling", "settling", "#9ecae1"),
    ("drift_repaired", "drift repaired", "#0072B2"), ("unresolved", "drift unresolved", "#E69F00"),
    ("needs_human", "needs human", "#C0392B"),
)
STATUS_CLASSES = (  # class of a vendor's response status, colour
    ("2xx", "#009E73"), ("3xx", "#56B4E9"), ("4xx", "#E69F00"), ("5xx", "#C0392B"),
    ("no response", "#7B3294"),
)
TERMINAL_VIOLATIONS = 3  # violations shown per failed invariant
HTML_VIOLATIONS = 20
HTML_DRIFTS = 100  # drifts listed per merchant
MAX_POINTS = 3000  # decisions drawn on the timeline; more are sampled
CHART_WIDTH = 880  # the SVG coordinate width; CSS scales it to the page (at most 1.2×)


# -- reading the result -----------------------------------------------------------------------


def _count(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _finite(values: Iterable[Any]) -> list[float]:
    """The numbers among `values`, sorted, without None, NaN or infinities."""
    return sorted(float(v) for v in values
                  if isinstance(v, int | float) and math.isfinite(v) and v >= 0)


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks; `ordered` is sorted and not empty."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def latency_series(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per latency series: its sorted values and p50/p95/p99/max/count.

    The run's own percentiles win when present; missing ones are computed from the values.
    """
    given = result.get("latency_percentiles") or {}
    names = list(dict.fromkeys([*(result.get("latency") or {}), *given]))
    series: dict[str, dict[str, Any]] = {}
    for name in names:
        values = _finite((result.get("latency") or {}).get(name) or [])
        stats: dict[str, Any] = {"values": values, "count": len(values)}
        for key, q in (*PERCENTILES, ("max", 1.0)):
            stats[key] = _percentile(values, q) if values else None
        for key, value in (given.get(name) or {}).items():
            if value is not None:
                stats[key] = value
        series[name] = stats
    return series


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _seconds(value: Any) -> str:
    return f"{value:,.1f} s" if isinstance(value, int | float) else "–"


def _within_sla(values: Sequence[float], sla_ms: float | None) -> str:
    if not values or not sla_ms:
        return "–"
    within = sum(1 for v in values if v <= sla_ms)
    share = f"{within / len(values):.1%}"
    if share == "100.0%" and within < len(values):  # 4,999 of 5,000 is not everything
        return "> 99.9%"
    if share == "0.0%" and within:
        return "< 0.1%"
    return share


# -- the terminal summary ---------------------------------------------------------------------


def print_summary(result: dict[str, Any], console: Console) -> None:
    """PASS/FAIL headline, merchants, latency against the SLA, invariants, vendors; on failure
    the replay command and seed, last, where the eye lands."""
    _print_headline(result, console)
    _print_merchants(result, console)
    _print_latency(result, console)
    _print_invariants(result, console)
    _print_vendors(result, console)
    if not result.get("passed"):
        _print_replay(result, console)


def _print_headline(result: dict[str, Any], console: Console) -> None:
    scenario, topology = result.get("scenario") or {}, result.get("topology") or {}
    passed = bool(result.get("passed"))
    line = Text()
    line.append(" PASS " if passed else " FAIL ",
                style="bold white on green" if passed else "bold white on red")
    line.append(f" {scenario.get('name', '?')}", style="bold")
    line.append(f"  topology {topology.get('name', '?')} · seed {result.get('seed')}"
                f" · mode {result.get('mode')}")
    console.print()
    console.print(line)
    if scenario.get("description"):
        console.print(Text(str(scenario["description"]), style="dim"))
    console.print(Text(f"{_seconds(result.get('simulated_seconds'))} simulated in "
                       f"{_seconds(result.get('wall_seconds'))} wall · decision SLA "
                       f"{_ms(result.get('sla_ms'))} ms", style="dim"))


def _table(title: str, *headings: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                  padding=(0, 1), pad_edge=False)
    table.add_column(headings[0], overflow="fold")
    for heading in headings[1:]:
        table.add_column(heading, justify="right")
    return table


def _print_merchants(result: dict[str, Any], console: Console) -> None:
    merchants = result.get("merchants") or {}
    reconciliation = result.get("reconciliation") or {}
    if not merchants and not reconciliation:
        console.print(Text("No merchant activity recorded.", style="dim"))
        return
    # one table would not fit 100 columns: decisions, then reconciliation
    tables = (("Decisions per merchant", DECISION_COLUMNS, list(merchants)),
              ("Reconciliation per merchant",
               (("consistent", "consistent"), ("settling", "settling"), *DRIFT_COLUMNS),
               list(dict.fromkeys([*merchants, *reconciliation]))))
    for title, columns, names in tables:
        if not names:
            continue
        table = _table(title, "merchant", *(heading.replace(" ", "\n") for _, heading in columns))
        for name in names:
            counts = {**(reconciliation.get(name) or {}), **(merchants.get(name) or {})}
            cells = []
            for key, _ in columns:
                value = _count(counts.get(key))
                cells.append(Text(f"{value:,}", style="bold red" if key in ALARMING and value
                                  else ""))
            table.add_row(Text(str(name)), *cells)
        console.print(table)


def _print_latency(result: dict[str, Any], console: Console) -> None:
    series = latency_series(result)
    sla = result.get("sla_ms")
    if not series:
        console.print(Text("No decision latencies recorded.", style="dim"))
        return
    table = _table(f"Decision latency (ms) against the SLA of {_ms(sla)} ms",
                   "series", "count", "p50", "p95", "p99", "max", "≤ SLA")
    for name, stats in series.items():
        cells = [Text(_ms(stats[key]), style="bold red" if sla and stats[key]
                      and stats[key] > sla else "") for key in ("p50", "p95", "p99", "max")]
        table.add_row(Text(str(name)), str(_count(stats["count"])), *cells,
                      _within_sla(stats["values"], sla))
    console.print(table)


def _print_invariants(result: dict[str, Any], console: Console) -> None:
    invariants = result.get("invariants") or []
    held = sum(1 for invariant in invariants if invariant.get("passed"))
    console.print(Text(f"Invariants: {held} of {len(invariants)} held", style="bold"))
    for invariant in invariants:
        passed = bool(invariant.get("passed"))
        line = Text("  ✓ " if passed else "  ✗ ", style="green" if passed else "bold red")
        line.append(str(invariant.get("name", "?")), style="" if passed else "bold red")
        if invariant.get("detail"):
            line.append(f" — {invariant['detail']}", style="dim")
        console.print(line)
        violations = [] if passed else list(invariant.get("violations") or [])
        for violation in violations[:TERMINAL_VIOLATIONS]:
            console.print(Text(f"      · {violation}", style="red"))
        if len(violations) > TERMINAL_VIOLATIONS:
            console.print(Text(f"      … and {len(violations) - TERMINAL_VIOLATIONS} more",
                               style="red"))
    console.print()


def _print_vendors(result: dict[str, Any], console: Console) -> None:
    vendors = result.get("vendors") or {}
    if not vendors:
        console.print(Text("No vendor calls recorded.", style="dim"))
        return
    table = _table("Vendor calls", "vendor", "calls", "errors", "error rate", "statuses")
    table.columns[-1].justify = "left"
    for name, stats in vendors.items():
        calls, errors = _count(stats.get("calls")), _count(stats.get("errors"))
        statuses = " ".join(f"{status}×{_count(count):,}" for status, count
                            in sorted((stats.get("by_status") or {}).items()))
        table.add_row(Text(str(name)), f"{calls:,}",
                      Text(f"{errors:,}", style="red" if errors else ""),
                      f"{errors / calls:.1%}" if calls else "–", Text(statuses))
    console.print(table)


def _print_replay(result: dict[str, Any], console: Console) -> None:
    console.rule(Text(f"FAILED — replay with seed {result.get('seed')}", style="bold red"),
                 style="red")
    # on one line, without markup or a box around it, so it can be copied and pasted as is
    console.print(str(result.get("replay", "")), style="bold", soft_wrap=True, markup=False,
                  highlight=False)
    console.print()


# -- the HTML page ----------------------------------------------------------------------------


def write_html(result: dict[str, Any], path: Path) -> Path:
    """Write the report to `path` (one self-contained file) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
    return path


def render_html(result: dict[str, Any]) -> str:
    scenario = result.get("scenario") or {}
    verdict = "PASS" if result.get("passed") else "FAIL"
    body = "\n".join([
        _header(result),
        _section("proved", "What was proved", _invariants_html(result)),
        _section("merchants", "Merchants", _merchants_html(result)),
        _section("latency", "Decision latency against the SLA", _latency_html(result)),
        *_load_sections(result),
        _section("timeline", "Faults and outcomes over time", _timeline_html(result)),
        _section("reconciliation", "Reconciliation per merchant", _reconciliation_html(result)),
        _section("vendors", "Calls to each vendor", _vendors_html(result)),
    ])
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{verdict} · {esc(scenario.get('name', 'scenario'))} · landscape</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n"
            f"<footer>landscape scenario report · self-contained: no scripts, fonts or images"
            f" are loaded from anywhere.</footer>\n</main>\n</body>\n</html>\n")


def _load_sections(result: dict[str, Any]) -> list[str]:
    """`landscape load`'s section (harness/load_report.py), for a load run only."""
    if not result.get("load"):
        return []
    from harness.load_report import load_html

    return [_section("load", "The load (Locust) and the engines' histograms", load_html(result))]


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{anchor}">\n<h2>{esc(title)}</h2>\n{content}\n</section>'


def _empty(message: str) -> str:
    return f'<p class="empty">{esc(message)}</p>'


def _html_table(headings: Sequence[str], rows: Iterable[Sequence[str]],
                text_columns: Sequence[int] = (0,)) -> str:
    """A table; cells are HTML already (escape them before); all but `text_columns` are
    numbers, aligned right."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(
        f'<td{"" if i in text_columns else " class=num"}>{cell}</td>'
        for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _header(result: dict[str, Any]) -> str:
    scenario, topology = result.get("scenario") or {}, result.get("topology") or {}
    passed = bool(result.get("passed"))
    merchants = topology.get("merchants") or list(result.get("merchants") or [])
    facts = [
        ("topology", topology.get("name")), ("seed", result.get("seed")),
        ("mode", result.get("mode")), ("merchants", ", ".join(map(str, merchants))),
        ("simulated", _seconds(result.get("simulated_seconds"))),
        ("wall clock", _seconds(result.get("wall_seconds"))),
        ("decision SLA", f"{_ms(result.get('sla_ms'))} ms"),
        ("scenario file", scenario.get("file")), ("topology file", topology.get("file")),
    ]
    facts_html = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v if v not in (None, '') else '–')}"
                         f"</dd></div>" for k, v in facts)
    description = (f'<p class="description">{esc(scenario["description"])}</p>'
                   if scenario.get("description") else "")
    return (f'<header class="{"pass" if passed else "fail"}">\n'
            f'<h1><span class="verdict">{"PASS" if passed else "FAIL"}</span> '
            f"{esc(scenario.get('name', 'scenario'))}</h1>\n{description}\n"
            f'<dl class="facts">{facts_html}</dl>\n'
            f'<div class="replay"><span>{"Replay" if passed else "Replay this failure"}</span>'
            f"<code>{esc(result.get('replay', ''))}</code></div>\n</header>")


def _invariants_html(result: dict[str, Any]) -> str:
    invariants = result.get("invariants") or []
    if not invariants:
        return _empty("No invariants were checked.")
    held = sum(1 for invariant in invariants if invariant.get("passed"))
    items = []
    for invariant in invariants:
        passed = bool(invariant.get("passed"))
        violations = [] if passed else list(invariant.get("violations") or [])
        shown = "".join(f"<li>{esc(v)}</li>" for v in violations[:HTML_VIOLATIONS])
        if len(violations) > HTML_VIOLATIONS:
            shown += f"<li>… and {len(violations) - HTML_VIOLATIONS:,} more</li>"
        detail = (f'<span class="detail">{esc(invariant["detail"])}</span>'
                  if invariant.get("detail") else "")
        items.append(f'<li class="{"ok" if passed else "bad"}">'
                     f'<span class="mark">{"✓" if passed else "✗"}</span>'
                     f'<div><strong>{esc(invariant.get("name", "?"))}</strong>{detail}'
                     f'{f"<ul class=violations>{shown}</ul>" if shown else ""}</div></li>')
    return (f'<p class="lead">{held} of {len(invariants)} invariants held.</p>'
            f'<ul class="invariants">{"".join(items)}</ul>')


def _merchants_html(result: dict[str, Any]) -> str:
    merchants = result.get("merchants") or {}
    if not merchants:
        return _empty("No merchant activity was recorded.")
    rows = []
    for name, counts in merchants.items():
        cells = [esc(name)]
        for key, _ in MERCHANT_COLUMNS:
            value = _count(counts.get(key))
            cells.append(f'<span class="bad">{value:,}</span>' if key in ALARMING and value
                         else f"{value:,}")
        rows.append(cells)
    if len(merchants) > 1:
        rows.append(["<strong>all</strong>", *(
            f"<strong>{sum(_count(c.get(key)) for c in merchants.values()):,}</strong>"
            for key, _ in MERCHANT_COLUMNS)])
    return _html_table(["merchant", *(heading for _, heading in MERCHANT_COLUMNS)], rows)


# -- plot 1: decision latency -----------------------------------------------------------------


def _value_scale(values: Sequence[float], extra: float | None, start: float, end: float) -> Scale:
    """A scale from 0 (or a power of ten, on a log scale) to past the largest value.

    Log when the values span more than two orders of magnitude, as a cached and a naive engine
    side by side do; otherwise linear, which reads more easily.
    """
    top = max([*values, extra or 0, 1e-9])
    positive = [v for v in values if v > 0]
    if positive and top / min(positive) > 100:
        lo = 10.0 ** math.floor(math.log10(min(positive)))
        hi = next(m * 10.0**d for d in range(math.floor(math.log10(top)), 99) for m in (1, 2, 5)
                  if m * 10.0**d >= top * 1.05)
        return Scale(lo, hi, start, end, log=True)
    return Scale(0, nice_max(top * 1.05), start, end)


def _cdf_points(values: Sequence[float], limit: int = 400) -> list[tuple[float, float]]:
    """Steps of the empirical CDF of sorted `values`, at most `limit` steps."""
    n = len(values)
    indices = range(n) if n <= limit else sorted({round(i * (n - 1) / (limit - 1))
                                                  for i in range(limit)})
    points = [(values[0], 0.0)]
    previous = 0.0
    for i in indices:
        points += [(values[i], previous), (values[i], (i + 1) / n)]
        previous = (i + 1) / n
    return points


def latency_chart(series: dict[str, dict[str, Any]], sla_ms: float | None) -> str:
    """The CDF of each latency series, the SLA as a vertical line, p50/p95/p99 marked."""
    drawn = {name: stats for name, stats in series.items() if stats["values"]}
    if not drawn:
        return ""
    left, right, top, bottom = 70, CHART_WIDTH - 30, 34, 330
    svg = Svg(CHART_WIDTH, 0, "Cumulative distribution of decision latency, against the SLA")
    everything = [v for stats in drawn.values() for v in stats["values"]]
    x = _value_scale(everything, sla_ms, left, right)
    y = Scale(0, 1, bottom, top)
    axes(svg, x, y, "decision latency (ms)" + (", log scale" if x.log else ""),
         "share of decisions ≤ x", y_format=lambda v: f"{v:.0%}",
         y_ticks=(0, 0.25, 0.5, 0.75, 0.9, 1))
    if sla_ms:
        svg.line(x(sla_ms), top - 6, x(sla_ms), bottom, stroke=SLA_COLOUR, width=2, dash="6 4")
        svg.text(x(sla_ms), top - 12, f"SLA {_ms(sla_ms)} ms", anchor="middle", fill=SLA_COLOUR,
                 weight="bold")
    items = []
    for index, (name, stats) in enumerate(drawn.items()):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        svg.polyline([(x(v), y(q)) for v, q in _cdf_points(stats["values"])], stroke=colour,
                     width=2.5)
        for key, q in PERCENTILES:
            if stats.get(key) is None:
                continue
            px, py = x(stats[key]), y(q)
            title = f"{name} {key}: {_ms(stats[key])} ms"
            svg.circle(px, py, 4.5, fill="white", stroke=colour, title=title)
            # below and right of a point of a CDF is always clear of that curve; the value is
            # in the table under the chart and in the tooltip
            label = f"{key} {_ms(stats[key])}" if key == "p50" else key
            svg.text(px + 7, py + 14, label, fill=colour, size=11, weight="bold", title=title)
        items.append(LegendItem(f"{name} ({stats['count']:,} decisions)", colour, "line"))
    if sla_ms:
        items.append(LegendItem(f"SLA {_ms(sla_ms)} ms", SLA_COLOUR, "dash"))
    svg.height = bottom + 50 + legend(svg, left, bottom + 60, items, right - left) + 6
    return svg.render()


def _latency_html(result: dict[str, Any]) -> str:
    series = latency_series(result)
    sla = result.get("sla_ms")
    if not any(stats["values"] or stats.get("count") for stats in series.values()):
        return _empty("No decision latencies were recorded.")
    chart = latency_chart(series, sla)
    rows = []
    for name, stats in series.items():
        cells = [f'<span class="bad">{_ms(stats[k])}</span>'
                 if sla and stats[k] is not None and stats[k] > sla else _ms(stats[k])
                 for k in ("p50", "p95", "p99", "max")]
        rows.append([esc(name), f"{_count(stats['count']):,}", *cells,
                     _within_sla(stats["values"], sla)])
    table = _html_table(["series", "decisions", "p50 ms", "p95 ms", "p99 ms", "max ms",
                         "within SLA"], rows)
    caption = ("Each curve is the share of decisions that took at most x ms, from the webhook to"
               " the known result of the charge (or the decision not to retry). Circles mark"
               " p50, p95 and p99; values over the SLA are red in the table.")
    figure = f"<figure>{chart}<figcaption>{esc(caption)}</figcaption></figure>" if chart else ""
    return figure + table


# -- plot 2: the fault timeline against outcomes ----------------------------------------------


def _fault_lanes(faults: list[dict[str, Any]]) -> list[tuple[str, bool, list[dict[str, Any]]]]:
    """Lanes of fault windows: (system, first lane of the system?, windows). One lane per
    system, more when a system's windows overlap in time."""
    lanes: list[tuple[str, bool, list[dict[str, Any]]]] = []
    for system in dict.fromkeys(str(f.get("system", "?")) for f in faults):
        own: list[list[dict[str, Any]]] = []
        windows = sorted((f for f in faults if str(f.get("system", "?")) == system),
                         key=lambda f: _float(f.get("start")))
        for window in windows:
            free = next((lane for lane in own
                         if _float(lane[-1].get("end")) <= _float(window.get("start"))), None)
            if free is None:
                own.append([window])
            else:
                free.append(window)
        lanes += [(system, i == 0, lane) for i, lane in enumerate(own)]
    return lanes


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0


def _has_latency(event: dict[str, Any]) -> bool:
    value = event.get("latency_ms")
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


def _thin(points: list[tuple[float, float, dict[str, Any]]]) -> list[tuple[float, float,
                                                                             dict[str, Any]]]:
    """Drop points that would land on the same 2-pixel cell with the same outcome; past
    MAX_POINTS, keep an even sample: every n-th point of each outcome, so the mix of colours
    stays true, except that rare outcomes (a few errors) are kept whole."""
    seen: set[tuple[int, int, str]] = set()
    kept = []
    for px, py, event in points:
        cell = (round(px / 2), round(py / 2), str(event.get("kind")))
        if cell not in seen:
            seen.add(cell)
            kept.append((px, py, event))
    if len(kept) <= MAX_POINTS:
        return kept
    frequency = Counter(str(event.get("kind")) for _, _, event in kept)
    rare = {kind for kind, n in frequency.items() if n <= MAX_POINTS // 20}
    whole = [p for p in kept if str(p[2].get("kind")) in rare]
    common = [p for p in kept if str(p[2].get("kind")) not in rare]
    stride = math.ceil(len(common) / max(MAX_POINTS - len(whole), 1))
    sampled = [p for kind in frequency if kind not in rare
               for p in [q for q in common if str(q[2].get("kind")) == kind][::stride]]
    return sorted(whole + sampled, key=lambda p: p[0])


def _event_title(event: dict[str, Any]) -> str:
    parts = [f"t={_float(event.get('t')):,.1f} s", str(event.get("kind"))]
    if event.get("merchant"):
        parts.append(str(event["merchant"]))
    if _has_latency(event):
        parts.append(f"{_ms(event['latency_ms'])} ms")
    for key in ("invoice", "note"):
        if event.get(key):
            parts.append(str(event[key]))
    return " · ".join(parts)


def _draw_fault_lanes(svg: Svg, x: Scale, lanes: list[tuple[str, bool, list[dict[str, Any]]]],
                      colour_of: dict[str, str], top: float) -> float:
    """One row of labelled bands per lane; returns the y below the last lane."""
    y = top
    if not lanes:
        svg.text(x.start, y + 15, "no faults injected", fill="#777")
        return y + 24
    for system, first, windows in lanes:
        if first:
            svg.text(x.start - 8, y + 15, clip_text(system, x.start - 16), anchor="end",
                     fill="#333", title=system)
        for i, window in enumerate(windows):
            start, stop = _float(window.get("start")), _float(window.get("end"))
            x0, x1 = x(start), max(x(stop), x(start) + 2)
            label = str(window.get("label", ""))
            title = f"{system}: {label} ({start:,.1f}–{stop:,.1f} s)"
            svg.rect(x0, y + 1, x1 - x0, 20, fill=colour_of[system], title=title, stroke="#888")
            # the label may run past a short band, up to the next band of the lane
            text_x = x0 + 4 if x1 - x0 >= 24 else x1 + 4
            limit = x(_float(windows[i + 1].get("start"))) if i + 1 < len(windows) else x.end
            svg.text(text_x, y + 15, clip_text(label, limit - text_x - 6, 12), size=12,
                     fill="#222", title=title)
        y += 24
    return y


def _draw_marks(svg: Svg, x: Scale, marks: list[dict[str, Any]], top: float,
                bottom: float) -> None:
    """Kills and restarts as labelled vertical lines down to `bottom`; notes as small
    triangles (their text is in the tooltip)."""
    marks = sorted(marks, key=lambda e: _float(e.get("t")))
    label_end = -math.inf
    for i, mark in enumerate(marks):
        kind, px = str(mark.get("kind")), x(_float(mark.get("t")))
        colour, dash = MARK_STYLE[kind]
        title = _event_title(mark)
        if kind != "note":
            svg.line(px, top + 18, px, bottom, stroke=colour, width=1.5, dash=dash, title=title)
        svg.marker(px, top + 11, "down", colour, size=4 if kind == "note" else 5.5, title=title)
        if kind == "note":
            continue
        # the label goes right of the triangle, else left of it, else it is left out (the
        # legend and the tooltip still tell): never over another triangle or label
        next_x = x(_float(marks[i + 1].get("t"))) if i + 1 < len(marks) else x.end
        previous_x = max(x(_float(marks[i - 1].get("t"))) if i else x.start, label_end)
        who = f" {mark['merchant']}" if mark.get("merchant") else ""
        for text in (f"{kind}{who}", kind):
            width = text_width(text, 11)
            if px + 7 + width <= next_x - 7 and px + 7 > label_end:
                svg.text(px + 7, top + 15, text, size=11, fill=colour, weight="bold",
                         title=title)
                label_end = px + 7 + width + 4
                break
            if px - 7 - width >= previous_x + 7:
                svg.text(px - 7, top + 15, text, anchor="end", size=11, fill=colour,
                         weight="bold", title=title)
                label_end = px
                break


def timeline_chart(result: dict[str, Any]) -> tuple[str, int, int]:
    """Fault windows per system above; decisions below, at the time they were made, at the
    height of their latency, coloured by outcome; kills and restarts as vertical lines through
    both. Returns the SVG, the number of decisions drawn and the number there were."""
    timeline = result.get("timeline") or {}
    faults = [f for f in timeline.get("faults") or [] if isinstance(f, dict)]
    events = [e for e in timeline.get("events") or [] if isinstance(e, dict)]
    decisions = [e for e in events if e.get("kind") not in MARKS]
    marks = [e for e in events if e.get("kind") in MARKS]
    timed = [e for e in decisions if _has_latency(e)]
    untimed = [e for e in decisions if not _has_latency(e)]
    sla = result.get("sla_ms")
    active = timeline.get("traffic_end")
    if active is not None:  # the traffic and what it caused; a long quiet tail is left out
        end = max([_float(active), 1.0, *(_float(e.get("t")) for e in events)]) * 1.08
        faults = [{**f, "end": min(_float(f.get("end")), end)} for f in faults]
    else:
        end = max([_float(result.get("simulated_seconds")), 1.0,
                   *(_float(e.get("t")) for e in events), *(_float(f.get("end")) for f in faults)])
    left, right = 120, CHART_WIDTH - 24
    x = Scale(0, end, left, right)
    svg = Svg(CHART_WIDTH, 0, "Fault windows and decision outcomes over time")
    lanes = _fault_lanes(faults)
    systems = list(dict.fromkeys(system for system, _, _ in lanes))
    colour_of = {s: SYSTEM_COLOURS[i % len(SYSTEM_COLOURS)] for i, s in enumerate(systems)}

    # vertical layout: fault lanes, the marks row, the scatter, the strip of decisions
    # without a latency, the time axis
    marks_top = _draw_fault_lanes(svg, x, lanes, colour_of, top=8)
    plot_top = marks_top + (22 if marks else 0) + 6
    scatter_bottom = plot_top + (240 if timed else 0)
    strip_top = scatter_bottom + (8 if timed else 0)
    bottom = strip_top + 26 if untimed else max(scatter_bottom, plot_top + 30)

    if untimed:
        svg.rect(left, strip_top, right - left, 24, fill="#f2f2f2")
        svg.text(left - 8, strip_top + 16, "no latency", anchor="end", fill="#555", size=12)
    for system, _, windows in lanes:  # the fault windows shaded down through the decisions
        for window in windows:
            x0, x1 = x(_float(window.get("start"))), x(_float(window.get("end")))
            svg.rect(x0, plot_top, max(x1 - x0, 2), bottom - plot_top, fill=colour_of[system],
                     opacity=0.35)
    latency = _value_scale([e["latency_ms"] for e in timed], sla, scatter_bottom, plot_top)
    if timed:
        axes(svg, x, latency, "", "latency (ms)", x_ticks=())
        if sla:
            svg.line(left, latency(sla), right, latency(sla), stroke=SLA_COLOUR, width=1.5,
                     dash="6 4", title=f"SLA {_ms(sla)} ms")
            svg.text(right - 4, latency(sla) - 5, f"SLA {_ms(sla)} ms", anchor="end",
                     fill=SLA_COLOUR, size=11, weight="bold")
    svg.line(left, bottom, right, bottom)
    for tick in x.ticks(8):
        svg.line(x(tick), bottom, x(tick), bottom + 4)
        svg.text(x(tick), bottom + 17, fmt(tick), anchor="middle", fill="#555")
    svg.text((left + right) / 2, bottom + 36, "seconds from the start of the run",
             anchor="middle", fill="#333")
    _draw_marks(svg, x, marks, marks_top, bottom)

    points = []
    for index, event in enumerate(decisions):
        kind = str(event.get("kind"))
        if _has_latency(event):
            py = latency(event["latency_ms"])
        else:  # in the strip, each outcome at its own height so they do not hide each other
            order = OUTCOMES.index(kind) if kind in OUTCOMES else len(OUTCOMES) - 1
            py = strip_top + 5 + order * 3 + (index % 2)
        points.append((x(_float(event.get("t"))), py, event))
    shown = _thin(points)
    for px, py, event in shown:
        colour, shape = OUTCOME_STYLE.get(str(event.get("kind")), OUTCOME_STYLE["unknown"])
        svg.marker(px, py, shape, colour, size=3.2, title=_event_title(event))

    counts = Counter(str(e.get("kind")) for e in decisions)
    items = [LegendItem(f"{kind.replace('_', ' ')} ({counts[kind]:,})", *OUTCOME_STYLE[kind])
             for kind in OUTCOMES if counts[kind]]
    items += [LegendItem(f"{kind} ({n:,})", OUTCOME_STYLE["unknown"][0])
              for kind, n in counts.items() if kind not in OUTCOMES]
    mark_counts = Counter(str(e.get("kind")) for e in marks)
    items += [LegendItem(f"{kind} ({mark_counts[kind]:,})", MARK_STYLE[kind][0],
                         "down" if kind == "note" else "dash" if MARK_STYLE[kind][1] else "line")
              for kind in MARKS if mark_counts[kind]]
    if timed and sla:
        items.append(LegendItem("SLA", SLA_COLOUR, "dash"))
    items += [LegendItem(f"fault: {system}", colour_of[system]) for system in systems]
    svg.height = bottom + 56 + legend(svg, left, bottom + 58, items, right - left)
    return svg.render(), len(shown), len(decisions)


def _timeline_html(result: dict[str, Any]) -> str:
    timeline = result.get("timeline") or {}
    if not timeline.get("faults") and not timeline.get("events"):
        return _empty("No faults were injected and no decisions were recorded.")
    chart, shown, total = timeline_chart(result)
    caption = ("Shaded bands are fault windows, one lane per system (hover for the fault). Each"
               " point is a decision at the time it was made, at the height of its latency,"
               " coloured by outcome; vertical lines are processes killed and restarted.")
    if shown < total:
        caption += (f" Showing {shown:,} of {total:,} decisions: points that would overlap on"
                    " screen are drawn once, and beyond that an even sample is drawn.")
    return f"<figure>{chart}<figcaption>{esc(caption)}</figcaption></figure>"


# -- plot 3: reconciliation -------------------------------------------------------------------


def _reconciliation_parts(counts: dict[str, Any]) -> dict[str, int]:
    found = _count(counts.get("drift_found"))
    repaired, human = _count(counts.get("drift_repaired")), _count(counts.get("needs_human"))
    return {"consistent": _count(counts.get("consistent")),
            "settling": _count(counts.get("settling")), "drift_repaired": repaired,
            "unresolved": max(found - repaired - human, 0), "needs_human": human}


def _hbar_chart(label: str, bars: list[tuple[str, list[tuple[str, int, str]], str, str]],
                legend_items: list[LegendItem]) -> str:
    """Horizontal stacked bars: (name, [(segment, value, colour)], text at the end, tooltip)."""
    left, right, top, row = 130, CHART_WIDTH - 190, 8, 28
    svg = Svg(CHART_WIDTH, 0, label)
    total = max([sum(value for _, value, _ in segments) for _, segments, _, _ in bars] + [1])
    x = Scale(0, total, left, right)
    for i, (name, segments, end_text, tooltip) in enumerate(bars):
        y = top + i * row
        svg.text(left - 8, y + 16, clip_text(name, left - 16), anchor="end", fill="#333",
                 title=name)
        position = 0
        for segment, value, colour in segments:
            if value <= 0:
                continue
            x0, x1 = x(position), x(position + value)
            svg.rect(x0, y + 2, max(x1 - x0, 1.5), row - 8, fill=colour,
                     title=f"{name} · {segment}: {value:,}\n{tooltip}")
            if x1 - x0 > text_width(f"{value:,}", 11) + 6:
                svg.text((x0 + x1) / 2, y + 16, f"{value:,}", anchor="middle", size=11,
                         fill="white", weight="bold")
            position += value
        svg.text(x(position) + 6, y + 16, end_text, fill="#333", size=12)
    bottom = top + len(bars) * row
    svg.height = bottom + 14 + legend(svg, left, bottom + 14, legend_items, right - left)
    return svg.render()


NOT_REPAIRED = '<span class="bad">not repaired</span>'


def _reconciliation_html(result: dict[str, Any]) -> str:
    reconciliation = result.get("reconciliation") or {}
    if not reconciliation:
        return _empty("No reconciliation was run.")
    rows, bars, details = [], [], []
    for merchant, counts in reconciliation.items():
        parts = _reconciliation_parts(counts)
        found = _count(counts.get("drift_found"))
        rows.append([esc(merchant), f"{parts['consistent']:,}", f"{parts['settling']:,}",
                     f"{found:,}", f"{parts['drift_repaired']:,}",
                     f'<span class="bad">{parts["needs_human"]:,}</span>'
                     if parts["needs_human"] else "0"])
        segments = [(heading, parts[key], colour) for key, heading, colour in RECONCILIATION_PARTS]
        drift = f"{found:,} drift" + ("" if found == 1 else "s")
        bars.append((str(merchant), segments, f"{sum(parts.values()):,} checked · {drift}", ""))
        drifts = [d for d in counts.get("drifts") or [] if isinstance(d, dict)]
        if drifts:
            items = "".join(
                f"<tr><td>{esc(d.get('class', '?'))}</td><td><code>{esc(d.get('invoice_key', ''))}"
                f"</code></td><td>{'repaired' if d.get('repaired') else NOT_REPAIRED}</td></tr>"
                for d in drifts[:HTML_DRIFTS])
            more = (f"<p>… and {len(drifts) - HTML_DRIFTS:,} more</p>"
                    if len(drifts) > HTML_DRIFTS else "")
            details.append(f"<details><summary>{esc(merchant)}: {len(drifts):,} drift"
                           f"{'s' if len(drifts) != 1 else ''}</summary><div class=table-wrap>"
                           f"<table><thead><tr><th>class</th><th>invoice</th><th>outcome</th>"
                           f"</tr></thead><tbody>{items}</tbody></table></div>{more}</details>")
    legend_items = [LegendItem(heading, colour) for _, heading, colour in RECONCILIATION_PARTS]
    chart = _hbar_chart("Reconciliation results per merchant", bars, legend_items)
    table = _html_table(["merchant", "consistent", "settling", "drift found", "repaired",
                         "needs human"], rows)
    return f"{table}<figure>{chart}</figure>{''.join(details)}"


# -- plot 4: vendor calls ---------------------------------------------------------------------


def _status_class(status: str) -> str:
    """"2xx" … "5xx" for an HTTP status; "no response" for a timeout or a reset."""
    if status.isdigit() and len(status) == 3 and status[0] in "2345":
        return f"{status[0]}xx"
    return "no response"


def _vendors_html(result: dict[str, Any]) -> str:
    vendors = result.get("vendors") or {}
    if not vendors:
        return _empty("No vendor calls were recorded.")
    rows, bars = [], []
    colours = dict(STATUS_CLASSES)
    for vendor, stats in vendors.items():
        calls, errors = _count(stats.get("calls")), _count(stats.get("errors"))
        by_status = {str(k): _count(v) for k, v in (stats.get("by_status") or {}).items()}
        by_class: Counter[str] = Counter()
        for status, n in by_status.items():
            by_class[_status_class(status)] += n
        segments = [(name, by_class[name], colour) for name, colour in STATUS_CLASSES]
        if sum(by_status.values()) < calls:  # calls the status breakdown does not cover
            segments.append(("unclassified", calls - sum(by_status.values()), "#bbbbbb"))
        breakdown = ", ".join(f"{s}: {n:,}" for s, n in sorted(by_status.items())) or "–"
        rate = f"{errors / calls:.1%}" if calls else "–"
        bars.append((str(vendor), segments, f"{calls:,} calls · {errors:,} errors", breakdown))
        rows.append([esc(vendor), f"{calls:,}",
                     f'<span class="bad">{errors:,}</span>' if errors else "0", rate,
                     esc(breakdown)])
    present = {name for _, segments, _, _ in bars for name, value, _ in segments if value}
    legend_items = [LegendItem(name, colours.get(name, "#bbbbbb"))
                    for name in [*colours, "unclassified"] if name in present]
    chart = _hbar_chart("Calls to each vendor by response status", bars, legend_items)
    table = _html_table(["vendor", "calls", "errors", "error rate", "responses by status"], rows,
                        text_columns=(0, 4))
    return (f"<figure>{chart}<figcaption>Bars split by response status class; hover a bar for"
            f" each status.</figcaption></figure>{table}")


CSS = """
:root { --pass: #1a7f37; --fail: #c0392b; --ink: #1f2328; --muted: #59636e; --line: #d8dee4; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #f6f8fa;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
header, section { background: white; border: 1px solid var(--line); border-radius: 8px;
  padding: 18px 22px; margin-bottom: 18px; }
header.pass { border-top: 6px solid var(--pass); }
header.fail { border-top: 6px solid var(--fail); }
h1 { margin: 0 0 6px; font-size: 26px; overflow-wrap: anywhere; }
h2 { margin: 0 0 12px; font-size: 19px; }
.verdict { display: inline-block; padding: 1px 12px; border-radius: 6px; color: white;
  font-size: 20px; vertical-align: 3px; }
.pass .verdict { background: var(--pass); }
.fail .verdict { background: var(--fail); }
.description { margin: 0 0 12px; color: var(--muted); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr));
  gap: 6px 18px; margin: 0 0 14px; }
.facts dt { font-size: 12px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.replay { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; }
.replay span { font-weight: 600; }
.fail .replay span { color: var(--fail); }
.replay code, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.replay code { flex: 1 1 400px; padding: 8px 12px; background: #f0f2f4; border-radius: 6px;
  overflow-wrap: anywhere; user-select: all; }
.fail .replay code { background: #fdecea; }
.lead { margin: 0 0 8px; color: var(--muted); }
ul.invariants { list-style: none; margin: 0; padding: 0; }
ul.invariants > li { display: flex; gap: 10px; padding: 8px 0; border-top: 1px solid #eef0f2; }
ul.invariants > li:first-child { border-top: none; }
.mark { font-weight: 700; width: 1.2em; flex: none; text-align: center; }
.ok .mark { color: var(--pass); }
.bad .mark, .bad strong, span.bad { color: var(--fail); }
.detail { display: block; color: var(--muted); }
ul.violations { margin: 4px 0 0; padding-left: 18px; color: var(--fail);
  font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eef0f2; text-align: left;
  vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 0 0 10px; }
figure svg { display: block; width: 100%; max-width: 1060px; height: auto;
  font-family: inherit; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
details { margin: 6px 0; }
summary { cursor: pointer; }
.empty { color: var(--muted); font-style: italic; margin: 0; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 8px; }
@media (max-width: 1000px) {
  main { padding: 12px; }
  header, section { padding: 14px; }
  th, td { padding: 4px 6px; }
}
"""
