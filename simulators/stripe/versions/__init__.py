"""Stripe API versions, the way Stripe describes its own: the current shape
(`catalog.CURRENT`) is the model (`current.py`), and one module per version change
(`<date>_<name>.py`, each citing its changelog entry) turns it into the shape of the version
before. A response, every object embedded or expanded in it, list pages and webhook events pass
through `render`; request parameters through `request_params`."""

from __future__ import annotations

import contextvars
import functools
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.stripe.errors import stripe_error, unknown_param
from simulators.stripe.versions.catalog import CURRENT, DEFAULT, OLDEST, VERSIONS, at_least, known
from simulators.stripe.versions.change import Obj, Render, Transform, VersionChange
from simulators.stripe.versions.current import UP

__all__ = ["CHANGES", "CURRENT", "DEFAULT", "OLDEST", "VERSIONS", "account_version", "answering",
           "at_least", "check", "in_error", "known", "load", "render", "render_event",
           "request_params"]


def load(name: str) -> Any:
    """A version-change module by its file name (they start with a date)."""
    return importlib.import_module(f"{__name__}.{name}")


def _changes() -> list[VersionChange]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name[:1].isdigit():
            found.append(load(module.name).CHANGE)
    return sorted(found, key=lambda c: VERSIONS.index(c.version), reverse=True)


CHANGES: list[VersionChange] = _changes()  # newest first


def invalid_version(version: str) -> Exception:
    """Stripe's answer to a `Stripe-Version` it does not know: a 400 with no code or param."""
    return stripe_error(400, "invalid_request_error", f"Invalid Stripe API version: {version}",
                        store_idempotent=False)


def check(version: str) -> str:
    if not known(version):
        raise invalid_version(version)
    return version


def account_version(tenant: Tenant) -> str:
    """The account's default version (its `api_version` setting; one Stripe never released is
    refused as a header naming it would be)."""
    return check(str(tenant.settings.get("api_version") or DEFAULT))


# -- responses ------------------------------------------------------------------------------------
# what a JSON tree's leaves are: checked first (a set lookup is cheaper than isinstance with a
# union), anything else is a container if it is a dict or list (subclasses included) or kept as is
_LEAVES = frozenset({str, int, float, bool, type(None)})
_TREES = (dict, list)


def _walk(node: Any, chain: dict[str, list[Transform]], ctx: Render) -> None:
    """Each object in `node` through its chain, parents before what they embed (a transform may
    read or fill in the objects it embeds); an event keeps its own version."""
    if isinstance(node, list):
        for item in node:
            if type(item) not in _LEAVES and isinstance(item, _TREES):
                _walk(item, chain, ctx)
        return
    kind = node.get("object")
    if kind == "event":
        return
    for transform in chain.get(kind, ()) if isinstance(kind, str) else ():
        transform(node, ctx)
    for value in list(node.values()):
        if type(value) not in _LEAVES and isinstance(value, _TREES):
            _walk(value, chain, ctx)


def _render(node: Any, chain: dict[str, list[Transform]], ctx: Render) -> Any:
    """`_walk(_copy(node))` in one pass where nothing transforms a node: a node whose chain has
    transforms is copied whole first (they may read or change what it embeds), then walked."""
    if isinstance(node, list):
        return [v if type(v) in _LEAVES or not isinstance(v, _TREES) else _render(v, chain, ctx)
                for v in node]
    kind = node.get("object")
    if kind == "event":
        return _copy(node)
    steps = chain.get(kind) if isinstance(kind, str) else None
    if not steps:
        return {k: v if type(v) in _LEAVES or not isinstance(v, _TREES)
                else _render(v, chain, ctx) for k, v in node.items()}
    out = _copy(node)
    for transform in steps:
        transform(out, ctx)
    for value in list(out.values()):
        if type(value) not in _LEAVES and isinstance(value, _TREES):
            _walk(value, chain, ctx)
    return out


@functools.cache
def _chain(version: str) -> dict[str, list[Transform]]:
    """Per object type, what renders it at `version`: the current shape, then each change
    newer than `version`, newest first (then, at 2023-08-16, the spec's fields only)."""
    chain: dict[str, list[Transform]] = {kind: [up] for kind, up in UP.items()}
    for change in CHANGES:
        if at_least(version, change.version):
            break
        for kind, down in change.down.items():
            chain.setdefault(kind, []).append(down)
    if version == OLDEST:
        from simulators.stripe import openapi

        for name, schema in openapi.spec()["components"]["schemas"].items():
            if schema.get("properties", {}).get("object"):
                chain.setdefault(name, []).append(_spec_fields)
    return chain


def _copy(node: Any) -> Any:
    """A copy of a JSON tree (faster than copy.deepcopy for dicts, lists and scalars)."""
    if isinstance(node, dict):
        return {k: v if type(v) in _LEAVES or not isinstance(v, _TREES) else _copy(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [v if type(v) in _LEAVES or not isinstance(v, _TREES) else _copy(v)
                for v in node]
    return node


def _events(node: Any, tenant: Tenant) -> None:
    if isinstance(node, list):
        for item in node:
            _events(item, tenant)
    elif isinstance(node, dict):
        if node.get("object") == "event":
            node.update(render_event(node, tenant, None))
        elif node.get("object") == "list":
            _events(node.get("data"), tenant)


def render(obj: Obj, version: str, tenant: Tenant, *, invoice: str | None = None) -> Obj:
    """A copy of the stored `obj` (and what it embeds) in the shape of `version`."""
    out = _render(obj, _chain(version), Render(tenant, version, invoice))
    _events(out, tenant)
    return out


_ANSWERING: contextvars.ContextVar[tuple[Tenant, str] | None] = contextvars.ContextVar(
    "stripe_version", default=None)


def answering(tenant: Tenant, version: str) -> None:
    """The account and version the request being handled is answered in (set at auth)."""
    _ANSWERING.set((tenant, version))


def in_error(obj: Obj) -> Obj:
    """An object embedded in an error body (a 402's PaymentIntent), in the request's version."""
    asked = _ANSWERING.get()
    return render(obj, asked[1], asked[0]) if asked else _copy(obj)


def render_event(event: Obj, tenant: Tenant, version: str | None) -> Obj:
    """The event as delivered to an endpoint of `version` (None: as it was created, which is
    how Stripe lists events: rendered at the account's version of the time)."""
    version = version or event.get("api_version") or DEFAULT
    out = dict(event, api_version=version)
    data = dict(event["data"])
    data["object"] = render(event["data"]["object"], version, tenant)
    previous = data.get("previous_attributes")
    if previous:  # what the shape of this version no longer has is no longer "previous"
        data["previous_attributes"] = _previous(previous, data["object"])
        if not data["previous_attributes"]:
            del data["previous_attributes"]
    out["data"] = data
    return out


def _previous(previous: dict[str, Any], obj: Obj) -> dict[str, Any]:
    """The old values of the fields this version shows; a subscription's period, which items
    carry since 2025-03-31.basil, as the items' (the changelog entry says so)."""
    out = {k: v for k, v in previous.items() if k in obj}
    period = {k: previous[k] for k in ("current_period_start", "current_period_end")
              if k in previous}
    items = (obj.get("items") or {}).get("data") if obj.get("object") == "subscription" else None
    if period and items and "current_period_end" in items[0] and "items" not in out:
        out["items"] = {**obj["items"], "data": [{**item, **period} for item in items]}
    return out


def _spec_fields(obj: Obj, ctx: Render) -> None:
    """At 2023-08-16 the fake shows exactly the bundled spec's fields: the fields Stripe added
    since (additions.py; Stripe shows them at every version) are left out, so that version stays
    checkable against its published spec."""
    from simulators.stripe import openapi

    name = f"deleted_{obj.get('object')}" if obj.get("deleted") else obj.get("object")
    schema = openapi.spec()["components"]["schemas"].get(name)
    if schema:
        _prune(obj, schema)


def _prune(node: Any, schema: Any) -> None:
    properties, items = _plan(schema)
    if isinstance(node, list):
        for item in node if items is not None else ():
            if type(item) not in _LEAVES and isinstance(item, _TREES):
                _prune(item, items)
        return
    if properties is None:
        return
    for key in [k for k in node if k not in properties]:
        del node[key]
    for key, value in node.items():
        if type(value) not in _LEAVES and isinstance(value, _TREES):
            _prune(value, properties[key])


_PLANS: dict[int, tuple[dict[str, Any] | None, Any]] = {}


def _plan(schema: Any) -> tuple[dict[str, Any] | None, Any]:
    """(an object's properties, an array's items) of a spec schema, $ref and anyOf resolved;
    kept per schema (the spec is loaded once)."""
    found = _PLANS.get(id(schema))
    if found is None:
        from simulators.stripe import openapi

        resolved = openapi.resolve(schema)
        variants = [openapi.resolve(v) for v in resolved.get("anyOf") or [resolved]]
        shape = next((v for v in variants if "properties" in v), None)
        items = next((v["items"] for v in variants if "items" in v), None)
        found = _PLANS[id(schema)] = (shape["properties"] if shape else None, items)
    return found


# -- requests -------------------------------------------------------------------------------------
def request_params(params: dict[str, Any], path: str, method: str, version: str
                   ) -> dict[str, Any]:
    """The parameters as the fake's spec names them: names a change renamed are renamed back,
    names the version does not have get Stripe's error (`parameter_unknown` unless the change
    names another)."""
    refused, renamed = _param_changes(f"{method.lower()} {path}", version)
    for name, refusal in refused:
        _refuse(params, name, refusal)
    if not renamed:
        return params
    return {renamed.get(k, k): v for k, v in params.items()}


@functools.cache
def _param_changes(key: str, version: str
                   ) -> tuple[tuple[tuple[str, Callable[[str], Exception]], ...], dict[str, str]]:
    """What the changes up to `version` do to the parameters of one operation ("post /v1/…"):
    the names refused (with their error), in order, and {new name: the spec's name}."""
    refused: dict[str, Callable[[str], Exception]] = {}
    renamed: dict[str, str] = {}
    for change in reversed(CHANGES):  # oldest first
        if not at_least(version, change.version):
            continue  # a name the change brings in is not in the spec: refused as unknown there
        for name in change.removed_params.get(key, ()):
            refused[name] = change.refusal or unknown_param
        for name in change.restored_params.get(key, ()):
            refused.pop(name, None)
        for new, old in change.renamed_params.get(key, {}).items():
            renamed[new] = old
            refused[old] = unknown_param
    return tuple(refused.items()), renamed


def _refuse(params: dict[str, Any], name: str, refusal: Callable[[str], Exception]) -> None:
    head, _, rest = name.partition(".")
    if head.endswith("[]"):
        items = params.get(head[:-2])
        values = items.values() if isinstance(items, dict) else items or []
        for i, item in enumerate(values):
            if isinstance(item, dict) and rest in item:
                raise refusal(f"{head[:-2]}[{i}][{rest}]")
    elif rest:
        value = params.get(head)
        if isinstance(value, dict) and rest in value:
            raise refusal(f"{head}[{rest}]")
    elif name in params:
        raise refusal(name)
