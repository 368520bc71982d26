"""Ground truth from the fakes' control planes, and the invariants judged on it.

`gather(stage, declines)` reads every merchant tenant's state (`GET /_sim/tenants/{id}/state`),
each fake's request and webhook journals, and each engine's decision log for the failed renewals
(`GET /v1/invoices/{key}/decisions`: durable, so a decline the engine decided without answering
a webhook, e.g. found by its catch-up after it was down past the redelivery, is seen too).
`judge(run, truth, reconciliation)` checks, per merchant:

- at most one successful collection per invoice: succeeded PaymentIntents naming it (on any
  MID), plus payments applied by hand in the ERP;
- at most one successful charge per idempotency key (the fake Stripe's request journal);
- every failed renewal was delivered to the engine and answered 2xx;
- every recovery is in billing (invoice paid), the ERP (payment applied, invoice settled) and
  the CRM (recovery status "recovered", read through the merchant's mapping);
- reconciliation is clean after the repairs and nothing is left in the dead letters;
- decision latency p99 under the SLA: the time the billing system's webhook delivery took to
  be answered, as the fake measured it (the engine answers once the retry's result is known);
- merchants are isolated: nothing of one merchant's invoices in another's tenants;
- a renamed CRM field is reported (dead letters naming it), not swallowed.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from components.mapping import MerchantMapping, load_mapping
from harness.scenario import INVARIANTS

if TYPE_CHECKING:
    from harness.scenario_run import Run
    from harness.stage import Stage

FAILED_EVENTS = {"stripe": "invoice.payment_failed", "chargebee": "payment_failed"}


DECISION_READS = 8  # concurrent reads of an engine's decision log


def fired_keys(run: Run) -> dict[str, list[str]]:
    """merchant → the invoice keys of its failed renewals (whose decisions `gather` reads)."""
    keys: dict[str, list[str]] = defaultdict(list)
    for p in run.fired:
        keys[p.customer.merchant].append(p.customer.invoice_key)
    return dict(keys)


async def read_decisions(stage: Stage, declines: Mapping[str, Iterable[str]]
                         ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """merchant → invoice key → the engine's recorded decisions, over its API. An engine that
    does not answer records nothing here (its declines are judged on the journals alone)."""
    limit = asyncio.Semaphore(DECISION_READS)
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}

    async def one(base: str, key: str) -> tuple[str, list[dict[str, Any]]]:
        async with limit:
            try:
                response = await stage.http.get(
                    f"{base}/v1/invoices/{quote(key, safe=':')}/decisions")
            except httpx.HTTPError:
                return key, []
        return key, list(response.json()) if response.status_code == 200 else []

    for name, keys in declines.items():
        urls = stage.components.get(name)
        if urls is None:
            continue
        got = await asyncio.gather(*(one(urls.recovery, k) for k in dict.fromkeys(keys)))
        out[name] = {key: rows for key, rows in got if rows}
    return out


async def gather(stage: Stage,
                 declines: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """Every merchant tenant's state and every fake's journals; `declines` (merchant → invoice
    keys, `fired_keys(run)`): the engines' decisions on those too."""
    http = stage.http
    truth: dict[str, Any] = {"tenants": {}, "requests": {}, "webhooks": {},
                             "decisions": await read_decisions(stage, declines or {})}
    for vendor, base in stage.fakes.items():
        truth["requests"][vendor] = (await http.get(f"{base}/_sim/journal/requests")).json()
        truth["webhooks"][vendor] = (await http.get(f"{base}/_sim/journal/webhooks")).json()
    for name in stage.topology.merchants:
        for vendor, tenant_ids in stage.topology.tenants(name).items():
            for tenant in tenant_ids:
                state = (await http.get(f"{stage.fakes[vendor]}/_sim/tenants/{tenant}/state"))
                truth["tenants"][vendor, tenant] = state.json().get("data", {})
    return truth


def _objects(data: dict[str, Any], collection: str) -> list[dict[str, Any]]:
    return list((data.get(collection) or {}).values())


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "count": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1],
            "count": len(ordered)}


class Truth:
    """The ground truth of one merchant, indexed for the checks."""

    def __init__(self, run: Run, name: str, truth: dict[str, Any]) -> None:
        topology = run.topology
        self.name, self.m = name, topology.merchants[name]
        self.mapping: MerchantMapping = load_mapping(topology.path(self.m.mapping))
        tenants = topology.tenants(name)
        self.customers = {c.invoice_key: c for c in run.customers.get(name, [])}
        self.fired = [p for p in run.fired if p.customer.merchant == name]
        self.intents: list[tuple[str, dict[str, Any]]] = []  # (MID tenant, PaymentIntent)
        for key in tenants["stripe"]:
            data = truth["tenants"]["stripe", key]
            self.intents += [(key, pi) for pi in _objects(data, "payment_intent")]
        self.primary = truth["tenants"]["stripe", tenants["stripe"][0]]
        self.billing_vendor = self.m.billing.system
        self.billing = truth["tenants"][self.billing_vendor, tenants[self.billing_vendor][0]]
        self.erp = truth["tenants"].get(("netsuite", tenants["netsuite"][0])) \
            if "netsuite" in tenants else None
        self.crm = truth["tenants"].get(("salesforce", tenants["salesforce"][0])) \
            if "salesforce" in tenants else None
        self.requests = [e for e in truth["requests"]["stripe"]
                         if e.get("tenant") in tenants["stripe"]]
        billing_tenant = tenants[self.billing_vendor][0]
        self.deliveries = [e for e in truth["webhooks"][self.billing_vendor]
                           if e.get("tenant") == billing_tenant
                           and e.get("event_type") == FAILED_EVENTS[self.billing_vendor]]
        # invoice key → the engine's decision log (read by `gather`; empty in-process)
        self.decisions: dict[str, list[dict[str, Any]]] = \
            (truth.get("decisions") or {}).get(name, {})

    # -- what happened to each invoice -------------------------------------------------------
    def decided(self, key: str) -> bool:
        """The engine recorded a decision on the invoice (any action) that did not end in a
        vendor error: the decline was decided, whichever way it reached the engine."""
        return any(d.get("status") != "error" for d in self.decisions.get(key, ()))

    def recovery_intents(self, key: str) -> list[dict[str, Any]]:
        return [pi for _, pi in self.intents
                if (pi.get("metadata") or {}).get("invoice_key") == key]

    def succeeded_charges(self, key: str) -> list[str]:
        """Succeeded PaymentIntents that collected this invoice (the engine's, and the billing
        system's own charge of it)."""
        invoice_id = self.customers[key].invoice
        return [pi["id"] for _, pi in self.intents if pi.get("status") == "succeeded"
                and ((pi.get("metadata") or {}).get("invoice_key") == key
                     or pi.get("invoice") == invoice_id)]

    def event_invoice(self) -> dict[str, str]:
        """Event id → the billing invoice it is about."""
        out = {}
        for event in _objects(self.primary if self.billing_vendor == "stripe" else self.billing,
                              "event"):
            obj = (event.get("data") or {}).get("object") or {}
            content = event.get("content") or {}
            invoice = obj.get("id") if obj.get("object") == "invoice" else \
                (content.get("invoice") or {}).get("id")
            if invoice:
                out[event["id"]] = invoice
        return out

    def billing_invoice(self, invoice_id: str) -> dict[str, Any] | None:
        for collection in ("invoice", "invoices"):
            found = (self.billing.get(collection) or {}).get(invoice_id)
            if found:
                return dict(found)
        return None

    def erp_invoice(self, invoice_id: str) -> dict[str, Any] | None:
        if self.erp is None:
            return None
        key = self.mapping.key_field("netsuite", "invoice") or "externalId"
        return next((r for r in _objects(self.erp, "records.invoice")
                     if str(r.get(key)) == invoice_id), None)

    def erp_payments(self, erp_invoice_id: str) -> list[dict[str, Any]]:
        if self.erp is None:
            return []
        out = []
        for p in _objects(self.erp, "records.customerpayment"):
            applied = p.get("apply") or []  # the stored record keeps the sublist as a list
            if isinstance(applied, dict):
                applied = applied.get("items") or []
            if any(str((a.get("doc") or {}).get("id")) == erp_invoice_id for a in applied):
                out.append(p)
        return out

    def crm_status(self, c: Any) -> str | None:
        """The CRM's recovery status for the customer's subscription, read via the mapping."""
        if self.crm is None:
            return None
        for record in self.mapping.entities("salesforce"):
            rmap = self.mapping.record("salesforce", record)
            if "recovery_status" not in rmap.fields or rmap.key is None:
                continue
            canonical_key = next(k for k, f in rmap.fields.items() if f.vendor_field == rmap.key)
            wanted = {"customer_id": c.billing_customer,
                      "subscription_id": c.subscription}.get(canonical_key)
            for row in _objects(self.crm, f"sobject:{rmap.object}"):
                if row.get(rmap.key) == wanted:
                    try:
                        value = self.mapping.from_vendor("salesforce", record, row)
                    except Exception:  # a renamed field: the record no longer maps
                        return None
                    return value.get("recovery_status")
        return None


def judge(run: Run, truth: dict[str, Any],
          reconciliation: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                             dict[str, Any]]:
    """The invariants (every one; the scenario picks which count) and the run's figures."""
    violations: dict[str, list[str]] = defaultdict(list)
    details: dict[str, list[str]] = defaultdict(list)
    merchants: dict[str, dict[str, Any]] = {}
    latencies: list[float] = []
    decision_events: list[dict[str, Any]] = []
    recon: dict[str, dict[str, Any]] = {}
    all_keys = {c.invoice_key: c.merchant for cs in run.customers.values() for c in cs}
    renamed = {r["merchant"]: r for r in run.renamed}
    for name in run.topology.merchants:
        t = Truth(run, name, truth)
        figures = Counter[str]()
        # one collection per invoice, one charge per idempotency key
        for p in t.fired:
            key = p.customer.invoice_key
            charges = t.succeeded_charges(key)
            manual = 1 if key in run.manual_payments else 0
            if len(charges) + manual > 1:
                figures["double_charges"] += 1
                violations["one_charge_per_invoice"].append(
                    f"{name} {key}: {len(charges)} succeeded charge(s) {', '.join(charges)}"
                    + (f" and a payment made by hand {run.manual_payments[key]}" if manual
                       else ""))
        per_key = Counter((e.get("tenant"), e.get("idempotency_key")) for e in t.requests
                          if e.get("method") == "POST" and _charges(e.get("path", ""))
                          and e.get("idempotency_key") and not e.get("replayed")
                          and e.get("status") == 200)
        for (tenant, ikey), count in per_key.items():
            if count > 1:
                violations["one_charge_per_idempotency_key"].append(
                    f"{name} {tenant}: {count} charges with idempotency key {ikey}")
        details["one_charge_per_idempotency_key"].append(f"{name}: {len(per_key)} keys")
        failed_keys = {p.customer.invoice_key for p in t.fired}
        untraced = sorted({str((pi.get("metadata") or {}).get("invoice_key")) for _, pi in t.intents
                           if pi.get("status") == "succeeded"
                           and (pi.get("metadata") or {}).get("invoice_key")
                           and (pi.get("metadata") or {}).get("invoice_key") not in failed_keys})
        for key in untraced:
            violations["charges_trace_to_failures"].append(
                f"{name}: the customer was charged for {key}, whose renewal never failed"
                + (" (a forged webhook)" if key in run.forged else ""))
        # each event acted on once: its copies and redeliveries answered as duplicates
        decided = Counter(d.get("event_id") for d in t.deliveries if _decision(d))
        for event_id, count in sorted(decided.items()):
            if count > 1:
                violations["events_decided_once"].append(
                    f"{name}: event {event_id} was decided {count} times (its copies and "
                    "redeliveries were not recognised as the same event)")
        details["events_decided_once"].append(f"{name}: {len(decided)} events decided")
        # decisions and their latency, from the billing system's webhook deliveries
        event_invoice = t.event_invoice()
        by_invoice: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for d in t.deliveries:
            invoice = event_invoice.get(d.get("event_id", ""))
            if invoice:
                by_invoice[invoice].append(d)
        for p in t.fired:
            c = p.customer
            attempts = by_invoice.get(c.invoice, [])
            answered = [a for a in attempts if a.get("outcome") == "delivered"]
            first = next((a for a in attempts if a.get("copy", 0) == 0
                          and a.get("outcome") in ("delivered", "failed")), None)
            intents = t.recovery_intents(c.invoice_key)
            if t.succeeded_charges(c.invoice_key):
                kind = "recovered"
            elif c.invoice_key in run.manual_payments:
                kind = "paid_elsewhere"
            elif intents:
                kind = "declined"
            else:
                kind = "not_retried"
            # a decline whose webhooks all went unanswered (the engine was down past the
            # vendor's redelivery) is decided when the engine, back, found it on the event
            # list and retried it (its charge attempts), or recorded its decision (its
            # decision log; in-process explorations: `run.caught_up`, from its memory)
            if answered or intents or t.decided(c.invoice_key) \
                    or c.invoice_key in run.caught_up:
                figures["decisions"] += 1
                figures["caught_up"] += 0 if answered else 1
            else:
                figures["errors"] += 1
                seen = ", ".join(str(a.get("status") or a.get("outcome")) for a in attempts)
                violations["every_decline_decided"].append(
                    f"{name} {c.invoice}: {len(attempts)} delivery attempt(s), none answered "
                    f"2xx ({seen or 'none'})")
            figures[kind if kind != "paid_elsewhere" else "not_retried"] += 1
            latency = None
            if first is not None and first.get("outcome") == "delivered":
                latency = float(first.get("duration_ms") or 0.0)
                latencies.append(latency)
            elif first is not None:
                figures["redelivered"] += 1
            at = (first or {}).get("at")
            decision_events.append({
                "t": round((at if at is not None else run.start) - run.start, 3),
                "merchant": name, "kind": kind if answered else "error",
                "latency_ms": latency, "invoice": c.invoice})
        figures["declines"] = len(t.fired)
        # every recovery reflected
        checked = 0
        for p in t.fired:
            c = p.customer
            if not t.succeeded_charges(c.invoice_key):
                continue
            checked += 1
            problems = []
            bill = t.billing_invoice(c.invoice)
            if bill is None or bill.get("status") != "paid":
                problems.append(f"billing invoice {(bill or {}).get('status', 'missing')}")
            if t.erp is not None:
                inv = t.erp_invoice(c.invoice)
                payments = t.erp_payments(str(inv.get("id"))) if inv else []
                if inv is None:
                    problems.append("ERP invoice missing")
                elif float(inv.get("amountRemaining", inv.get("amountremaining", 1)) or 0) > 0:
                    problems.append(f"ERP invoice {inv.get('id')} still has "
                                    f"{inv.get('amountRemaining')} remaining")
                elif not payments:
                    problems.append(f"no ERP payment applied to invoice {inv.get('id')}")
            if t.crm is not None and name not in renamed:
                status = t.crm_status(c)
                if status != "recovered":
                    problems.append(f"CRM recovery status {status!r}")
            if problems:
                violations["recoveries_reflected"].append(
                    f"{name} {c.invoice}: {'; '.join(problems)}")
        details["recoveries_reflected"].append(
            f"{name}: {checked} recoveries checked in billing"
            + (", ERP" if t.erp is not None else "")
            + (", CRM" if t.crm is not None and name not in renamed else "")
            + (" (CRM skipped: its field was renamed)" if name in renamed else ""))
        # reconciliation
        r = reconciliation.get(name, {})
        first_report, final = r.get("first", {}), r.get("final", {})
        found = [d for d in first_report.get("drifts", [])]
        remaining = {d["invoice_key"] for d in final.get("drifts", [])}
        dead = r.get("dead_letters", [])
        recon[name] = {
            "consistent": len(final.get("matched", [])),
            "settling": len(final.get("in_transit", [])),
            "drift_found": len(found),
            "drift_repaired": sum(1 for d in found if d["invoice_key"] not in remaining
                                  and d.get("repair")),
            "needs_human": sum(1 for d in final.get("drifts", []) if d.get("needs_human")),
            "dead_letters": len(dead),
            "drifts": [{"class": d["drift_class"], "invoice_key": d["invoice_key"],
                        "repaired": d["invoice_key"] not in remaining} for d in found],
        }
        figures.update({k: recon[name][k] for k in ("drift_found", "drift_repaired",
                                                    "needs_human")})
        # a dead letter whose invoice the final reconciliation matched was superseded by a
        # repair; one whose invoice still differs is work left for an operator
        matched = set(final.get("matched", []))
        open_dead = [d for d in dead if (d.get("payload") or {}).get("invoice_key") not in matched]
        recon[name]["dead_letters_superseded"] = len(dead) - len(open_dead)
        if not final.get("clean", False) or open_dead:
            settling = len(final.get("in_transit", []))
            violations["reconciliation_clean"].append(
                f"{name}: final reconciliation {final.get('error') or final.get('summary')}; "
                f"{len(open_dead)} unresolved dead letter(s)"
                + (f", first: {open_dead[0].get('last_error') or open_dead[0]}"
                   if open_dead else "")
                + (f"; {settling} difference(s) younger than the sync's settle window (5 min) "
                   f"are not yet called drift: a longer quiet phase (--quiet) lets them settle "
                   f"or be repaired" if settling else ""))
        # drift reported, not swallowed
        if name in renamed:
            field = renamed[name]["field"]
            named = [d for d in dead if field in str(d)]
            if not named:
                violations["drift_reported"].append(
                    f"{name}: {field} was renamed but no dead letter names it "
                    f"({len(dead)} dead letters)")
            details["drift_reported"].append(
                f"{name}: {len(named)} write-back(s) dead-lettered naming {field}")
        # isolation
        for vendor_tenant, data in truth["tenants"].items():
            if vendor_tenant[1] in sum(run.topology.tenants(name).values(), []):
                continue
            text = str(data)
            leaked = [k for k, owner in all_keys.items() if owner == name
                      and run.customers and k.split(":")[-1] in text]
            if leaked:
                violations["tenants_isolated"].append(
                    f"{name}: {leaked[0]} found in {vendor_tenant[0]} tenant {vendor_tenant[1]}")
        merchants[name] = {k: figures.get(k, 0) for k in (
            "declines", "decisions", "recovered", "declined", "not_retried", "deferred",
            "errors", "double_charges", "drift_found", "drift_repaired", "needs_human",
            "redelivered")}
        merchants[name]["manual_erp_payments"] = sum(1 for k in run.manual_payments
                                                     if all_keys.get(k) == name)
    sla = run.topology.sla_ms
    stats = percentiles(latencies)
    if stats["count"] and stats["p99"] >= sla:
        violations["sla"].append(f"p99 {stats['p99']:.0f} ms ≥ SLA {sla:.0f} ms")
    if not stats["count"]:
        violations["sla"].append("no decision was answered on its first delivery")
    details["sla"].append(f"p50 {stats['p50']:.0f} / p95 {stats['p95']:.0f} / p99 "
                          f"{stats['p99']:.0f} ms over {stats['count']} first deliveries "
                          f"(SLA {sla:.0f} ms)")
    total = sum(m["declines"] for m in merchants.values())
    details["one_charge_per_invoice"].append(
        f"{total} failed renewals, {sum(m['recovered'] for m in merchants.values())} "
        f"recovered, {len(run.manual_payments)} paid by hand")
    details["every_decline_decided"].append(
        f"{sum(m['decisions'] for m in merchants.values())} of {total} answered")
    details["reconciliation_clean"].append(
        ", ".join(f"{n}: {r['consistent']} matched, {r['drift_found']} drift found, "
                  f"{r['drift_repaired']} repaired, {r['dead_letters']} dead letters "
                  f"({r['dead_letters_superseded']} superseded by repairs)"
                  for n, r in recon.items()))
    details["tenants_isolated"].append(f"{len(truth['tenants'])} tenants inspected")
    details["charges_trace_to_failures"].append(
        f"{len(run.forged)} forged failure webhooks sent" if run.forged
        else "every recovery charge names a failed renewal")
    checks = [{"name": text, "id": key, "passed": not violations[key],
               "detail": "; ".join(details[key]), "violations": violations[key][:20]}
              for key, text in INVARIANTS.items()]
    mode = next(iter(run.topology.merchants.values())).components.settings.get("mode", "cached")
    figures_out = {
        "merchants": merchants, "latency": {mode: latencies},
        "latency_percentiles": {mode: stats}, "reconciliation": recon,
        "vendors": _vendor_calls(truth), "decision_events": decision_events,
    }
    return checks, figures_out


def _charges(path: str) -> bool:
    """A request that charges a card: a PaymentIntent, or paying an invoice."""
    return path == "/v1/payment_intents" or fnmatch.fnmatchcase(path, "/v1/invoices/*/pay")


def _vendor_calls(truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for vendor, entries in truth["requests"].items():
        # no status: the client went away first (a cancelled spare read, a killed process)
        by_status = Counter(str(e.get("status") or "no answer") for e in entries)
        out[vendor] = {"calls": len(entries),
                       "errors": sum(n for s, n in by_status.items()
                                     if s.isdigit() and int(s) >= 400),
                       "by_status": dict(by_status)}
    return out


def _decision(delivery: dict[str, Any]) -> bool:
    """The endpoint answered this delivery with a decision: an engine that answers with its
    outcome (the reference engine's `{"invoice_key": ...}`), not with a duplicate dropped or
    an event ignored. An engine answering otherwise is never counted."""
    return str(delivery.get("response") or "").startswith('{"invoice_key"')
