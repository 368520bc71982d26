"""The services as an operator runs them: `python -m components.recovery` and
`python -m components.sync` as real processes on loopback ports, against real fakes.

No mocks: the fakes serve HTTP from a thread of this process (`start_fake`), the services run in
processes of their own sharing one store (an SQLite file, or a PostgreSQL database), and every
wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.reference_merchant import (
    EMAIL,
    ENGINE_OWNS_RETRIES,
    NETSUITE_ACCOUNT,
    PRIMARY_KEY,
    SALESFORCE_ORG,
    SCHEMAS,
    STRIPE_CUSTOMER,
    SUBSCRIPTION,
)
from simulators.netsuite.vendor import DEMO_SETTINGS as NETSUITE_DEMO
from simulators.salesforce.vendor import DEMO_SETTINGS as SALESFORCE_DEMO

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "components" / "acme.yaml"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
FAILED_RENEWAL = "a subscription with an open invoice whose payment failed"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return f"stdout:\n{self.stdout.read_text()}\nstderr:\n{self.stderr.read_text()}"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def run_command(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=30)


def launch(module: str, config: Path, tmp_path: Path, name: str) -> Service:
    port = free_port()
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--config", str(config), "--port", str(port),
             "--log-level", "warning"], cwd=tmp_path, env=_env(), stdout=stdout, stderr=stderr)
    return Service(process, f"http://127.0.0.1:{port}", out, err)


def wait_healthy(service: Service) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            pytest.fail(f"{service.url} exited ({service.process.returncode}):\n"
                        f"{service.output()}")
        try:
            if httpx.get(f"{service.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    pytest.fail(f"{service.url} not healthy within {START_TIMEOUT} s:\n{service.output()}")


def terminate(service: Service) -> float:
    """SIGTERM, then the seconds it took the process to exit (it must exit 0)."""
    started = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    code = service.process.wait(STOP_TIMEOUT)
    assert code == 0, service.output()
    return time.monotonic() - started


def kill(services: list[Service]) -> None:
    for service in services:  # a test that failed midway leaves no orphan behind
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait(STOP_TIMEOUT)


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    kill(started)


def wait_for_dead_letter(sync: Service, destination: str,
                         timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        letters = httpx.get(f"{sync.url}/v1/dead-letters", timeout=5).json()
        found = [m for m in letters if m["destination"] == destination]
        if found:
            return dict(found[0])
        time.sleep(0.1)
    pytest.fail(f"no {destination} dead letter within {timeout} s:\n{sync.output()}")


def failed_renewal(stripe_url: str, invoice_id: str) -> dict[str, Any]:
    """A past_due subscription whose renewal invoice is open: what the engine reads. Stripe's
    own retries are off (the engine owns them), or the engine would leave it to Stripe's dunning."""
    declared = httpx.put(f"{stripe_url}/_sim/tenants/{PRIMARY_KEY}", timeout=10,
                         json={"settings": ENGINE_OWNS_RETRIES})
    assert declared.status_code == 200, declared.text
    response = httpx.post(f"{stripe_url}/_sim/states", timeout=10, json={
        "state": FAILED_RENEWAL, "tenant": PRIMARY_KEY, "params": {
            "customer_id": STRIPE_CUSTOMER, "email": EMAIL, "decline_code": "stolen_card",
            "invoice_id": invoice_id, "subscription_id": SUBSCRIPTION, "amount": 2000}})
    assert response.status_code == 200, response.text
    return dict(response.json()["created"])


def declare(fake_url: str, tenant: str, settings: dict[str, Any], schema: str) -> None:
    """The demo tenant with acme's custom fields (the schema the mapping names)."""
    response = httpx.put(f"{fake_url}/_sim/tenants/{tenant}", timeout=10, json={
        "settings": settings, "schema": yaml.safe_load((SCHEMAS / schema).read_text())})
    assert response.status_code == 200, response.text


def write_settings(tmp_path: Path, store: str, stripe: str, netsuite: str | None = None,
                   salesforce: str | None = None) -> Path:
    """The example file, pointed at these fakes and this store."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data["store"] = store
    data["mapping"] = str(ROOT / "scenarios" / "mappings" / "acme-stripe-netsuite-salesforce.yaml")
    data["stripe"]["base_url"] = stripe
    data["outbox"]["poll_seconds"] = 0.2
    for vendor, url in (("netsuite", netsuite), ("salesforce", salesforce)):
        if url:
            data[vendor]["base_url"] = url
        else:
            del data[vendor]
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def intercept(request_id: str, invoice_id: str) -> dict[str, Any]:
    return {"request_id": request_id, "invoice_id": invoice_id, "customer_id": STRIPE_CUSTOMER,
            "amount": 2000, "currency": "usd", "decline_code": "stolen_card",
            "card_brand": "visa"}


def assert_hard_decline(answer: dict[str, Any]) -> None:
    assert answer["status"] == "not_retried", answer
    assert [(d["action"], d["reason"]) for d in answer["decisions"]] == [
        ("no_retry", "hard_decline:stolen_card")]
    assert answer["charges"] == []


def test_both_services_serve_over_loopback_and_stop_on_sigterm(
        start_fake, tmp_path: Path, services: list[Service]) -> None:
    stripe, netsuite, salesforce = (start_fake(v) for v in ("stripe", "netsuite", "salesforce"))
    invoice = failed_renewal(stripe.url, "in_ServicesHttpRenewal00001")["invoice_id"]
    declare(netsuite.url, NETSUITE_ACCOUNT, NETSUITE_DEMO, "netsuite-recovery-fields.yaml")
    declare(salesforce.url, SALESFORCE_ORG, SALESFORCE_DEMO, "salesforce-cpq.yaml")
    config = write_settings(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", stripe.url,
                            netsuite.url, salesforce.url)
    services += [launch("components.recovery", config, tmp_path, "recovery"),
                 launch("components.sync", config, tmp_path, "sync")]
    recovery, sync = services
    for service in services:
        wait_healthy(service)

    health = httpx.get(f"{recovery.url}/healthz", timeout=5).json()
    assert health["status"] == "ok" and health["merchant"] == "acme"
    metrics = httpx.get(f"{recovery.url}/metrics", timeout=5)
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "recovery_decision_latency_seconds" in metrics.text
    paths = httpx.get(f"{recovery.url}/openapi.json", timeout=5).json()["paths"]
    assert {"/webhooks/stripe", "/v1/intercepts"} <= set(paths)

    body = intercept("req_services_http_1", invoice)
    first = httpx.post(f"{recovery.url}/v1/intercepts", json=body, timeout=15)
    assert first.status_code == 200, first.text
    assert_hard_decline(first.json())
    again = httpx.post(f"{recovery.url}/v1/intercepts", json=body, timeout=15)
    assert again.status_code == 200 and again.json()["dropped"] == "duplicate"
    ledger = httpx.get(f"{recovery.url}/v1/invoices/stripe:{invoice}/attempts", timeout=5)
    assert ledger.status_code == 200 and ledger.json() == []  # no charge was attempted

    forged = httpx.post(f"{recovery.url}/webhooks/stripe", content=b'{"type": "x"}', timeout=5,
                        headers={"Stripe-Signature": "t=1,v1=00", "Content-Type":
                                 "application/json"})
    assert forged.status_code == 400, forged.text

    # the relay sends the write-backs the decision queued; the CRM has no account for this
    # customer, so its status update is given up on at once (a dead letter)
    assert "outbox_depth" in httpx.get(f"{sync.url}/metrics", timeout=5).text
    dead = wait_for_dead_letter(sync, "salesforce")

    # the recovery engine's port is taken now: a second one explains and exits
    port = recovery.url.rsplit(":", 1)[1]
    busy = run_command("components.recovery", "--config", str(config), "--port", port,
                       cwd=tmp_path)
    assert busy.returncode != 0
    assert busy.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in busy.stderr, busy.stderr
    assert "Traceback" not in busy.stderr

    for service in services:
        assert terminate(service) < STOP_TIMEOUT
        assert "Traceback" not in service.stderr.read_text(), service.output()
    banner = recovery.stdout.read_text().splitlines()[0]
    assert banner.startswith(f"recovery engine on {recovery.url}"), banner
    assert "merchant acme" in banner and "mode cached" in banner and "store sqlite:" in banner
    assert sync.stdout.read_text().startswith(f"sync service on {sync.url}")

    # the operator commands, on the store the services left behind
    listed = run_command("components.sync", "dead-letters", "--config", str(config),
                         cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"#{dead['id']}  salesforce recovery_status" in listed.stdout, listed.stdout
    assert listed.stdout.splitlines()[-1] == "1 dead letter(s)"
    replayed = run_command("components.sync", "replay", "--config", str(config),
                           "--ids", str(dead["id"]), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "replayed 1 dead letter(s) to the outbox"
    reconciled = run_command("components.sync", "reconcile", "--config", str(config),
                             cwd=tmp_path)
    assert reconciled.returncode == 0, reconciled.stderr
    report = json.loads(reconciled.stdout)
    assert {"summary", "drifts", "repairs_queued"} <= set(report), report


def test_a_missing_settings_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = run_command("components.recovery", "--config", str(tmp_path / "nope.yaml"),
                         "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "nope.yaml" in result.stderr, result.stderr


def test_two_replicas_on_postgresql_answer_one_intercept_once(
        start_fake, tmp_path: Path, services: list[Service], fresh_postgres_url: str) -> None:
    stripe = start_fake("stripe")
    invoice = failed_renewal(stripe.url, "in_ServicesHttpReplicas0001")["invoice_id"]
    config = write_settings(tmp_path, fresh_postgres_url, stripe.url)
    services += [launch("components.recovery", config, tmp_path, f"replica{n}")
                 for n in (1, 2)]
    for service in services:
        wait_healthy(service)

    async def both() -> list[httpx.Response]:
        body = intercept("req_services_http_replicas", invoice)
        async with httpx.AsyncClient(timeout=15) as client:
            return list(await asyncio.gather(*(
                client.post(f"{s.url}/v1/intercepts", json=body) for s in services)))

    responses = asyncio.run(both())
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    answers = [r.json() for r in responses]
    dropped = [a for a in answers if "dropped" in a]
    decided = [a for a in answers if "decisions" in a]
    assert len(decided) == 1 and [a["dropped"] for a in dropped] == ["duplicate"], answers
    assert_hard_decline(decided[0])
    for service in services:
        assert terminate(service) < STOP_TIMEOUT
