"""Play a scenario on a stage, then judge it from the fakes' own records.

    result = await play(stage, scenario)       # a JSON-able dict: harness/report.py renders it

The run: seed every system, warm up, fire the failed renewals at the scenario's rate while the
timeline's steps (faults, kills, manual ERP payments, expiring tokens, schema drift) happen on
schedule, a quiet phase, then the sync service's reconciliation with repairs. Ground truth is
read from the fakes' control planes (tenant state, request and webhook journals), never from the
components: a component that lies about what it did cannot pass (`harness/invariants.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from components.connectors.netsuite import NetSuiteConnector
from components.recovery.declines import DeclineClass, classify
from harness import invariants
from harness.scenario import FaultStep, Scenario, ScenarioError, Step
from harness.seeding import (
    Customer,
    ProviderStates,
    alternate_cards_decline,
    renewal_fails,
    seed_topology,
)
from harness.stage import InProcessStage, Stage
from harness.topology import Topology

SETTLE_ROUNDS = 10  # outbox drains after the repairs, 30 s apart


@dataclass
class Planned:
    at: float
    customer: Customer
    code: str
    alternate_declines: bool


def plan_declines(topology: Topology, customers: dict[str, list[Customer]], scenario: Scenario,
                  seed: int) -> list[Planned]:
    """Which renewals fail, when, and how: reproducible from the seed."""
    rng = random.Random(f"{seed}:{scenario.name}:declines")
    pool = [c for name in sorted(customers) for c in customers[name]]
    rng.shuffle(pool)
    d = scenario.declines
    codes, weights = zip(*sorted(d.codes.items()), strict=True)
    return [Planned(at=i / d.rate_per_second, customer=c,
                    code=rng.choices(codes, weights)[0],
                    alternate_declines=rng.random() < d.alternate_declines)
            for i, c in enumerate(pool[:d.count])]


class Run:
    """One play of a scenario: what was done and when (for the report's timeline)."""

    def __init__(self, stage: Stage, scenario: Scenario,
                 say: Callable[[str], None] | None = None) -> None:
        self.stage, self.scenario, self.topology = stage, scenario, stage.topology
        self.states = ProviderStates(stage.http, stage.fakes)
        self.say = say or (lambda _: None)
        self.start = 0.0
        self.faults: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.fired: list[Planned] = []
        self.planned: list[Planned] = []
        self.manual_payments: dict[str, str] = {}   # invoice key → ERP payment external id
        # invoice keys the engine decided without answering a webhook (it found the event on
        # the billing system's list after being down past the redelivery), from the engines'
        # memory (the in-process exploration); a played run reads their decision logs instead
        self.caught_up: set[str] = set()
        self.renamed: list[dict[str, str]] = []
        self.forged: list[str] = []                 # invoice keys of forged failures
        self.customers: dict[str, list[Customer]] = {}
        self.traffic_end = 0.0

    def t(self) -> float:
        return round(self.stage.now() - self.start, 3)

    def event(self, kind: str, merchant: str | None = None, **extra: Any) -> None:
        self.events.append({"t": self.t(), "merchant": merchant, "kind": kind,
                            "latency_ms": None, "invoice": None, **extra})

    # -- the timeline -----------------------------------------------------------------------
    async def play(self, progress: Callable[[int, int], None] | None = None) -> None:
        seeded = await seed_topology(self.topology, self.stage.http, self.stage.fakes,
                                     self.stage.components, progress=progress)
        self.customers = seeded.customers
        await self.stage.sleep(self.scenario.warm_up)
        planned = self.planned = plan_declines(self.topology, seeded.customers,
                                               self.scenario, self.stage.seed)
        actions: list[tuple[float, int, Any]] = [(p.at, 1, p) for p in planned]
        actions += [(step.at, 0, step) for step in self.scenario.timeline]
        actions.sort(key=lambda a: (a[0], a[1]))
        self.start = self.stage.now()
        self.say(f"traffic: {len(planned)} failed renewals over "
                 f"{planned[-1].at if planned else 0:.0f} s, {len(self.scenario.timeline)} "
                 f"timeline steps")
        running: list[asyncio.Task[None]] = []
        for at, _, action in actions:
            wait = self.start + at - self.stage.now()
            if wait > 0:
                await self.stage.sleep(wait)
            if isinstance(action, Planned):
                running.append(asyncio.create_task(self.decline(action)))
            else:
                await self.step(action)
        self.traffic_end = self.t()
        # declines still in flight, or waiting for their funds to arrive, go on in the quiet
        self.say(f"quiet phase: {self.scenario.quiet:.0f} s")
        await self.stage.sleep(self.scenario.quiet)
        await asyncio.gather(*running)

    async def decline(self, p: Planned) -> None:
        m = self.topology.merchants[p.customer.merchant]
        c = p.customer
        if p.alternate_declines:
            await alternate_cards_decline(self.states, m, c)
        self.fired.append(p)
        await renewal_fails(self.states, m, c, p.code)
        later = self.scenario.declines.funds_arrive_after
        if later:
            await self.stage.sleep(later)
            for mid in m.gateway.mids:  # a new default card that charges (funds arrived)
                await self.states.set_up("stripe", "a customer with a card that succeeds",
                                         mid.api_key, {
                                             "customer_id": c.gateway[mid.name][0],
                                             "email": c.email, "name": c.company,
                                             "payment_method_id":
                                                 f"pm_{c.invoice[-12:]}{mid.name[:3]}Ok"})

    async def step(self, step: Step) -> None:
        merchants = list(self.topology.merchants)
        action = step.action
        if step.fault:
            await self.add_fault(step.fault, step.at, step.note)
        elif step.clear_faults and step.clear_faults in self.stage.fakes:
            await self.stage.http.delete(f"{self.stage.fakes[step.clear_faults]}/_sim/faults")
            for fault in self.faults:
                if fault["system"] == step.clear_faults and fault["end"] is None:
                    fault["end"] = step.at
            self.event("note", note=f"faults cleared on {step.clear_faults}")
        elif step.kill or step.restart:
            which = step.kill or step.restart
            assert which is not None
            for name in [which.merchant] if which.merchant else merchants:
                await (self.stage.kill if step.kill else self.stage.restart)(name,
                                                                             which.component)
                what = "killed (SIGKILL)" if step.kill else "restarted"
                self.event("kill" if step.kill else "restart", name,
                           note=f"{which.component} {what}")
        elif step.erp_payment:
            await self.erp_payments(step.erp_payment.count)
        elif step.expire_tokens:
            await self.expire_tokens(step.expire_tokens)
        elif step.rename_field:
            await self.rename_field(step)
        elif step.forged_webhooks:
            await self.forge_webhooks(step.forged_webhooks.count)
        self.say(f"  t={step.at:>5.0f}s {action}" + (f": {step.note}" if step.note else ""))

    async def add_fault(self, fault: FaultStep, at: float, note: str | None = None) -> None:
        if fault.system not in self.stage.fakes:
            self.event("note", note=f"no {fault.system} in this topology: fault skipped")
            return
        spec = fault.model_dump(exclude={"system", "merchant"}, exclude_none=True)
        tenants: list[str | None] = [None]
        if fault.merchant:
            tenants = list(self.topology.tenants(fault.merchant).get(fault.system, []))
        for tenant in tenants:
            body = dict(spec)
            if tenant:
                body["match"] = {**body.get("match", {}), "tenant": tenant}
            response = await self.stage.http.post(f"{self.stage.fakes[fault.system]}/_sim/faults",
                                                  json=body)
            response.raise_for_status()
        label = f"{fault.system}: {fault.kind}"
        if fault.status:
            label += f" {fault.status}"
        if fault.probability < 1:
            label += f" ({fault.probability:.0%})"
        if note:
            label = f"{fault.system}: {note}"
        self.faults.append({"label": label, "system": fault.system,
                            "start": at + (fault.window_start or 0),
                            "end": at + fault.window_end if fault.window_end else None})

    async def erp_payments(self, count: int) -> None:
        """A customer paid by wire this morning: AR applies it in NetSuite while the engine has
        a retry of the same invoice due (customers whose card declined on every MID)."""
        due = [p.customer for p in self.fired if p.alternate_declines
               and p.customer.erp_invoice and retried_later(p.code)
               and p.customer.invoice_key not in self.manual_payments]
        if not due:
            self.event("note", note="no invoice with an ERP and a retry due: no ERP payment")
        for c in due[:count]:
            settings = self.topology.component_settings(c.merchant, self.stage.fakes,
                                                        store="sqlite://")
            assert settings.netsuite is not None
            ns = settings.netsuite
            clerk = NetSuiteConnector(ns.account, consumer_key=ns.consumer_key,
                                      consumer_secret=ns.consumer_secret, token_id=ns.token_id,
                                      token_secret=ns.token_secret, base_url=ns.base_url,
                                      http=self.stage.http)
            external_id = f"WIRE-{c.erp_invoice}"
            await clerk.apply_payment(external_id=external_id, customer_id=c.erp_customer,
                                      invoice_id=c.erp_invoice, amount=c.amount / 100,
                                      memo="wire transfer received this morning")
            self.manual_payments[c.invoice_key] = external_id
            self.event("note", c.merchant, invoice=c.invoice_key,
                       note=f"manual ERP payment on {c.invoice} (wire transfer)")

    async def expire_tokens(self, system: str) -> None:
        """Every session the CRM issued is revoked (an admin reset, a password change)."""
        if system != "salesforce":  # NetSuite's token-based auth has no sessions to expire
            self.event("note", note=f"{system}: no sessions to expire")
            return
        for name in self.topology.merchants:
            for tenant in self.topology.tenants(name).get(system, []):
                base = f"{self.stage.fakes[system]}/_sim/tenants/{tenant}"
                state = (await self.stage.http.get(f"{base}/state")).json()
                data = state.get("data", {})
                for collection in [k for k in data if "session" in k or "token" in k]:
                    data[collection] = {}
                (await self.stage.http.post(f"{base}/restore", json=state)).raise_for_status()
                self.event("note", name, note=f"{system} sessions revoked")

    async def forge_webhooks(self, count: int) -> None:
        """Failure webhooks for renewals that never failed, without the billing system's
        signature or credentials, posted to each merchant's engine: what an attacker (or a
        test tool pointed at production) sends. The engine must not act on them."""
        # renewals that never fail in this run, not merely not yet: a forged failure for a
        # renewal that fails later would make that later, real charge look forged
        failing = {p.customer.invoice_key for p in self.planned}
        for name, m in self.topology.merchants.items():
            quiet = [c for c in reversed(self.customers.get(name, []))
                     if c.invoice_key not in failing][:count]
            for c in quiet:
                url, body, headers, auth = _forged(m.billing.system, c, self.stage.now())
                try:
                    await self.stage.http.post(
                        f"{self.stage.components[name].recovery}{url}", content=body,
                        headers=headers, auth=httpx.USE_CLIENT_DEFAULT if auth is None else auth)
                except Exception as exc:  # an engine that falls over is for the invariants
                    self.event("note", name, note=f"forged webhook: {exc!r}")
                self.forged.append(c.invoice_key)
            self.event("note", name, note=f"{len(quiet)} forged failure webhooks sent")

    async def rename_field(self, step: Step) -> None:
        """An admin renames a custom field in the CRM: the integration's writes to it fail."""
        r = step.rename_field
        assert r is not None
        for name, m in self.topology.merchants.items():
            if not m.crm or not m.crm.schema_file:
                continue
            path = self.topology.path(m.crm.schema_file)
            schema = yaml.safe_load(path.read_text())
            fields = ((schema.get("objects") or {}).get(r.object) or {}).get("fields") or {}
            if r.field not in fields:
                raise ScenarioError(f"{self.scenario.source}: rename_field: {r.object}."
                                    f"{r.field} is not a field of {path}; name one it has")
            fields[r.to] = fields.pop(r.field)
            tenant = self.topology.tenants(name)["salesforce"][0]
            response = await self.stage.http.put(
                f"{self.stage.fakes['salesforce']}/_sim/tenants/{tenant}",
                json={"schema": schema})
            if response.status_code >= 300:
                raise RuntimeError(f"renaming {r.object}.{r.field}: {response.text}")
            self.renamed.append({"merchant": name, "object": r.object, "field": r.field,
                                 "to": r.to})
            self.event("note", name, note=f"CRM field {r.object}.{r.field} renamed to {r.to}")


def _forged(billing: str, c: Customer, now: float) -> tuple[str, bytes, dict[str, str],
                                                          tuple[str, str] | None]:
    """A failure event for `c`'s renewal in the billing system's own format, unauthenticated."""
    if billing == "stripe":
        event = {"id": f"evt_forged_{c.invoice}", "object": "event", "created": int(now),
                 "type": "invoice.payment_failed", "data": {"object": {
                     "id": c.invoice, "object": "invoice", "customer": c.billing_customer,
                     "customer_email": c.email, "amount_due": c.amount,
                     "amount_remaining": c.amount, "currency": c.currency, "status": "open",
                     "attempt_count": 1, "subscription": c.subscription,
                     "collection_method": "charge_automatically", "payment_intent": None}}}
        signature = f"t={int(now)},v1={'0' * 64}"
        return ("/webhooks/stripe", json.dumps(event).encode(),
                {"content-type": "application/json", "stripe-signature": signature}, None)
    event = {"id": f"ev_forged_{c.invoice}", "event_type": "payment_failed",
             "occurred_at": int(now), "content": {
                 "invoice": {"id": c.invoice, "customer_id": c.billing_customer,
                             "amount_due": c.amount, "currency_code": c.currency.upper(),
                             "status": "payment_due", "subscription_id": c.subscription},
                 "transaction": {"error_code": "insufficient_funds"},
                 "customer": {"id": c.billing_customer, "email": c.email}}}
    return ("/webhooks/chargebee", json.dumps(event).encode(),
            {"content-type": "application/json"}, ("intruder", "guessed-password"))


def retried_later(code: str) -> bool:
    """A decline the engine's policy retries on a later day (a soft one)."""
    return classify(code).decline_class == DeclineClass.SOFT


async def reconcile_all(stage: Stage, topology: Topology,
                        since: float | None = None) -> dict[str, dict[str, Any]]:
    """The sync's reconciliation with repairs, the outbox drained, then a final pass (over
    its default window, or from `since`)."""
    out: dict[str, dict[str, Any]] = {}
    window = {} if since is None else {"since": since}
    for name in topology.merchants:
        sync = stage.components[name].sync
        first = await _json(stage, "POST", f"{sync}/v1/reconcile", {"repair": True, **window})
        moved = bool(first.get("repairs_queued"))
        for _ in range(SETTLE_ROUNDS):
            drained = await _json(stage, "POST", f"{sync}/v1/outbox/drain")
            moved = moved or any(drained.get(k) for k in ("sent", "retried", "dead", "error"))
            if not drained.get("depth"):
                break
            # what is left waits for its backoff: minutes of virtual time, seconds of real
            await stage.sleep(30 if stage.mode == "in-process" else 3)
            moved = True
        if moved or stage.mode != "in-process" or "error" in first:
            final = await _json(stage, "POST", f"{sync}/v1/reconcile",
                                {"repair": False, **window})
        else:  # nothing queued, sent or waited for, and no time passed: the same books
            final = {**first, "repairs_queued": 0}
        answer: Any = await _json(stage, "GET", f"{sync}/v1/dead-letters")
        dead = answer if isinstance(answer, list) else [answer]
        out[name] = {"first": first, "final": final, "dead_letters": dead}
    return out


async def _json(stage: Stage, method: str, url: str, body: Any = None) -> Any:
    """A component's answer; a failure becomes an answer naming it (the run goes on)."""
    try:
        response = await stage.http.request(method, url, json=body)
    except Exception as exc:  # a crashed component is a finding, not a harness error
        return {"clean": False, "error": f"{method} {url}: {exc!r}"}
    if response.status_code >= 300:
        return {"clean": False, "error": f"{method} {url}: {response.status_code} "
                                         f"{response.text[:300]}"}
    return response.json()


def _shown(path: str) -> str:
    """A file as the report shows it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


async def play(stage: Stage, scenario: Scenario, *, say: Callable[[str], None] | None = None,
               progress: Callable[[int, int], None] | None = None,
               replay: str = "") -> dict[str, Any]:
    """Play `scenario` on `stage` and judge it; the result dict the report renders."""
    wall = time.perf_counter()
    run = Run(stage, scenario, say)
    await run.play(progress)
    reconciliation = await reconcile_all(stage, stage.topology)
    truth = await invariants.gather(stage, invariants.fired_keys(run))
    checks, figures = invariants.judge(run, truth, reconciliation)
    wanted = [c for c in checks if c["id"] in scenario.invariants]
    decisions = figures.pop("decision_events")
    return {
        "scenario": {"name": scenario.name, "description": scenario.description,
                     "file": _shown(scenario.source)},
        "topology": {"name": stage.topology.name, "file": _shown(stage.topology.source),
                     "merchants": list(stage.topology.merchants)},
        "seed": stage.seed, "mode": stage.mode, "passed": all(c["passed"] for c in wanted),
        "replay": replay, "simulated_seconds": round(run.t(), 3),
        "wall_seconds": round(time.perf_counter() - wall, 3), "sla_ms": stage.topology.sla_ms,
        **figures, "invariants": wanted,
        "timeline": {"faults": [{**f, "end": f["end"] if f["end"] is not None else run.t()}
                                for f in run.faults],
                     "events": sorted(run.events + decisions, key=lambda e: e["t"]),
                     "traffic_end": run.traffic_end},
    }


def _components_log(folder: Path) -> None:
    """In-process, the components' logs go to a file in the run folder, not the terminal."""
    folder.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("components")
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            logger.removeHandler(handler)
            handler.close()
    logger.addHandler(logging.FileHandler(folder / "components.log", mode="w"))
    logger.propagate = False


# -- one command ----------------------------------------------------------------------------
def replay_command(scenario: str, topology: str, seed: int, *, processes: bool = False,
                   without: list[str] | None = None, mode: str | None = None,
                   declines: int | None = None, quiet: float | None = None,
                   customers: int | None = None) -> str:
    """The one command that plays this run again (in-process: exactly)."""
    parts = ["landscape", "run", scenario, "--topology", topology, "--seed", str(seed)]
    parts += ["--processes"] if processes else []
    for name in without or []:
        parts += ["--without", name]
    for option, value in (("--mode", mode), ("--declines", declines), ("--quiet", quiet),
                          ("--customers", customers)):
        if value is not None:
            parts += [option, f"{value:g}" if isinstance(value, float) else str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def run_scenario(scenario_ref: str, *, topology_ref: str | None = None,
                 seed: int | None = None, processes: bool = False,
                 without: list[str] | None = None, mode: str | None = None,
                 declines: int | None = None, quiet: float | None = None,
                 customers: int | None = None, run_dir: Path | None = None,
                 say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Load, play and judge one scenario (in-process on virtual time, or as processes).
    `declines` and `quiet` override the scenario's; `customers` the topology's data volume
    per merchant; `mode` the components' (cached, naive)."""
    from harness.scenario import load_scenario
    from harness.topology import TopologyError, load_topology
    from simulators.core.virtual_time import run as run_virtual

    scenario = load_scenario(scenario_ref)
    if declines is not None:
        scenario.declines.count = declines
    if quiet is not None:
        scenario.quiet = quiet
    topology = load_topology(topology_ref or scenario.topology)
    if without:
        topology = topology.without(without)
    for m in topology.merchants.values():
        if mode:
            m.components.settings["mode"] = mode
        if customers:
            m.data.customers = customers
    seed = topology.seed if seed is None else seed
    replay = replay_command(scenario_ref, topology_ref or scenario.topology, seed,
                            processes=processes, without=without, mode=mode,
                            declines=declines, quiet=quiet, customers=customers)
    if not processes:
        custom = [f"merchants.{name}.components.{part}.command"
                  for name, m in topology.merchants.items()
                  for part in ("recovery", "sync") if getattr(m.components, part).command]
        if custom:
            raise TopologyError(f"{topology.source}: {', '.join(custom)} is set: a team's own "
                                f"service runs as a process; add --processes")
        _components_log(run_dir or Path("landscape-run") / scenario.name)

        async def in_process() -> dict[str, Any]:
            async with InProcessStage(topology, seed) as stage:
                return await play(stage, scenario, say=say, replay=replay)
        return run_virtual(in_process())

    from harness.launcher import ProcessStage, RunningLandscape

    folder = run_dir or Path("landscape-run") / f"{scenario.name}-processes"
    with RunningLandscape(topology, folder, seed=seed) as landscape:
        async def on_processes() -> dict[str, Any]:
            async with ProcessStage(landscape) as stage:
                return await play(stage, scenario, say=say, replay=replay)
        return asyncio.run(on_processes())
