"""One Schemathesis run over a document's operations against a live server, collecting every
failure (one run reports them all) with a curl line that replays it.

Each operation gets positive cases (valid by the document) and negative ones (invalid by it),
each mode with its own checks. Schemathesis cannot guess the ids of existing objects, so every
other case has its path parameters pointed at `known` objects; the rest meet random ids (404s).
Every random choice flows from the profile's seed (hypothesis's `seed`), so a failure replays.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as st
from schemathesis.core.failures import FailureGroup

from tests.schemathesis.profile import Profile

Check = Callable[..., Any]
# What uvicorn (h11) answers, before any app sees the request, to a request head over its size
# limit: a negative case's huge query string. Real vendors' edges refuse those too (414/431);
# it is not the fake's answer, so it is counted but not judged.
HTTP_LAYER_REFUSAL = b"Invalid HTTP request received."
FORM = "application/x-www-form-urlencoded"


def _unsent(value: Any) -> bool:
    return value is None or value == [] or value == {}


def sends_less_than_generated(case: Any) -> bool:
    """A query parameter, or a field of a form body, whose generated value is None, [] or {}
    (or a deepObject member that is) is not on the wire at all: `requests` leaves it out. The
    request the server gets is then not the one Schemathesis judges (an invalid `cf_x: []` or
    `first_name: {"is": None}` arrives as nothing), so a negative case holding one is not
    held to negative_data_rejection; every other check still applies (found by the long
    profile on Chargebee: POST /customers, GET /customers, GET /item_families)."""
    def holds(container: Any) -> bool:
        return isinstance(container, dict) and any(
            _unsent(v) or (isinstance(v, dict) and holds(v)) for v in container.values())
    form = str(getattr(case, "media_type", "") or "").startswith(FORM)
    return holds(case.query) or (form and holds(case.body))


@dataclass
class Run:
    """Calls and checks against `url`; `session` carries the vendor's auth."""

    url: str
    session: requests.Session
    profile: Profile
    positive: list[Check]
    negative: list[Check]
    known: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    after: Callable[[], None] | None = None  # after each call: e.g. undo what it changed
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)
    seconds: Counter[str] = field(default_factory=Counter)  # per operation: the slow ones

    def operations(self, schema: Any) -> list[Any]:
        """Every operation, deletes last (so the known objects live through the run)."""
        return sorted((r.ok() for r in schema.get_all_operations()),
                      key=lambda op: op.method.upper() == "DELETE")

    def all(self, schema: Any, examples: int | None = None) -> list[Any]:
        operations = self.operations(schema)
        for operation in operations:
            self.operation(operation, GenerationMode.POSITIVE, examples)
            self.operation(operation, GenerationMode.NEGATIVE, examples)
        return operations

    def operation(self, operation: Any, mode: GenerationMode, examples: int | None = None) -> None:
        checks = self.positive if mode is GenerationMode.POSITIVE else self.negative
        names = re.findall(r"\{([^}]+)\}", operation.path)
        pinned = {n: self.known[n] for n in names if n in self.known}
        count = 0

        @hypothesis_seed(self.profile.seed)
        @settings(max_examples=examples or self.profile.examples, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                  derandomize=False)
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            nonlocal count
            count += 1
            if count % 2 and mode is GenerationMode.POSITIVE and pinned:
                case.path_parameters = {**(case.path_parameters or {}), **pinned}
            self.sent += 1
            response = case.call(base_url=self.url, session=self.session, headers=self.headers,
                                 allow_redirects=False)
            self.statuses[response.status_code] += 1
            if self.after is not None:
                self.after()
            if response.status_code == 400 and response.content == HTTP_LAYER_REFUSAL:
                return  # the request head (a generated URL) is over uvicorn's 16 KiB limit
            judged = checks
            if mode is GenerationMode.NEGATIVE and sends_less_than_generated(case):
                judged = [c for c in checks if c is not st.negative_data_rejection]
            try:
                case.validate_response(response, checks=judged)
            except (Exception, FailureGroup) as error:  # collected: one run reports them all
                curl = case.as_curl_command(headers={**self.session.headers, **self.headers},
                                            base_url=self.url)
                self.failures.append(f"[{mode.value}] {operation.label}: "
                                     f"{_first_lines(str(error))}\n    replay: {curl}")

        started = time.monotonic()
        try:
            one()
        except Unsatisfiable:  # nothing to negate: no parameters and no body
            self.unsatisfiable.append(f"{mode.value} {operation.label}")
        self.seconds[operation.label] += time.monotonic() - started

    def report(self) -> str:
        kinds = Counter(kind for f in self.failures
                        for kind in set(re.findall(r"ST\d+ [^\n]*", f)) or {"other"})
        head = (f"{len(self.failures)} failure(s) in {self.sent} requests "
                f"(seed {self.profile.seed}; replay the run: {self.profile.replay})")
        shown = "\n\n".join(_unique(self.failures, 12))
        return f"{head}\nby kind: {dict(kinds.most_common(10))}\n\n{shown}"


def _first_lines(text: str, lines: int = 8) -> str:
    kept = [line for line in text.splitlines() if line.strip()][:lines]
    return "\n    ".join(line[:300] for line in kept)


def _unique(failures: Iterable[str], limit: int) -> list[str]:
    """One failure per operation and kind: the first line says both."""
    seen: dict[str, str] = {}
    for failure in failures:
        seen.setdefault(failure.split("\n")[0][:160], failure)
    return list(seen.values())[:limit]


def schema_of(document: dict[str, Any], base_url: str) -> Any:
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=base_url)
    return schema
