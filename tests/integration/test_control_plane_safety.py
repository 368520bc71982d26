"""The `/_sim/` control plane on a shared machine (simulators/core/guard.py): only loopback (or
configured) hosts, no cross-site writes, JSON bodies only, snapshots by name inside the state
folder, secrets masked in listings, and an optional token the client and the CLI send."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.client import AsyncControlClient, ControlClient, ControlError
from simulators.core.app import build_app
from simulators.core.clock import Clock
from simulators.core.simulator import Simulator
from simulators.core.virtual_time import run
from simulators.landscape import Landscape
from simulators.registry import create_vendor
from simulators.salesforce.vendor import DEMO_ORG, DEMO_SETTINGS

STRIPE_KEY = "sk_test_51Hx8aLandscapeSafetyKey9876"
HANG = {"kind": "hang", "seconds": 600}


def stripe_sim(**control: Any) -> Simulator:
    sim = Simulator(create_vendor("stripe"), seed=1, clock=Clock.frozen(0))
    sim.settings = {"control": control} if control else {}
    return sim


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def http(start_fake, state_dir: Path) -> Iterator[httpx.Client]:
    """A client of a Stripe fake on loopback whose snapshots live in `state_dir`."""
    sim = stripe_sim(state_dir=str(state_dir), allowed_hosts=["dev.internal"])
    fake = start_fake("stripe", simulator=sim)
    with httpx.Client(base_url=fake.url, trust_env=False) as client:
        yield client


def refusal(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "fix"}, body
    return dict(body)


# -- hosts and origins --------------------------------------------------------------------------
def test_a_foreign_host_is_refused_and_loopback_names_are_served(http: httpx.Client) -> None:
    refused = refusal(http.get("/_sim/health", headers={"host": "attacker.example:12111"}), 421)
    assert "attacker.example" in refused["error"] and "allowed_hosts" in refused["fix"]
    for host in ("127.0.0.1:12111", "localhost", "LOCALHOST.:80", "[::1]:12111", "127.0.0.2",
                 "stripe.fake", "dev.internal:8080"):
        assert http.get("/_sim/health", headers={"host": host}).status_code == 200, host
    assert http.get("/_sim/health", headers={"host": "chargebee.fake"}).status_code == 421
    # the vendor's own API is not the control plane: no host rule there
    assert http.get("/v1/customers", headers={"host": "api.stripe.com",
                                              "authorization": f"Bearer {STRIPE_KEY}"}
                    ).status_code == 200


def test_a_foreign_origin_cannot_change_state(http: httpx.Client) -> None:
    hang = {"json": HANG}
    for headers in ({"origin": "https://attacker.example"}, {"origin": "null"},
                    {"sec-fetch-site": "cross-site"}):
        refused = refusal(http.post("/_sim/faults", headers=headers, **hang), 403)
        assert "cross-site" in refused["error"]
        refusal(http.delete("/_sim/faults", headers=headers), 403)
    assert http.get("/_sim/faults").json() == []
    assert http.post("/_sim/faults", headers={"origin": "http://localhost:3000"},
                     **hang).status_code == 201
    assert http.post("/_sim/faults", headers={"sec-fetch-site": "same-origin"},
                     **hang).status_code == 201
    # reads carry no state change (and no CORS header lets a page read them)
    assert http.get("/_sim/faults", headers={"origin": "https://attacker.example"}
                    ).status_code == 200


def test_a_simple_cross_site_post_cannot_reset_the_fake(http: httpx.Client) -> None:
    assert http.post("/_sim/faults", json=HANG).status_code == 201
    # what a page can send without a preflight: text/plain or a form, with or without a body
    for content_type, body in (("text/plain", b""), ("text/plain", b'{"seed": 1}'),
                               ("application/x-www-form-urlencoded", b"seed=1"),
                               ("multipart/form-data; boundary=x", b"")):
        refused = refusal(http.post("/_sim/reset", content=body,
                                    headers={"content-type": content_type}), 415)
        assert "application/json" in refused["fix"]
    refusal(http.post("/_sim/reset", content=b'{"seed": 1}'), 415)  # a body of no stated type
    assert len(http.get("/_sim/faults").json()) == 1  # nothing was wiped
    assert http.post("/_sim/reset").status_code == 200  # a local client may send no body
    assert http.post("/_sim/reset", json={"seed": 2}).json()["seed"] == 2
    assert http.get("/_sim/faults").json() == []


# -- snapshots by name --------------------------------------------------------------------------
def test_snapshots_are_names_inside_the_state_folder(http: httpx.Client, state_dir: Path,
                                                     tmp_path: Path) -> None:
    for name in ("../escape", "/tmp/escape.json", str(tmp_path / "escape.json"), "a/b", "..",
                 ".hidden", ""):
        for key in ("name", "path"):  # "path": what older clients sent
            refused = refusal(http.post("/_sim/snapshot", json={key: name}), 400)
            assert "not a path" in refused["fix"], name
    assert not list(tmp_path.rglob("escape*"))

    customers = "/v1/customers"
    auth = {"authorization": f"Bearer {STRIPE_KEY}"}
    made = http.post(customers, headers=auth, data={"email": "a@example.com"}).json()
    assert http.post("/_sim/snapshot", json={"name": "before-reset"}).json() == {
        "name": "before-reset"}
    assert (state_dir / "before-reset.json").is_file()
    http.post("/_sim/reset")
    assert http.get(customers, headers=auth).json()["data"] == []
    assert http.post("/_sim/restore", json={"name": "before-reset"}).status_code == 200
    assert [c["id"] for c in http.get(customers, headers=auth).json()["data"]] == [made["id"]]


def test_restore_reveals_nothing_outside_the_state_folder(http: httpx.Client,
                                                          tmp_path: Path) -> None:
    (tmp_path / "exists.json").write_text("[]")
    answers = [http.post("/_sim/restore", json={"name": name})
               for name in ("../etc/passwd", "../etc/no-such-file", "../exists.json",
                            "../../etc/passwd", "/etc/passwd")]
    for response in answers:
        refused = refusal(response, 400)
        assert "passwd" not in refused["fix"] and str(tmp_path) not in response.text
    assert len({r.json()["fix"] for r in answers}) == 1  # the same answer, file or no file
    missing = refusal(http.post("/_sim/restore", json={"name": "never-saved"}), 404)
    assert "never-saved" in missing["error"] and str(tmp_path) not in str(missing)


def test_the_client_keeps_a_path_snapshot_on_its_own_side(tmp_path: Path) -> None:
    sim = stripe_sim(state_dir=str(tmp_path / "state"))
    with ControlClient(build_app(sim)) as fake:
        sim.tenants.get(STRIPE_KEY).collection("customer")["cus_1"] = {"id": "cus_1"}
        fake.snapshot(tmp_path / "mine.json")
        fake.snapshot("named")
        fake.reset()
        fake.restore(tmp_path / "mine.json")
        assert sim.tenants.find(STRIPE_KEY).collection("customer") == {"cus_1": {"id": "cus_1"}}
        fake.reset()
        fake.restore("named")
        assert sim.tenants.find(STRIPE_KEY).collection("customer") == {"cus_1": {"id": "cus_1"}}
        with pytest.raises(ControlError, match="404 .*no snapshot named 'other'.*saved: named"):
            fake.restore("other")
        with pytest.raises(ControlError, match="400 .*not a snapshot name"):
            fake.snapshot(str(tmp_path / "theirs.json"))
    assert not (tmp_path / "theirs.json").exists()


# -- what listings show -------------------------------------------------------------------------
def test_listings_mask_keys_and_never_show_session_tokens(start_fake) -> None:
    stripe = start_fake("stripe")
    httpx.get(f"{stripe.url}/v1/customers", headers={"authorization": f"Bearer {STRIPE_KEY}"})
    with ControlClient(stripe.url) as fake:
        [listed] = fake.tenants()
        assert listed.id == "sk_test_…9876"
        declared = fake.declare_tenant("acme", {"api_key": "test_abcdefghijklmnop1234",
                                                "webhooks": [{"secret": "whsec_shh"}],
                                                "plan": "gold"})
        assert declared.settings == {"api_key": "test_…1234", "webhooks": [{"secret": "whsec_…"}],
                                     "plan": "gold"}
        assert [t.settings for t in fake.tenants() if t.id == "acme"] == [declared.settings]
    listing = httpx.get(f"{stripe.url}/_sim/tenants").text
    assert STRIPE_KEY not in listing and "abcdefghijklmnop" not in listing

    salesforce = start_fake("salesforce", controlled_clock=True)
    with httpx.Client(base_url=salesforce.url, trust_env=False) as sf:
        token = sf.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": DEMO_SETTINGS["client_id"],
            "client_secret": DEMO_SETTINGS["client_secret"]}).json()["access_token"]
        sf.headers["authorization"] = f"Bearer {token}"
        with ControlClient(salesforce.url) as fake:
            state = fake.tenant_state(DEMO_ORG)
            assert "sessions" not in state["data"] and token not in str(state)
            assert token not in str([t.model_dump() for t in fake.tenants()])
            fake.restore_tenant(DEMO_ORG, state)  # sessions are not state to restore
        assert sf.get("/services/data/v59.0/sobjects").status_code == 200
        assert token not in httpx.get(f"{salesforce.url}/_sim/snapshot").text


# -- the token ----------------------------------------------------------------------------------
def test_a_token_guards_every_control_call(start_fake) -> None:
    fake = start_fake("stripe", simulator=stripe_sim(token="s3cret-token"))
    refused = refusal(httpx.get(f"{fake.url}/_sim/health"), 401)
    assert "x-landscape-control-token" in refused["fix"].lower()
    assert refusal(httpx.get(f"{fake.url}/_sim/openapi.json"), 401)
    wrong = {"authorization": "Bearer nope"}
    refusal(httpx.post(f"{fake.url}/_sim/reset", headers=wrong), 401)
    for headers in ({"authorization": "Bearer s3cret-token"},
                    {"x-landscape-control-token": "s3cret-token"}):
        assert httpx.get(f"{fake.url}/_sim/health", headers=headers).status_code == 200

    with ControlClient(fake.url) as anonymous, pytest.raises(ControlError) as denied:
        anonymous.health()
    assert denied.value.status == 401 and "needs its token" in str(denied.value)
    with ControlClient(fake.url, token="s3cret-token") as control:
        assert control.health().vendor == "stripe"

    # the CLI: --control-token, or the variable
    cli = [sys.executable, "-m", "harness.cli", "faults", "list", "--url", fake.url]
    env = {k: v for k, v in os.environ.items() if k != "LANDSCAPE_CONTROL_TOKEN"}

    def landscape(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], capture_output=True, text=True, timeout=60,
                              env={**env, **extra_env})

    without = landscape()
    assert without.returncode == 2 and "401" in without.stderr
    assert "Traceback" not in without.stderr
    flag = landscape("--control-token", "s3cret-token")
    assert flag.returncode == 0 and "no faults installed" in flag.stdout, flag.stderr
    assert landscape(LANDSCAPE_CONTROL_TOKEN="s3cret-token").returncode == 0


def test_the_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDSCAPE_CONTROL_TOKEN", "from-env")
    app = build_app(stripe_sim())  # the fake reads it when built; the client when made

    async def scenario() -> None:
        async with AsyncControlClient(app) as fake:
            assert (await fake.health()).vendor == "stripe"
        async with AsyncControlClient(app, token="other") as wrong:
            with pytest.raises(ControlError, match="401"):
                await wrong.health()

    asyncio.run(scenario())


# -- the in-process landscape -------------------------------------------------------------------
def test_the_in_process_landscape_reaches_each_fake_at_its_name() -> None:
    async def scenario() -> list[int]:
        world = Landscape(["stripe", "salesforce"], seed=5)
        async with world, world.client() as http:
            stripe = world.url("stripe")
            return [
                (await http.get(f"{stripe}/_sim/health")).status_code,
                (await http.post(f"{stripe}/_sim/faults", json=HANG)).status_code,
                (await http.post(f"{world.url('salesforce')}/_sim/states", json={
                    "state": "an account", "tenant": DEMO_ORG})).status_code,
                (await http.post(f"{stripe}/_sim/reset",
                                 headers={"origin": "https://attacker.example"})).status_code,
            ]

    assert run(scenario()) == [200, 201, 200, 403]


def test_a_flood_of_a_control_body_is_refused_before_it_is_read(http: httpx.Client) -> None:
    # a terabyte announced, two bytes sent: the answer comes from the headers alone
    url = httpx.URL(str(http.base_url))
    with socket.create_connection((url.host, url.port), timeout=5) as conn:
        conn.sendall(b"POST /_sim/reset HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000000000000\r\n"
                     b"\r\n{}")
        answer = conn.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert '"fix"' in answer
