"""Stripe's official OpenAPI spec (API version 2023-08-16, MIT licence, vendored gzipped in
`spec/`): which parameters each operation accepts, and the fake's published document.

The published document is the official spec cut down to the operations the fake serves (taken
from the app's routes, so billing's routes appear as soon as they exist), plus the `/_sim/`
control plane as FastAPI generates it. It is OpenAPI 3.1: the spec's 3.0 `nullable: true` is
rewritten as type unions so one document describes both parts.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from simulators.core.openapi import generated_title, publish
from simulators.core.pipeline import CONTROL_PREFIX
from simulators.stripe.errors import invalid_request, unknown_param

SPEC_FILE = Path(__file__).parent / "spec" / "openapi.spec3.json.gz"
METHODS = ("get", "post", "delete")


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The official spec; `LANDSCAPE_STRIPE_SPEC` may point at another (plain JSON) copy."""
    override = os.environ.get("LANDSCAPE_STRIPE_SPEC")
    if override:
        return json.loads(Path(override).read_text())
    with gzip.open(SPEC_FILE, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@lru_cache(maxsize=1)
def _paths_by_shape() -> dict[str, str]:
    return {_shape(p): p for p in spec()["paths"]}


def spec_path(path: str) -> str | None:
    """The spec's path for a route path, whatever its parameter names (`{id}` vs `{customer}`)."""
    return _paths_by_shape().get(_shape(path))


def resolve(schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec()["components"]["schemas"][name]
    return schema


@cache
def accepted(path: str, method: str) -> dict[str, Any]:
    """Parameter name -> schema for an operation: its query parameters and form body fields."""
    operation = spec()["paths"][path][method]
    params = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", [])
              if p.get("in") == "query"}
    body = operation.get("requestBody", {}).get("content", {})
    form = body.get("application/x-www-form-urlencoded", {}).get("schema", {})
    params.update(resolve(form).get("properties", {}))
    return params


def enum_of(path: str, method: str, name: str) -> set[str] | None:
    """The allowed values of a (list-of-)string parameter, if the spec enumerates them."""
    schema = resolve(accepted(path, method).get(name) or {})
    schema = resolve(schema.get("items", schema))
    return set(schema["enum"]) if "enum" in schema else None


def check_params(params: dict[str, Any], path: str, method: str) -> None:
    """Reject what Stripe would: unknown names, also nested (`card[foo]`)."""
    allowed = accepted(path, method)
    for name, value in params.items():
        if name not in allowed:
            raise unknown_param(name)
        _check_nested(value, allowed[name], name)


def _object_fields(schema: Any) -> dict[str, Any] | None:
    """Known sub-fields of an object parameter; None when anything goes (metadata, free maps)."""
    schema = resolve(schema)
    variants = schema.get("anyOf") or [schema]
    fields: dict[str, Any] = {}
    found = False
    for variant in map(resolve, variants):
        if variant.get("type") != "object":
            continue
        if variant.get("additionalProperties") or "properties" not in variant:
            return None
        found = True
        fields.update(variant["properties"])
    return fields if found else None


def _check_nested(value: Any, schema: Any, name: str) -> None:
    if isinstance(value, dict):
        fields = _object_fields(schema)
        if fields is None:
            return
        for key, sub in value.items():
            if key not in fields:
                raise unknown_param(f"{name}[{key}]")
            _check_nested(sub, fields[key], f"{name}[{key}]")
    elif isinstance(value, list):
        schema = resolve(schema)
        variants = [resolve(v) for v in (schema.get("anyOf") or [schema])]
        items = next((v["items"] for v in variants if v.get("type") == "array"), None)
        if items is None:
            if any(v.get("type") == "object" for v in variants):
                return  # an object whose keys are digits: not checked
            raise invalid_request(f"Invalid {_type_name(schema)}", name)
        for i, item in enumerate(value):
            _check_nested(item, items, f"{name}[{i}]")


def _type_name(schema: dict[str, Any]) -> str:
    kind = schema.get("type") or "value"
    return {"string": "string", "integer": "integer", "boolean": "boolean"}.get(kind, kind)


# -- the published document ---------------------------------------------------------------------
def to_openapi_31(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` -> 3.1 type unions (`"type": ["string", "null"]`)."""
    if isinstance(node, list):
        return [to_openapi_31(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_openapi_31(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        elif "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
        elif "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
    return out


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            if name not in found:
                found.add(name)
                _refs(spec()["components"]["schemas"].get(name), found)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def published(generated: dict[str, Any]) -> dict[str, Any]:
    """The fake's OpenAPI: the official operations it serves + FastAPI's control plane."""
    official = spec()
    paths: dict[str, Any] = {}
    schema_names: set[str] = set()
    for path, item in generated.get("paths", {}).items():
        if path.startswith(CONTROL_PREFIX):
            continue  # `publish` adds the control plane
        target = spec_path(path)
        served = {m: op for m, op in item.items() if m in METHODS}
        for method, operation in served.items():
            official_op = official["paths"].get(target or "", {}).get(method)
            if official_op is None:  # a route the spec does not know: keep FastAPI's
                paths.setdefault(path, {})[method] = operation
                continue
            paths.setdefault(target, {})[method] = copy.deepcopy(official_op)
            _refs(official_op, schema_names)
    components: dict[str, Any] = {
        "schemas": {name: official["components"]["schemas"][name]
                    for name in sorted(schema_names)}}
    if "securitySchemes" in official.get("components", {}):
        components["securitySchemes"] = official["components"]["securitySchemes"]
    return to_openapi_31(publish(
        generated, owner="Stripe",
        info={"title": generated_title(generated, "landscape fake Stripe"),
              "version": official["info"]["version"],
              "description": "Operations served by the landscape fake Stripe, as in Stripe's "
                             "official OpenAPI spec (MIT), plus the /_sim control plane."},
        paths=paths, components=components))
