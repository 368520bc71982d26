"""Holding a fake's recorded responses to the vendor's published OpenAPI document and, for Stripe,
to Stripe's official spec with objects closed (fields Stripe does not have are caught too).

`checkers(vendor)` gives the checks for a vendor, built once per vendor per session; each
check's `problems(response)` lists what disagrees: the operation, the status, the JSON path and
what is wrong. A response is checked for its documented status (or `4XX`, or `default`), its
required headers, its content type and, with `jsonschema`, its body. Responses to paths or
methods the document lacks may only be errors, shaped like the errors of one named operation.

Successful responses are also held to the official SDKs' types (tests/support/sdk_types.py):
every Chargebee response, and Stripe's at the version the SDKs pin (its `Stripe-Version`
response header). Stripe's two documents (the fake's published one and the official spec, both
of API version 2023-08-16) check only 2023-08-16 responses.

The `start_fake` fixture (tests/conftest.py) runs these on every response its fakes serve.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from tests.support import sdk_types
from tests.support.recording import CONTROL_PREFIX, Recorded

STRIPE_SPEC = Path(__file__).parents[2] / "simulators" / "stripe" / "spec" / "openapi.spec3.json.gz"
Document = dict[str, Any]


@dataclass(frozen=True)
class Rules:
    """What a vendor's document needs besides itself.

    `unrouted`: the (path template, method) whose documented errors describe the vendor's
    answers to paths and methods the document lacks (404, 405, or a 401 before routing); None
    to leave those to another check. `narrow` picks a tighter body schema for a concrete path.
    `applies` says which responses the document speaks for (Stripe's: those of its version).
    """

    source: str
    unrouted: tuple[str, str] | None
    narrow: Callable[[str, str, dict[str, Any]], dict[str, Any]] | None = None
    applies: Callable[[Recorded], bool] = lambda response: True


class Checker:
    """One document's check; its validators are compiled on first use and kept."""

    def __init__(self, vendor: str, doc: Document, rules: Rules,
                 transform: Callable[[Any], Any] = lambda schema: schema) -> None:
        self.vendor, self.doc, self.rules, self.transform = vendor, doc, rules, transform
        paths = sorted((p for p in doc["paths"] if not p.startswith(CONTROL_PREFIX)),
                       key=lambda p: (p.count("{"), p))  # literal segments first
        self.templates = [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p))
                                      + "$"), p) for p in paths]
        self._components: dict[str, Any] | None = None
        self._validators: dict[tuple[str, str, str, str, str], jsonschema.Validator] = {}

    # -- finding what the document says -----------------------------------------------------------
    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """(template, operation) serving `method path`, if the document has it."""
        candidates = [path] + ([path.rstrip("/")] if len(path) > 1 and path.endswith("/") else [])
        for concrete in candidates:  # Salesforce (and its fake) accept a trailing slash
            for pattern, template in self.templates:
                if pattern.match(concrete):
                    found = self.doc["paths"][template].get(method.lower())
                    if found is not None:
                        return template, found
        return None

    def deref(self, node: Any) -> Any:
        while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/components/"):
            section, name = node["$ref"].split("/")[-2:]
            node = self.doc["components"][section][name]
        return node

    def response_of(self, operation: dict[str, Any], status: int) -> tuple[str, Any] | None:
        responses = operation.get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in responses:
                return key, self.deref(responses[key])
        return None

    def components(self) -> dict[str, Any]:
        if self._components is None:
            self._components = self.transform(self.doc.get("components", {}))
        return self._components

    def validator(self, template: str, method: str, key: str, media: str, path: str,
                  schema: dict[str, Any]) -> jsonschema.Validator:
        narrowed = self.rules.narrow(template, path, schema) if self.rules.narrow else schema
        cache_key = (template, method, key, media,
                     "" if narrowed is schema else json.dumps(narrowed, sort_keys=True))
        found = self._validators.get(cache_key)
        if found is None:
            root = {**self.transform(narrowed), "components": self.components()}
            found = self._validators[cache_key] = jsonschema.Draft202012Validator(root)
        return found

    # -- checking one response --------------------------------------------------------------------
    def problems(self, response: Recorded) -> list[str]:
        method, path, status = response.method.upper(), response.path, response.status
        found = self.operation(method, path)
        if found is None:
            if self.rules.unrouted is None:
                return []  # not this check's business (e.g. a route Stripe's spec lacks)
            where = f"{method} {path} (no documented operation) -> {status}"
            if status < 400:
                return [f"{where}: only an error may answer a path or method not documented"]
            template, unrouted_method = self.rules.unrouted
            found = template, self.doc["paths"][template][unrouted_method]
            method_for_schema = unrouted_method.upper()
        else:
            method_for_schema = method
            name = found[1].get("operationId") or f"{method} {found[0]}"
            where = f"{method} {path} ({name}) -> {status}"
        template, operation = found
        chosen = self.response_of(operation, status)
        if chosen is None:
            return [f"{where}: status {status} is not documented"]
        key, documented = chosen
        out = [f"{where}: required header {name} is missing"
               for name, spec in documented.get("headers", {}).items()
               if self.deref(spec).get("required") and name.lower() not in response.headers]
        content = documented.get("content")
        if not content:
            return out + ([f"{where}: a body {response.body[:60]!r} where none is documented"]
                          if response.body else [])
        media = _media_type(response.headers.get("content-type", ""), content)
        if media is None:
            return out + [f"{where}: content type {response.headers.get('content-type')!r} is "
                          f"not documented (documented: {', '.join(content)})"]
        schema = content[media].get("schema")
        if schema is None:
            return out
        try:
            body = json.loads(response.body)
        except ValueError:
            return out + [f"{where}: the body is not JSON: {response.body[:80]!r}"]
        validator = self.validator(template, method_for_schema, key, media, path, schema)
        for error in validator.iter_errors(body):
            detail = best_match([error])
            message = detail.message if len(detail.message) <= 300 else \
                detail.message[:300] + "..."
            out.append(f"{where}: {json_path(detail.absolute_path)}: {message}")
        return out


def json_path(parts: Any) -> str:
    """`$.list[0].customer.id`: where in the body a problem is."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _normal(media: str) -> str:
    return ";".join(part.strip() for part in media.lower().split(";") if part.strip())


def _media_type(served: str, documented: dict[str, Any]) -> str | None:
    """The documented media type a served content type is: the same (parameters included, as
    NetSuite's `type=singular`), or the same base type where the document names no parameters
    (`application/json` for `application/json; charset=utf-8`)."""
    normal = _normal(served)
    for media in documented:
        if _normal(media) == normal:
            return media
    base = normal.split(";")[0]
    return next((m for m in documented if ";" not in m and _normal(m) == base), None)


# -- the vendors ----------------------------------------------------------------------------------
NETSUITE_RECORDS = {"customer": "Customer", "invoice": "Invoice",
                    "customerpayment": "CustomerPayment"}


def _netsuite_record(template: str, path: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A record read is held to its own type's schema, not just to any record's."""
    if schema != {"$ref": "#/components/schemas/Record"} or "{recordType}" not in template:
        return schema
    kind = path.split("/")[template.split("/").index("{recordType}")].lower()
    name = NETSUITE_RECORDS.get(kind, "CustomRecord" if kind.startswith("customrecord") else None)
    return {"$ref": f"#/components/schemas/{name}"} if name else schema


RULES = {
    "stripe": Rules("published document", unrouted=("/v1/customers", "get"),
                    applies=lambda response: _official_spec_applies(response)),
    "chargebee": Rules("published document", unrouted=("/api/v2/customers", "get")),
    "netsuite": Rules("published document",
                      unrouted=("/services/rest/record/v1/{recordType}/{id}", "get"),
                      narrow=_netsuite_record),
    "salesforce": Rules("published document", unrouted=("/services/data/{version}", "get")),
}


def close_objects(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable` -> a `null` type; objects closed
    (`additionalProperties: false` unless the schema says otherwise)."""
    if isinstance(node, list):
        return [close_objects(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: close_objects(v) for k, v in node.items() if k != "nullable"}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def stripe_spec() -> Document:
    with gzip.open(STRIPE_SPEC, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _stripe_official() -> Checker:
    """Stripe's official spec, objects closed; only for operations it has (others, and unknown
    URLs, are the published document's check)."""
    spec = stripe_spec()
    return Checker("stripe", spec, Rules("Stripe's official spec", unrouted=None,
                                         applies=_official_spec_applies),
                   transform=close_objects)


def registry_document(vendor: str) -> Document:
    """A vendor's published document, from a fresh app (what `/_sim/openapi.json` serves)."""
    from simulators.core.app import build_app
    from simulators.core.simulator import Simulator
    from simulators.registry import create_vendor

    return build_app(Simulator(create_vendor(vendor), seed=0)).app.openapi()


_CHECKERS: dict[str, list[Checker]] = {}


def checkers(vendor: str, document: Callable[[], Document] | None = None) -> list[Checker]:
    """The checks for a vendor's responses (none for vendors without a real document, like the
    engine tests' toy), built on first use and kept for the session. `document` gives the
    published document (default: a fresh app's)."""
    if vendor not in RULES:
        return []
    if vendor not in _CHECKERS:
        doc = document() if document else registry_document(vendor)
        found = [Checker(vendor, doc, RULES[vendor])]
        if vendor == "stripe":
            found.append(_stripe_official())
        _CHECKERS[vendor] = found
    return _CHECKERS[vendor]


def problems(vendor: str, response: Recorded,
             document: Callable[[], Document] | None = None) -> list[str]:
    """Everything wrong with one response, by every check of its vendor (a problem two checks
    find is listed once, naming both)."""
    sources: dict[str, list[str]] = {}
    for check in checkers(vendor, document):
        if check.rules.applies(response):
            for problem in check.problems(response):
                sources.setdefault(problem, []).append(check.rules.source)
    found = [f"[{', '.join(names)}] {problem}" for problem, names in sources.items()]
    sdk = sdk_problems(vendor, response)
    if SDK_STRICT.get(vendor, True):
        return found + sdk
    REPORTED.extend(sdk)
    return found


# -- the official SDKs' types ---------------------------------------------------------------------
# Both strict. When a newer SDK is vendored before the fake answers in its shapes, set the
# vendor False for the while: findings then go to REPORTED, printed at the end of the session
# (tests/conftest.py), instead of failing tests.
SDK_STRICT = {"chargebee": True, "stripe": True}
REPORTED: list[str] = []


def _official_spec_applies(response: Recorded) -> bool:
    """Stripe's 2023-08-16 spec (which the fake publishes) speaks for 2023-08-16 responses only:
    other versions' objects differ from it, also inside error bodies (a 402's PaymentIntent);
    see simulators/stripe/versions."""
    return response.headers.get("stripe-version") in (None, "2023-08-16")


def at_sdk_version(response: Recorded) -> bool:
    """Whether a Stripe response answers in the API version the official SDKs pin."""
    return response.headers.get("stripe-version") == sdk_types.sdk_types("stripe").api_version


def sdk_problems(vendor: str, response: Recorded) -> list[str]:
    """A JSON response held to the official SDK's types: every successful Chargebee one, and
    Stripe's at the SDK's pinned version (with Stripe-Version 2023-08-16 the official spec
    speaks instead)."""
    if vendor not in ("stripe", "chargebee") or "json" not in response.headers.get(
            "content-type", "") or (vendor == "chargebee" and not 200 <= response.status < 300):
        return []  # Stripe's errors embed objects (a 402's PaymentIntent): those are checked
    if vendor == "stripe" and not at_sdk_version(response):
        return []
    try:
        body = json.loads(response.body)
    except ValueError:
        return []  # the document checks say so
    where = f"{response.method.upper()} {response.path} -> {response.status}"
    found = sdk_types.problems(vendor, body)
    return [f"[SDK types] {where}: {problem}" for problem in found]
