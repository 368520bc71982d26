"""`python -m harness.hostile_soak`: memory and health latency of one fake under a long, partly
hostile load (issue 11's soak and hostile-load benchmark; a benchmark, not a timed test).

One fake in-process (`simulators.landscape.Landscape` on a virtual loop, no sockets) with short
retention: idempotency keys 10 min, journals 2,000 entries, 200 auto-created tenants, 5,000
objects per collection, bodies up to 1 MiB. Its clock moves `--seconds-per-request` of simulated
time per request (2 s: a million requests ≈ 23 days), so retention expires over and over.

Traffic (`MIX`), drawn from `--seed` and sent by `--concurrency` workers: plain and keyed creates,
replays of keyed creates, reads, lists, updates, deletes of each key's oldest object (a working
set of 20; Chargebee has no delete: an update, and the collection cap bounds the site), queries
(SOQL, SuiteQL, list filters), credentials never seen before (Stripe, Chargebee: new tenants up to
the cap, then the vendor's 401; NetSuite, Salesforce: unknown tokens), token refreshes, and 8 %
hostile requests: deep JSON, deep form keys, 20,000 repeated form pairs or JSON keys, lone
surrogates, 5,000-digit numbers, pathological LIKE patterns, a 4-way SuiteQL cross join, a
2,000-term SOQL WHERE, 6,000-pair query strings, bodies just under and just over the limit.

Every `--probe-every` requests a `GET /_sim/health` is sent with a hostile request (drawn evenly
from the vendor's hostile bodies) while the other workers' requests wait their turn; its
wall-clock latency, from sending to the answer, is recorded. A request runs on the one event loop
without suspending, so the probe waits for what is ahead of it, as on a served fake.

Every `--report-every` requests (after `gc.collect()`) it prints VmRSS from /proc/self/status,
the change since the warm-up point (`--warmup`), health p50/p99/max and requests/s; at the end
"flat within X %" (max/min − 1 of RSS from the warm-up point on). No tracemalloc (that is
`python -m harness.soak`).

    python -m harness.hostile_soak --fake stripe --requests 1000000 --seed 7 [--concurrency 8]
    python -m harness.hostile_soak --fake all --requests 1000000 --parallel 2 [--out-dir /tmp]

`--fake all` runs each fake in its own subprocess (`--parallel` at a time), writes each one's
output to `<out-dir>/hostile_soak_<fake>.txt` and prints a combined table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import random
import subprocess
import sys
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from simulators.core.config import FakeConfig, TenantConfig
from simulators.core.limits import Limits
from simulators.core.simulator import Simulator
from simulators.core.virtual_time import run
from simulators.landscape import Landscape
from simulators.netsuite.vendor import DEMO_ACCOUNT
from simulators.netsuite.vendor import DEMO_SETTINGS as NS_SETTINGS
from simulators.salesforce.vendor import DEMO_ORG
from simulators.salesforce.vendor import DEMO_SETTINGS as SF_SETTINGS

FAKES = ("stripe", "chargebee", "netsuite", "salesforce")
SETTINGS = {"idempotency_retention_seconds": 600, "journal_max_entries": 2000,
            "max_auto_tenants": 200, "max_objects_per_collection": 5000}
MAX_BODY = 1024 * 1024
WORKING_SET = 20  # live objects a key keeps; its oldest is deleted beyond that
HOOK = "http://merchant.test/hook"
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}
PATHOLOGICAL = "%a%a%a%a%a%a%a%b"
# request kinds and their weights (per cent); "hostile": one of the vendor's hostile bodies
MIX = {"create": 14, "keyed": 10, "replay": 4, "read": 18, "list": 9, "update": 12, "delete": 12,
       "query": 9, "stranger": 3, "refresh": 1, "hostile": 8}
# hostile bodies that take the fake milliseconds to tens of milliseconds to refuse: drawn 1/5 as
# often in the mix (each health probe rides on a hostile body drawn evenly from all of them)
HEAVY = {"pairs", "long_query", "cross_join", "big_body", "deep_json", "repeated_keys",
         "long_soql", "deep_object"}
SUMMARY = "SUMMARY "

Req = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers


async def _receiver(scope: Scope, receive: Receive, send: Send) -> None:
    """A webhook endpoint that takes everything (raw ASGI: cheap)."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _form(pairs: dict[str, str]) -> bytes:
    return httpx.QueryParams(pairs).__str__().encode()


def _common_hostile(create: str, form: bool) -> dict[str, Req]:
    """Hostile bodies every fake gets on its create path (built once, reused)."""
    kind = FORM if form else JSON
    pad = b"x" * (MAX_BODY - 64)
    big = b"zz_pad=" + pad if form else b'{"zz_pad": "' + pad + b'"}'
    return {
        "deep_json": ("POST", create, b"[" * 50_000 + b"]" * 50_000, JSON),
        "deep_object": ("POST", create, b'{"a":' * 5_000 + b"1" + b"}" * 5_000, JSON),
        "surrogate_json": ("POST", create, b'{"name": "\\ud800x", "Name": "\\udfff", '
                           b'"companyName": "\\ud83d", "first_name": "\\udc00"}', JSON),
        "number_json": ("POST", create, b'{"Name": "n", "companyName": "n", "balance": '
                        + b"9" * 5000 + b"}", JSON),
        "big_body": ("POST", create, big, kind),
        "over_limit": ("POST", create, b"x" * (MAX_BODY + 1), kind),
    }


class Driver:
    """One fake's traffic: credentials, the create/read/… requests, its hostile catalogue."""

    name = ""
    idempotency_header: str | None = None

    def __init__(self, world: Landscape, http: httpx.AsyncClient, keys: int) -> None:
        self.world, self.http, self.base = world, http, world.url(self.name)
        self.auth: list[dict[str, str]] = [{} for _ in range(keys)]
        self.live: list[deque[str]] = [deque() for _ in range(keys)]
        self.keyed: deque[tuple[int, int]] = deque(maxlen=50)
        self.hostile: dict[str, Req] = {}
        self.strangers = 0

    @staticmethod
    def config(keys: int) -> FakeConfig:
        return FakeConfig(settings=dict(SETTINGS), limits=Limits(max_body_bytes=MAX_BODY))

    async def setup(self) -> None:
        await self.refresh(0)

    async def send(self, req: Req, auth: dict[str, str] | None = None) -> httpx.Response:
        method, path, body, headers = req
        return await self.http.request(method, self.base + path, content=body,
                                       headers={**headers, **auth} if auth else headers)

    async def refresh(self, k: int) -> int:
        return 0

    # the vendor's requests; each returns (request, what to do with the response)
    def create(self, k: int, i: int) -> Req: raise NotImplementedError
    def created_id(self, response: httpx.Response) -> str | None: raise NotImplementedError
    def read(self, k: int, obj: str) -> Req: raise NotImplementedError
    def list(self, k: int) -> Req: raise NotImplementedError
    def update(self, k: int, obj: str, i: int) -> Req: raise NotImplementedError
    def delete(self, k: int, obj: str) -> Req: raise NotImplementedError
    def query(self, k: int, i: int) -> Req: raise NotImplementedError
    def stranger(self, n: int) -> Req: raise NotImplementedError

    async def one(self, kind: str, i: int, rng: random.Random,
                  evenly: bool = False) -> tuple[str, int]:
        """Request `i` of kind `kind`; returns what it was (the hostile body's name) and its
        status. `evenly`: every hostile body as likely (else the heavy ones 1/5 as often)."""
        k = i % len(self.auth)
        auth, live = self.auth[k], self.live[k]
        if kind == "hostile":
            names = sorted(self.hostile)
            weights = None if evenly else [1 if n in HEAVY else 5 for n in names]
            name = rng.choices(names, weights)[0]
            return name, (await self.send(self.hostile[name], auth)).status_code
        if kind in ("delete", "update", "read") and not live:
            kind = "create"
        if kind == "delete" or len(live) > WORKING_SET:  # churn: the key's oldest goes
            return "delete", (await self.send(self.delete(k, live.popleft()), auth)).status_code
        return kind, await self._one(kind, i, k, rng)

    async def _one(self, kind: str, i: int, k: int, rng: random.Random) -> int:
        auth, live = self.auth[k], self.live[k]
        if kind in ("create", "keyed", "replay"):
            extra: dict[str, str] = {}
            n = i
            if kind == "replay" and self.keyed and self.idempotency_header:
                k, n = self.keyed[rng.randrange(len(self.keyed))]
                auth, live = self.auth[k], self.live[k]
            if kind != "create" and self.idempotency_header:
                extra = {self.idempotency_header: f"soak-{n}"}
                if kind == "keyed":
                    self.keyed.append((k, n))
            response = await self.send(self.create(k, n), {**auth, **extra})
            obj = self.created_id(response) if response.status_code < 300 else None
            if obj is not None and obj not in live:
                live.append(obj)
            return response.status_code
        if kind == "read":
            return (await self.send(self.read(k, live[-1]), auth)).status_code
        if kind == "update":
            return (await self.send(self.update(k, live[-1], i), auth)).status_code
        if kind == "list":
            return (await self.send(self.list(k), auth)).status_code
        if kind == "query":
            return (await self.send(self.query(k, i), auth)).status_code
        if kind == "stranger":
            self.strangers += 1
            return (await self.send(self.stranger(self.strangers))).status_code
        return await self.refresh(k)


class Stripe(Driver):
    name, idempotency_header = "stripe", "idempotency-key"

    async def setup(self) -> None:
        for k in range(len(self.auth)):
            self.auth[k] = {"authorization": f"Bearer sk_test_soak_{k}"}
            await self.send(("POST", "/v1/webhook_endpoints",
                             _form({"url": HOOK, "enabled_events[]": "*"}), FORM), self.auth[k])
        create = "/v1/customers"
        self.hostile = _common_hostile(create, form=True) | {
            "pairs": ("POST", create, "&".join(["expand[]=customer"] * 20_000).encode(), FORM),
            "deep_form": ("POST", create, b"metadata" + b"[a]" * 500 + b"=1", FORM),
            "long_index": ("POST", create, b"expand[" + b"9" * 5000 + b"]=x", FORM),
            "surrogate_form": ("POST", create, b"name=%ED%A0%80&email=%ED%BF%BF", FORM),
            "number_form": ("POST", "/v1/payment_intents",
                            b"currency=usd&amount=" + b"9" * 5000, FORM),
            "long_query": ("GET", "/v1/customers?" + "&".join(["limit=1"] * 6_000), None, {}),
        }

    def create(self, k: int, i: int) -> Req:
        return ("POST", "/v1/customers",
                _form({"name": f"soak {i}", "email": f"c{i}@example.test"}), FORM)

    def created_id(self, response: httpx.Response) -> str | None:
        return str(response.json()["id"])

    def read(self, k: int, obj: str) -> Req:
        return "GET", f"/v1/customers/{obj}", None, {}

    def list(self, k: int) -> Req:
        return ("GET", "/v1/customers?limit=10", None, {}) if k % 2 else (
            "GET", "/v1/events?limit=5", None, {})

    def update(self, k: int, obj: str, i: int) -> Req:
        return "POST", f"/v1/customers/{obj}", _form({"description": f"update {i}"}), FORM

    def delete(self, k: int, obj: str) -> Req:
        return "DELETE", f"/v1/customers/{obj}", None, {}

    def query(self, k: int, i: int) -> Req:
        return "GET", f"/v1/customers?email=c{i // 3}%40example.test&limit=3", None, {}

    def stranger(self, n: int) -> Req:
        return ("POST", "/v1/customers", _form({"name": "once"}),
                {**FORM, "authorization": f"Bearer sk_test_soak_new_{n}"})


def _basic(key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


class Chargebee(Driver):
    name, idempotency_header = "chargebee", "chargebee-idempotency-key"
    P = "/api/v2"

    @staticmethod
    def config(keys: int) -> FakeConfig:
        # sites named by their keys (none declares one: unknown keys become sites, to the cap),
        # each main site with a webhook
        config = Driver.config(keys)
        config.tenants = {f"soak_site_{k}": TenantConfig(settings={"webhooks": [{"url": HOOK}]})
                          for k in range(keys)}
        return config

    async def setup(self) -> None:
        self.auth = [_basic(f"soak_site_{k}") for k in range(len(self.auth))]
        create = f"{self.P}/customers"
        self.hostile = _common_hostile(create, form=True) | {
            "pairs": ("POST", create, "&".join(["email=a@b.test"] * 20_000).encode(), FORM),
            "deep_form": ("POST", create, b"card" + b"[a]" * 500 + b"=1", FORM),
            "long_index": ("POST", create, b"a[x][" + b"9" * 5000 + b"]=x", FORM),
            "surrogate_form": ("POST", create, b"first_name=%ED%A0%80", FORM),
            "number_form": ("POST", create, b"net_term_days=" + b"9" * 5000, FORM),
            "long_query": ("GET", f"{create}?" + "&".join(["limit=1"] * 6_000), None, {}),
        }

    def create(self, k: int, i: int) -> Req:
        return ("POST", f"{self.P}/customers",
                _form({"first_name": f"soak {i}", "email": f"c{i}@example.test"}), FORM)

    def created_id(self, response: httpx.Response) -> str | None:
        return str(response.json()["customer"]["id"])

    def read(self, k: int, obj: str) -> Req:
        return "GET", f"{self.P}/customers/{obj}", None, {}

    def list(self, k: int) -> Req:
        return ("GET", f"{self.P}/customers?limit=10", None, {}) if k % 2 else (
            "GET", f"{self.P}/events?limit=5", None, {})

    def update(self, k: int, obj: str, i: int) -> Req:
        return "POST", f"{self.P}/customers/{obj}", _form({"last_name": f"update {i}"}), FORM

    def delete(self, k: int, obj: str) -> Req:
        # no customer delete in the fake: the object leaves the working set with an update,
        # and the collection cap bounds what the site keeps
        return "POST", f"{self.P}/customers/{obj}", _form({"last_name": "retired"}), FORM

    def query(self, k: int, i: int) -> Req:
        return ("GET", f"{self.P}/customers?email%5Bstarts_with%5D=c{i % 97}&limit=5",
                None, {})

    def stranger(self, n: int) -> Req:
        return "POST", f"{self.P}/customers", _form({"first_name": "once"}), {
            **FORM, **_basic(f"soak_new_{n}")}


class NetSuite(Driver):
    name = "netsuite"
    R = "/services/rest/record/v1"
    TOKEN = "/services/rest/auth/oauth2/v1/token"

    @staticmethod
    def config(keys: int) -> FakeConfig:
        config = Driver.config(keys)  # the demo account, without its 5-request concurrency limit
        config.tenants = {DEMO_ACCOUNT: TenantConfig(
            settings={**NS_SETTINGS, "concurrency_limit": None})}
        return config

    async def setup(self) -> None:
        self.auth = self.auth[:1]  # one account
        self.live = self.live[:1]
        await self.refresh(0)
        long = json.dumps({"companyName": "long", "comments": "a" * 3999 + "b"}).encode()
        await self.send(("POST", f"{self.R}/customer", long, JSON), self.auth[0])
        create = f"{self.R}/customer"
        suiteql = "/services/rest/query/v1/suiteql?limit=10"
        self.hostile = _common_hostile(create, form=False) | {
            "pairs": ("POST", self.TOKEN, "&".join(["scope=x"] * 20_000).encode(), FORM),
            "repeated_keys": ("POST", create,
                              b"{" + b'"companyName": "x",' * 20_000 + b'"a": 1}', JSON),
            "like": ("POST", suiteql, json.dumps(
                {"q": f"SELECT id FROM customer WHERE comments LIKE '{PATHOLOGICAL}'"}).encode(),
                     {**JSON, "prefer": "transient"}),
            "cross_join": ("POST", suiteql, json.dumps(
                {"q": "SELECT a.id FROM customer a, customer b, customer c, customer d"}
            ).encode(), {**JSON, "prefer": "transient"}),
        }

    async def refresh(self, k: int) -> int:
        response = await self.http.post(
            self.base + self.TOKEN, data={"grant_type": "client_credentials"},
            auth=(NS_SETTINGS["client_id"], NS_SETTINGS["client_secret"]))
        if response.status_code == 200:
            self.auth[0] = {"authorization": f"Bearer {response.json()['access_token']}"}
        return response.status_code

    def create(self, k: int, i: int) -> Req:
        return ("POST", f"{self.R}/customer", json.dumps(
            {"companyName": f"C{i}", "email": f"c{i}@example.test"}).encode(), JSON)

    def created_id(self, response: httpx.Response) -> str | None:
        return response.headers["location"].rsplit("/", 1)[-1]

    def read(self, k: int, obj: str) -> Req:
        return "GET", f"{self.R}/customer/{obj}", None, {}

    def list(self, k: int) -> Req:
        return "GET", f"{self.R}/customer?limit=10", None, {}

    def update(self, k: int, obj: str, i: int) -> Req:
        return ("PATCH", f"{self.R}/customer/{obj}",
                json.dumps({"comments": f"update {i}"}).encode(), JSON)

    def delete(self, k: int, obj: str) -> Req:
        return "DELETE", f"{self.R}/customer/{obj}", None, {}

    def query(self, k: int, i: int) -> Req:
        q = f"SELECT id, companyName FROM customer WHERE companyName LIKE 'C{i % 97}%'"
        return ("POST", "/services/rest/query/v1/suiteql?limit=10", json.dumps({"q": q}).encode(),
                {**JSON, "prefer": "transient"})

    def stranger(self, n: int) -> Req:
        return "GET", f"{self.R}/customer?limit=1", None, {
            "authorization": f"Bearer eyJ.unknown-{n}.sig"}


class Salesforce(Driver):
    name = "salesforce"
    V = "/services/data/v59.0"

    @staticmethod
    def config(keys: int) -> FakeConfig:
        config = Driver.config(keys)  # the demo org, without the 15,000-call daily allocation
        config.tenants = {DEMO_ORG: TenantConfig(
            settings={**SF_SETTINGS, "daily_api_limit": 10**9})}
        return config

    async def setup(self) -> None:
        self.auth = self.auth[:1]  # one org
        self.live = self.live[:1]
        await self.refresh(0)
        long = json.dumps({"Name": "a" * 254 + "b"}).encode()
        await self.send(("POST", f"{self.V}/sobjects/Account", long, JSON), self.auth[0])
        create = f"{self.V}/sobjects/Account"
        like = f"SELECT Id FROM Account WHERE Name LIKE '{PATHOLOGICAL}'"
        self.hostile = _common_hostile(create, form=False) | {
            "pairs": ("POST", "/services/oauth2/token",
                      "&".join(["scope=x"] * 20_000).encode(), FORM),
            "repeated_keys": ("POST", create, b"{" + b'"Name": "x",' * 20_000 + b'"a": 1}', JSON),
            "like": ("GET", f"{self.V}/query?" + _form({"q": like}).decode(), None, {}),
            "long_soql": ("GET", f"{self.V}/query?" + _form(
                {"q": "SELECT Id FROM Account WHERE " + " OR ".join(
                    [f"Name = 'n{n}'" for n in range(2000)])}).decode(), None, {}),
        }

    async def refresh(self, k: int) -> int:
        response = await self.http.post(self.base + "/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": SF_SETTINGS["client_id"],
            "client_secret": SF_SETTINGS["client_secret"]})
        if response.status_code == 200:
            self.auth[0] = {"authorization": f"Bearer {response.json()['access_token']}"}
        return response.status_code

    def create(self, k: int, i: int) -> Req:
        return ("POST", f"{self.V}/sobjects/Account",
                json.dumps({"Name": f"Acc {i}", "Description": f"soak {i}"}).encode(), JSON)

    def created_id(self, response: httpx.Response) -> str | None:
        return str(response.json()["id"])

    def read(self, k: int, obj: str) -> Req:
        return "GET", f"{self.V}/sobjects/Account/{obj}", None, {}

    def list(self, k: int) -> Req:
        return "GET", f"{self.V}/sobjects/Account", None, {}

    def update(self, k: int, obj: str, i: int) -> Req:
        return ("PATCH", f"{self.V}/sobjects/Account/{obj}",
                json.dumps({"Description": f"update {i}"}).encode(), JSON)

    def delete(self, k: int, obj: str) -> Req:
        return "DELETE", f"{self.V}/sobjects/Account/{obj}", None, {}

    def query(self, k: int, i: int) -> Req:
        q = f"SELECT Id, Name FROM Account WHERE Name LIKE 'Acc {i % 97}%' LIMIT 10"
        return "GET", f"{self.V}/query?" + _form({"q": q}).decode(), None, {}

    def stranger(self, n: int) -> Req:
        return "GET", f"{self.V}/sobjects/Account", None, {
            "authorization": f"Bearer 00D000000000000!AQunknown{n}"}


DRIVERS: dict[str, type[Driver]] = {d.name: d for d in (Stripe, Chargebee, NetSuite, Salesforce)}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def retained(sim: Simulator) -> str:
    """What the fake holds: tenants, objects in all their collections, journal entries."""
    tenants = sim.tenants.all()
    objects = sum(len(c) for t in tenants for c in t.data.values())
    return (f"tenants={len(tenants)} objects={objects} "
            f"journal={len(sim.journal) + len(sim.webhooks.journal)}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    driver_class = DRIVERS[args.fake]
    world = Landscape([args.fake], seed=args.seed,
                      configs={args.fake: driver_class.config(args.keys)})
    world.mount("merchant.test", _receiver)
    sim = world.fakes[args.fake]
    rng = random.Random(args.seed)
    kinds, weights = list(MIX), list(MIX.values())
    probes: list[float] = []
    statuses: Counter[tuple[str, int]] = Counter()
    spent: dict[str, float] = {}  # wall seconds by kind (hostile ones by body)
    rows: list[dict[str, Any]] = []
    next_i = 1
    async with world, world.client(timeout=None) as http:
        driver = driver_class(world, http, args.keys)
        await driver.setup()
        health = world.url(args.fake) + "/_sim/health"

        async def probe(started: float) -> None:
            # from when it was sent: waiting for the loop (the hostile request sent with it, the
            # other workers' requests ahead of it) counts, as it would for a client
            response = await http.get(health)
            probes.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text

        plan: list[str] = []
        gc.collect()
        print(f"{args.fake}: {args.requests:,} requests, seed {args.seed}, concurrency "
              f"{args.concurrency}, {args.seconds_per_request} s simulated per request; "
              f"settings {SETTINGS}, max body {MAX_BODY} B; start RSS {rss_mb():.1f} MB")
        print(f"{'requests':>9} {'sim days':>8} {'RSS MB':>8} {'Δ MB':>7} {'Δ %':>6} "
              f"{'health p50':>10} {'p99 ms':>7} {'max ms':>7} {'probes':>6} {'req/s':>7}  "
              f"retained", flush=True)
        mark = began = time.perf_counter()
        warm_rss: float | None = None
        last = args.requests

        def report(i: int) -> None:
            nonlocal mark, warm_rss, last
            out_of_time = time.perf_counter() - began > 60 * args.max_minutes
            if args.max_minutes and last == args.requests and out_of_time:
                last = i + args.report_every  # stop at the next report
            elapsed = time.perf_counter() - mark
            gc.collect()
            rss = rss_mb()
            if warm_rss is None and i >= args.warmup:
                warm_rss = rss
            delta = rss - warm_rss if warm_rss is not None else float("nan")
            row = {"requests": i, "rss_mb": round(rss, 1), "delta_mb": round(delta, 1),
                   "p50_ms": round(pct(probes, 0.5), 2), "p99_ms": round(pct(probes, 0.99), 2),
                   "max_ms": round(max(probes, default=float("nan")), 2),
                   "probes": len(probes), "rps": round((i - (rows[-1]["requests"] if rows
                                                               else 0)) / elapsed)}
            rows.append(row)
            print(f"{i:>9} {i * args.seconds_per_request / 86400:>8.1f} {rss:>8.1f} "
                  f"{delta:>7.1f} {100 * delta / warm_rss if warm_rss else float('nan'):>6.1f} "
                  f"{row['p50_ms']:>10.2f} {row['p99_ms']:>7.2f} {row['max_ms']:>7.2f} "
                  f"{len(probes):>6} {row['rps']:>7}  {retained(sim)}", flush=True)
            probes.clear()
            mark = time.perf_counter()

        async def worker() -> None:
            nonlocal next_i
            while next_i <= last:
                i = next_i
                next_i += 1
                if not plan:  # the kinds of the next block, drawn from the seed in order
                    plan.extend(reversed(rng.choices(kinds, weights, k=10_000)))
                kind = plan.pop()
                task, started = None, time.perf_counter()
                if i % args.probe_every == 0:  # health alongside a hostile request
                    kind = "hostile"
                    task = asyncio.create_task(probe(started))
                name, status = await driver.one(kind, i, rng, evenly=task is not None)
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
                statuses[(name, status)] += 1
                if task is not None:
                    await task
                await world.advance(args.seconds_per_request)
                await asyncio.sleep(0)  # a request runs to its end unsuspended: take turns
                if i % args.report_every == 0 or i == last:
                    report(i)

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    after = [r["rss_mb"] for r in rows if r["requests"] >= args.warmup]
    flat = 100 * (max(after) / min(after) - 1) if after else float("nan")
    print(f"flat within {flat:.1f} % after warm-up ({args.warmup:,} requests: "
          f"RSS {min(after, default=0):.1f}–{max(after, default=0):.1f} MB)")
    by_kind: dict[str, dict[int, int]] = {}
    for (kind, status), n in sorted(statuses.items()):
        by_kind.setdefault(kind, {})[status] = n
    print("by kind: statuses, mean wall ms per request")
    for kind, counts in by_kind.items():
        print(f"  {kind:<15} {counts}  {1000 * spent[kind] / sum(counts.values()):.2f} ms")
    if last != args.requests:
        print(f"stopped at {last:,} of {args.requests:,} requests (--max-minutes "
              f"{args.max_minutes})")
    summary = {"fake": args.fake, "requests": last, "rows": rows, "flat_pct": flat}
    print(SUMMARY + json.dumps(summary), flush=True)
    return summary


def run_all(args: argparse.Namespace, argv: list[str]) -> None:
    """Each fake in its own process, `--parallel` at a time; then one combined table."""
    rest = [a for a in argv if not a.startswith("--fake") and a not in FAKES + ("all",)]
    pending = list(FAKES)
    running: list[tuple[str, subprocess.Popen[bytes], Path, Any]] = []
    summaries: dict[str, Any] = {}
    while pending or running:
        while pending and len(running) < args.parallel:
            fake = pending.pop(0)
            out = Path(args.out_dir) / f"hostile_soak_{fake}.txt"
            handle = out.open("w")
            proc = subprocess.Popen([sys.executable, "-m", "harness.hostile_soak", "--fake", fake,
                                     *rest], stdout=handle, stderr=subprocess.STDOUT)
            running.append((fake, proc, out, handle))
            print(f"started {fake} (pid {proc.pid}) -> {out}", flush=True)
        time.sleep(2)
        for entry in [e for e in running if e[1].poll() is not None]:
            fake, proc, out, handle = entry
            handle.close()
            running.remove(entry)
            lines = [ln for ln in out.read_text().splitlines() if ln.startswith(SUMMARY)]
            summaries[fake] = json.loads(lines[-1][len(SUMMARY):]) if lines else None
            print(f"{fake} finished (exit {proc.returncode})", flush=True)
    print(f"\n{'fake':<11} {'requests':>9} {'RSS MB':>8} {'Δ MB':>7} {'health p99 ms':>13} "
          f"{'max ms':>7} {'req/s':>7}")
    for fake in FAKES:
        summary = summaries.get(fake)
        if not summary:
            print(f"{fake:<11} (no result; see its output file)")
            continue
        for row in summary["rows"]:
            print(f"{fake:<11} {row['requests']:>9} {row['rss_mb']:>8.1f} {row['delta_mb']:>7.1f} "
                  f"{row['p99_ms']:>13.2f} {row['max_ms']:>7.2f} {row['rps']:>7}")
        print(f"{fake:<11} flat within {summary['flat_pct']:.1f} % after warm-up")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--fake", choices=(*FAKES, "all"), required=True)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--report-every", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=200_000,
                        help="RSS deltas and flatness count from this request on")
    parser.add_argument("--probe-every", type=int, default=100,
                        help="a health probe (with a hostile request) every N requests")
    parser.add_argument("--keys", type=int, default=6,
                        help="API keys / sites the traffic rotates over (Stripe, Chargebee)")
    parser.add_argument("--seconds-per-request", type=float, default=2.0)
    parser.add_argument("--max-minutes", type=float, default=0,
                        help="stop at the first report after this much wall time (0: never)")
    parser.add_argument("--parallel", type=int, default=2, help="with --fake all")
    parser.add_argument("--out-dir", default="/tmp", help="with --fake all")
    args = parser.parse_args(argv)
    if args.fake == "all":
        run_all(args, argv)
    else:
        run(soak(args))


if __name__ == "__main__":
    main()
