"""`landscape faults|clock` against a fake served with `--tls`: they trust the landscape's local CA
by themselves (~/.landscape/tls, or $LANDSCAPE_TLS_DIR for serve and them alike); --ca otherwise."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

from harness.processes import Started, start_process, stop_process
from simulators.core.tls import ensure_certificates

LANDSCAPE = [sys.executable, "-m", "harness.cli"]


def landscape(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*LANDSCAPE, *args], capture_output=True, text=True, timeout=60)


def _start(ca_file: Path, *extra: str) -> Started:
    """A `serve stripe --tls` process whose CA is `ca_file` (created first, as serve would, so
    start_process can trust it while waiting for health)."""
    ensure_certificates(ca_file.parent)
    return start_process([*LANDSCAPE, "serve", "stripe", "--tls", "--port", "0", *extra],
                         verify=ssl.create_default_context(cafile=str(ca_file)))


def _drive(url: str, *ca: str) -> None:
    added = landscape("faults", "add", "--url", url, "--kind", "http_error", "--status", "503",
                      "--first-n", "1", *ca)
    assert added.returncode == 0, added.stderr
    assert "added flt_1 (http_error)" in added.stdout
    listed = landscape("faults", "list", "--url", url, *ca)
    assert listed.returncode == 0 and "flt_1" in listed.stdout, listed.stderr
    shown = landscape("clock", "show", "--url", url, *ca)
    assert shown.returncode == 0 and "real clock" in shown.stdout, shown.stderr


def test_default_ca_is_trusted_without_ca_option(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # ~/.landscape/tls under tmp_path
    monkeypatch.delenv("LANDSCAPE_TLS_DIR", raising=False)
    started = _start(tmp_path / ".landscape" / "tls" / "ca.pem")
    try:
        assert started.url.startswith("https://")
        _drive(started.url)
    finally:
        stop_process(started)


def test_tls_dir_env_is_read_by_serve_and_the_commands(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # a default CA that is not this one
    monkeypatch.setenv("LANDSCAPE_TLS_DIR", str(tmp_path / "certs"))
    started = _start(tmp_path / "certs" / "ca.pem")  # no --tls-dir: serve reads the variable
    try:
        _drive(started.url)
    finally:
        stop_process(started)


def test_custom_tls_dir_needs_ca_and_says_how(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LANDSCAPE_TLS_DIR", raising=False)
    ca_file = tmp_path / "certs" / "ca.pem"
    started = _start(ca_file, "--tls-dir", str(ca_file.parent))
    try:
        untrusted = landscape("faults", "list", "--url", started.url)
        assert untrusted.returncode == 2 and "Traceback" not in untrusted.stderr
        assert "--ca FILE" in untrusted.stderr and "LANDSCAPE_TLS_DIR" in untrusted.stderr
        _drive(started.url, "--ca", str(ca_file))
        missing = landscape("faults", "list", "--url", started.url, "--ca",
                            str(tmp_path / "nope.pem"))
        assert missing.returncode == 2 and "no such file" in missing.stderr
    finally:
        stop_process(started)


def test_http_fakes_ignore_the_ca(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    started = start_process([*LANDSCAPE, "serve", "stripe", "--port", "0"])
    try:
        assert landscape("faults", "list", "--url", started.url).returncode == 0
    finally:
        stop_process(started)
