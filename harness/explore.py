"""Hypothesis over the whole landscape: a rule-based state machine on the in-process stage.

Each example is a scenario: renewals fail (with decline codes, on one MID or every MID),
customers' funds arrive, faults are injected through the fakes' control planes (post-commit
drops, 429s, 5xx, hangs, expired sessions, brownouts, duplicated / delayed / reordered /
burst webhooks), the engine or the sync service crashes and restarts, and virtual time moves.
After every step: at most one successful charge per invoice and per idempotency key, every
recovery charge traces to a failed renewal, and the engine's ledger agrees with the gateway.
After the quiet phase (faults cleared, services back, 16 days for retries and redeliveries,
then reconciliation with repairs): every decline was decided, every recovery is reflected in
billing, ERP and CRM, reconciliation is clean and tenants stayed isolated.

    python -m harness.explore --scenarios 2000                 # explore; stats as JSON
    python -m harness.explore --bench                          # scenarios per second
    python -m harness.explore --without idempotency_key --seed 7   # show what it protects
    python -m harness.explore --scenarios 100000 --workers 2 --stats explore-stats.json  # long

The same command with the same --seed replays the same exploration exactly (the same
scenarios, the same failure, the same shrinking): the fakes and components draw every random
choice from the scenario's seed, and the landscape is reset between scenarios.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    invariant,
    precondition,
    rule,
)

from harness.explore_pool import CHUNK, Plan, explore_chunks
from harness.explore_world import DAY, World, world
from harness.scenario_run import Planned
from harness.seed_alone import seed_alone

Rule = TypeVar("Rule", bound=Callable[..., None])
seed_alone()  # the same scenarios for a seed in this command, its pool's workers and the tests
DEFAULT_TOPOLOGY = "netsuite-stripe-salesforce"
CUSTOMERS = 2  # per merchant: small examples shrink fast and run many per second
# the decline codes the fake Stripe's test cards give: soft, technical, fix-the-card, hard
CODES = ("insufficient_funds", "generic_decline", "processing_error", "expired_card",
         "stolen_card")
STEPS = (1.0, 60.0, 3600.0, 6 * 3600.0, DAY)
# a scenario's steps stay inside a week and its quiet phase (16 days) inside Stripe's 30 days
# of events, before the subscriptions' next renewal (a new invoice no step asked for)
HORIZON = 7 * DAY
# every step: what must never be untrue, even for a moment
ALWAYS = ("one_charge_per_invoice", "one_charge_per_idempotency_key",
          "charges_trace_to_failures", "ledger_agrees_with_gateway", "one_retry_owner",
          "events_decided_once")
# after the quiet phase
SETTLED = (*ALWAYS, "every_decline_decided", "recoveries_reflected", "reconciliation_clean",
           "tenants_isolated")


def faults(w: World) -> list[tuple[str, dict[str, Any]]]:
    """The faults a scenario may inject: (fake, fault spec), for the fakes this topology has."""
    billing = {m.billing.system for m in w.topology.merchants.values()}
    charges = {"method": "POST", "path": "/v1/payment_intents"}
    out: list[tuple[str, dict[str, Any]]] = [
        ("stripe", {"kind": "drop_after", "first_n": 1, "match": charges}),
        ("stripe", {"kind": "rate_limit", "first_n": 2, "retry_after": 1}),
        ("stripe", {"kind": "http_error", "status": 500, "first_n": 1, "match": charges}),
        ("stripe", {"kind": "hang", "seconds": 90, "first_n": 1, "match": charges}),
        ("stripe", {"kind": "decline", "code": "insufficient_funds", "first_n": 1,
                    "match": charges}),
        ("stripe", {"kind": "brownout", "status": 503, "window_end": 600}),
    ]
    if "netsuite" in w.stage.fakes:
        out += [("netsuite", {"kind": "brownout", "status": 503, "window_end": 900}),
                ("netsuite", {"kind": "http_error", "status": 500, "first_n": 2})]
    if "salesforce" in w.stage.fakes:
        out += [("salesforce", {"kind": "auth_expired", "first_n": 1,
                                "match": {"path": "/services/data/*"}}),
                ("salesforce", {"kind": "rate_limit", "first_n": 2})]
    if "chargebee" in billing:
        out += [("chargebee", {"kind": "http_error", "status": 500, "first_n": 1}),
                ("chargebee", {"kind": "brownout", "status": 503, "window_end": 300})]
    for vendor in sorted(billing):  # the billing system's failure webhooks
        out += [(vendor, {"kind": "webhook_duplicate", "copies": 1, "first_n": 1}),
                (vendor, {"kind": "webhook_burst", "copies": 2, "first_n": 1}),
                (vendor, {"kind": "webhook_delay", "seconds": 2 * DAY, "first_n": 1}),
                (vendor, {"kind": "webhook_reorder", "seconds": DAY, "first_n": 1})]
    return out


@dataclass
class Stats:
    """What an exploration did (the JSON `--stats` writes)."""

    topology: str
    without: list[str]
    seed: int
    scenarios: int = 0
    settled: int = 0  # scenarios with a decline, played through the quiet phase and judged
    steps: int = 0
    rules: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rules"] = dict(sorted(self.rules.items()))
        out["scenarios_per_second"] = round(self.scenarios / self.seconds, 1) if self.seconds \
            else None
        out["settled_per_second"] = round(self.settled / self.seconds, 1) if self.seconds \
            else None
        return out


class Violation(AssertionError):
    """An invariant broken: which one, and what the fakes' records show."""


def machine(ref: str = DEFAULT_TOPOLOGY, without: tuple[str, ...] = (),
            stats: Stats | None = None, customers: int = CUSTOMERS,
            merchants: int | None = None, kinds: tuple[str, ...] = (),
            watch: tuple[str, ...] = (), rules: tuple[str, ...] = (),
            dunning: bool = False) -> type[RuleBasedStateMachine]:
    """The state machine over `ref`'s landscape (protections in `without` switched off; only
    its first `merchants` merchants; only the fault kinds in `kinds`, and only the invariants
    in `watch`, and only the rules in `rules`, when given)."""

    def on(name: str) -> Callable[[Rule], Rule]:
        return precondition(lambda _: not rules or name in rules)

    always = tuple(i for i in ALWAYS if not watch or i in watch)
    settled = tuple(i for i in SETTLED if not watch or i in watch)
    w = world(ref, customers, tuple(sorted(without)), merchants, dunning)
    catalogue = {f"{vendor}:{spec['kind']}": (vendor, spec) for vendor, spec in faults(w)
                 if not kinds or spec["kind"] in kinds}
    pool = {f"{c.merchant}/{c.index}": c for name in sorted(w.customers)
            for c in w.customers[name]}
    components = [(name, part) for name in sorted(w.topology.merchants)
                  for part in ("recovery", "sync")]
    counts = stats or Stats(ref, list(without), 0)

    class Landscape(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.fired: list[Planned] = []
            self.broken = False  # a step failed: the quiet phase would only hide it
            self.judged: tuple[float, int] | None = None  # w.activity() when last judged
            self.by_hand: dict[str, str] = {}  # invoice key → the bank transfer's reference
            self.funded: set[str] = set()  # invoice keys whose customer's funds arrived
            counts.scenarios += 1

        def _run(self, coro: Any) -> Any:
            try:
                return w.run(coro)
            except BaseException:
                self.broken = True
                raise

        def _count(self, name: str) -> None:
            counts.steps += 1
            counts.rules[name] += 1

        @initialize(seed=st.integers(0, 2**32 - 1))
        def start(self, seed: int) -> None:
            """The scenario's seed: every fake's and component's random draws come from it."""
            w.reset(seed)

        @on("renewal_fails")
        @rule(who=st.sampled_from(sorted(pool)), code=st.sampled_from(CODES),
              alternate_declines=st.booleans())
        def renewal_fails(self, who: str, code: str, alternate_declines: bool) -> None:
            customer = pool[who]
            if any(p.customer == customer for p in self.fired):
                return  # a renewal fails once per scenario
            self._count("renewal_fails")
            self.fired.append(Planned(w.now(), customer, code, alternate_declines))
            self._run(w.renewal_fails(customer, code, alternate_declines))

        @on("funds_arrive")
        @precondition(lambda self: bool(self.fired))
        @rule(data=st.data())
        def funds_arrive(self, data: st.DataObject) -> None:
            self._count("funds_arrive")
            who = data.draw(st.sampled_from(sorted(f"{p.customer.merchant}/{p.customer.index}"
                                                   for p in self.fired)), label="who")
            self.funded.add(pool[who].invoice_key)
            self._run(w.funds_arrive(pool[who]))

        @on("pays_by_hand")
        @precondition(lambda self: any(self._payable()))
        @rule(data=st.data())
        def pays_by_hand(self, data: st.DataObject) -> None:
            self._count("pays_by_hand")
            who = data.draw(st.sampled_from(self._payable()), label="who")
            customer = pool[who]
            reference = self._run(w.pays_by_hand(customer))
            if reference:
                self.by_hand[customer.invoice_key] = reference

        def _payable(self) -> list[str]:
            """Customers a bank transfer may pay: declined on every MID, their funds not yet
            back (so the engine cannot have charged them), not paid by hand already."""
            return sorted(f"{p.customer.merchant}/{p.customer.index}" for p in self.fired
                          if p.alternate_declines and p.customer.invoice_key not in self.by_hand
                          and p.customer.invoice_key not in self.funded)

        @on("advance")
        @rule(seconds=st.sampled_from(STEPS))
        def advance(self, seconds: float) -> None:
            if w.now() - w.seeded_at >= HORIZON:
                return
            self._count("advance")
            self._run(w.advance(seconds))

        @on("inject_fault")
        @rule(fault=st.sampled_from(sorted(catalogue)))
        def inject_fault(self, fault: str) -> None:
            self._count("inject_fault")
            self._run(w.fault(*catalogue[fault]))

        @on("clear_faults")
        @rule(vendor=st.sampled_from(sorted(w.stage.fakes)))
        def clear_faults(self, vendor: str) -> None:
            self._count("clear_faults")
            self._run(w.clear_faults(vendor))

        @on("crash")
        @rule(which=st.sampled_from(components))
        def crash(self, which: tuple[str, str]) -> None:
            if which in w.killed:
                return
            self._count("crash")
            self._run(w.kill(*which))

        @on("restart")
        @precondition(lambda self: bool(w.killed))
        @rule()
        def restart(self) -> None:
            self._count("restart")
            for which in sorted(w.killed):
                self._run(w.restart(*which))

        @invariant()
        def never_broken(self) -> None:
            # what the invariants read changes only with time or traffic: a step that moved
            # neither (a fault injected, a crash) has nothing new to judge
            seen = w.activity()
            if self.fired and seen != self.judged:
                self.broken = True
                check(w.judge(self.fired, by_hand=self.by_hand), always, "during the scenario")
                self.broken = False
                self.judged = seen

        def teardown(self) -> None:
            if not self.fired or self.broken:
                return
            reconciliation = w.run(w.quiet())
            check(w.judge(self.fired, reconciliation, self.by_hand), settled,
                  "after the quiet phase")
            counts.settled += 1

    Landscape.__name__ = Landscape.__qualname__ = "LandscapeMachine"
    return Landscape


def check(found: dict[str, list[str]], ids: tuple[str, ...], when: str) -> None:
    broken = {i: found[i] for i in ids if found.get(i)}
    if broken:
        lines = [f"{i}: {'; '.join(v[:3])}" for i, v in broken.items()]
        raise Violation(f"{when}: " + " | ".join(lines))


def explore(ref: str = DEFAULT_TOPOLOGY, *, without: tuple[str, ...] = (), seed: int = 0,
            scenarios: int = 200, steps: int = 8, shrink: bool = True,
            customers: int = CUSTOMERS, merchants: int | None = None,
            kinds: tuple[str, ...] = (), watch: tuple[str, ...] = (),
            rules: tuple[str, ...] = (), dunning: bool = False) -> Stats:
    """Play up to `scenarios` scenarios of up to `steps` steps from `seed`; the first failure
    is shrunk and kept in `Stats.failures` with its steps, seed and replay command."""
    stats = Stats(ref, sorted(without), seed)
    Machine = machine(ref, without, stats, customers, merchants, kinds, watch, rules, dunning)
    config = settings(max_examples=scenarios, stateful_step_count=steps, deadline=None,
                      database=None, derandomize=False, print_blob=False,
                      phases=[Phase.generate, *([Phase.shrink] if shrink else [])],
                      verbosity=Verbosity.normal, suppress_health_check=list(HealthCheck))
    test = hypothesis_seed(seed)(get_state_machine_test(Machine, settings=config))
    started = time.perf_counter()
    try:
        test()
    except Exception as exc:  # noqa: BLE001 - the shrunk failure, reported as found
        steps_run = shown_steps(getattr(exc, "__notes__", []))
        stats.failures.append({
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:2000],
            "steps": steps_run, "seed": seed,
            "replay": replay_command(ref, without, seed, scenarios, steps, merchants, kinds,
                                     watch, rules, dunning)})
    finally:
        stats.seconds = round(time.perf_counter() - started, 3)
    return stats


def shown_steps(notes: list[str]) -> list[str]:
    """The failing scenario's steps, one a line, as Hypothesis printed them."""
    steps: list[str] = []
    for line in (line for note in notes for line in note.splitlines()):
        if line.startswith("state."):
            steps.append(line)
        elif steps and line.startswith(" "):
            steps[-1] += " " + line.strip()
    return [s for s in steps if s != "state.never_broken()"]


def replay_command(ref: str, without: tuple[str, ...], seed: int, scenarios: int,
                   steps: int, merchants: int | None = None, kinds: tuple[str, ...] = (),
                   watch: tuple[str, ...] = (), rules: tuple[str, ...] = (),
                   dunning: bool = False) -> str:
    """The one command that plays this exploration again, failure and shrinking included."""
    parts = ["python", "-m", "harness.explore", "--topology", ref, "--seed", str(seed),
             "--scenarios", str(scenarios), "--steps", str(steps)]
    for name in sorted(without):
        parts += ["--without", name]
    if merchants:
        parts += ["--merchants", str(merchants)]
    for kind in kinds:
        parts += ["--fault", kind]
    for name in watch:
        parts += ["--watch", name]
    for name in rules:
        parts += ["--rule", name]
    if dunning:
        parts += ["--dunning"]
    return " ".join(shlex.quote(p) for p in parts)


def bench(ref: str, scenarios: int, seed: int, merchants: int | None = None,
          workers: int = 1) -> dict[str, Any]:
    """Scenarios per second once the world is built (building it is reported apart); with
    `workers`, over that many processes at once."""
    if workers > 1:
        return explore_chunks(Plan(ref, shrink=False, merchants=merchants), seed, scenarios,
                              workers, size=-(-scenarios // workers))
    started = time.perf_counter()
    world(ref, CUSTOMERS, (), merchants, False)  # as `machine` asks for it: one build
    build = time.perf_counter() - started
    stats = explore(ref, seed=seed, scenarios=scenarios, shrink=False, merchants=merchants)
    return {"topology": ref, "build_seconds": round(build, 3), **stats.to_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.explore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topology", default=DEFAULT_TOPOLOGY,
                        help="a shipped topology's name or a path")
    parser.add_argument("--without", action="append", default=[],
                        help="switch a protection off (repeatable): inbox, idempotency_key, ...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--steps", type=int, default=8, help="at most this many per scenario")
    parser.add_argument("--merchants", type=int, help="only the topology's first N merchants")
    parser.add_argument("--fault", action="append", default=[], dest="kinds",
                        help="only faults of this kind (repeatable; default: every kind)")
    parser.add_argument("--watch", action="append", default=[],
                        help="judge only this invariant (repeatable; default: all)")
    parser.add_argument("--rule", action="append", default=[], dest="rules",
                        help="only this rule (repeatable; default: every rule)")
    parser.add_argument("--dunning", action="store_true",
                        help="the billing system's own retries on (Chargebee dunning)")
    parser.add_argument("--workers", type=int, default=1,
                        help=f"processes exploring at once (chunks of {CHUNK} scenarios, each "
                             "with a seed derived from --seed and its own replay command)")
    parser.add_argument("--stats", help="write the statistics (JSON) to this file")
    parser.add_argument("--bench", action="store_true",
                        help="print scenarios per second (no shrinking)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be 1 or more, not {args.workers}")
    if args.bench:
        result = bench(args.topology, args.scenarios, args.seed, args.merchants, args.workers)
        print(json.dumps(result, indent=1))
        return 0
    plan = Plan(args.topology, tuple(args.without), args.steps, True, args.merchants,
                tuple(args.kinds), tuple(args.watch), tuple(args.rules), args.dunning)
    if args.workers > 1 or args.scenarios > CHUNK:
        def progress(so_far: dict[str, Any]) -> None:
            print(f"{so_far['chunks_done']}/{so_far['chunks']} chunks, {so_far['scenarios']} "
                  f"scenarios, {len(so_far['failures'])} failing, "
                  f"{so_far['scenarios_per_second']}/s", file=sys.stderr, flush=True)
            if args.stats:
                with open(args.stats, "w") as f:
                    json.dump(so_far, f, indent=1)
        size = min(CHUNK, -(-args.scenarios // args.workers))  # every worker gets a chunk
        out = explore_chunks(plan, args.seed, args.scenarios, args.workers, size, progress)
    else:
        out = explore(args.topology, without=plan.without, seed=args.seed,
                      scenarios=args.scenarios, steps=args.steps, merchants=args.merchants,
                      kinds=plan.kinds, watch=plan.watch, rules=plan.rules,
                      dunning=args.dunning).to_dict()
    if args.stats:
        with open(args.stats, "w") as f:
            json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))
    for failure in out["failures"]:
        print("\nfailing scenario (shrunk):\n  " + "\n  ".join(failure["steps"]), file=sys.stderr)
        print(f"{failure['error']}\nseed {failure['seed']}; replay: {failure['replay']}",
              file=sys.stderr)
    return 1 if out["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
