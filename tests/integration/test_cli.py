"""The `landscape` command line as a user runs it: real processes, real ports."""

from __future__ import annotations

import ssl
import subprocess
import sys

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
    assert advanced.returncode == 0 and "now" in advanced.stdout


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
        assert shown.returncode == 0 and "'mode': 'real'" in shown.stdout
    finally:
        stop_process(started)


def test_no_fake_running_is_explained() -> None:
    result = landscape("faults", "list", "--url", "http://127.0.0.1:9")
    assert result.returncode == 2 and "landscape serve" in result.stderr


def test_serve_refuses_non_loopback_and_unknown_vendor() -> None:
    result = landscape("serve", "stripe", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2 and "not a loopback address" in result.stderr
    result = landscape("serve", "paypal")
    assert result.returncode == 2 and "choose one of: stripe" in result.stderr


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
