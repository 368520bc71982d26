"""`python -m harness.bench_growth [N ...]`: what one request costs the fake NetSuite, Salesforce
and Chargebee as one tenant's data grows (default N = 1,000 and 100,000).

Each fake is filled in-process through its models with N records of each kind the operations
read (NetSuite: N customers and N invoices, each with an external id; Salesforce: N Accounts
with an external id; Chargebee: N customers, each with a subscription and its invoice), then
each operation is sent through the fake's app (auth, pipeline, handler) with
httpx.ASGITransport; the figure is the median wall time of one request, in µs. An operation
whose cost follows N reads every record of a kind; the ratio column shows it.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import httpx

from simulators.core.app import build_app
from simulators.core.config import build_simulator
from simulators.registry import create_vendor

SCHEMAS = Path(__file__).resolve().parents[1] / "scenarios" / "schemas"
REPS, QUERY_REPS = 60, 20  # requests timed per operation (queries: fewer, they may be slow)
Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def median_us(client: httpx.AsyncClient, send: Send, reps: int = REPS) -> float:
    times = []
    for i in range(reps + 3):  # the first three warm up
        began = time.perf_counter()
        response = await send(client, i)
        if i >= 3:
            times.append(time.perf_counter() - began)
        if response.status_code >= 300:
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
    return statistics.median(times) * 1e6


def _simulator(vendor: str, n: int, schema: str | None = None) -> Any:
    sim = build_simulator(create_vendor(vendor), None, seed=1, controlled_clock=True,
                          schema_path=SCHEMAS / schema if schema else None)
    sim.settings = {**sim.settings, "max_objects_per_collection": n + 100_000}
    return sim


def _vendor(name: str, *modules: str) -> list[Any]:
    """A vendor package's modules, then its `vendor` module (looked up by name: mypy checks
    this module, not the vendor packages)."""
    return [import_module(f"simulators.{name}.{m}") for m in (*modules, "vendor")]


def _client(app: Any, base: str = "http://testserver", **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base,
                             headers=headers)


async def netsuite(n: int) -> dict[str, float]:
    models, vendor = _vendor("netsuite", "models")
    settings = vendor.DEMO_SETTINGS
    sim = _simulator("netsuite", n)
    app, tenant = build_app(sim), sim.tenants.get(vendor.DEMO_ACCOUNT)
    tenant.settings.update(settings, concurrency_limit=None)
    customers, invoices = (models.record_type(tenant, t) for t in ("customer", "invoice"))
    assert customers is not None and invoices is not None
    line, mid = {"items": [{"item": {"id": "1"}, "amount": 1000.0}]}, n // 2
    for i in range(n):  # external ids set afterwards: before indexes, create scanned for them
        customer = models.create(tenant, customers, {"companyName": f"C{i}"}, 0.0)
        customer["externalId"] = f"cust-{i}"
        invoice = models.create(tenant, invoices, {"entity": {"id": customer["id"]},
                                                   "item": line}, 0.0)
        invoice["externalId"] = f"inv-{i}"
        if i == mid:
            customer_id, invoice_id = customer["id"], invoice["id"]
    basic = base64.b64encode(f"{settings['client_id']}:{settings['client_secret']}"
                             .encode()).decode()
    rec, out = "/services/rest/record/v1", {}
    async with _client(app) as client:
        token = await client.post("/services/rest/auth/oauth2/v1/token",
                                  data={"grant_type": "client_credentials"},
                                  headers={"authorization": f"Basic {basic}"})
        client.headers["authorization"] = f"Bearer {token.json()['access_token']}"
        out["NetSuite GET customer by eid: (with its balance)"] = await median_us(
            client, lambda c, i: c.get(f"{rec}/customer/eid:cust-{mid}"))
        out["NetSuite GET invoice by eid:"] = await median_us(
            client, lambda c, i: c.get(f"{rec}/invoice/eid:inv-{mid}"))
        out["NetSuite PATCH invoice by eid:"] = await median_us(
            client, lambda c, i: c.patch(f"{rec}/invoice/eid:inv-{mid}", json={"memo": f"{i}"}))
        out["NetSuite PATCH invoice by id"] = await median_us(
            client, lambda c, i: c.patch(f"{rec}/invoice/{invoice_id}", json={"memo": f"{i}"}))
        out["NetSuite POST customerPayment applied to it"] = await median_us(
            client, lambda c, i: c.post(f"{rec}/customerPayment", json={
                "customer": {"id": customer_id}, "payment": 1.0,
                "apply": {"items": [{"doc": {"id": invoice_id}, "amount": 1.0}]}}))
        out["NetSuite SuiteQL by primary key"] = await median_us(
            client, lambda c, i: c.post("/services/rest/query/v1/suiteql", headers={
                "Prefer": "transient"}, json={"q": "SELECT id, companyname FROM customer "
                                                   f"WHERE id = {customer_id}"}), QUERY_REPS)
    return out


async def salesforce(n: int) -> dict[str, float]:
    models, vendor = _vendor("salesforce", "models")
    settings = vendor.DEMO_SETTINGS
    sim = _simulator("salesforce", n, "salesforce-account-fields.yaml")
    app, tenant = build_app(sim), sim.tenants.get(vendor.DEMO_ORG)
    tenant.settings.update(settings)
    work = models.Work(tenant, 0.0)
    accounts, ids = work.sobject("Account"), []
    for i in range(n):  # the unique external id set afterwards, as for NetSuite
        ids.append(work.create(accounts, {"Name": f"A{i}"}))
        models.table(tenant, "Account")[ids[-1]]["Stripe_Customer_Id__c"] = f"cus_{i}"
    mid = n // 2
    form = {"grant_type": "password", "client_id": settings["client_id"],
            "client_secret": settings["client_secret"],
            "username": settings["username"],
            "password": settings["password"] + settings["security_token"]}
    base, out = "/services/data/v59.0", {}
    by_ext = f"{base}/sobjects/Account/Stripe_Customer_Id__c"
    async with _client(app) as client:
        token = await client.post("/services/oauth2/token", data=form)
        client.headers["authorization"] = f"Bearer {token.json()['access_token']}"
        out["Salesforce GET by external id"] = await median_us(
            client, lambda c, i: c.get(f"{by_ext}/cus_{mid}"))
        out["Salesforce PATCH by external id (update)"] = await median_us(
            client, lambda c, i: c.patch(f"{by_ext}/cus_{mid}", json={"Phone": f"{i}"}))
        out["Salesforce PATCH by external id (insert)"] = await median_us(
            client, lambda c, i: c.patch(f"{by_ext}/new_{i}", json={"Name": f"N{i}"}))
        out["Salesforce PATCH by Id"] = await median_us(
            client, lambda c, i: c.patch(f"{base}/sobjects/Account/{ids[mid]}",
                                         json={"Phone": f"{i}"}))
        out["Salesforce SOQL by Id"] = await median_us(
            client, lambda c, i: c.get(f"{base}/query", params={
                "q": f"SELECT Id, Name FROM Account WHERE Id = '{ids[mid]}'"}), QUERY_REPS)
    return out


async def chargebee(n: int) -> dict[str, float]:
    models, billing, vendor = _vendor("chargebee", "models", "billing")
    site = vendor.DEMO_SITE
    sim = _simulator("chargebee", n)
    app, tenant = build_app(sim), sim.tenants.get(site)
    models.create_item_family(tenant, {"id": "fam", "name": "Fam"}, 0.0)
    models.create_item(tenant, {"id": "plan", "name": "Plan", "type": "plan",
                                "item_family_id": "fam"}, 0.0)
    models.create_item_price(tenant, {"id": "usd", "name": "USD", "item_id": "plan",
                                      "price": "1000", "period_unit": "month"}, 0.0)
    for i in range(n):
        customer = models.create_customer(sim, tenant, {"id": f"c{i}"}, 0.0, webhooks=False)
        billing.create_subscription(sim, tenant, customer, {
            "id": f"s{i}", "subscription_items": [{"item_price_id": "usd"}]}, 0.0,
            webhooks=False)
    mid = n // 2
    invoice, other = str(mid + 1), str(mid + 2)  # the invoices of s{mid} and s{mid + 1}
    key = base64.b64encode(f"{vendor.DEMO_KEY}:".encode()).decode()
    api, out = "/api/v2", {}
    async with _client(app, f"http://{site}.localhost", authorization=f"Basic {key}") as c:
        out["Chargebee GET subscription"] = await median_us(
            c, lambda c, i: c.get(f"{api}/subscriptions/s{mid}"))
        out["Chargebee GET customer"] = await median_us(
            c, lambda c, i: c.get(f"{api}/customers/c{mid}"))
        out["Chargebee GET invoice"] = await median_us(
            c, lambda c, i: c.get(f"{api}/invoices/{invoice}"))
        out["Chargebee list invoices customer_id[is]"] = await median_us(
            c, lambda c, i: c.get(f"{api}/invoices", params={"customer_id[is]": f"c{mid}"}),
            QUERY_REPS)
        out["Chargebee list invoices subscription_id[is]"] = await median_us(
            c, lambda c, i: c.get(f"{api}/invoices", params={"subscription_id[is]": f"s{mid}"}),
            QUERY_REPS)
        out["Chargebee GET a customer's subscriptions"] = await median_us(
            c, lambda c, i: c.get(f"{api}/customers/c{mid}/subscriptions"), QUERY_REPS)
        out["Chargebee record a payment"] = await median_us(
            c, lambda c, i: c.post(f"{api}/invoices/{other}/record_payment", data={
                "transaction[payment_method]": "cash", "transaction[amount]": "1"}))
    return out


async def measure(sizes: list[int]) -> dict[str, dict[int, float]]:
    figures: dict[str, dict[int, float]] = {}
    for n in sizes:
        for fake in (netsuite, salesforce, chargebee):
            for operation, us in (await fake(n)).items():
                figures.setdefault(operation, {})[n] = us
    return figures


def main(argv: list[str] | None = None) -> None:
    sizes = [int(a.replace(",", "").replace("_", "")) for a in (argv or sys.argv[1:])]
    sizes = sizes or [1_000, 100_000]
    figures = asyncio.run(measure(sizes))
    print(f"| operation | {' | '.join(f'µs at {n:,}' for n in sizes)} | ratio |")
    print(f"|---|{'---:|' * len(sizes)}---:|")
    for operation, by_size in figures.items():
        cells = " | ".join(f"{by_size[n]:,.0f}" for n in sizes)
        print(f"| {operation} | {cells} | {by_size[sizes[-1]] / by_size[sizes[0]]:.1f}× |")


if __name__ == "__main__":
    main()
