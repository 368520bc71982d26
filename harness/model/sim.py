"""The discrete-event model: a merchant base's declines through the engine, the vendors and
the outbox, on SimPy's clock.

One SimPy process per decline; it yields only where the decision waits on time (the intake,
each sequential read, the charge, the commit): about five events a decline, two more for its
write-back batch, ten in all with the once-a-second sample of the decisions in flight. The queues
(engine replicas, the fakes' processes, NetSuite's per-account semaphore, relay workers) and
the limits (token buckets, in-flight caps) are computed in `servers.py` at the moment a
request reaches them, which is exact because requests reach them in time order. A write-back
batch costs one event (the relay worker picking it up); its sends are then computed ahead,
the one place the model looks past the clock (their limits are checked at their send times).

Randomness: one `random.Random(seed)` for the merchant sizes, one for the arrivals, one for
service times: the same seed gives the same result, and a change in capacity (replicas) does
not change the arrivals (common random numbers, so a sizing search compares like with like).
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from harness.model.servers import Bucket, InFlight, Relay, Servers
from harness.model.spec import FEED_QUERY, OPS, WRITEBACK_CALLS, ModelSpec, Template
from harness.model.workload import LoadProfile, arrivals, merchant_weights, pick

BIN = 300.0          # seconds per point of the time series
SAMPLE_EVERY = 1.0   # seconds between samples of the decisions in flight (Little's law)
CPU_SHAPE = 4.0      # gamma shape of engine CPU per decision: coefficient of variation 0.5


@dataclass
class VendorStats:
    requests: int = 0
    throttled: int = 0          # 429s (rate or concurrency), each retried after a wait
    failed: int = 0             # calls that ran out of tries
    waited: int = 0             # requests that queued for a client-side slot
    wait_total: float = 0.0
    wait_max: float = 0.0
    per_second: Counter[int] = field(default_factory=Counter)      # platform-wide
    account_peak_rps: int = 0   # busiest account, busiest second
    account_peak_in_flight: int = 0


@dataclass
class Result:
    """What a run predicts; `summary()` is the JSON-able digest the reports read."""

    spec: ModelSpec
    profile: LoadProfile
    seed: int
    start: float
    seconds: float
    latencies: list[float] = field(default_factory=list)
    bins: dict[int, list[float]] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)
    lag_bins: dict[int, list[float]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    vendors: dict[str, VendorStats] = field(default_factory=dict)
    merchant_declines: list[int] = field(default_factory=list)
    merchant_over_sla: list[int] = field(default_factory=list)
    in_flight_samples: list[int] = field(default_factory=list)
    cpu_busy: float = 0.0
    cpu_capacity: int = 1
    relay_busy: float = 0.0       # relay-slot seconds spent sending, busiest destination
    events: int = 0
    wall_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        from harness.model.stats import summarise

        return summarise(self)


class Model:
    def __init__(self, spec: ModelSpec, profile: LoadProfile, seed: int) -> None:
        self.spec, self.profile, self.seed = spec, profile, seed
        self.env = simpy.Environment()
        self.rng = random.Random(f"{seed}:service")
        # write-backs draw their own: how many there are never shifts the decisions' draws
        self.writeback_rng = random.Random(f"{seed}:writebacks")
        self.weights = merchant_weights(profile, random.Random(f"{seed}:merchants"))
        engine = spec.engine
        self.cpu = Servers(engine.replicas * engine.workers)
        cpu = engine.cpu_ms / 1000.0 / engine.cpu_speed
        self.cpu_in = cpu * engine.intake_share
        self.cpu_out = cpu - self.cpu_in
        self.overhead = engine.overhead_ms / 1000.0
        # the relay's slots, per destination (components/sync/relay.py), and the batches
        # waiting for one; per merchant too when each has its own sync (Outbox.per_merchant)
        self.relays: dict[tuple[str, int], Relay] = {}
        self.fakes = {v: Servers(1) for v in spec.fake_service_ms}
        self.buckets: dict[tuple[str, int], Bucket] = {}
        self.in_flight: dict[tuple[str, int], InFlight] = {}
        self.slots: dict[tuple[str, int], Servers] = {}
        self.windows: dict[tuple[str, int], list[int]] = {}   # [second, count]
        self.in_system = 0
        self.waiting: dict[tuple[str, int], deque[tuple[int, Template, tuple[str, ...],
                                                         float]]] = {}
        self.feeding: set[int] = set()        # merchants whose ERP feed has a query out
        self.feed_pending: set[int] = set()   # ... and notifications since it began

    # -- vendor calls (computed, no events) -----------------------------------------------------
    def call(self, op_key: str, merchant: int, template: Template, now: float,
             rng: random.Random | None = None) -> float:
        """When the call started at `now` answers, tries and 429 waits included; -1 when it
        ran out of tries (the connector raises, the decline is an error). `rng`: the stream
        its latency is drawn from (the decisions' by default)."""
        rng = rng or self.rng
        op = OPS[op_key]
        vendor = op.vendor
        limits = template.limits[vendor]
        stats = self.result.vendors[vendor]
        key = (vendor, merchant)
        draw = template.latency[op_key]
        t = now
        for try_no in range(1, self.spec.engine.retry_attempts + 1):
            if limits.client_slots is not None:  # the connector's semaphore queues the call
                slots = self.slots.get(key)
                if slots is None:
                    slots = self.slots[key] = Servers(limits.client_slots)
                begins = max(t, slots.free[0])  # the slot first, then the fake's queue
                # the fake's queue takes requests in time order only: a call that waits for a
                # slot is not booked in it ahead (booked at its future start, it held the fake
                # busy until then for every other merchant's calls: another account's
                # uncontended 200 ms calls came out at 1.8 s); it is served unqueued, its wait
                # for the slot being seconds where the fake's is milliseconds
                service = (self._served(vendor, begins, draw(rng)) if begins <= t
                           else self._unqueued(vendor, draw(rng)))
                start, end = slots.take(t, service)
                if start > t:
                    stats.waited += 1
                    stats.wait_total += start - t
                    stats.wait_max = max(stats.wait_max, start - t)
                t = start
            else:
                end = -1.0
            self._count(stats, key, t)
            wait = self._throttled(limits, key, t)
            if wait is None:
                if end < 0:
                    end = self._served(vendor, t, draw(rng)) + t
                if not math.isfinite(end):
                    raise ValueError(f"{op_key}: a latency draw of {end - t} s; check the "
                                     f"latency profile of {vendor} in the topology")
                flights = self.in_flight.get(key)  # every account: the quota it needs
                if flights is None:
                    flights = self.in_flight[key] = InFlight()
                flights.count(t)
                flights.add(end)
                if flights.peak > stats.account_peak_in_flight:
                    stats.account_peak_in_flight = flights.peak
                return end
            stats.throttled += 1
            t = t + wait if try_no < self.spec.engine.retry_attempts else t
        stats.failed += 1
        return -1.0

    def _served(self, vendor: str, t: float, latency: float) -> float:
        """The call's duration: the fake's own processing (queued), then the vendor latency."""
        fake = self.fakes.get(vendor)
        if fake is None:
            return latency
        start, end = fake.take(t, self._processing(vendor))
        return end - t + latency

    def _unqueued(self, vendor: str, latency: float) -> float:
        """The call's duration with the fake idle: its own processing, then the latency."""
        return self._processing(vendor) + latency

    def _processing(self, vendor: str) -> float:
        """Seconds of the fake's own CPU a request takes (none without a fake)."""
        return self.spec.fake_service_ms.get(vendor, 0.0) / 1000.0 / self.spec.engine.cpu_speed

    def _throttled(self, limits: Any, key: tuple[str, int], t: float) -> float | None:
        """None if the vendor takes the request; else how long the connector waits (429)."""
        if limits.rate_per_second is not None:
            bucket = self.buckets.get(key)
            if bucket is None:
                capacity = float(limits.burst or max(1, int(limits.rate_per_second)))
                bucket = self.buckets[key] = Bucket(limits.rate_per_second, capacity, capacity, t)
            wait = bucket.take(t)
            if wait is not None:
                return max(1.0, round(wait))  # the fake's Retry-After, which the client honours
        if limits.max_concurrency is not None and limits.client_slots is None:
            flights = self.in_flight.setdefault(key, InFlight())
            if flights.count(t) >= limits.max_concurrency:
                return self.rng.uniform(0, 0.2)  # no Retry-After: the connector's backoff
        return None

    def _count(self, stats: VendorStats, key: tuple[str, int], t: float) -> None:
        stats.requests += 1
        second = int(t)
        stats.per_second[second] += 1
        window = self.windows.get(key)
        if window is None or window[0] != second:
            self.windows[key] = [second, 1]
        else:
            window[1] += 1
            stats.account_peak_rps = max(stats.account_peak_rps, window[1])

    # -- one decline ----------------------------------------------------------------------------
    def decision(self, merchant: int, arrived: float) -> Generator[simpy.Event, Any, None]:
        env, spec, rng = self.env, self.spec, self.rng
        template = spec.templates[merchant % len(spec.templates)]
        path = template.path
        if spec.webhook_share > 0 and template.webhook_path is not None \
                and rng.random() < spec.webhook_share:
            path = template.webhook_path
        self.in_system += 1
        _, end = self.cpu.take(arrived, rng.gammavariate(CPU_SHAPE, self.cpu_in / CPU_SHAPE))
        yield env.timeout(max(0.0, end - arrived + self.overhead))
        status = "error"
        lookup = self.call(path.card_lookup, merchant, template, env.now) \
            if path.card_lookup else env.now
        messages: tuple[str, ...] = ()
        for read in path.reads:
            end = self.call(read, merchant, template, env.now)
            if end < 0:
                break
            yield env.timeout(end - env.now)
        else:
            if rng.random() < spec.engine.soft_share:
                if lookup < 0:
                    end = -1.0
                else:
                    if lookup > env.now:
                        yield env.timeout(lookup - env.now)
                    end = self.call(path.charge, merchant, template, env.now)
                if end >= 0:
                    yield env.timeout(end - env.now)
                    if rng.random() < spec.engine.recovered_share:
                        status, messages = "recovered", path.recovered_writebacks
                    else:  # declined again: scheduled for later, status written back
                        status, messages = "retry_later", path.failed_writebacks
            else:
                status, messages = "not_retried", path.failed_writebacks
        _, end = self.cpu.take(env.now, rng.gammavariate(CPU_SHAPE, self.cpu_out / CPU_SHAPE))
        if end > env.now:
            yield env.timeout(end - env.now)
        self._decided(merchant, arrived, status)
        if messages:
            self._relay(merchant, template, messages)

    def _decided(self, merchant: int, arrived: float, status: str) -> None:
        result = self.result
        latency = self.env.now - arrived
        result.latencies.append(latency)
        result.bins.setdefault(int(arrived // BIN), []).append(latency)
        result.statuses[status] += 1
        result.merchant_declines[merchant] += 1
        if latency * 1000.0 >= self.spec.sla_ms:
            result.merchant_over_sla[merchant] += 1
        self.in_system -= 1

    # -- the outbox -----------------------------------------------------------------------------
    def _relay(self, merchant: int, template: Template, messages: tuple[str, ...]) -> None:
        """The batch is seen at the relay's next poll; its messages to each destination wait
        for a free slot of that destination and go in order (relay.py run), the destinations
        side by side; the lag of each message runs from the commit."""
        committed = self.env.now
        seen = self.rng.uniform(0, self.spec.outbox.poll_seconds)
        self._later(seen, lambda: self._pickup(merchant, template, messages, committed))

    def _later(self, delay: float, then: Callable[[], None]) -> None:
        event = self.env.timeout(delay)
        event.callbacks.append(lambda _: then())

    def _pickup(self, merchant: int, template: Template, messages: tuple[str, ...],
                committed: float) -> None:
        by_vendor: dict[str, list[str]] = {}
        for message in messages:
            by_vendor.setdefault(OPS[WRITEBACK_CALLS[message][0]].vendor, []).append(message)
        for vendor, mine in by_vendor.items():
            relay = self._relay_of(vendor, merchant)
            if relay.in_use >= relay.slots:  # all busy: wait in line
                self.waiting[(vendor, relay.merchant)].append(
                    (merchant, template, tuple(mine), committed))
            else:
                self._send(vendor, merchant, template, tuple(mine), committed)

    def _relay_of(self, vendor: str, merchant: int) -> Relay:
        lane = (vendor, merchant if self.spec.outbox.per_merchant else -1)
        relay = self.relays.get(lane)
        if relay is None:
            relay = self.relays[lane] = Relay(self.spec.outbox.workers, merchant=lane[1])
            self.waiting[lane] = deque()
        return relay

    def _send(self, vendor: str, merchant: int, template: Template, messages: tuple[str, ...],
              committed: float) -> None:
        self._relay_of(vendor, merchant).in_use += 1
        self.env.process(self._sending(vendor, merchant, template, messages, committed))

    def _sending(self, vendor: str, merchant: int, template: Template,
                 messages: tuple[str, ...], committed: float
                 ) -> Generator[simpy.Event, Any, None]:
        """One slot's batch, its calls one after the other, each made when the one before has
        answered: the queues (`call`) take requests in time order only, so a call is not
        booked ahead (booked ahead, it held a connector slot idle until its start, and the
        NetSuite write-backs' lag came out 3-10x the measured)."""
        env = self.env
        began = env.now
        for message in messages:
            for op in WRITEBACK_CALLS[message]:
                end = self.call(op, merchant, template, env.now, self.writeback_rng)
                if end < 0:  # refused after the connector's tries: the relay backs off (2 s)
                    yield env.timeout(2.0)
                    end = self.call(op, merchant, template, env.now, self.writeback_rng)
                if end > env.now:
                    yield env.timeout(end - env.now)
                if end >= 0 and OPS[op].vendor == "netsuite" and OPS[op].method != "GET":
                    self._notified(merchant, template)
            if self.spec.outbox.overhead_s > 0:
                yield env.timeout(self.spec.outbox.overhead_s)
            lag = env.now - committed
            self.result.lags.append(lag)
            self.result.lag_bins.setdefault(int(committed // BIN), []).append(lag)
        relay = self._relay_of(vendor, merchant)
        relay.in_use -= 1
        relay.busy += env.now - began
        waiting = self.waiting[(vendor, relay.merchant)]
        if waiting:
            self._send(vendor, *waiting.popleft())

    def _notified(self, merchant: int, template: Template) -> None:
        """NetSuite told the merchant's sync of a change: its feed queries now, or once the
        query under way has answered (one for all the changes meanwhile)."""
        if merchant in self.feeding:
            self.feed_pending.add(merchant)
            return
        self.feeding.add(merchant)
        end = self.call(FEED_QUERY, merchant, template, self.env.now, self.writeback_rng)
        self._later(max(0.0, end - self.env.now), lambda: self._fed(merchant, template))

    def _fed(self, merchant: int, template: Template) -> None:
        self.feeding.discard(merchant)
        if merchant in self.feed_pending:
            self.feed_pending.discard(merchant)
            self._notified(merchant, template)

    # -- the run --------------------------------------------------------------------------------
    def run(self, start: float, seconds: float,
            progress: Callable[[float], None] | None = None) -> Result:
        import time

        began = time.perf_counter()
        self.result = result = Result(self.spec, self.profile, self.seed, start, seconds)
        result.vendors = {v: VendorStats() for v in ("stripe", "chargebee", "netsuite",
                                                      "salesforce")}
        result.merchant_declines = [0] * self.profile.merchants
        result.merchant_over_sla = [0] * self.profile.merchants
        self.env = simpy.Environment(initial_time=start)
        self.cpu.free[:] = [start] * len(self.cpu.free)
        self.relays.clear()
        self.waiting.clear()
        self.feeding.clear()
        self.feed_pending.clear()
        self.env.process(self._arrivals(start, seconds))
        self.env.process(self._sampler(start, seconds, progress))
        events = 0
        step = self.env.step
        try:
            while True:
                step()
                events += 1
        except simpy.core.EmptySchedule:
            pass
        result.events = events
        result.cpu_busy = self.cpu.busy
        result.cpu_capacity = len(self.cpu.free)
        result.relay_busy = max((r.busy for r in self.relays.values()), default=0.0)
        result.wall_seconds = time.perf_counter() - began
        return result

    def _arrivals(self, start: float, seconds: float) -> Generator[simpy.Event, Any, None]:
        rng = random.Random(f"{self.seed}:arrivals")
        env, weights = self.env, self.weights
        for t in arrivals(self.profile, start, seconds, rng):
            merchant = pick(weights, rng)
            if t > env.now:
                yield env.timeout(t - env.now)
            env.process(self.decision(merchant, t))

    def _sampler(self, start: float, seconds: float,
                 progress: Callable[[float], None] | None) -> Generator[simpy.Event, Any, None]:
        steps = int(math.floor(seconds / SAMPLE_EVERY))
        # evenly spaced arrivals would alias with an evenly spaced sampler: sample at jittered
        # times then (its own random stream, so the draws of the decisions do not change)
        jitter = random.Random(f"{self.seed}:sampler") if self.profile.even else None
        for i in range(steps):
            yield self.env.timeout(SAMPLE_EVERY if jitter is None
                                   else SAMPLE_EVERY * jitter.uniform(0.5, 1.5))
            self.result.in_flight_samples.append(self.in_system)
            if progress is not None and i % 600 == 599:
                progress(self.env.now - start)
        if progress is not None:
            progress(seconds)


def simulate(spec: ModelSpec, profile: LoadProfile, *, seed: int, hours: float = 24.0,
             start_hour: float = 0.0,
             progress: Callable[[float], None] | None = None) -> Result:
    """Run the model over `hours` from `start_hour` (UTC) and return what it predicts."""
    model = Model(spec, profile, seed)
    return model.run(start_hour * 3600.0, hours * 3600.0, progress)
