"""Holding a fake's response bodies to the official SDKs' types: a second reference beside the
OpenAPI documents, at the API version the SDKs pin.

The data (tests/sdk_types/, see its README.md) is extracted from the TypeScript definitions of
the `stripe` and `chargebee` npm packages, which their vendors generate from their newest
OpenAPI specs. TypeScript says what Python's annotations cannot: stripe-python marks a field
that may be absent and a field that may be null alike (`Optional[...]`), stripe-node writes
`field?: T` for "may be absent" and `T | null` for "nullable".

A body is checked recursively: every field the type requires is present, no field it does not
declare is there, primitive types, literal values and nullability match. A Stripe error's body:
the objects it embeds; a Stripe event made at another API version: all but its `data.object`
(in that version's shape). Stripe objects are
found by their `object` field (unions told apart by `object`, `deleted` and an event's `type`);
Chargebee resources by their wrapper keys (`{"subscription": {...}, "customer": {...}}`, list
entries the same). Chargebee's types allow any extra key (`[key: string]: unknown`, for custom
fields); only `cf_` keys are let through that way, and Chargebee's `object` marker (`"object":
"subscription_item"`, on every object and sub-object of its responses), which the types omit.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parents[1] / "sdk_types"
Type = Any  # see tests/sdk_types/extract.js for the grammar
LISTS = {"list": {"object", "data", "has_more", "url"},
         "search_result": {"object", "data", "has_more", "url", "next_page"}}
DISCRIMINATORS = ("object", "deleted", "type")
ERROR_OBJECTS = ("payment_intent", "payment_method", "setup_intent", "source")
UNCHECKED = object()  # stands in for what the SDK's types cannot speak for


@dataclass(frozen=True)
class SdkTypes:
    """One SDK's extracted types: `roots` (Stripe: `object` value -> type names; Chargebee:
    wrapper key -> type name) and `types` (name -> {"fields", "extra"})."""

    vendor: str
    package: str
    version: str
    api_version: str | None
    roots: dict[str, Any]
    types: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.package}@{self.version}"


@cache
def sdk_types(vendor: str) -> SdkTypes:
    """The vendored types of `vendor`'s SDK (`stripe` or `chargebee`)."""
    (path,) = DATA.glob(f"{vendor}-*.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    return SdkTypes(vendor, data["package"], data["version"], data.get("api_version"),
                    data["roots"], data["types"])


def problems(vendor: str, body: Any) -> list[str]:
    """What in a successful response body disagrees with the SDK's types, one line each, naming
    the JSON path, the object, the field and the SDK type."""
    sdk = sdk_types(vendor)
    walk = _Walk(sdk)
    if vendor == "chargebee":
        walk.chargebee_body(body, "$")
    elif isinstance(body, dict) and isinstance(body.get("error"), dict):
        for key in ERROR_OBJECTS:  # an error's body embeds objects (a 402's PaymentIntent)
            if isinstance(body["error"].get(key), dict):
                walk.stripe_object(body["error"][key], f"$.error.{key}")
    else:
        walk.stripe_object(body, "$")
    return walk.found


class _Walk:
    def __init__(self, sdk: SdkTypes) -> None:
        self.sdk = sdk
        self.found: list[str] = []

    def say(self, where: str, text: str) -> None:
        self.found.append(f"{where}: {text} ({self.sdk.label})")

    # -- entry points -----------------------------------------------------------------------------
    def stripe_object(self, body: Any, where: str) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("object"), str):
            self.say(where, "a Stripe object needs an `object` field")
            return
        kind = body["object"]
        if kind in LISTS:
            self.stripe_list(body, where, None)
        elif kind in self.sdk.roots:
            self.check(body, {"union": [{"ref": n} for n in self.sdk.roots[kind]]}, where)
        else:
            self.say(where, f"object {kind!r} is no type of the SDK")

    def stripe_list(self, body: dict[str, Any], where: str, item: Type | None) -> None:
        fields = LISTS.get(str(body.get("object")), LISTS["list"])
        for name in sorted(fields - body.keys()):
            self.say(where, f"field {name!r} required by the SDK's list type is missing")
        for name in sorted(body.keys() - fields - {"total_count"}):
            self.say(where, f"field {name!r} is not declared by the SDK's list type")
        data = body.get("data")
        if not isinstance(data, list):
            self.say(f"{where}.data", "the SDK's list type needs an array")
            return
        for i, entry in enumerate(data):
            if item is None:
                self.stripe_object(entry, f"{where}.data[{i}]")
            else:
                self.check(entry, item, f"{where}.data[{i}]")

    def chargebee_body(self, body: Any, where: str) -> None:
        if not isinstance(body, dict):
            self.say(where, "a Chargebee response is an object of resources")
        elif "list" in body:
            for name in sorted(body.keys() - {"list", "next_offset"}):
                self.say(where, f"key {name!r} is not part of a Chargebee list response")
            if not isinstance(body.get("next_offset", ""), str):
                self.say(f"{where}.next_offset", "not a string")
            entries = body["list"]
            for i, entry in enumerate(entries if isinstance(entries, list) else []):
                self.resources(entry, f"{where}.list[{i}]")
        else:
            self.resources(body, where)

    def resources(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            self.say(where, "expected an object of resources keyed by name")
            return
        for key, resource in value.items():
            name = self.sdk.roots.get(key)
            if name is None:
                self.say(where, f"key {key!r} names no resource of the SDK")
            else:
                self.check(resource, {"ref": name}, f"{where}.{key}")
                marker = resource.get("object", key) if isinstance(resource, dict) else key
                if marker != key:
                    self.say(f"{where}.{key}.object", f"{marker!r} where {name} is {key!r}")

    # -- types ------------------------------------------------------------------------------------
    def check(self, value: Any, t: Type, where: str, owner: str = "") -> None:
        """`owner`: the named type whose field this is, for the messages."""
        if value is UNCHECKED:
            return
        if isinstance(value, dict) and value.get("object") == "event" \
                and self.sdk.vendor == "stripe" and value.get("api_version") != \
                self.sdk.api_version and isinstance(value.get("data"), dict):
            # an event keeps the version it was made at: its object is in that version's shape
            value = {**value, "data": {k: UNCHECKED if k in ("object", "previous_attributes")
                                       else v for k, v in value["data"].items()}}
        if isinstance(t, str):
            if not _primitive_ok(value, t):
                self.say(where, f"{_kind(value)} where {owner or 'the SDK'} declares {_show(t)}")
            elif t == "resources":
                self.resources(value, where)
        elif "lit" in t:
            if value != t["lit"] or type(value) is not type(t["lit"]):
                self.say(where, f"{value!r} where {owner or 'the SDK'} declares {_show(t)}")
        elif "ref" in t:
            self.shape(value, self.sdk.types[t["ref"]], t["ref"], where)
        elif "object" in t:
            self.shape(value, t["object"], f"{owner or 'an'} inline object", where)
        elif "array" in t:
            if not isinstance(value, list):
                self.say(where, f"{_kind(value)} where {owner or 'the SDK'} declares an array")
            else:
                for i, item in enumerate(value):
                    self.check(item, t["array"], f"{where}[{i}]", owner)
        elif "list" in t:
            if not isinstance(value, dict):
                self.say(where, f"{_kind(value)} where {owner or 'the SDK'} declares a list")
            else:
                self.stripe_list(value, where, t["list"])
        else:
            self.union(value, t["union"], where, owner)

    def union(self, value: Any, members: list[Type], where: str, owner: str) -> None:
        fitting = [m for m in members if _could_be(value, m, self.sdk)]
        if not fitting:
            shown = repr(value) if isinstance(value, str | bool) else _kind(value)
            self.say(where, f"{shown} where {owner or 'the SDK'} declares "
                            f"{_show({'union': members})}")
            return
        best: list[str] | None = None
        for member in fitting:  # the member with the fewest problems speaks
            trial = _Walk(self.sdk)
            trial.check(value, member, where, owner)
            if best is None or len(trial.found) < len(best):
                best = trial.found
            if not best:
                break
        self.found += best or []

    def shape(self, value: Any, shape: dict[str, Any], name: str, where: str) -> None:
        if not isinstance(value, dict):
            self.say(where, f"{_kind(value)} where the SDK declares {name}")
            return
        fields, extra = shape["fields"], shape["extra"]
        for field, spec in fields.items():
            if not spec["optional"] and field not in value:
                self.say(where, f"field {field!r} required by {name} is missing")
        for key, item in value.items():
            spec = fields.get(key)
            if spec is not None:
                self.check(item, spec["type"], f"{where}{_step(key)}", f"{name}.{key}")
            elif self.sdk.vendor == "chargebee" and key == "object":
                if not isinstance(item, str):  # the marker the SDK's types leave out
                    self.say(f"{where}.object", f"{_kind(item)} where Chargebee sends a name")
            elif extra is None or (extra == "unknown" and self.sdk.vendor == "chargebee"
                                   and not key.startswith("cf_")):
                self.say(f"{where}{_step(key)}", f"field {key!r} is not declared by {name}")
            else:
                self.check(item, extra, f"{where}{_step(key)}", f"{name}[key]")


def _primitive_ok(value: Any, t: str) -> bool:
    if t in ("string", "decimal"):
        return isinstance(value, str)
    if t == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "null":
        return value is None
    if t == "resources":
        return isinstance(value, dict)
    return True  # unknown


def _could_be(value: Any, t: Type, sdk: SdkTypes) -> bool:
    """Whether a union member is worth trying: the JSON kind fits, and a named object's literal
    discriminators (`object`, `deleted`, `type`) agree with the value's."""
    if isinstance(t, str):
        return t == "unknown" or _primitive_ok(value, t)
    if "lit" in t:
        return value == t["lit"] and type(value) is type(t["lit"])
    if "array" in t:
        return isinstance(value, list)
    if not isinstance(value, dict):
        return False
    if "list" in t:
        return value.get("object") in LISTS
    if "union" in t:
        return any(_could_be(value, m, sdk) for m in t["union"])
    fields = (sdk.types[t["ref"]] if "ref" in t else t["object"])["fields"]
    for key in DISCRIMINATORS:
        declared = fields.get(key, {}).get("type")
        if isinstance(declared, dict) and "lit" in declared:
            if value.get(key, declared["lit"] if fields[key]["optional"] else None) \
                    != declared["lit"]:
                return False
        elif key == "object" and "object" in value and "object" not in fields \
                and sdk.vendor == "stripe":  # Chargebee marks every object, typed or not
            return False
    return True


def _kind(value: Any) -> str:
    return {type(None): "null", bool: "a boolean", str: "a string", int: "a number",
            float: "a number", list: "an array", dict: "an object"}.get(type(value), "a value")


def _show(t: Type) -> str:
    if isinstance(t, str):
        return t
    if "lit" in t:
        return json.dumps(t["lit"])
    if "ref" in t:
        return str(t["ref"])
    if "array" in t:
        return f"Array<{_show(t['array'])}>"
    if "list" in t:
        return f"ApiList<{_show(t['list'])}>"
    if "union" in t:
        shown = [_show(m) for m in t["union"]]
        return " | ".join(shown if len(shown) <= 6 else [*shown[:5], "..."])
    return "an inline object"


def _step(key: str) -> str:
    return f".{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"[{json.dumps(key)}]"
