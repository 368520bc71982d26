"""The outbox relay gives up on a write-back by time, not by a count of tries: a NetSuite
brownout longer than the early backoffs add up to (15+ minutes) only delays the write-back, which
lands when NetSuite is back, with no dead letter; a write-back still failing after
`outbox.give_up_after_seconds` is a dead letter, its last try at that time exactly. One
invoice's messages to one vendor go out in the order they were queued, even when the first has
to wait out a backoff. In-process on virtual time: minutes of brownout cost no wall time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from components.connectors.errors import ErrorKind, VendorError
from components.domain import OutboxMessage
from components.observability import Metrics
from components.settings import OutboxSettings, SettingsError, settings_from_dict
from components.store import open_store
from components.sync import relay as relay_module
from components.sync.relay import OutboxRelay
from harness.reference_merchant import AcmeWorld, acme_settings
from simulators.core.faults import FaultSpec, Match
from simulators.core.virtual_time import run

SEED = 7
BROWNOUT = 20 * 60  # longer than the 15 minutes that used to exhaust 8 tries


async def erp_payments(acme: AcmeWorld) -> list[dict[str, Any]]:
    netsuite = acme.sync.deployment.vendors.netsuite
    assert netsuite is not None
    return await netsuite.suiteql("SELECT id FROM transaction WHERE type = 'CustPymt'")


@pytest.mark.parametrize("outbox", [{}, {"max_attempts": 8}], ids=["by_time", "by_8_tries"])
def test_a_write_back_outlives_a_20_minute_netsuite_brownout(outbox: dict[str, Any]) -> None:
    async def scenario() -> tuple[list[str], list[dict[str, Any]], float | None]:
        async with AcmeWorld(seed=SEED, settings=acme_settings(outbox=outbox)) as acme:
            await acme.card_on_alternate_mid()
            fault = FaultSpec(kind="brownout", status=503, window_end=BROWNOUT,
                              match=Match(path="/services/rest/*"))
            acme.world.fakes["netsuite"].faults.add(fault, acme.world.clock.now())
            ends = acme.world.clock.now() + BROWNOUT
            await acme.failed_renewal()  # recovered on the alternate MID: 3 write-backs
            landed_at = None
            # the sync service's loop, every 10 s of virtual time, for 25 minutes
            while acme.world.clock.now() < ends + 5 * 60:
                await acme.sync.relay.drain_once()
                if landed_at is None and acme.sync.store.outbox_depth() == 0:
                    landed_at = acme.world.clock.now()
                await acme.world.advance(10)
            dead = [m.kind for m in acme.sync.store.dead_letters()]
            return dead, await erp_payments(acme), landed_at and landed_at - ends

    dead, payments, landed_after_end = run(scenario())
    if outbox:  # what a count of tries did: given up on minutes into the brownout
        assert dead == ["apply_payment"] and payments == []
        return
    assert dead == [] and len(payments) == 1
    # NetSuite's payment landed after the brownout, within one capped backoff (5 min) of its end
    assert landed_after_end is not None and 0 <= landed_after_end <= 300 + 10


# -- the relay on its own: a vendor that keeps failing ----------------------------------------
class Sender:
    """Stands in for `components.sync.writeback.send`: fails while `down`, records the rest."""

    def __init__(self) -> None:
        self.down = True
        self.tries: list[tuple[float, str]] = []
        self.sent: list[str] = []
        self.now = 0.0

    async def __call__(self, message: OutboxMessage, deployment: Any) -> None:
        self.tries.append((self.now, message.dedupe_key))
        if self.down:
            raise VendorError("netsuite", ErrorKind.UNAVAILABLE, "503 brownout", status=503)
        self.sent.append(message.dedupe_key)


def relay_with(sender: Sender, monkeypatch: pytest.MonkeyPatch,
               **settings: Any) -> tuple[OutboxRelay, Any]:
    monkeypatch.setattr(relay_module, "send", sender)
    store = open_store("sqlite://")
    relay = OutboxRelay(store, deployment=None,  # type: ignore[arg-type]  # send is replaced
                        settings=OutboxSettings(**settings), metrics=Metrics("sync"),
                        now=lambda: sender.now, seed=3)
    return relay, store


def netsuite_message(key: str, invoice_key: str | None = "stripe:in_1") -> OutboxMessage:
    payload = {"invoice_key": invoice_key} if invoice_key else {"invoice_id": key}
    return OutboxMessage(destination="netsuite", kind="recovery_status", dedupe_key=key,
                         payload=payload)


def run_relay(relay: OutboxRelay, sender: Sender, until: float, step: float = 1.0) -> None:
    async def loop() -> None:
        while sender.now <= until:
            await relay.drain_once()
            sender.now += step
    asyncio.run(loop())


def test_a_write_back_is_given_up_on_at_the_give_up_time_exactly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sender = Sender()
    relay, store = relay_with(sender, monkeypatch, give_up_after_seconds=3600, max_delay=300)
    store.enqueue([netsuite_message("m1")], at=sender.now)
    run_relay(relay, sender, until=2 * 3600)
    times = [t for t, _ in sender.tries]
    assert times[0] == 0 and times[-1] == 3600  # the last try falls on the give-up time
    waits = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert max(waits) <= 300 + 1  # capped (1 s: the loop's step)
    assert len(times) < 40  # capped exponential: ~12 tries an hour once at the cap, not 3600
    (dead,) = store.dead_letters()
    assert dead.last_error and "503" in dead.last_error
    assert dead.failing_since == 0.0 and dead.attempts == len(times) - 1


def test_the_backoff_is_capped_and_jittered_from_the_seed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    relay, _ = relay_with(Sender(), monkeypatch, base_delay=2, max_delay=300)
    waits = [relay.backoff(n) for n in range(2000)]  # days of tries do not overflow
    assert all(1 <= w <= 2 for w in waits[:1]) and all(150 <= w <= 300 for w in waits[10:])
    assert len(set(waits[10:])) > 100  # jittered: replicas do not retry in step
    again, _ = relay_with(Sender(), monkeypatch, base_delay=2, max_delay=300)
    assert [again.backoff(n) for n in range(2000)] == waits  # the seed replays it


def test_one_invoice_s_messages_to_a_vendor_go_out_in_order_after_a_backoff(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sender = Sender()
    relay, store = relay_with(sender, monkeypatch)
    store.enqueue([netsuite_message("retrying")], at=sender.now)
    run_relay(relay, sender, until=60)  # it fails and backs off
    # queued while the first waits, due at once: it must not overtake it
    store.enqueue([netsuite_message("recovered"), netsuite_message("other", "stripe:in_2")],
                  at=sender.now)
    sender.down = False
    run_relay(relay, sender, until=sender.now + 600)
    assert sender.sent.index("retrying") < sender.sent.index("recovered")
    assert sender.sent[0] == "other"  # another invoice did not wait
    assert store.outbox_depth() == 0 and store.dead_letters() == []


@pytest.mark.parametrize(("outbox", "says"), [
    ({"give_up_after_seconds": 0}, "outbox.give_up_after_seconds: Input should be greater than 0"),
    ({"max_delay": 7200}, "outbox.max_delay: Input should be less than or equal to 3600"),
    ({"base_delay": 600, "max_delay": 300}, "make base_delay the shorter"),
    ({"give_up_after_seconds": 60, "max_delay": 300}, "raise give_up_after_seconds"),
    ({"max_attempts": 0}, "outbox.max_attempts: Input should be greater than or equal to 1"),
])
def test_outbox_settings_are_checked_with_the_fix(outbox: dict[str, Any], says: str) -> None:
    data = {"merchant": "acme", "billing": "stripe", "outbox": outbox,
            "stripe": {"mids": [{"name": "primary", "api_key": "sk_test_1"}]}}
    with pytest.raises(SettingsError) as raised:
        settings_from_dict(data, "acme.yaml")
    assert says in str(raised.value), str(raised.value)


# -- a served relay: each destination its own slots, no rounds --------------------------------
class SlowSender:
    """Stands in for `send`: each destination takes its own time (virtual), and every send's
    start and end are recorded."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self.sends: dict[str, tuple[float, float]] = {}

    async def __call__(self, message: OutboxMessage, deployment: Any) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.sleep(self.seconds[message.destination])
        self.sends[message.dedupe_key] = (began, loop.time())


def served(sender: SlowSender, queued: list[tuple[float, list[OutboxMessage]]], seconds: float,
           monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[float, float]]:
    """Run a relay's `run()` for `seconds` of virtual time, queueing each batch of `queued` at
    its time; each send's start and end, from 0."""
    monkeypatch.setattr(relay_module, "send", sender)
    store = open_store("sqlite://")

    async def scenario() -> dict[str, tuple[float, float]]:
        loop = asyncio.get_running_loop()
        origin = loop.time()
        relay = OutboxRelay(store, deployment=None,  # type: ignore[arg-type]  # send replaced
                            settings=OutboxSettings(), metrics=Metrics("sync"),
                            now=lambda: loop.time() - origin, seed=3)
        task = None
        for at, messages in queued:
            await asyncio.sleep(at - (loop.time() - origin))
            store.enqueue(messages, at=at)
            task = task or asyncio.create_task(relay.run())
        await asyncio.sleep(seconds - (loop.time() - origin))
        assert task is not None
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return {k: (a - origin, b - origin) for k, (a, b) in sender.sends.items()}

    return run(scenario())


def test_a_stripe_write_back_does_not_wait_behind_an_erp_backlog(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 ERP write-backs of 5 s each (8 at once: 25 s of backlog), then one to Stripe
    messages = [OutboxMessage(destination="netsuite", kind="apply_payment", dedupe_key=f"ns{i}",
                              payload={"invoice_key": f"stripe:in_{i}"}) for i in range(40)]
    messages.append(OutboxMessage(destination="stripe", kind="invoice_paid_out_of_band",
                                  dedupe_key="stripe", payload={"invoice_key": "stripe:in_0"}))
    sends = served(SlowSender({"netsuite": 5.0, "stripe": 0.1}), [(0, messages)], 60,
                   monkeypatch)
    assert len(sends) == 41
    assert sends["stripe"][1] < 1.0  # sent at once, beside the ERP's first eight
    # the ERP's slots never wait for a round: 40 sends of 5 s, 8 at a time, end at 25 s
    assert max(end for key, (_, end) in sends.items() if key != "stripe") == pytest.approx(25.0)


def test_a_served_relay_sends_one_invoices_messages_in_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the second is queued while the first is under way and claimed at the next poll: it
    # waits for the first, then goes at once (not when the first one's claim runs out, 30 s on)
    sends = served(SlowSender({"netsuite": 5.0}), [(0, [netsuite_message("first")]),
                                                   (2.5, [netsuite_message("second")])],
                   32.5, monkeypatch)
    assert sends["first"] == pytest.approx((0.0, 5.0))
    assert sends["second"] == pytest.approx((5.0, 10.0))


# -- what a write-back costs the ERP ------------------------------------------------------------
def test_a_netsuite_status_write_back_naming_its_invoice_costs_one_request() -> None:
    """A declined-for-good renewal queues a status for NetSuite that names the ERP invoice: it is
    one PATCH of that invoice. It used to look the invoice up first (a SuiteQL query and a read),
    because the message names no customer, which a status does not need: three of the account's
    5 requests in flight where one does, and at 4 declines/s the ERP's slots were nearly full."""
    async def scenario() -> list[tuple[str, str]]:
        async with AcmeWorld(seed=SEED) as acme:
            await acme.failed_renewal("expired_card")  # not retried: its status is written back
            journal = acme.world.fakes["netsuite"].journal
            before = journal.total
            report = await acme.sync.relay.drain_once()
            assert report.sent >= 1 and not report.errors
            sent = [(w.destination, w.kind, w.status)
                    for w in acme.sync.store.writebacks(0, acme.world.clock.now())]
            assert ("netsuite", "recovery_status", "done") in sent
            return [(e["method"], e["path"]) for e in journal.entries() if e["seq"] > before]

    requests = run(scenario())
    writes = [r for r in requests if r[0] != "GET" and "suiteql" not in r[1]]
    assert writes == [("PATCH", "/services/rest/record/v1/invoice/501")]
    assert not [r for r in requests if r[0] == "GET" or "suiteql" in r[1]], requests
