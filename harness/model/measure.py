"""Measured decision latency of the process landscape at fixed open-loop rates.

The topology's first merchant runs as processes on 127.0.0.1 (harness/launcher.py: its fakes,
its recovery and sync services). Each customer gets an open renewal invoice whose payment
failed (no webhook endpoint, so the engine hears of it only through us); then, per rate, a
seeded Poisson stream of checkout-time declines (`POST /v1/intercepts`), each on its own
invoice: soft ones (`insufficient_funds`, retried at once on the alternate MID, where the card
succeeds) and hard ones (`stolen_card`, not retried). Open loop: a slow answer never delays the
next send, so queueing shows as latency, as it would in production.

Per level: the engine's own decision latency (`latency_ms` of each answer: what the
`recovery_decision_latency_seconds` histogram observes, whose count and sum are read from
GET /metrics to cross-check), the decisions in flight sampled every 20 ms (Little's law), the
CPU seconds each process used (/proc), the fakes' request journals (what each call drew), the
latency seen by this client from each scheduled send, and, just before the level, the share of
a core a busy process gets on this host.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from harness.model.stats import littles_law, percentiles_ms
from harness.topology import Topology, load_topology

SOFT_CODE, HARD_CODE = "insufficient_funds", "stolen_card"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Level:
    """What one rate measured."""

    rate: float
    seconds: float
    sent: int = 0
    latencies: list[float] = field(default_factory=list)   # engine-measured, seconds
    statuses: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, list[float]] = field(default_factory=dict)
    in_flight: list[int] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)   # process → CPU used
    requests: dict[str, int] = field(default_factory=dict)        # vendor → requests served
    journal: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    histogram: dict[str, float] = field(default_factory=dict)     # count, sum (deltas)
    achieved_rate: float = 0.0
    client_latencies: list[float] = field(default_factory=list)  # from the scheduled send
    host_share: float = 1.0     # of one core a busy process got just before the level

    def digest(self) -> dict[str, Any]:
        return {"rate": self.rate, "seconds": self.seconds, "sent": self.sent,
                "achieved_rate": round(self.achieved_rate, 3),
                "latency_ms": percentiles_ms(self.latencies), "statuses": self.statuses,
                "latency_ms_by_status": {k: percentiles_ms(v) for k, v in self.by_status.items()},
                "client_latency_ms": percentiles_ms(self.client_latencies),
                "host_share": round(self.host_share, 3),
                "littles_law": littles_law(self.in_flight, len(self.latencies), self.seconds,
                                           self.latencies),
                "cpu_seconds": {k: round(v, 3) for k, v in self.cpu_seconds.items()},
                "requests": self.requests, "histogram": self.histogram}


def measurement_topology(ref: str | Path, customers: int) -> Topology:
    """The topology's first merchant alone, with `customers` customers."""
    topology = load_topology(ref)
    name = next(iter(topology.merchants))
    copy = topology.model_copy(deep=True)
    copy._base, copy._source = topology._base, topology._source
    copy.merchants = {name: copy.merchants[name]}
    copy.merchants[name].data.customers = customers
    return copy


def _seed_hook(landscape: Any) -> Any:
    from components.mapping import load_mapping
    from harness.seeding import ProviderStates, plan, renewal_fails, seed_customer

    async def seed() -> None:
        topology: Topology = landscape.topology
        name, m = next(iter(topology.merchants.items()))
        async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
            states = ProviderStates(http, landscape.fakes, schemas={
                m.crm.org: yaml.safe_load(topology.path(m.crm.schema_file).read_text())
                for m in topology.merchants.values() if m.crm and m.crm.schema_file})
            mapping = load_mapping(topology.path(m.mapping))
            gate = asyncio.Semaphore(8)

            async def one(c: Any) -> None:
                async with gate:
                    await seed_customer(states, m, mapping, c)
                    await renewal_fails(states, m, c, SOFT_CODE)

            await asyncio.gather(*(one(c) for c in plan(topology, name)))

    return seed()


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


_SAMPLE = re.compile(r'^recovery_decision_latency_seconds_(count|sum)\{[^}]*\} ([0-9.e+-]+)$',
                     re.M)


async def _histogram(http: httpx.AsyncClient, url: str) -> dict[str, float]:
    text = (await http.get(f"{url}/metrics")).text
    out = {"count": 0.0, "sum": 0.0}
    for kind, value in _SAMPLE.findall(text):
        out[kind] += float(value)
    return out


async def _journal_total(http: httpx.AsyncClient, url: str) -> int:
    health = (await http.get(f"{url}/_sim/health")).json()
    return int(health.get("journal_total") or health.get("requests") or 0)


async def _drive(landscape: Any, customers: list[Any], level: Level, soft_share: float,
                 rng: random.Random) -> None:
    m_name = next(iter(landscape.topology.merchants))
    m = landscape.topology.merchants[m_name]
    recovery = landscape.components[m_name].recovery
    primary = m.gateway.mids[0].name
    in_flight = 0
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, trust_env=False, limits=limits) as http:
        for url in landscape.fakes.values():
            await http.delete(f"{url}/_sim/journal/requests")
        before_hist = await _histogram(http, recovery)
        pids = {s.name: s.process.pid for s in landscape.services() if s.process}
        before_cpu = {name: _cpu(pid) for name, pid in pids.items()}

        async def one(i: int, c: Any, scheduled: float) -> None:
            nonlocal in_flight
            code = SOFT_CODE if rng.random() < soft_share else HARD_CODE
            body = {"request_id": f"model-{level.rate:g}-{i}", "invoice_id": c.invoice,
                    "customer_id": c.gateway[primary][0], "amount": c.amount,
                    "currency": c.currency, "decline_code": code, "customer_email": c.email,
                    "card_brand": "visa"}
            in_flight += 1
            try:
                answer = (await http.post(f"{recovery}/v1/intercepts", json=body)).json()
                latency = float(answer["latency_ms"]) / 1000.0
                status = str(answer.get("status"))
                level.latencies.append(latency)
                level.by_status.setdefault(status, []).append(latency)
                level.client_latencies.append(loop.time() - scheduled)
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                status = f"client_error:{type(exc).__name__}"
            level.statuses[status] = level.statuses.get(status, 0) + 1
            in_flight -= 1

        async def sampler() -> None:
            while not done.is_set():
                level.in_flight.append(in_flight)
                await asyncio.sleep(0.02)

        sampling = asyncio.create_task(sampler())
        tasks = []
        loop = asyncio.get_running_loop()
        began = loop.time()
        t = 0.0
        for i, customer in enumerate(customers):
            t += rng.expovariate(level.rate)
            if t >= level.seconds:
                break
            delay = began + t - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, customer, began + t)))
        level.sent = len(tasks)
        level.achieved_rate = level.sent / max(loop.time() - began, 1e-9)
        await asyncio.gather(*tasks)
        done.set()
        await sampling
        # the window the samples cover: from the first send to the last answer
        level.seconds = loop.time() - began
        after_hist = await _histogram(http, recovery)
        level.histogram = {k: round(after_hist[k] - before_hist[k], 4) for k in after_hist}
        await asyncio.sleep(3.0)  # the relay's write-backs of this level reach the fakes
        level.cpu_seconds = {name: _cpu(pid) - before_cpu[name] for name, pid in pids.items()}
        for vendor, url in landscape.fakes.items():
            entries = (await http.get(f"{url}/_sim/journal/requests")).json()
            level.journal[vendor] = [e for e in entries if not str(e.get("path", "")).startswith(
                "/_sim")]
            level.requests[vendor] = len(level.journal[vendor])


def host_share(seconds: float = 0.5) -> float:
    """The share of one core a busy process gets on this host now (1.0: an idle core): the
    machine is shared, so the engine's CPU per decision takes 1/share as long in wall time."""
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        pass
    return min(1.0, (time.process_time() - cpu) / (time.perf_counter() - wall))


def measure(topology_ref: str | Path, rates: list[float], seconds: float, *, seed: int,
            run_dir: Path, soft_share: float = 0.5, say: Any = print) -> list[Level]:
    """Measure each rate in turn on one landscape (started here, stopped at the end)."""
    from harness.launcher import RunningLandscape
    from harness.seeding import plan

    needed = int(sum(r * seconds for r in rates) * 1.3) + 20
    topology = measurement_topology(topology_ref, needed)
    rng = random.Random(f"{seed}:measure")
    levels: list[Level] = []
    say(f"starting {topology.name} (merchant {next(iter(topology.merchants))}, {needed} "
        f"customers with a failed renewal) on 127.0.0.1")
    started = time.monotonic()
    with RunningLandscape(topology, run_dir, seed=seed, seed_data=_seed_hook,
                          die_with_parent=True) as landscape:
        say(f"  ready in {time.monotonic() - started:.0f} s")
        customers = plan(topology, next(iter(topology.merchants)))
        used = 0
        for rate in rates:
            level = Level(rate=rate, seconds=seconds, host_share=host_share())
            asyncio.run(_drive(landscape, customers[used:], level, soft_share, rng))
            used += level.sent
            levels.append(level)
            p = percentiles_ms(level.latencies)
            engine = sum(v for k, v in level.cpu_seconds.items() if k.endswith("recovery"))
            say(f"  {rate:g}/s: {level.sent} declines, p50 {p['p50']:.0f} ms, p95 "
                f"{p['p95']:.0f} ms, p99 {p['p99']:.0f} ms, engine CPU {engine:.2f} s")
    return levels
