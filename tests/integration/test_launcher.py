"""`landscape up`: a topology as real processes on 127.0.0.1 (harness/launcher.py), started,
checked and stopped the way a user does, with nothing left running afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from harness.launcher import LaunchError, RunningLandscape
from harness.topology import DEFAULT_TOPOLOGY, TOPOLOGIES, load_topology

UP = [sys.executable, "-m", "harness.cli", "up"]

try:
    import psutil
except ImportError:  # pragma: no cover - psutil is optional
    psutil = None


# -- processes, with or without psutil -----------------------------------------------------------
def _started_at(pid: int) -> float | None:
    """When `pid` started (so a reused pid is not taken for it), None if it is gone."""
    if psutil is not None:
        try:
            process = psutil.Process(pid)
            return None if process.status() == psutil.STATUS_ZOMBIE else process.create_time()
        except psutil.NoSuchProcess:
            return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else float(fields[19])  # state, starttime


def _children(pid: int) -> list[int]:
    if psutil is not None:
        try:
            return [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
    found: list[int] = []
    for tasks in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in tasks.read_text().split()]
        except OSError:
            continue
    return found + [grandchild for child in found for grandchild in _children(child)]


def _mentioning(text: str) -> list[int]:
    """Processes whose command line mentions `text` (the run folder: every process of it)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return [pid for pid in pids if pid != os.getpid() and _started_at(pid) is not None]


def _alive(seen: dict[int, float]) -> list[int]:
    return [pid for pid, started in seen.items() if _started_at(pid) == started]


def _kill_leftovers(seen: dict[int, float]) -> None:
    for pid in _alive(seen):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            os.kill(pid, signal.SIGKILL)


def _one_merchant_topology(tmp_path: Path, **components: object) -> Path:
    """The shipped default topology's acme alone, with absolute paths, in tmp_path."""
    data = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    acme = data["merchants"]["acme"]
    data.update(name="acme-only", systems={}, merchants={"acme": acme})
    acme["mapping"] = str((TOPOLOGIES / acme["mapping"]).resolve())
    for system in ("erp", "crm"):
        acme[system]["schema"] = str((TOPOLOGIES / acme[system]["schema"]).resolve())
    acme["components"] = components
    path = tmp_path / "acme-only.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line and not line.startswith("#"))
    return {key: value.strip("'") for key, value in pairs}


def _up(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*UP, *args], text=True, stdout=(tmp_path / "up.out").open("w"),
                            stderr=(tmp_path / "up.err").open("w"))


# -- the tests ---------------------------------------------------------------------------------
def test_up_serves_every_url_in_its_env_file_then_stops_everything_on_ctrl_c(tmp_path) -> None:
    run_dir = tmp_path / "run"
    up = _up(tmp_path, "netsuite-stripe-salesforce", "--run-dir", str(run_dir), "--no-data")
    seen: dict[int, float] = {}
    try:
        env_file = run_dir / "landscape.env"
        began = time.monotonic()
        while not env_file.exists():
            assert up.poll() is None, (tmp_path / "up.err").read_text()
            assert time.monotonic() - began < 30, "landscape up was not ready within 30 s"
            time.sleep(0.1)
        ready_after = time.monotonic() - began
        for pid in _children(up.pid):
            seen[pid] = _started_at(pid) or 0.0
        assert len(seen) >= 7, seen  # 3 fakes, 2 merchants × (recovery, sync)

        env = _env(env_file)
        urls = {key: value for key, value in env.items() if key.endswith("_URL")}
        assert set(urls) == {"LANDSCAPE_STRIPE_URL", "LANDSCAPE_NETSUITE_URL",
                             "LANDSCAPE_SALESFORCE_URL", "ACME_RECOVERY_URL", "ACME_SYNC_URL",
                             "HOOLI_RECOVERY_URL", "HOOLI_SYNC_URL"}
        for key, url in urls.items():
            assert url.startswith("http://127.0.0.1:")
            health = "/_sim/health" if key.startswith("LANDSCAPE_") else "/healthz"
            assert httpx.get(url + health, timeout=5).status_code == 200, key
        assert env["ACME_STRIPE_PRIMARY_KEY"] == "sk_test_acme_primary"
        assert env["HOOLI_NETSUITE_ACCOUNT"] == "7654321"

        key = env["ACME_STRIPE_PRIMARY_KEY"]
        answer = httpx.get(f"{env['LANDSCAPE_STRIPE_URL']}/v1/customers", auth=(key, ""))
        assert answer.status_code == 200
        requests = run_dir / "logs" / "stripe-requests.log"
        deadline = time.monotonic() + 5
        while "GET /v1/customers 200" not in (requests.read_text() if requests.exists() else ""):
            assert time.monotonic() < deadline, "no request log line"
            time.sleep(0.05)
        line = requests.read_text().splitlines()[-1].split()
        assert line[1:5] == [key, "GET", "/v1/customers", "200"] and line[5].endswith("ms")

        out = (tmp_path / "up.out").read_text()
        assert "Ctrl-C to stop" in out and str(env_file) in out and "sk_test_hooli_alternate" in out

        up.send_signal(signal.SIGINT)
        stopping = time.monotonic()
        # components then fakes, each group given STOP_GRACE_S (10 s) before SIGKILL: 20 s at
        # worst by design, a little more on a loaded machine (it takes ~1 s here)
        assert up.wait(timeout=30) == 0, (tmp_path / "up.err").read_text()
        print(f"ready after {ready_after:.1f} s, stopped in {time.monotonic() - stopping:.1f} s")
        assert _alive(seen) == [] and _mentioning(str(run_dir)) == []
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        _kill_leftovers(seen)


def test_a_component_that_never_becomes_healthy_is_named_and_nothing_is_left(tmp_path) -> None:
    topology = _one_merchant_topology(tmp_path, recovery={"command": ["false"]})
    run_dir = tmp_path / "run"
    up = _up(tmp_path, str(topology), "--run-dir", str(run_dir), "--no-data")
    seen: dict[int, float] = {}
    try:
        while up.poll() is None:  # whatever it started, to check it is gone afterwards
            for pid in _children(up.pid):
                seen.setdefault(pid, _started_at(pid) or 0.0)
            time.sleep(0.05)
        assert up.wait(timeout=30) == 2
        err = (tmp_path / "up.err").read_text()
        assert "acme recovery exited with code 1" in err and "command: false" in err, err
        assert "Traceback" not in err
        assert not (run_dir / "landscape.env").exists()
        assert seen and _alive(seen) == [] and _mentioning(str(run_dir)) == []
    finally:
        if up.poll() is None:
            up.kill()
        _kill_leftovers(seen)


def test_bad_topology_is_one_line_and_exit_2(tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: Not A Name\nmerchants: {}\n")
    result = subprocess.run([*UP, str(broken), "--run-dir", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert str(broken) in result.stderr and "Traceback" not in result.stderr


def test_kill_then_restart_brings_a_component_back_on_the_same_url(tmp_path) -> None:
    topology = load_topology(_one_merchant_topology(tmp_path))
    with RunningLandscape(topology, tmp_path / "run") as landscape:
        assert set(landscape.fakes) == {"stripe", "netsuite", "salesforce"}
        url = landscape.components["acme"].recovery
        before = landscape.service("acme", "recovery").process
        assert httpx.get(f"{url}/healthz").status_code == 200

        landscape.kill("acme", "recovery")
        assert before is not None and before.returncode == -signal.SIGKILL
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz")
        assert httpx.get(f"{landscape.components['acme'].sync}/healthz").status_code == 200

        landscape.restart("acme", "recovery")
        assert landscape.components["acme"].recovery == url
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert landscape.service("acme", "recovery").process is not before
        log = (tmp_path / "run" / "logs" / "acme-recovery.log").read_text()
        assert log.count("recovery engine on") == 2  # appended across the restart

        sync = landscape.service("acme", "sync")  # a restart that fails says why
        sync.command = ["sh", "-c", "echo cannot start >&2; exit 3"]
        with pytest.raises(LaunchError, match=r"acme sync exited with code 3(.|\n)*cannot start"):
            landscape.restart("acme", "sync")
        assert not sync.running
        pids = landscape.pids()
    assert pids and all(_started_at(pid) is None for pid in pids)
    with pytest.raises(KeyError, match="merchants: acme"):
        landscape.kill("nobody", "recovery")


def test_a_team_s_own_command_gets_its_port_config_and_env_and_the_data_is_seeded(
        tmp_path) -> None:
    """A component given as a command (here the reference engine, started the way a team would
    start its own) is filled in and health-checked; the seeding hook fills every system."""
    from harness.seeding import seed_running

    command = [sys.executable, "-m", "components.recovery", "--config", "{config}", "--port",
               "{port}"]
    topology = load_topology(_one_merchant_topology(
        tmp_path, recovery={"command": command, "env": {"TEAM_FLAG": "on"}}))
    with RunningLandscape(topology, tmp_path / "run", seed_data=seed_running) as landscape:
        url = landscape.components["acme"].recovery
        assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
        service = landscape.service("acme", "recovery")
        assert str(tmp_path / "run" / "acme" / "components.yaml") in service.command
        assert service.env["TEAM_FLAG"] == "on"
        assert service.env["LANDSCAPE_STRIPE_URL"] == landscape.fakes["stripe"]
        state = httpx.get(f"{landscape.fakes['netsuite']}/_sim/tenants/1234567_SB1/state")
        invoices = state.json()["data"]["records.invoice"]
        assert len(invoices) == topology.merchants["acme"].data.customers
        cached = httpx.get(f"{landscape.components['acme'].sync}/healthz").json()
        assert cached["status"] == "ok"
