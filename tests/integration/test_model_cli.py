"""`landscape simulate` as a user runs it: a small merchant base end to end, and the one-line
errors for a bad topology or flag."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from harness.cli import app


def landscape(*args: str) -> Result:
    """In-process (the import is the slow part of a subprocess): stdout and stderr apart."""
    return CliRunner().invoke(app, list(args))


def test_simulate_small_base_with_sizing_writes_both_reports(tmp_path: Path) -> None:
    done = landscape("simulate", "netsuite-stripe-salesforce", "--merchants", "200",
                     "--hours", "1", "--seed", "3", "--size", "--report-dir", str(tmp_path))
    assert done.exit_code == 0, done.output
    assert "p99" in done.stdout and "sizing" in done.stdout and "Little's law" in done.stdout
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["merchants"] == 200 and result["declines"] > 0
    assert result["sizing"]["replicas"] >= 2
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "Decision latency" in html and "<script" not in html


def test_a_bad_topology_is_one_line_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmerchants: {}\n")
    done = landscape("simulate", str(bad), "--hours", "0.1")
    assert done.exit_code == 2
    assert str(bad) in done.stderr and "merchants" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_flag_is_one_line_naming_the_flag() -> None:
    done = landscape("simulate", "--hours", "0")
    assert done.exit_code == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--hours" in lines[0], done.stderr
