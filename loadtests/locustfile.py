"""Locust users for `landscape load` (harness/load.py runs Locust with this file).

The plan (JSON, path in $LANDSCAPE_LOAD_PLAN, written by the harness) lists every arrival: when
it is due (seconds from the start) and what it is:

- `intercept`: POST /v1/intercepts to the merchant's recovery service, a checkout-time decline;
  Locust's time is the decision latency as the caller sees it;
- `renewal`: the fake Stripe's provider state "a subscription with an open invoice whose
  payment failed", so the fake delivers invoice.payment_failed to the engine (webhook-driven);
  Locust's time is the fake's; the decision is timed by the engine and the webhook journal.

Open loop (constant arrival rate): one scheduler user per worker sends its share of the
arrivals (arrival i goes to worker i mod workers) on schedule, each in its own greenlet, whether
or not the earlier ones have answered; latency runs from the scheduled time, so a stalled
server shows its whole queue in the tail instead of slowing the load down (no coordinated
omission). A request still unanswered when the run ends is a failure, timed up to then.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.event
from gevent.pool import Group
from geventhttpclient import HTTPClient
from locust import User, constant, events, task

from loadtests import shapes

PLAN_ENV = "LANDSCAPE_LOAD_PLAN"
DONE_MESSAGE = "landscape_scheduler_done"
START_MESSAGE = "landscape_start"
START_LEAD_S = 1.0    # the master announces a start this far ahead, so every worker has it
START_WAIT_S = 30.0   # a scheduler without the announcement starts on its own after this


def _plan() -> dict[str, Any]:
    path = os.environ.get(PLAN_ENV)
    if not path:
        raise SystemExit(f"loadtests/locustfile.py: ${PLAN_ENV} is not set; run it through "
                         "`landscape load`, or set it to the plan.json that command wrote")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path} (${PLAN_ENV}): cannot read the load plan: {exc}; copy the "
                         "plan.json of the master's run folder to this machine") from None


PLAN = _plan()
shapes.ArrivalShape.plan = PLAN
Shape = shapes.SHAPES[PLAN["profile"]["shape"]]  # the one shape Locust finds in this module
_clients: dict[str, HTTPClient] = {}
_claimed = False  # one scheduler per process, however many users Locust starts here
_start = gevent.event.AsyncResult()  # the run's start (epoch seconds), from the master
_records: list[dict[str, Any]] = []  # every arrival this process sent, for records_file


def _write_records(index: int) -> None:
    """Each arrival's scheduled and answered time (epoch s, unrounded, unlike Locust's
    histogram) and, for an intercept, the engine's own `latency_ms` from its answer: one JSON
    line each, in `<records_file>.<worker index>` when the plan names a records_file whose
    folder exists here (a worker on another machine skips it)."""
    path = PLAN.get("records_file")
    if not path or not os.path.isdir(os.path.dirname(path) or "."):
        return
    with open(f"{path}.{index}", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in _records)


def _latency_ms(content: bytes) -> Any:
    """The engine's own `latency_ms` in an intercept's answer (None if it has none): a record
    for the model's validation, never a reason to fail the request."""
    try:
        answer = json.loads(content)
    except ValueError:
        return None
    return answer.get("latency_ms") if isinstance(answer, dict) else None


def _client(url: str) -> HTTPClient:
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    if base not in _clients:
        _clients[base] = HTTPClient.from_url(
            base, concurrency=int(PLAN.get("connections", 200)),
            connection_timeout=float(PLAN["timeout_s"]), network_timeout=float(PLAN["timeout_s"]))
    return _clients[base]


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    def done(environment: Any, msg: Any, **__: Any) -> None:
        shapes.DONE.add(int(msg.data))

    def start(environment: Any, msg: Any, **__: Any) -> None:
        _start.set(float(msg.data))

    if environment.runner is None:
        return
    if _is_worker(environment):
        environment.runner.register_message(START_MESSAGE, start)
    else:
        environment.runner.register_message(DONE_MESSAGE, done)
        if type(environment.runner).__name__ != "MasterRunner":
            environment.runner.register_message(START_MESSAGE, start)


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    """The master (or the one process) fixes the start: every worker's schedule and the
    harness's timeline (through start_file) count from the same moment."""
    if _is_worker(environment):
        return
    at = time.time() + START_LEAD_S
    path = PLAN.get("start_file")
    if path:
        with open(path, "w") as f:
            f.write(repr(at))
    environment.runner.send_message(START_MESSAGE, at)


def _is_worker(environment: Any) -> bool:
    return type(environment.runner).__name__ == "WorkerRunner"


class OpenLoopDeclines(User):
    """Sends this worker's share of the planned declines on schedule."""

    wait_time = constant(3600)  # its one task runs for the whole run
    _epoch = 0.0  # add to a perf_counter() time for epoch seconds

    @task
    def schedule(self) -> None:
        global _claimed
        if _claimed:
            return  # a second user on this worker: the first one sends everything
        _claimed = True
        runner = self.environment.runner
        index = int(getattr(runner, "worker_index", 0) or 0)
        workers = max(1, int(PLAN.get("workers") or 1))
        mine = PLAN["arrivals"][index::workers]
        try:
            announced = _start.get(timeout=START_WAIT_S)
        except gevent.Timeout:
            announced = time.time()
        # late (a worker that joined after the start): what is already due goes at once,
        # timed from when it was due
        start = time.perf_counter() + (announced - time.time())
        flying: dict[int, tuple[dict[str, Any], float]] = {}
        self._epoch = announced - start  # perf_counter → epoch seconds
        group = Group()
        sent = 0
        try:
            for n, arrival in enumerate(mine):
                due = start + float(arrival["at"])
                delay = due - time.perf_counter()
                if delay > 0:
                    gevent.sleep(delay)
                flying[n] = (arrival, due)
                group.spawn(self._arrive, n, arrival, due, flying)
                sent += 1
            group.join(timeout=float(PLAN["drain_s"]))
        finally:  # the run ended (or drained): what has no answer yet is a failure
            for n, (arrival, due) in list(flying.items()):
                self._record(arrival, due, 0, RuntimeError("no answer before the run ended"))
                flying.pop(n, None)
            group.kill(block=False)
            _write_records(index)
            print(f"landscape scheduler {index + 1} of {workers}: {sent} of {len(mine)} "
                  "arrivals sent",
                  file=sys.stderr, flush=True)
            runner.send_message(DONE_MESSAGE, index)

    def _arrive(self, n: int, arrival: dict[str, Any], due: float,
                flying: dict[int, tuple[dict[str, Any], float]]) -> None:
        url = arrival["url"]
        body = json.dumps(arrival["json"]).encode()
        error: Exception | None = None
        length = 0
        engine_ms = None
        try:
            response = _client(url).post(urlsplit(url).path, body=body,
                                         headers={"Content-Type": "application/json"})
            content = response.read()
            length = len(content)
            if response.status_code >= 300:
                error = RuntimeError(f"HTTP {response.status_code}: {content[:200]!r}")
            elif arrival["kind"] == "intercept":
                engine_ms = _latency_ms(content)
        except Exception as exc:  # a refused or timed-out request is a failed arrival
            error = exc
        if flying.pop(n, None) is not None:
            self._record(arrival, due, length, error, engine_ms)

    def _record(self, arrival: dict[str, Any], due: float, length: int,
                error: Exception | None, engine_ms: Any = None) -> None:
        done = time.perf_counter()
        _records.append({"kind": arrival["kind"], "merchant": arrival["merchant"],
                         "due": round(due + self._epoch, 4),
                         "done": round(done + self._epoch, 4),
                         "error": None if error is None else str(error)[:200],
                         "engine_ms": engine_ms})
        self.environment.events.request.fire(
            request_type="POST", name=arrival["kind"], context={"merchant": arrival["merchant"]},
            response_time=(done - due) * 1000, response_length=length,
            exception=error, response=None)


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    """The errors, which Locust's JSON report leaves out (the master's, once gathered)."""
    path = PLAN.get("errors_file")
    if _is_worker(environment) or not path:
        return
    errors = [{"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
              for e in environment.stats.errors.values()]
    with open(path, "w") as f:
        json.dump(errors, f)
