"""The `landscape` command line as a user runs it: real processes, real ports."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys
import threading
import time

import httpx
import pytest

from harness.processes import start_process, stop_process
from simulators.core.tls import ensure_certificates

LANDSCAPE = [sys.executable, "-m", "harness.cli"]


def landscape(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*LANDSCAPE, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def stripe_process():
    started = start_process([*LANDSCAPE, "serve", "stripe", "--port", "0", "--seed", "3"])
    yield started
    stop_process(started)


def test_serve_then_faults_add_list_clear(stripe_process) -> None:
    url = stripe_process.url
    added = landscape("faults", "add", "--url", url, "--kind", "http_error", "--status", "503",
                      "--method", "POST", "--path", "/v1/customers", "--first-n", "1")
    assert added.returncode == 0, added.stderr
    assert "added flt_1 (http_error)" in added.stdout
    listed = landscape("faults", "list", "--url", url)
    assert "flt_1" in listed.stdout and "http_error" in listed.stdout
    key = {"Authorization": "Bearer sk_test_cli"}
    assert httpx.post(f"{url}/v1/customers", headers=key).status_code == 503
    assert httpx.post(f"{url}/v1/customers", headers=key).status_code == 200
    assert landscape("faults", "clear", "--url", url).returncode == 0
    assert httpx.get(f"{url}/_sim/faults").json() == []
    advanced = landscape("clock", "advance", "60", "--url", url)
    assert advanced.returncode == 0, advanced.stderr
    assert re.search(r"advanced 60 s: \S+Z → \S+Z", advanced.stdout)
    assert "{" not in advanced.stdout  # human lines, not a dict


def test_bad_fault_is_explained_not_a_traceback(stripe_process) -> None:
    result = landscape("faults", "add", "--url", stripe_process.url, "--kind", "latency")
    assert result.returncode == 2
    assert "needs latency" in result.stderr and "Traceback" not in result.stderr


def test_tls_fake_needs_its_ca_and_unknown_ids_are_explained(tmp_path) -> None:
    ca_file = str(ensure_certificates(tmp_path).ca_file)
    started = start_process([*LANDSCAPE, "serve", "stripe", "--port", "0", "--tls",
                             "--tls-dir", str(tmp_path)],
                            verify=ssl.create_default_context(cafile=ca_file))
    try:
        url = started.url
        untrusted = landscape("faults", "list", "--url", url)
        assert untrusted.returncode == 2 and "--ca" in untrusted.stderr
        listed = landscape("faults", "list", "--url", url, "--ca", ca_file)
        assert listed.returncode == 0 and "no faults installed" in listed.stdout
        unknown = landscape("faults", "clear", "--url", url, "--ca", ca_file, "--id", "flt_9")
        assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
        assert "404" in unknown.stderr and "no fault 'flt_9'" in unknown.stderr
        shown = landscape("clock", "show", "--url", url, "--ca", ca_file)
        assert shown.returncode == 0 and "real clock" in shown.stdout
    finally:
        stop_process(started)


def test_no_fake_running_is_explained() -> None:
    result = landscape("faults", "list", "--url", "http://127.0.0.1:9")
    assert result.returncode == 2 and "landscape serve" in result.stderr


def test_serve_refuses_non_loopback_and_unknown_vendor() -> None:
    result = landscape("serve", "stripe", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2 and "not a loopback address" in result.stderr
    result = landscape("serve", "paypal")
    assert result.returncode == 2 and "is not one of 'stripe'" in result.stderr


def test_bad_config_names_file_key_and_fix(tmp_path) -> None:
    config = tmp_path / "fake.yaml"
    config.write_text("seed: 1\nlatncy: {kind: fixed, ms: 5}\nfaults:\n  - {kind: latency}\n")
    result = landscape("serve", "stripe", "--port", "0", "--config", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{config}: latncy: unknown key" in result.stderr
    assert f"{config}: faults.0: Value error, fault kind 'latency' needs latency" in \
        " ".join(result.stderr.split())
    config.write_text("seed: [1\n")
    result = landscape("serve", "stripe", "--port", "0", "--config", str(config))
    assert result.returncode == 2 and f"{config}:" in result.stderr and "YAML" in result.stderr


def test_busy_port_names_the_port_and_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = landscape("serve", "stripe", "--port", str(port))
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port 0" in result.stderr and "None" not in result.stderr


def test_faults_add_options_json_latency_and_bad_kind(stripe_process) -> None:
    url = stripe_process.url
    from_json = landscape("faults", "add", "--url", url, "--json",
                          '{"kind": "http_error", "status": 502, "first_n": 2}')
    assert from_json.returncode == 0, from_json.stderr
    assert "added flt_1 (http_error)" in from_json.stdout
    lognormal = landscape("faults", "add", "--url", url, "--kind", "latency",
                          "--latency-median-ms", "20", "--latency-p99-ms", "80",
                          "--window-start", "5", "--window-end", "60")
    assert lognormal.returncode == 0, lognormal.stderr
    uniform = landscape("faults", "add", "--url", url, "--kind", "latency",
                        "--latency-min-ms", "1", "--latency-max-ms", "3")
    assert uniform.returncode == 0, uniform.stderr
    spec = httpx.get(f"{url}/_sim/faults").json()
    assert spec[1]["latency"]["kind"] == "lognormal" and spec[1]["latency"]["p99_ms"] == 80
    assert spec[2]["latency"] == {**spec[2]["latency"], "kind": "uniform", "min_ms": 1,
                                  "max_ms": 3}
    listed = landscape("faults", "list", "--url", url).stdout
    for column in ("first_n", "status", "window", "latency"):
        assert column in listed
    assert "5–60 s" in listed and "502" in listed and "median 20, p99 80 ms" in listed

    missing = landscape("faults", "add", "--url", url)
    assert missing.returncode == 2 and "missing option --kind" in missing.stderr
    no_latency = landscape("faults", "add", "--url", url, "--kind", "latency")
    assert no_latency.returncode == 2 and "--latency-ms" in no_latency.stderr
    half = landscape("faults", "add", "--url", url, "--kind", "latency",
                     "--latency-median-ms", "20")
    assert half.returncode == 2 and "--latency-p99-ms" in half.stderr
    for args in (["--kind", "explode"], ["--json", '{"kind": "explode"}']):
        bad = landscape("faults", "add", "--url", url, *args)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert "'explode' is not a fault kind" in bad.stderr and "drop_after" in bad.stderr


def test_clock_show_and_advance_speak_human(tmp_path) -> None:
    started = start_process([*LANDSCAPE, "serve", "stripe", "--port", "0", "--controlled-clock"])
    try:
        url = started.url
        shown = landscape("clock", "show", "--url", url)
        assert shown.returncode == 0, shown.stderr
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  \(controlled clock.*\)\n",
                            shown.stdout), shown.stdout
        day = landscape("clock", "advance", "1d", "--url", url)
        assert day.returncode == 0, day.stderr
        before, after = re.search(r"advanced 86400 s: (\S+) → (\S+)", day.stdout).groups()
        assert before < after
        backwards = landscape("clock", "advance", "-5", "--url", url)
        assert backwards.returncode == 2
        assert "time only moves forward" in backwards.stderr
        assert len(backwards.stderr.strip().splitlines()) == 1
        assert landscape("clock", "advance", "soon", "--url", url).returncode == 2
    finally:
        stop_process(started)


def test_version_and_readable_help() -> None:
    from importlib.metadata import version

    result = landscape("--version")
    assert result.returncode == 0 and version("landscape") in result.stdout
    help_text = landscape("serve", "--help").stdout
    assert "PORT" in help_text and "FILE" in help_text and "SEED" in help_text
    assert "seed, else" in help_text  # the default seed is stated
    assert "--tls " in help_text and "<bool>  Serve" not in " ".join(help_text.split())


def test_serve_chargebee_says_how_to_point_the_sdk(tmp_path) -> None:
    ca_file = str(ensure_certificates(tmp_path).ca_file)
    started = start_process([*LANDSCAPE, "serve", "chargebee", "--port", "0", "--tls",
                             "--tls-dir", str(tmp_path)],
                            verify=ssl.create_default_context(cafile=ca_file))
    try:
        port = started.url.rsplit(":", 1)[1]
        lines: list[str] = []  # the banner is flushed before the fake serves; read it aside
        reader = threading.Thread(target=lambda: lines.extend(
            iter(started.process.stdout.readline, "")), daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        while "chargebee_domain" not in "".join(lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        banner = "".join(lines)
    finally:
        stop_process(started)
    assert f'Chargebee.ca_cert_path = "{ca_file}"' in banner, banner
    assert f'site="127", chargebee_domain="0.0.1:{port}"' in banner, banner


@pytest.mark.parametrize("command", [
    [], ["serve"], ["up"], ["run"], ["demo"], ["bench"], ["walkthrough"], ["faults", "add"],
    ["faults", "list"], ["clock", "advance"], ["journal"], ["tenants"], ["state", "snapshot"],
    ["latency", "set"]])
def test_help_says_what_to_write_not_python_types(command: list[str]) -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert not re.search(r"<(str|bool|int|float|path|list\[)", result.output), result.output
