"""The official Node SDK (npm `stripe` at the version that pins 2026-10-28.endive, installed from
the npm registry into a cache folder) reads invoices, invoice payments, subscriptions and
PaymentIntents from the fake exactly as from Stripe: only the base address changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_stripe_versions import ENDIVE, FEB_1, KEY, MAR_1, failed_renewal

pytestmark = pytest.mark.sdk

NODE_DIR = Path(__file__).parents[1] / "node"
CACHE = Path(os.environ.get("LANDSCAPE_NODE_CACHE", Path.cwd() / ".landscape" / "node"))


def _stripe_module() -> Path:
    """node_modules/stripe at the version package.json names, installed once per cache."""
    wanted = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["stripe"]
    module = CACHE / "node_modules" / "stripe"
    installed = module / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != wanted:
        CACHE.mkdir(parents=True, exist_ok=True)
        shutil.copy(NODE_DIR / "package.json", CACHE / "package.json")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-package-lock",
                        "--loglevel=error"], cwd=CACHE, check=True, timeout=180)
    return module


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                    reason="node and npm are not installed")
def test_the_node_sdk_reads_todays_shapes(start_fake) -> None:
    module = _stripe_module()
    fake = start_fake("stripe", controlled_clock=True)
    world = failed_renewal(fake)
    env = {**os.environ, "STRIPE_MODULE": str(module), "STRIPE_BASE": fake.url,
           "STRIPE_KEY": KEY, "INVOICE": world.renewal, "SUBSCRIPTION": world.subscription}
    run = subprocess.run(["node", str(NODE_DIR / "read_stripe.cjs")], env=env, timeout=60,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)

    assert seen["pinned"] == seen["sent"] == ENDIVE  # what it sends, what the fake answered in
    invoice = seen["invoice"]
    assert invoice["status"] == "open"
    assert invoice["parent"]["subscription_details"]["subscription"] == world.subscription
    assert not {"subscription", "paid", "payment_intent", "charge"} & set(invoice["keys"])
    [payment] = seen["payments"]
    assert (payment["status"], payment["invoice"], payment["is_default"]) == (
        "open", world.renewal, True)
    assert payment["payment"]["type"] == "payment_intent"
    intent = seen["intent"]
    assert intent["id"] == payment["payment"]["payment_intent"] == seen["expanded"][0]
    assert intent["status"] == "requires_payment_method" and "invoice" not in intent["keys"]
    sub = seen["subscription"]
    assert "current_period_end" not in sub["keys"]
    assert sub["items"] == [{"id": world.item, "current_period_start": FEB_1,
                             "current_period_end": MAR_1}]
