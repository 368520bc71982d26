"""The landscape an exploration plays on: built once per process, reset between scenarios.

A Hypothesis state machine plays thousands of short scenarios, so nothing that costs a build is
done per scenario: the topology, its fakes, schemas and apps are built once (`World`), the
customers are seeded once and kept as a snapshot of the fakes' tenants, and each scenario starts
from `reset(seed)`: every fake reset on the scenario's seed and the snapshot restored, each
merchant's store empty and its services new. Virtual time does not poll: `advance` jumps from
one due instant (a fake's scheduled work or webhook, a component's retry or outbox message) to
the next and runs the components' due work there, as their loops would.

Ground truth is what the control planes serve (`public_state`, the journals), read from the
fakes in this process without an HTTP round trip, and judged by `harness/invariants.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar, cast

from components.connectors.errors import UnknownOutcome, VendorError
from components.domain import AttemptStatus
from components.store.sqlite import SQLiteStore
from harness import invariants
from harness.scenario import Scenario
from harness.scenario_run import Planned, Run, reconcile_all
from harness.seeding import (
    Customer,
    ProviderStates,
    alternate_cards_decline,
    renewal_fails,
    seed_topology,
)
from harness.stage import InProcessStage
from harness.topology import TOPOLOGIES, Topology, load_topology
from simulators.core.control import public_data
from simulators.core.virtual_time import VirtualTimeLoop
from simulators.landscape import derive_seed

T = TypeVar("T")
DAY = 86400.0
QUIET_DAYS = 16        # past the policy's 14-day grace period and Stripe's 3 days of redelivery
SETTLE = 60.0          # seconds after seeding for the ERP's notifications to reach the cache
MIN_STEP = 1.0         # a due instant that cannot be served yet (a killed service) is retried
# the shortest wait: asyncio runs a timer due within its clock resolution (1 µs on the virtual
# loop) at once, without moving time, so a due instant a rounding error ahead (the fakes' epoch
# clock and the loop's time differ in their last bits once the loop has run for years of
# virtual time) would be waited for forever
MIN_WAIT = 1e-3


@functools.cache
def topology_for(ref: str, customers: int, without: tuple[str, ...] = (),
                 merchants: int | None = None, dunning: bool = False) -> Topology:
    """A shipped topology (by name or path) with `customers` customers per merchant (only its
    first `merchants` merchants; `dunning`: the billing system's own retries on, the engine
    standing back while they run)."""
    path = Path(ref)
    if not path.exists():
        path = TOPOLOGIES / f"{ref}.yaml"
    topology = load_topology(path)
    if without:
        topology = topology.without(list(without))
    if merchants:
        topology.merchants = dict(list(topology.merchants.items())[:merchants])
    for m in topology.merchants.values():
        m.data.customers = customers
        if dunning:
            m.billing.retries = "billing"
    return topology


class World:
    """One topology's landscape on one virtual-time loop, reused scenario after scenario."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.loop = VirtualTimeLoop()
        self.stage = InProcessStage(topology, topology.seed, loops=False)
        self.states = ProviderStates(self.stage.http, self.stage.fakes)
        self.killed: set[tuple[str, str]] = set()
        self.caught_up: dict[str, float] = {}  # merchant → its engine's last catch-up
        self.run(self.stage.__aenter__())
        seeded = self.run(seed_topology(topology, self.stage.http, self.stage.fakes,
                                        self.stage.components))
        self.run(self.advance(SETTLE))  # the ERP's notifications reach the sync's cache
        self.customers: dict[str, list[Customer]] = seeded.customers
        # every scenario starts here: the fakes' tenants, the components' stores, the time
        self.seeded = {vendor: [t.snapshot() for t in sim.tenants.all()]
                       for vendor, sim in self.stage.world.fakes.items()}
        self.seeded_stores: dict[str, SQLiteStore] = {
            n: cast(SQLiteStore, s).copy() for n, s in self.stage.stores.items()}
        self.seeded_at = self.now()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        """Stop the landscape, close its stores and its loop."""
        self.run(self._close())
        self.loop.close()

    async def _close(self) -> None:
        for sim in self.stage.world.fakes.values():
            await sim.stop_background()
        await self._cancel_strays()
        await self.stage.__aexit__(None, None, None)
        for store in [*self.stage.stores.values(), *self.seeded_stores.values()]:
            store.close()

    # -- a scenario's start ---------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        """Just seeded, on `seed`: the fakes' random streams and the components' from it."""
        self.run(self._reset(seed))

    async def _reset(self, seed: int) -> None:
        fakes = self.stage.world.fakes
        for sim in fakes.values():
            await sim.stop_background()
        await self._cancel_strays()
        self.killed.clear()
        self.caught_up.clear()
        await self.stage.reset(derive_seed(seed, "explore"),
                               {n: s.copy() for n, s in self.seeded_stores.items()})
        for vendor, snapshots in self.seeded.items():
            sim = fakes[vendor]
            for snapshot in snapshots:
                tenant = sim.tenants.find(snapshot["tenant"])
                assert tenant is not None, snapshot["tenant"]
                tenant.restore(snapshot)
            sim.state_replaced()
        self.stage.world.clock.set(self.seeded_at)
        for sim in fakes.values():
            sim.start_background()

    async def _cancel_strays(self) -> None:
        """Work a scenario left running (a hung request, a delivery in flight) ends with it."""
        strays = list(self._in_flight())
        for task in strays:
            task.cancel()
        for task in strays:
            with contextlib.suppress(BaseException):
                await task

    # -- what happens ---------------------------------------------------------------------------
    async def renewal_fails(self, c: Customer, code: str, alternate_declines: bool) -> None:
        """The renewal is charged and declines (on every MID when `alternate_declines`)."""
        m = self.topology.merchants[c.merchant]
        if alternate_declines:
            await alternate_cards_decline(self.states, m, c)
        await renewal_fails(self.states, m, c, code)

    async def funds_arrive(self, c: Customer) -> None:
        """A new default card that charges, on every MID (the customer topped up)."""
        for mid in self.topology.merchants[c.merchant].gateway.mids:
            card = f"pm_{c.invoice[-12:]}{mid.name[:3]}Ok"
            await self.states.set_up("stripe", "a customer with a card that succeeds",
                                     mid.api_key, {
                                         "customer_id": c.gateway[mid.name][0],
                                         "email": c.email, "name": c.company,
                                         "payment_method_id": card})

    async def pays_by_hand(self, c: Customer) -> str | None:
        """The customer pays the renewal by bank transfer and the merchant records it in the
        billing system (the engine takes no part); None when the invoice is no longer open
        (the clerk looks first) or the billing system refuses now (a fault)."""
        # recorded a minute later, once the failure's webhook and the engine's decision have
        # landed: a transfer recorded in the same instant (before the webhook even arrived, or
        # while the engine is mid-decision, having read the invoice open a second before) is a
        # race no engine can see, not the stale read this rule is here to catch
        await self.advance(SETTLE)
        vendors = self.stage.merchants[c.merchant].sync.deployment.vendors
        reference = f"WIRE-{c.invoice}"
        try:
            if c.billing == "chargebee":
                assert vendors.chargebee is not None
                invoice = await vendors.chargebee.get_invoice(c.invoice)
                if invoice.get("status") not in ("payment_due", "not_paid"):
                    return None
                await vendors.chargebee.record_payment(
                    c.invoice, amount=int(invoice["amount_due"]), payment_method="bank_transfer",
                    reference_number=reference, idempotency_key=reference)
            else:
                invoice = await vendors.primary.get_invoice(c.invoice)
                if invoice.get("status") != "open":
                    return None
                await vendors.primary.pay_invoice_out_of_band(c.invoice,
                                                              idempotency_key=reference)
        except (VendorError, UnknownOutcome):
            return None
        return reference

    async def fault(self, vendor: str, spec: dict[str, Any]) -> None:
        response = await self.stage.http.post(f"{self.stage.fakes[vendor]}/_sim/faults",
                                              json=spec)
        response.raise_for_status()

    async def clear_faults(self, vendor: str) -> None:
        (await self.stage.http.delete(f"{self.stage.fakes[vendor]}/_sim/faults")
         ).raise_for_status()

    async def kill(self, merchant: str, component: str) -> None:
        await self.stage.kill(merchant, component)
        self.killed.add((merchant, component))

    async def restart(self, merchant: str, component: str) -> None:
        await self.stage.restart(merchant, component)
        self.killed.discard((merchant, component))
        if component == "recovery":  # a served engine catches up as it starts
            self.caught_up[merchant] = self.now()
            service = self.stage.merchants[merchant].recovery
            if service.settings.catch_up.enabled:
                with contextlib.suppress(Exception):
                    await service.catch_up()

    # -- time -----------------------------------------------------------------------------------
    def now(self) -> float:
        return self.stage.now()

    async def tick(self) -> None:
        """What the components' loops would do now: the engine's catch-up when its interval
        has passed (on the instants time stops at: it sets no instant of its own, or 16 quiet
        days would stop every 5 minutes), due retries, then the outbox."""
        now = self.now()
        for name, m in self.stage.merchants.items():
            if ((name, "recovery") not in self.killed and m.recovery.settings.catch_up.enabled
                    and now >= self.caught_up.get(name, -math.inf)
                    + m.recovery.settings.catch_up.interval_seconds):
                self.caught_up[name] = now
                with contextlib.suppress(Exception):  # a served loop logs it and goes on
                    await m.recovery.catch_up()
            due = self.stage.stores[name].next_due()
            if due is None or due > now:
                continue  # nothing of this merchant's is due: the loops would find nothing
            if (name, "recovery") not in self.killed:
                with contextlib.suppress(Exception):  # a served loop logs it and goes on
                    await m.recovery.engine.run_due_retries()
            if (name, "sync") not in self.killed:
                with contextlib.suppress(Exception):
                    await m.sync.relay.drain_once()

    def next_due(self) -> float | None:
        due = [t for t in (sim.next_due() for sim in self.stage.world.fakes.values())
               if t is not None]
        # a merchant with a crashed service has work nobody can serve until the restart (a
        # step of its own, after which the next tick serves it): waiting for it would spin
        down = {merchant for merchant, _ in self.killed}
        due += [t for t in (s.next_due() for name, s in self.stage.stores.items()
                            if name not in down) if t is not None]
        return min(due) if due else None

    async def advance(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass, stopping at each due instant on the way and
        whenever work in flight (a delivery, a handler, a hung request) finishes."""
        target = self.now() + seconds
        while True:
            for _ in range(3):  # what fell due at this instant starts before we look
                await asyncio.sleep(0)
            await self.tick()
            now = self.now()
            due = self.next_due()
            until = target if due is None else min(due, target)
            busy = self._in_flight()
            if not busy and until >= target:
                await asyncio.sleep(max(0.0, target - now))
                return
            wait = max(until - now, MIN_WAIT) if until > now else MIN_STEP
            if busy:
                await asyncio.wait(busy, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            else:
                await asyncio.sleep(wait)

    def _in_flight(self) -> set[asyncio.Task[Any]]:
        idle = {sim._background for sim in self.stage.world.fakes.values()}
        current = asyncio.current_task(self.loop) if self.loop.is_running() else None
        return {t for t in asyncio.all_tasks(self.loop) if t is not current and t not in idle}

    async def quiet(self) -> dict[str, dict[str, Any]]:
        """Faults cleared, crashed services back, time until the retries and redeliveries are
        over; then the sync's reconciliation with repairs (as `landscape run` ends)."""
        await self.advance(SETTLE)  # work in flight at the last step meets its faults first
        for vendor, sim in self.stage.world.fakes.items():
            if sim.faults.faults:
                await self.clear_faults(vendor)
        for merchant, component in sorted(self.killed):
            await self.restart(merchant, component)
        await self.advance(QUIET_DAYS * DAY)
        # over the whole scenario, as the nightly reconciliations during it would have been
        return await reconcile_all(self.stage, self.topology, since=self.seeded_at - DAY)

    def activity(self) -> tuple[float, int]:
        """The time and the count of every request and delivery the fakes have journaled:
        unchanged, nothing the invariants read can have changed (the fakes' own work waits for
        the clock, the engine's ledger for a request)."""
        fakes = self.stage.world.fakes.values()
        return self.now(), sum(sim.journal.total + sim.webhooks.journal.total for sim in fakes)

    # -- the truth ------------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        """What `invariants.gather` reads over the control planes, read in-process."""
        fakes = self.stage.world.fakes
        out: dict[str, Any] = {
            "tenants": {}, "requests": {v: sim.journal.entries() for v, sim in fakes.items()},
            "webhooks": {v: sim.webhooks.journal.entries() for v, sim in fakes.items()}}
        for name in self.topology.merchants:
            for vendor, tenant_ids in self.topology.tenants(name).items():
                for tenant_id in tenant_ids:
                    tenant = fakes[vendor].tenants.find(tenant_id)
                    out["tenants"][vendor, tenant_id] = public_data(tenant) if tenant else {}
        return out

    def judge(self, fired: list[Planned],
              reconciliation: dict[str, dict[str, Any]] | None = None,
              by_hand: dict[str, str] | None = None) -> dict[str, list[str]]:
        """Each invariant's violations (`invariants.judge`), with the ledger's own check;
        `by_hand`: invoice key → the reference of a payment the customer made by hand."""
        run = Run(self.stage, SCENARIO)
        run.customers, run.fired = self.customers, fired
        run.manual_payments = dict(by_hand or {})
        # the engines' decision logs, read in place (what `invariants.gather` reads over HTTP)
        run.caught_up = {p.customer.invoice_key for p in fired if any(
            d.status != "error"
            for d in self.stage.stores[p.customer.merchant].decisions(p.customer.invoice_key))}
        checks, _ = invariants.judge(run, self.truth(), reconciliation or {})
        found = {c["id"]: c["violations"] for c in checks}
        found["ledger_agrees_with_gateway"] = self.ledger_disagreements(
            fired, settled=reconciliation is not None)
        found["one_retry_owner"] = self.two_retry_owners(fired)
        return found

    def two_retry_owners(self, fired: list[Planned]) -> list[str]:
        """An engine charge on an invoice whose billing dunning is still running: two retry
        owners hitting one card (Chargebee's dunning owns an invoice until it ends)."""
        out = []
        fakes = self.stage.world.fakes
        for p in fired:
            c, m = p.customer, self.topology.merchants[p.customer.merchant]
            if m.billing.system != "chargebee" or m.billing.retries != "billing":
                continue
            site = fakes["chargebee"].tenants.find(str(m.billing.site))
            invoices = (site.data.get("invoices") or site.data.get("invoice") or {}) if site \
                else {}
            invoice = invoices.get(c.invoice) or {}
            # in progress, or ended by a payment while it ran (the engine's, recorded): an
            # engine charge then was made while the dunning owned the invoice
            if invoice.get("dunning_status") not in ("in_progress", "success"):
                continue
            for api_key in self.topology.tenants(c.merchant)["stripe"]:
                tenant = fakes["stripe"].tenants.find(api_key)
                for pi in ((tenant.data.get("payment_intent") or {}) if tenant else {}).values():
                    if (pi.get("metadata") or {}).get("invoice_key") == c.invoice_key:
                        out.append(f"{c.merchant} {c.invoice}: the engine charged {pi['id']} "
                                   f"while Chargebee's dunning owns the invoice")
        return out

    def ledger_disagreements(self, fired: list[Planned], *, settled: bool) -> list[str]:
        """The engine's attempts ledger against the gateway's PaymentIntents: a charge the
        ledger calls succeeded exists and succeeded; a succeeded charge the engine made is in
        the ledger, as succeeded once the quiet phase resolved every unknown outcome."""
        out = []
        fakes = self.stage.world.fakes
        for name in self.topology.merchants:
            keys = [p.customer.invoice_key for p in fired if p.customer.merchant == name]
            ledger = {a.idempotency_key: a for k in keys
                      for a in self.stage.stores[name].attempts(k)}
            intents: dict[str, dict[str, Any]] = {}
            for api_key in self.topology.tenants(name)["stripe"]:
                tenant = fakes["stripe"].tenants.find(api_key)
                intents.update((tenant.data.get("payment_intent") or {}) if tenant else {})
            for a in ledger.values():
                if a.status == AttemptStatus.SUCCEEDED:
                    pi = intents.get(a.charge_id or "")
                    if pi is None or pi.get("status") != "succeeded":
                        out.append(f"{name} {a.idempotency_key}: the ledger says succeeded "
                                   f"({a.charge_id}), the gateway says "
                                   f"{(pi or {}).get('status', 'no such charge')}")
            allowed = ({AttemptStatus.SUCCEEDED} if settled else
                       {AttemptStatus.SUCCEEDED, AttemptStatus.UNKNOWN, AttemptStatus.PENDING})
            for pi in intents.values():
                key = (pi.get("metadata") or {}).get("idempotency_key")
                if pi.get("status") != "succeeded" or not key:
                    continue
                a = ledger.get(key)
                if a is None or a.status not in allowed or (
                        a.status == AttemptStatus.SUCCEEDED and a.charge_id != pi["id"]):
                    out.append(f"{name} {key}: the gateway charged {pi['id']}, the ledger has "
                               f"{a.status.value + ' ' + str(a.charge_id) if a else 'nothing'}")
        return out


SCENARIO = Scenario(name="explore", invariants=[])


_WORLDS: dict[tuple[Any, ...], World] = {}


def world(ref: str, customers: int, without: tuple[str, ...] = (),
          merchants: int | None = None, dunning: bool = False) -> World:
    """The process's world for a topology (built on first use, kept until `close_worlds`)."""
    key = (ref, customers, without, merchants, dunning)
    if key not in _WORLDS:
        _WORLDS[key] = World(topology_for(ref, customers, without, merchants, dunning))
    return _WORLDS[key]


def close_worlds() -> None:
    """Close every world this process built; the next `world()` builds afresh. A long profile
    plays each chunk on a fresh world, as its replay command does: virtual time accumulated
    by earlier chunks would otherwise change the last bits of every timestamp, and with them
    what the chunk plays."""
    while _WORLDS:
        _, w = _WORLDS.popitem()
        w.close()
