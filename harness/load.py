"""`landscape load`: a scenario's decline traffic at a target rate through Locust, gated on the
SLA and the invariants.

    result = run_load("decline-storm", rate=5, duration=60)   # the dict report.py renders

The run: the topology starts as processes on 127.0.0.1 (harness/launcher.py) with as many
customers as the run has arrivals; the customers whose decline comes as a checkout-time
intercept get their failed renewal in Stripe first (the webhook endpoint off meanwhile, so only
the intercept reports it). The arrivals (when, which customer, intercept or webhook-driven,
which decline code) are planned from the seed and written to plan.json; Locust sends them open
loop (loadtests/locustfile.py) while the scenario's timeline (faults, kills) plays; a quiet
phase; the sync's reconciliation; the invariants over the fakes' records
(harness/invariants.py). The gate: p99 decision latency under the topology's SLA from the
engines' own histograms (harness/load_metrics.py), every arrival sent and answered, and every
invariant held.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from harness import invariants, load_metrics, load_writebacks
from harness.launcher import ROOT, ProcessStage, RunningLandscape, free_ports
from harness.load_judge import judge_load
from harness.load_profiles import Profile, profile
from harness.scenario import Scenario, ScenarioError, load_scenario
from harness.scenario_run import Planned, Run, reconcile_all
from harness.seeding import Customer, ProviderStates, plan, renewal_fails, seed_topology
from harness.topology import Topology, load_topology

LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
LOAD_SCENARIOS = ROOT / "loadtests" / "scenarios"
DRAIN_S = 30.0       # after the last arrival, how long answers are waited for
TIMEOUT_S = 30.0     # one request's limit
WORKER_WAIT_S = 30   # the master waits this long for its workers
REMOTE_WAIT_S = 300  # … and this long when some run on other machines
QUIET_S = 120.0      # the most the quiet phase waits for the outboxes to empty
IDLE_S = 2.0         # before the load, each process's idle CPU is measured over this long
SETTLE_S = 300.0     # the most the seeding's webhooks and notifications are waited for


class LoadError(Exception):
    """The load run could not be carried out; the message names what and where to look."""


def resolve_scenario(ref: str) -> Scenario:
    """A file, a load scenario of loadtests/scenarios/, or a shipped scenario's name."""
    own = LOAD_SCENARIOS / f"{ref}.yaml"
    if Path(ref).exists() or own.exists():
        return load_scenario(ref if Path(ref).exists() else own)
    try:
        return load_scenario(ref)
    except ScenarioError as exc:
        if "no such scenario" not in str(exc):
            raise
        names = ", ".join(sorted(p.stem for p in LOAD_SCENARIOS.glob("*.yaml")))
        raise ScenarioError(f"{exc}; or a load scenario of loadtests/scenarios/: {names}") \
            from None


def plan_arrivals(topology: Topology, scenario: Scenario, prof: Profile, seed: int,
                  intercepts: float) -> list[tuple[float, str, Customer, str]]:
    """(at, kind, customer, decline code) of every arrival, from the seed; sets each
    merchant's data volume to the customers it needs."""
    times = prof.arrivals()
    weights = {n: m.data.customers for n, m in topology.merchants.items()}
    total = sum(weights.values())
    rng = random.Random(f"{seed}:{scenario.name}:load")
    # which merchant each arrival belongs to, in proportion to the topology's data volumes
    owners = [n for n in weights for _ in range(max(1, math.ceil(len(times) * weights[n]
                                                                    / total)))]
    rng.shuffle(owners)
    owners = owners[:len(times)]
    for name, m in topology.merchants.items():
        m.data.customers = max(1, owners.count(name))
    pools = {name: iter(plan(topology, name)) for name in topology.merchants}
    codes, code_weights = zip(*sorted(scenario.declines.codes.items()), strict=True)
    out = []
    for at, owner in zip(times, owners, strict=True):
        stripe_billed = topology.merchants[owner].billing.system == "stripe"
        kind = "intercept" if stripe_billed and rng.random() < intercepts else "renewal"
        out.append((at, kind, next(pools[owner]), rng.choices(codes, code_weights)[0]))
    return out


def _arrival(landscape: RunningLandscape, at: float, kind: str, c: Customer,
             code: str) -> dict[str, Any]:
    m = landscape.topology.merchants[c.merchant]
    if kind == "intercept":
        return {"at": at, "kind": kind, "merchant": c.merchant,
                "url": f"{landscape.components[c.merchant].recovery}/v1/intercepts",
                "json": {"request_id": f"load-{c.invoice}", "invoice_id": c.invoice,
                         "customer_id": c.billing_customer, "amount": c.amount,
                         "currency": c.currency, "decline_code": code,
                         "customer_email": c.email, "subscription_id": c.subscription}}
    if m.billing.system == "stripe":
        primary = m.gateway.mids[0]
        params = {"customer_id": c.gateway[primary.name][0], "email": c.email,
                  "name": c.company, "payment_method_id": f"pm_{c.invoice[3:]}Dec",
                  "decline_code": code, "invoice_id": c.invoice,
                  "subscription_id": c.subscription, "amount": c.amount,
                  "currency": c.currency}
        body = {"state": "a subscription with an open invoice whose payment failed",
                "tenant": primary.api_key, "params": params}
        return {"at": at, "kind": kind, "merchant": c.merchant,
                "url": f"{landscape.fakes['stripe']}/_sim/states", "json": body}
    body = {"state": "a subscription in dunning", "tenant": str(m.billing.site), "params": {
        "customer_id": c.billing_customer, "email": c.email, "first_name": c.first_name,
        "last_name": c.last_name, "payment_source_id": f"pm_{c.invoice}_declines",
        "subscription_id": c.subscription, "invoice_id": c.invoice, "amount": c.amount,
        "currency": c.currency.upper()}}
    return {"at": at, "kind": kind, "merchant": c.merchant,
            "url": f"{landscape.fakes['chargebee']}/_sim/states", "json": body}


async def _prepare(landscape: RunningLandscape,
                   planned: list[tuple[float, str, Customer, str]]) -> dict[str, list[Customer]]:
    """Seed every customer; the intercepted ones' renewals fail in Stripe with the endpoint
    off, so the engine hears of them only through the intercept."""
    topology = landscape.topology
    async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
        seeded = await seed_topology(topology, http, landscape.fakes, landscape.components)
        states = ProviderStates(http, landscape.fakes)
        gate = asyncio.Semaphore(8)

        async def fail(c: Customer, code: str) -> None:
            async with gate:
                await renewal_fails(states, topology.merchants[c.merchant], c, code)

        for name, m in topology.merchants.items():
            mine = [(c, code) for _, kind, c, code in planned
                    if kind == "intercept" and c.merchant == name]
            if not mine:
                continue
            key = m.gateway.mids[0].api_key
            await _endpoints(http, landscape.fakes["stripe"], key, disabled=True)
            try:
                await asyncio.gather(*(fail(c, code) for c, code in mine))
            finally:
                await _endpoints(http, landscape.fakes["stripe"], key, disabled=False)
    return seeded.customers


async def _settled(http: httpx.AsyncClient, fakes: dict[str, str],
                   limit: float = SETTLE_S) -> dict[str, int]:
    """Wait until every fake has sent what the seeding made due and had it answered: NetSuite's
    change notifications fill each merchant's ERP cache, so the first decline finds its invoice
    there, as in a landscape that has been running (a 12/s load began while acme's cache was
    still filling, and a third of its decisions had no ERP context: no paid-check, and each
    write-back looked its invoice up first). Returns what is still unsettled at `limit`, by
    vendor (empty: settled)."""
    began = time.monotonic()
    while True:
        answers = await asyncio.gather(*(http.get(f"{url}/_sim/health") for url in fakes.values()))
        left = {vendor: n for vendor, a in zip(fakes, answers, strict=True)
                if (n := a.json().get("webhooks_unsettled", 0))}
        if not left or time.monotonic() - began >= limit:
            return left
        await asyncio.sleep(0.25)


async def _endpoints(http: httpx.AsyncClient, stripe: str, key: str, *, disabled: bool) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    listed = await http.get(f"{stripe}/v1/webhook_endpoints", headers=auth)
    listed.raise_for_status()
    for endpoint in listed.json()["data"]:
        answer = await http.post(f"{stripe}/v1/webhook_endpoints/{endpoint['id']}", headers=auth,
                                 data={"disabled": "true" if disabled else "false"})
        answer.raise_for_status()


async def _scrape(http: httpx.AsyncClient, landscape: RunningLandscape) -> load_metrics.Buckets:
    parts = []
    for name, urls in landscape.components.items():
        try:
            response = await http.get(f"{urls.recovery}/metrics")
            parts.append(load_metrics.parse_histogram(response.text))
        except httpx.HTTPError as exc:  # a killed engine: its decisions are lost with it
            raise LoadError(f"{name} recovery: GET {urls.recovery}/metrics failed ({exc!r}); "
                            f"its log: {landscape.service(name, 'recovery').log}") from None
    return load_metrics.merge(*parts)


def locust_commands(folder: Path, workers: int, web: bool, port: int, web_port: int,
                    remote: int = 0) -> list[list[str]]:
    """The Locust master (or the one standalone process) first, then its workers here (it
    expects `remote` more from other machines)."""
    main = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--json-file",
            str(folder / "locust"), "--csv", str(folder / "locust"), "--only-summary",
            "--stop-timeout", "5", "-L", "WARNING", "--exit-code-on-error", "0"]
    main += (["--web-host", "127.0.0.1", "--web-port", str(web_port), "--autostart",
              "--autoquit", "30"] if web else ["--headless"])
    if not workers + remote:
        return [main]
    main += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
             "--expect-workers", str(workers + remote), "--expect-workers-max-wait",
             str(REMOTE_WAIT_S if remote else WORKER_WAIT_S)]
    worker = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
              "--master-host", "127.0.0.1", "--master-port", str(port), "-L", "WARNING"]
    return [main] + [worker] * workers


async def _locust(folder: Path, plan_file: Path, workers: int, remote: int, web: bool,
                  limit: float, say: Callable[[str], None]) -> dict[str, Any]:
    port, web_port = free_ports(2)
    env = {**os.environ, "LANDSCAPE_LOAD_PLAN": str(plan_file), "PYTHONPATH": str(ROOT)}
    commands = locust_commands(folder, workers, web, port, web_port, remote)
    (folder / "locust-command.txt").write_text("\n".join(shlex.join(c) for c in commands) + "\n")
    if web:
        say(f"Locust web UI: http://127.0.0.1:{web_port}")
    if remote:
        say(f"waiting {REMOTE_WAIT_S} s for {remote} worker(s) from other machines: on each, "
            f"forward the master's port {port} and every port in {plan_file} to this host's "
            f"127.0.0.1 (ssh -L), copy {plan_file} there, then run from the repository:")
        # on a line of its own, never wrapped by a narrow terminal, so it copies whole
        print(f"  LANDSCAPE_LOAD_PLAN=plan.json PYTHONPATH=. python -m locust -f "
              f"loadtests/locustfile.py --worker --master-host 127.0.0.1 --master-port {port}",
              flush=True)
    procs = []
    for i, command in enumerate(commands):
        log = (folder / ("locust.log" if i == 0 else f"locust-worker{i}.log")).open("wb")
        procs.append(await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL))
        log.close()
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), limit)
    except TimeoutError:
        raise LoadError(f"Locust did not finish within {limit:.0f} s; its log: "
                        f"{folder / 'locust.log'}") from None
    finally:
        for p in procs:
            if p.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                await p.wait()
    report = folder / "locust.json"
    if not report.exists():
        tail = (folder / "locust.log").read_text(errors="replace").splitlines()[-15:]
        raise LoadError(f"Locust wrote no report (exit {procs[0].returncode}); its log "
                        f"{folder / 'locust.log'} ends:\n    " + "\n    ".join(tail))
    errors = folder / "locust-errors.json"
    return {"stats": json.loads(report.read_text()),
            "errors": json.loads(errors.read_text()) if errors.exists() else []}


async def _timeline(run: Run, scenario: Scenario, duration: float, start_file: Path) -> None:
    """The scenario's steps due within the run, on schedule (faults, kills, restarts …), from
    the start Locust announces (written to `start_file`), the same moment its arrivals count
    from."""
    while not start_file.exists():
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)  # written in one go; a moment more to be sure it is complete
    run.start = float(start_file.read_text())
    for step in sorted(scenario.timeline, key=lambda s: s.at):
        if step.at > duration:
            run.event("note", note=f"step at {step.at:g} s is after the run ({duration:g} s): "
                                   "skipped")
            continue
        wait = run.start + step.at - run.stage.now()
        if wait > 0:
            await asyncio.sleep(wait)
        await run.step(step)


def load_command(scenario: str, *, topology: str | None, rate: float, duration: float,
                 shape: str, workers: int, seed: int, mode: str | None, intercepts: float,
                 quiet: float, remote_workers: int = 0) -> str:
    """The one command that runs this load again (same plan; timings are the machine's)."""
    parts = ["landscape", "load", scenario, "--rate", f"{rate:g}", "--duration",
             f"{duration:g}", "--shape", shape, "--seed", str(seed), "--intercepts",
             f"{intercepts:g}", "--quiet", f"{quiet:g}"]
    parts += ["--topology", topology] if topology else []
    parts += ["--workers", str(workers)] if workers else []
    parts += ["--remote-workers", str(remote_workers)] if remote_workers else []
    parts += ["--mode", mode] if mode else []
    return shlex.join(parts)


def run_load(scenario: str = "decline-storm", topology: str | None = None, *,
             rate: float | None = None, duration: float = 60.0, shape: str = "constant",
             workers: int = 0, remote_workers: int = 0, seed: int | None = None,
             mode: str | None = None, intercepts: float = 0.5, quiet: float = QUIET_S,
             web: bool = False, report_dir: Path | None = None,
             say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run `scenario`'s declines at `rate` a second (default: the scenario's) for `duration` s
    against `topology` as processes, then judge: the result dict (harness/report.py renders
    it) with `passed` (the gate) and `load` (engine and Locust percentiles, counts, rate
    achieved). Raises ScenarioError, TopologyError, LaunchError or LoadError for what a user
    can fix."""
    say = say or (lambda _: None)
    sc = resolve_scenario(scenario)
    if mode not in (None, "cached", "naive"):
        raise LoadError(f"--mode {mode!r}: choose cached or naive")
    topo = load_topology(topology or sc.topology)
    for m in topo.merchants.values() if mode else ():
        m.components.settings["mode"] = mode
    seed = topo.seed if seed is None else seed
    rate = sc.declines.rate_per_second if rate is None else rate
    if not 0 <= intercepts <= 1:
        raise LoadError(f"--intercepts {intercepts:g}: give the share of declines that arrive "
                        "as checkout-time intercepts, from 0 to 1")
    if workers < 0 or remote_workers < 0:
        raise LoadError(f"--workers {workers} --remote-workers {remote_workers}: give 0 (one "
                        "Locust process) or more workers")
    try:
        prof = profile(shape, rate, duration)
    except ValueError as exc:
        raise LoadError(f"--{str(exc).split()[0]} {' '.join(str(exc).split()[1:])}") from None
    folder = Path(report_dir or Path("landscape-run") / f"load-{sc.name}").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    planned = plan_arrivals(topo, sc, prof, seed, intercepts)
    if not planned:
        raise LoadError(f"--rate {rate:g} for --duration {duration:g} s plans no arrival; "
                        "raise either")
    replay = load_command(scenario, topology=topology, rate=rate, duration=duration,
                          shape=shape, workers=workers, seed=seed, mode=mode,
                          intercepts=intercepts, quiet=quiet, remote_workers=remote_workers)
    customers: dict[str, list[Customer]] = {}

    async def prepare(landscape: RunningLandscape) -> None:
        customers.update(await _prepare(landscape, planned))
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            left = await _settled(http, landscape.fakes)
        if left:
            say(f"  webhooks and notifications still under way after {SETTLE_S:.0f} s ({left}): "
                "the load starts with the merchants' caches still filling")

    say(f"starting {topo.name} with {len(planned)} customers to decline "
        f"({sum(k == 'intercept' for _, k, _, _ in planned)} as intercepts)")
    wall = time.perf_counter()
    with RunningLandscape(topo, folder / "landscape", seed=seed, seed_data=prepare,
                          die_with_parent=True) as landscape:
        say(f"  ready in {landscape.ready_after:.1f} s")
        result = asyncio.run(drive(landscape, sc, prof, planned, customers, folder=folder,
                                   workers=workers, remote=remote_workers, web=web,
                                   quiet=quiet, say=say))
    result.update({"replay": replay, "seed": seed, "wall_seconds": round(
        time.perf_counter() - wall, 1)})
    result["load"].update({"workers": workers + remote_workers, "intercepts_share": intercepts})
    from harness.load_report import write_outputs

    written = write_outputs(result, folder)
    result["report"] = str(written["html"])
    return result


async def drive(landscape: RunningLandscape, sc: Scenario, prof: Profile,
                planned: list[tuple[float, str, Customer, str]],
                customers: dict[str, list[Customer]], *, folder: Path, workers: int,
                remote: int = 0, web: bool = False, quiet: float = 20.0,
                say: Callable[[str], None] = print) -> dict[str, Any]:
    """The load, the timeline, the quiet phase, reconciliation, and the judgement."""
    plan_file = folder / "plan.json"
    for stale in ("locust.json", "locust-errors.json", "start.txt", *(
            p.name for p in folder.glob("records.jsonl.*"))):
        (folder / stale).unlink(missing_ok=True)
    plan_file.write_text(json.dumps({
        "scenario": sc.name, "profile": {"shape": prof.shape, "rate": prof.rate,
                                         "duration": prof.duration},
        "workers": workers + remote, "drain_s": DRAIN_S, "timeout_s": TIMEOUT_S,
        "errors_file": str(folder / "locust-errors.json"),
        "start_file": str(folder / "start.txt"),
        "records_file": str(folder / "records.jsonl"),
        "arrivals": [_arrival(landscape, *p) for p in planned]}, indent=0))
    async with ProcessStage(landscape) as stage:
        run = Run(stage, sc, say)
        run.customers = customers
        before = await _scrape(stage.http, landscape)
        say(f"load: {len(planned)} declines, {prof.shape} {prof.rate:g}/s for "
            f"{prof.duration:g} s" + (f", {workers} Locust workers" if workers else ""))
        idle = _cpu_seconds(landscape)  # what each process burns idle (polls, loops)
        await asyncio.sleep(IDLE_S)
        cpu_before = _cpu_seconds(landscape)
        cpu_idle = {k: round((v - idle.get(k, 0.0)) / IDLE_S, 4) for k, v in cpu_before.items()}
        cpu_began = time.monotonic()
        run.start = stage.now()
        timeline = asyncio.create_task(_timeline(run, sc, prof.duration,
                                                 folder / "start.txt"))
        limit = prof.duration + DRAIN_S + (REMOTE_WAIT_S if remote else WORKER_WAIT_S) + 60 \
            + (30 if web else 0)
        try:
            locust = await _locust(folder, plan_file, workers, remote, web, limit, say)
        finally:
            timeline.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timeline
        run.traffic_end = run.t()
        run.fired = [Planned(at=at, customer=c, code=code, alternate_declines=False)
                     for at, _, c, code in planned]
        # a fault whose window outlasts the load ends first (if it ends within the quiet)
        ending = max([f["end"] - run.t() for f in run.faults if f["end"] is not None],
                     default=0.0)
        say("quiet phase: until the outboxes are empty"
            + (f" and the faults' windows end ({ending:.0f} s)" if ending > 0 else "")
            + f", at most {quiet:g} s")
        waited, left = await _quiet(stage, quiet, least=min(quiet, max(2.0, ending)))
        say(f"  {left} write-backs left after {waited:.0f} s")
        cpu = {k: round(v - cpu_before.get(k, 0.0), 3) for k, v in _cpu_seconds(landscape).items()}
        window_end = time.time()
        cpu_window = time.monotonic() - cpu_began
        after = await _scrape(stage.http, landscape)
        say("reconciling and judging")
        reconciliation = await reconcile_all(stage, landscape.topology)
        truth = await invariants.gather(stage)
        engine = load_metrics.delta(before, after)
        result = judge_load(run, truth, reconciliation, planned, locust, engine, prof)
        result["load"].update({"quiet_s": round(waited, 1), "outbox_left": left,
                               "cpu_seconds": cpu, "cpu_idle_per_s": cpu_idle,
                               "cpu_window_s": round(cpu_window, 2)})
        _why_unreconciled(result, reconciliation, left, waited)
        _exact(result, landscape, folder, window_end)
        return result


def _cpu_seconds(landscape: RunningLandscape) -> dict[str, float]:
    """CPU seconds (user + system) each process of the landscape has used (Linux /proc)."""
    out = {}
    for s in landscape.services():
        if s.process is None:
            continue
        try:
            fields = Path(f"/proc/{s.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[s.name] = (int(fields[11]) + int(fields[12])) / _CLK_TCK
    return out


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _exact(result: dict[str, Any], landscape: RunningLandscape, folder: Path,
           window_end: float) -> None:
    """Unbucketed figures beside the histograms: each decision on arrival from the engines'
    logs (their own stopwatch, to the ms), each arrival's scheduled and answered time from
    Locust's records, and each write-back queued in the window with its send time from the
    merchants' stores (harness/load_writebacks.py), written to decisions.json for tools that
    want them raw (harness.model.validate --against load)."""
    sla_s = landscape.topology.sla_ms / 1000.0
    records = []
    for part in sorted(folder.glob("records.jsonl.*")):
        records += [json.loads(line) for line in part.read_text().splitlines() if line]
    start_file = folder / "start.txt"
    start = float(start_file.read_text()) if start_file.exists() else None
    # the histogram's window: from the load's start to the end of the quiet phase (a vendor's
    # late redelivery during the reconciliation is decided too, but not by this load)
    decisions = [d for d in load_metrics.logged_decisions(
        {name: landscape.service(name, "recovery").log for name in landscape.components})
        if d["end"] <= window_end and (start is None or d["end"] - d["latency_s"] >= start - 1)]
    exact = {source: load_metrics.exact_summary(
        [d["latency_s"] for d in decisions if source in ("all", d["source"])], sla_s)
        for source in sorted({d["source"] for d in decisions} | {"all"})}
    result["load"]["latency"]["engine_log"] = exact
    if start is not None:  # where the time went: what the fakes answered, slowest first
        calls = load_metrics.vendor_latency(landscape.request_logs, start, window_end)
        result["load"]["vendor_latency"] = calls
        _where(result, calls)
    # queued from the load's start (as the decisions above) to the end of the quiet phase: the
    # reconciliation's repairs, queued after it, are not this load's write-backs
    writebacks, unread = load_writebacks.read(
        landscape, 0.0 if start is None else start - 1, window_end)
    result["load"]["writeback_lag_s"] = load_writebacks.lag_summary(writebacks, unread)
    (folder / "decisions.json").write_text(json.dumps(
        {"start": start, "window_end": window_end, "decisions": decisions,
         "arrivals": sorted(records, key=lambda r: r["due"]), "writebacks": writebacks}))


def _why_unreconciled(result: dict[str, Any], reconciliation: dict[str, dict[str, Any]],
                      left: int, waited: float) -> None:
    """A failed reconciliation check says why in load terms: the systems the final pass could
    not read (and what they answered), and the write-backs the outbox still held when the quiet
    phase gave up."""
    check = next((c for c in result["invariants"] if c["id"] == "reconciliation_clean"), None)
    if check is None or check["passed"]:
        return
    why = []
    if left:
        why.append(f"why: {left} write-back(s) were still queued when the quiet phase ended "
                   f"after {waited:.0f} s (--quiet): the outbox could not catch up")
    for name, r in reconciliation.items():
        final: dict[str, Any] = r["final"] if isinstance(r.get("final"), dict) else {}
        why += [f"why: {name}'s final reconciliation could not read {u.get('vendor')} "
                f"({u.get('system')}): {u.get('error')}" for u in final.get("unreachable") or []]
    check["violations"][:0] = why  # first: the terminal shows a check's first few


def _where(result: dict[str, Any], calls: list[dict[str, Any]]) -> None:
    """A failed latency check says where the time went: the slowest vendor calls of the run
    and, in naive mode, that every decision waits on the ERP."""
    check = next((c for c in result["invariants"] if c["id"] == "decision_p99"), None)
    naive = result["load"].get("engine_mode") == "naive"
    # the vendors a decision waits on: billing and gateway, and the ERP only when naive (the
    # request logs do not say who called, so the sync's ERP and CRM write-backs stay out)
    hot = {"stripe", "chargebee"} | ({"netsuite"} if naive else set())
    calls = [c for c in calls if c["vendor"] in hot]
    if check is None or check["passed"] or not calls:
        return
    slowest = "; ".join(f"{c['vendor']} {c['call']} p50 {c['p50']:.0f} / p99 {c['p99']:.0f} ms "
                        f"×{c['count']}" + (f" ({c['errors']} errors)" if c["errors"] else "")
                        for c in calls[:3])
    why = [f"where: the slowest calls to the vendors a decision waits on "
           f"({', '.join(sorted(hot))}) during the load were {slowest}"]
    if naive:
        why.append("why: --mode naive reads the ERP (NetSuite) on the hot path of every "
                   "decision, so each waits on it; cached mode keeps the ERP off the hot path")
    check["violations"][1:1] = why  # after the figure, before the per-source lines


async def _quiet(stage: ProcessStage, most: float, least: float = 2.0) -> tuple[float, int]:
    """Wait until every merchant's outbox is empty (at least `least`, at most `most` s):
    (seconds waited, write-backs still queued)."""
    began = time.monotonic()
    left = -1
    while True:
        waited = time.monotonic() - began
        if waited >= least:
            left = 0
            for urls in stage.components.values():
                try:
                    health = (await stage.http.get(f"{urls.sync}/healthz")).json()
                    left += int(health.get("outbox_depth") or 0)
                except (httpx.HTTPError, ValueError):  # a killed sync: the judge will say
                    left += 1
            if left == 0 or waited >= most:
                return waited, left
        await asyncio.sleep(1.0)
