"""The report of a scenario run: one self-contained HTML file and a terminal summary."""

from __future__ import annotations

import html
import io
import random
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.report import print_summary, write_html

REPLAY = ("landscape run decline-storm --topology scenarios/topologies/netsuite-stripe-salesforce"
          ".yaml --seed 7")
HOSTILE = "<script>alert('violation')</script>"
# a reference to anything outside the file: src=/href= or url( to a scheme or //host, or @import
EXTERNAL = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?\s*|url\(\s*["']?\s*)"""
                      r"""(?:[a-z][a-z0-9+.-]*:|//)|@import""", re.IGNORECASE)


def synthetic_result(events: int = 600, seed: int = 7) -> dict[str, Any]:
    """A run as `harness.scenario_run` reports it: two merchants, a cached and a naive engine,
    overlapping faults on three systems, a kill and a restart, one failed invariant."""
    rng = random.Random(seed)
    duration = 212.5
    faults = [
        {"label": "NetSuite brownout: 50% 503", "system": "netsuite", "start": 10.0, "end": 40.0},
        {"label": "NetSuite +2 s latency", "system": "netsuite", "start": 30.0, "end": 75.0},
        {"label": "Stripe 503 on /v1/invoices/*/pay", "system": "stripe", "start": 95.0,
         "end": 120.0},
        {"label": "Salesforce session expiry", "system": "salesforce", "start": 150.0,
         "end": 152.0},
    ]
    timeline: list[dict[str, Any]] = []
    kinds = ["recovered"] * 45 + ["not_retried"] * 35 + ["declined"] * 8 + ["deferred"] * 10 \
        + ["error"] * 2
    for i in range(events):
        t = round(rng.uniform(0, duration), 2)
        kind = rng.choice(kinds)
        slow = 10 <= t <= 75
        latency = rng.lognormvariate(5.0 + (1.2 if slow else 0), 0.6)
        timeline.append({"t": t, "merchant": rng.choice(["acme", "hooli"]), "kind": kind,
                         "latency_ms": None if kind == "deferred" else round(latency, 1),
                         "invoice": f"in_{i:06d}"})
    timeline += [
        {"t": 131.0, "merchant": "acme", "kind": "kill", "latency_ms": None, "invoice": None,
         "note": "acme-engine killed (SIGKILL)"},
        {"t": 139.5, "merchant": "acme", "kind": "restart", "latency_ms": None, "invoice": None,
         "note": "acme-engine restarted"},
        {"t": 120.0, "merchant": None, "kind": "note", "latency_ms": None, "invoice": None,
         "note": "faults cleared on stripe"},
        *({"t": 160.0 + i, "merchant": "hooli", "kind": "note", "latency_ms": None,
           "invoice": f"in_{i:06d}", "note": "manual ERP payment (wire transfer)"}
          for i in range(3)),
    ]
    timeline.sort(key=lambda e: e["t"])
    cached = [round(rng.lognormvariate(5.0, 0.55), 1) for _ in range(events // 2)]
    naive = [round(rng.lognormvariate(6.9, 0.5), 1) for _ in range(events // 2)]

    def percentiles(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {"p50": ordered[len(ordered) // 2], "p95": ordered[int(len(ordered) * .95)],
                "p99": ordered[int(len(ordered) * .99)], "max": ordered[-1],
                "count": len(ordered)}

    def merchant(declines: int, recovered: int, double: int) -> dict[str, int]:
        return {"declines": declines, "decisions": declines, "recovered": recovered,
                "declined": 12, "not_retried": declines - recovered - 20, "deferred": 8,
                "errors": 2, "double_charges": double, "drift_found": 3, "drift_repaired": 2,
                "needs_human": 1}

    return {
        "scenario": {"name": "decline-storm", "file": "scenarios/scenarios/decline-storm.yaml",
                     "description": "A renewal run where a third of the cards decline while"
                                    " NetSuite browns out and Stripe returns 503s."},
        "topology": {"name": "netsuite-stripe-salesforce",
                     "file": "scenarios/topologies/netsuite-stripe-salesforce.yaml",
                     "merchants": ["acme", "hooli"]},
        "seed": seed, "mode": "in-process", "passed": False, "replay": REPLAY,
        "simulated_seconds": duration, "wall_seconds": 3.1, "sla_ms": 1000,
        "merchants": {"acme": merchant(310, 140, 1), "hooli": merchant(290, 131, 0)},
        "latency": {"cached": cached, "naive": naive},
        "latency_percentiles": {"cached": percentiles(cached), "naive": percentiles(naive)},
        "timeline": {"faults": faults, "events": timeline},
        "invariants": [
            {"name": "at most one successful charge per invoice", "passed": False,
             "detail": "600 invoices, 271 succeeded charges, 1 charged twice",
             "violations": [f"in_000042 charged twice: ch_1 and ch_2 {HOSTILE}",
                            *(f"in_{i:06d}: second charge ch_{i}" for i in range(100, 125))]},
            {"name": "every decision within the SLA (cached engine)", "passed": True,
             "detail": "p99 701 ms ≤ 1,000 ms", "violations": []},
            {"name": "ERP and PSP agree after reconciliation", "passed": True,
             "detail": "5 drifts found, 4 repaired, 1 handed to a human", "violations": []},
        ],
        "reconciliation": {
            "acme": {"consistent": 304, "settling": 3, "drift_found": 3, "drift_repaired": 2,
                     "needs_human": 1,
                     "drifts": [{"class": "erp_payment_missing", "invoice_key": "in_000001",
                                 "repaired": True},
                                {"class": "amount_mismatch", "invoice_key": "in_000002",
                                 "repaired": False}]},
            "hooli": {"consistent": 288, "settling": 0, "drift_found": 2, "drift_repaired": 2,
                      "needs_human": 0, "drifts": []},
        },
        "vendors": {
            "stripe": {"calls": 1812, "errors": 40,
                       "by_status": {"200": 1700, "402": 72, "503": 40}},
            "netsuite": {"calls": 640, "errors": 96, "by_status": {"200": 544, "503": 96}},
            "salesforce": {"calls": 300, "errors": 2,
                           "by_status": {"200": 290, "201": 8, "401": 2}},
            "chargebee": {"calls": 0, "errors": 0, "by_status": {}},
        },
    }


def empty_result() -> dict[str, Any]:
    return {
        "scenario": {"name": "nothing-happens", "description": "", "file": "x.yaml"},
        "topology": {"name": "t", "file": "t.yaml", "merchants": []},
        "seed": 1, "mode": "processes", "passed": True, "replay": "landscape run nothing-happens",
        "simulated_seconds": 0.0, "wall_seconds": 0.0, "sla_ms": 1000, "merchants": {},
        "latency": {}, "latency_percentiles": {}, "timeline": {"faults": [], "events": []},
        "invariants": [], "reconciliation": {}, "vendors": {},
    }


def summary(result: dict[str, Any]) -> str:
    console = Console(record=True, width=100, file=io.StringIO())
    print_summary(result, console)
    return console.export_text()


def test_html_is_one_self_contained_file(tmp_path: Path) -> None:
    written = write_html(synthetic_result(), tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == [written]
    page = written.read_text(encoding="utf-8")
    assert EXTERNAL.search('<img src="https://cdn.example/x.png">')  # the check can fail
    assert EXTERNAL.search("background: url( '//fonts.example/f.woff')")
    assert not EXTERNAL.findall(page)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert page.count("<svg") >= 4  # latency, timeline, reconciliation, vendors


def test_html_escapes_run_data_and_shows_the_replay(tmp_path: Path) -> None:
    result = synthetic_result()
    result["scenario"]["name"] = "storm <b>&</b>"
    sneaky = '"><img src=x onerror=alert(1)>'
    result["timeline"]["faults"][0]["label"] = sneaky  # inside SVG text and a tooltip
    result["vendors"][sneaky] = result["vendors"].pop("stripe")
    result["latency"][sneaky] = result["latency"].pop("naive")
    result["merchants"][sneaky] = result["merchants"].pop("hooli")
    page = write_html(result, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<img" not in page and "<b>" not in page
    assert HOSTILE not in page
    assert html.escape(HOSTILE) in page
    assert "storm &lt;b&gt;&amp;&lt;/b&gt;" in page
    assert html.escape(REPLAY) in page
    assert "FAIL" in page and "at most one successful charge per invoice" in page


def test_html_of_a_large_run_stays_small(tmp_path: Path) -> None:
    written = write_html(synthetic_result(events=10_000), tmp_path / "report.html")
    assert written.stat().st_size < 2_000_000


def test_summary_names_failed_invariants_and_the_replay() -> None:
    result = synthetic_result()
    result["invariants"][2]["passed"] = False
    result["invariants"][2]["violations"] = ["acme in_000002: amount_mismatch not repaired"]
    text = summary(result)
    for invariant in result["invariants"]:
        assert invariant["name"] in text
    assert "✗ at most one successful charge per invoice" in text
    assert "✗ ERP and PSP agree after reconciliation" in text
    assert HOSTILE in text  # printed as text, not interpreted as markup
    assert "… and 23 more" in text
    assert REPLAY in text and "seed 7" in text
    assert text.rstrip().splitlines()[-1].strip() == REPLAY  # last, where the eye lands
    assert all(len(line) <= 100 for line in text.splitlines() if REPLAY not in line)


def test_summary_of_a_pass_has_no_failure_block() -> None:
    result = synthetic_result()
    result["passed"] = False
    assert "FAILED — replay" in summary(result)
    result["passed"] = True
    for invariant in result["invariants"]:
        invariant["passed"] = True
    text = summary(result)
    assert "PASS" in text and "FAILED" not in text and "✗" not in text


def test_empty_result_renders(tmp_path: Path) -> None:
    result = empty_result()
    text = summary(result)
    assert "PASS" in text and "nothing-happens" in text
    page = write_html(result, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No decision latencies were recorded." in page
    assert "No faults were injected" in page
    assert not EXTERNAL.findall(page)


def test_within_sla_never_rounds_up_to_everything() -> None:
    result = empty_result()
    result["latency"] = {"cached": [100.0] * 4999 + [1500.0]}
    line = next(line for line in summary(result).splitlines() if line.startswith(" cached"))
    assert "> 99.9%" in line and "100.0%" not in line


def test_partial_data_renders(tmp_path: Path) -> None:
    """Percentiles without values, events without latencies, a vendor with no calls."""
    result = empty_result()
    result["latency_percentiles"] = {"cached": {"p50": 10.0, "p95": 20.0, "p99": 30.0,
                                                "max": 40.0, "count": 3}}
    result["timeline"]["events"] = [
        {"t": 0.0, "merchant": "acme", "kind": "deferred", "latency_ms": None, "invoice": None},
        {"t": 0.0, "merchant": "acme", "kind": "kill", "latency_ms": None, "invoice": None}]
    result["timeline"]["faults"] = [{"label": "x", "system": "stripe", "start": 5.0, "end": 5.0}]
    result["vendors"] = {"stripe": {"calls": 0, "errors": 0, "by_status": {}}}
    result["reconciliation"] = {"acme": {"consistent": 0, "settling": 0, "drift_found": 0,
                                         "drift_repaired": 0, "needs_human": 0, "drifts": []}}
    page = write_html(result, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page
    assert "cached" in summary(result)
