"""What the model simulates, read from a topology: each merchant's decision path (which vendor
calls, in which order), each call's latency distribution, each vendor account's limits, and
the engine and outbox capacity.

A decision follows the reference engine (components/recovery/engine.py):

    arrival ─▶ engine CPU (intake) ─▶ reads in sequence (billing state; the ERP when naive)
             ╲─ card lookup on the alternate MID, in parallel from arrival ─╱
           ─▶ decide ─▶ soft: charge (one PaymentIntent) ─▶ engine CPU (ledger + outbox commit)
           ─▶ write-backs to billing, ERP and CRM, relayed later by the outbox workers

Latency per call = the fake's profile (`systems.<vendor>.latency`) + the latency faults that
match the call's method and path + the merchant's own tenant latency: the same sum the fake's
pipeline draws (simulators/core/pipeline.py, "injected latency").
"""

from __future__ import annotations

import bisect
import fnmatch
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from harness.topology import Merchant, Topology, VendorName
from simulators.core.latency import Z99, Latency

Sampler = Callable[[random.Random], float]  # one draw, in seconds


@dataclass(frozen=True)
class Op:
    """One kind of vendor request the engine or the relay makes."""

    vendor: str
    method: str
    path: str     # as the fake's journal shows it (ids replaced by *)
    label: str


OPS = {
    "stripe_invoice": Op("stripe", "GET", "/v1/invoices/*", "billing state (Stripe invoice)"),
    "stripe_intent": Op("stripe", "GET", "/v1/payment_intents/*", "decline code (PaymentIntent)"),
    "stripe_card": Op("stripe", "GET", "/v1/customers", "card on the alternate MID"),
    "stripe_charge": Op("stripe", "POST", "/v1/payment_intents", "charge (alternate MID)"),
    "stripe_pay": Op("stripe", "POST", "/v1/invoices/*/pay", "charge (invoice pay)"),
    "chargebee_invoice": Op("chargebee", "GET", "/api/v2/invoices/*", "billing state (Chargebee)"),
    "netsuite_invoice": Op("netsuite", "GET", "/services/rest/query/v1/suiteql", "ERP invoice"),
    "wb_stripe": Op("stripe", "POST", "/v1/invoices/*/pay", "write-back: paid out of band"),
    "wb_chargebee": Op("chargebee", "POST", "/api/v2/invoices/*/record_payment",
                       "write-back: record payment"),
    "wb_netsuite_payment": Op("netsuite", "POST", "/services/rest/record/v1/customerPayment",
                              "write-back: ERP customer payment"),
    "wb_netsuite": Op("netsuite", "PATCH", "/services/rest/record/v1/invoice/*",
                      "write-back: ERP recovery status"),
    "wb_salesforce_read": Op("salesforce", "GET", "/services/data/*/sobjects/Account/*",
                             "write-back: CRM account read"),
    "wb_salesforce": Op("salesforce", "PATCH", "/services/data/*/sobjects/Account/*",
                        "write-back: CRM status"),
}
# a write-back message is sent as these calls in turn (components/sync/writeback.py: a
# recovery applies the payment in the ERP, then marks the invoice; a decline not recovered only
# marks it; the CRM's account is read before it is written)
WRITEBACK_CALLS = {"wb_stripe": ("wb_stripe",), "wb_chargebee": ("wb_chargebee",),
                   "wb_netsuite_paid": ("wb_netsuite_payment", "wb_netsuite"),
                   "wb_netsuite": ("wb_netsuite",),
                   "wb_salesforce": ("wb_salesforce_read", "wb_salesforce")}
# what the sync's ERP cache feed sends when NetSuite notifies it of changes (its own
# write-backs' among them): one SuiteQL query re-reading every invoice named since the last
# one began (components/sync/feeds.py), so while write-backs flow one is always in flight
FEED_QUERY = "netsuite_invoice"


@dataclass(frozen=True)
class AccountLimits:
    """One vendor account's limits, per merchant (the fakes enforce them per tenant)."""

    rate_per_second: float | None = None
    burst: int | None = None
    max_concurrency: int | None = None   # the fake answers 429 beyond it
    client_slots: int | None = None      # the connector queues beyond it (NetSuite governance)


@dataclass(frozen=True)
class Path:
    """A merchant template's decision: sequential reads, the parallel card lookup, the charge,
    and the write-backs for a recovered and for a failed decline."""

    reads: tuple[str, ...]
    card_lookup: str | None
    charge: str
    recovered_writebacks: tuple[str, ...]
    failed_writebacks: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    """A merchant of the topology; the model's N merchants are copies of its templates."""

    name: str
    path: Path
    latency: dict[str, Sampler]                  # op → draw
    limits: dict[str, AccountLimits]             # vendor → per-account limits
    webhook_path: Path | None = None             # the webhook-driven decision, when mixed


@dataclass
class Engine:
    replicas: int = 2
    workers: int = 1             # event loops (processes) per replica
    cpu_ms: float = 12.0         # engine CPU per decision (calibrated; see validate.py)
    intake_share: float = 0.5    # of cpu_ms spent before the reads (the rest at the commit)
    overhead_ms: float = 0.0     # latency no queue explains (fitted by validate.py)
    cpu_speed: float = 1.0       # share of a core each process gets (a shared host: < 1)
    retry_attempts: int = 4      # connectors/retry.py: tries in all
    soft_share: float = 0.75     # declines the policy retries at once (soft, untried MID)
    recovered_share: float = 0.35  # of those charges, approved on the alternate MID


@dataclass
class Outbox:
    workers: int = 8             # relay slots per destination over all merchants (one sync
    #                              service's OutboxSettings.concurrency)
    poll_seconds: float = 1.0    # components/settings.py OutboxSettings.poll_seconds
    per_merchant: bool = False   # each merchant its own sync service and relay, `workers`
    #                              slots each (as `landscape load` runs them)
    overhead_s: float = 0.0      # per message, the relay's own time beyond its vendor calls
    #                              (claiming, marking done; fitted by validate --against load)


@dataclass
class ModelSpec:
    topology: str
    sla_ms: float
    templates: list[Template]
    engine: Engine = field(default_factory=Engine)
    outbox: Outbox = field(default_factory=Outbox)
    source: str = "intercept"    # intercept (checkout) or webhook (renewal)
    # share of declines arriving by webhook instead (a mix, as `landscape load` sends): those
    # take their template's webhook_path (`with_webhooks`)
    webhook_share: float = 0.0
    # per-request service time of each fake's own process (validation on this machine only:
    # the real vendors' processing is inside their latency)
    fake_service_ms: dict[str, float] = field(default_factory=dict)

    def with_webhooks(self, topology: Topology, share: float) -> ModelSpec:
        """A mix: `share` of the declines come by the billing webhook (renewals failing at the
        billing system), the rest as this spec's source."""
        paths = {name: _path(m, str(m.components.settings.get("mode", "cached")), "webhook")
                 for name, m in topology.merchants.items()}
        return replace(self, webhook_share=share, templates=[
            replace(t, webhook_path=paths[t.name]) for t in self.templates])

    def with_engine(self, **changes: float) -> ModelSpec:
        return replace(self, engine=replace(self.engine, **changes))  # type: ignore[arg-type]


def sampler(parts: list[Latency]) -> Sampler:
    """A fast draw (seconds) of the sum of `parts`: lognormals precomputed, others by the
    fake's own code (so a percentile profile reads exactly as the fake reads it)."""
    fast: list[tuple[float, float]] = []
    slow: list[Latency] = []
    tables: list[tuple[list[float], list[float], float]] = []
    for part in parts:
        if part.kind == "percentiles" and part.percentiles:
            points = sorted((q / 100.0, v) for q, v in part.percentiles.items())
            qs, vs = [0.0] + [q for q, _ in points], [0.0] + [v for _, v in points]
            tables.append((qs, vs, part.max_cap_ms))
        elif part.kind == "lognormal" and part.median_ms:
            sigma = part.sigma if part.sigma is not None else (
                math.log((part.p99_ms or part.median_ms) / part.median_ms) / Z99)
            fast.append((math.log(part.median_ms), sigma))
        elif part.kind == "fixed":
            fast.append((math.log(part.ms) if part.ms else -math.inf, 0.0))
        else:
            slow.append(part)

    def draw(rng: random.Random) -> float:
        total = 0.0
        for mu, sigma in fast:
            if mu != -math.inf:
                total += rng.lognormvariate(mu, sigma) if sigma else math.exp(mu)
        for qs, vs, cap in tables:  # Latency._from_percentiles, with the points sorted once
            u = rng.random()
            if u >= qs[-1]:
                value = vs[-1] + ((vs[-1] - vs[-2]) / (qs[-1] - qs[-2]) * (u - qs[-1])
                                  if len(qs) >= 3 else 0.0)
            else:
                i = bisect.bisect_right(qs, u)
                value = vs[i - 1] + (vs[i] - vs[i - 1]) * (u - qs[i - 1]) / (qs[i] - qs[i - 1])
            total += min(max(value, 0.0), cap)
        for part in slow:
            total += part.draw_ms(rng)
        return total / 1000.0

    return draw


def _parts(topology: Topology, m: Merchant, op: Op) -> list[Latency]:
    profile = topology.systems.get(op.vendor)  # type: ignore[call-overload]
    parts: list[Latency] = []
    if profile is not None:
        if profile.latency is not None:
            parts.append(profile.latency)
        for fault in profile.faults:
            if fault.kind == "latency" and fault.latency is not None and _matches(fault.match, op):
                parts.append(fault.latency)
    behaviour = {"stripe": m.gateway, "chargebee": m.billing, "netsuite": m.erp,
                 "salesforce": m.crm}[op.vendor]
    if behaviour is not None and behaviour.latency is not None:
        parts.append(behaviour.latency)
    return parts


def _matches(match: object, op: Op) -> bool:
    method = getattr(match, "method", None)
    path = getattr(match, "path", None)
    return ((method is None or method.upper() == op.method)
            and (path is None or fnmatch.fnmatchcase(op.path, path)))


def _path(m: Merchant, mode: str, source: str) -> Path:
    reads: list[str] = []
    if m.billing.system == "stripe":
        reads.append("stripe_intent" if source == "webhook" else "stripe_invoice")
    else:
        reads.append("chargebee_invoice")
    if m.erp is not None and mode == "naive":
        reads.append("netsuite_invoice")
    alternate = len(m.gateway.mids) > 1
    recovered: list[str] = []
    if alternate:
        recovered.append("wb_stripe" if m.billing.system == "stripe" else "wb_chargebee")
    elif m.billing.system == "chargebee":
        recovered.append("wb_chargebee")
    failed: list[str] = []
    if m.erp is not None:
        recovered.append("wb_netsuite_paid")
        failed.append("wb_netsuite")
    if m.crm is not None:
        recovered.append("wb_salesforce")
        failed.append("wb_salesforce")
    return Path(reads=tuple(reads), card_lookup="stripe_card" if alternate else None,
                charge="stripe_charge" if alternate else "stripe_pay",
                recovered_writebacks=tuple(recovered), failed_writebacks=tuple(failed))


def _limits(topology: Topology, m: Merchant) -> dict[str, AccountLimits]:
    out: dict[str, AccountLimits] = {}
    vendors: tuple[VendorName, ...] = ("stripe", "chargebee", "netsuite", "salesforce")
    for vendor in vendors:
        profile = topology.systems.get(vendor)
        limits = profile.limits if profile is not None else None
        slots = m.erp.concurrency if vendor == "netsuite" and m.erp is not None else None
        out[vendor] = AccountLimits(
            rate_per_second=limits.rate_per_second if limits else None,
            burst=limits.burst if limits else None,
            max_concurrency=(limits.max_concurrency if limits else None) or slots,
            client_slots=slots)
    return out


def spec_from_topology(topology: Topology, *, source: str = "intercept",
                       replicas: int | None = None) -> ModelSpec:
    """The model of `topology`: one template per merchant in it."""
    templates = []
    for name, m in topology.merchants.items():
        mode = str(m.components.settings.get("mode", "cached"))
        templates.append(Template(
            name=name, path=_path(m, mode, source),
            latency={key: sampler(_parts(topology, m, op)) for key, op in OPS.items()},
            limits=_limits(topology, m)))
    spec = ModelSpec(topology=topology.name, sla_ms=topology.sla_ms, templates=templates,
                     source=source)
    if replicas is not None:
        spec.engine.replicas = replicas
    return spec
