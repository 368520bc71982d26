"""What every Stripe resource shares: ids, storage, parameters, lists, expansion.

Objects are stored as the JSON Stripe returns (dicts) in the tenant's collections, one collection
per object type ("customer", "payment_intent", …), in creation order.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from simulators.core import forms
from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext
from simulators.stripe.errors import invalid_request, resource_missing

# id prefix -> (collection, the word Stripe uses in "No such …" messages)
PREFIXES: dict[str, tuple[str, str]] = {
    "cus": ("customer", "customer"), "pm": ("payment_method", "PaymentMethod"),
    "pi": ("payment_intent", "payment_intent"), "ch": ("charge", "charge"),
    "re": ("refund", "refund"), "prod": ("product", "product"), "price": ("price", "price"),
    "sub": ("subscription", "subscription"), "in": ("invoice", "invoice"),
    "clock": ("test_helpers.test_clock", "test_clock"), "evt": ("event", "event"),
    "we": ("webhook_endpoint", "webhook endpoint"), "ii": ("invoiceitem", "invoiceitem"),
    "si": ("subscription_item", "subscription_item"),
}
SHORT_IDS = {"cus", "prod", "price"}  # Stripe's customer/product ids are shorter than others
MAX_EXPAND_DEPTH = 4


def new_id(ctx: RequestContext | Any, tenant: Tenant, prefix: str) -> str:
    """A seed-stable Stripe-shaped id: `cus_` + 14 chars, `pi_` + 24 chars, …"""
    sim = ctx.sim if isinstance(ctx, RequestContext) else ctx
    length = 14 if prefix in SHORT_IDS else 24
    return f"{prefix}_{sim.seeds.token(f'ids:{tenant.id}', length)}"


def collection_for(object_id: str) -> tuple[str, str] | None:
    return PREFIXES.get(object_id.split("_", 1)[0]) if "_" in object_id else None


def get_object(tenant: Tenant, collection: str, object_id: str, *, label: str | None = None,
               param: str = "id") -> dict[str, Any]:
    """The stored object, or Stripe's 404 `resource_missing` naming `param`."""
    obj = tenant.collection(collection).get(object_id) if isinstance(object_id, str) else None
    if obj is None:
        raise resource_missing(label or collection, str(object_id), param)
    return obj


async def read_params(request: Request) -> dict[str, Any]:
    """Query-string and form-body parameters, bracket-decoded (`metadata[k]=v`, `expand[]=x`)."""
    try:
        params = forms.decode(request.scope.get("query_string", b"").decode())
        if request.method in ("POST", "DELETE"):
            params.update(forms.decode(await request.body()))
    except forms.FormError as exc:
        raise invalid_request(f"Invalid parameter: {exc.reason}.", exc.key) from exc
    return params


def integer(params: dict[str, Any], name: str, *, required: bool = False,
            minimum: int | None = None, maximum: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise invalid_request(f"Missing required param: {name}.", name, "parameter_missing")
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid_request(f"Invalid integer: {value}", name,
                              "parameter_invalid_integer") from None
    if minimum is not None and number < minimum:
        raise invalid_request(f"This value must be greater than or equal to {minimum}.", name)
    if maximum is not None and number > maximum:
        raise invalid_request(f"This value must be less than or equal to {maximum}.", name)
    return number


def boolean(params: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_request(f"Invalid boolean: {value}", name)


def list_page(objects: list[dict[str, Any]], params: dict[str, Any], url: str,
              collection_label: str = "object") -> dict[str, Any]:
    """Stripe cursor pagination over objects given newest first."""
    limit = integer(params, "limit", minimum=1, maximum=100) or 10
    after, before = params.get("starting_after"), params.get("ending_before")
    if after and before:
        raise invalid_request("You may only specify one of these parameters: "
                              "ending_before, starting_after.", "ending_before")
    ids = [o["id"] for o in objects]
    if after:
        if after not in ids:
            raise resource_missing(collection_label, after, "starting_after")
        start = ids.index(after) + 1
        page = objects[start:start + limit]
        has_more = start + limit < len(objects)
    elif before:
        if before not in ids:
            raise resource_missing(collection_label, before, "ending_before")
        end = ids.index(before)
        page = objects[max(0, end - limit):end]
        has_more = end - limit > 0
    else:
        page, has_more = objects[:limit], len(objects) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def newest_first(tenant: Tenant, collection: str) -> list[dict[str, Any]]:
    return list(reversed(tenant.collection(collection).values()))


def created_filter(objects: list[dict[str, Any]], params: dict[str, Any],
                   field: str = "created") -> list[dict[str, Any]]:
    """`created=…` or `created[gt|gte|lt|lte]=…`."""
    spec = params.get(field)
    if spec is None:
        return objects
    if not isinstance(spec, dict):
        spec = {"eq": spec}
    ops = {"eq": lambda a, b: a == b, "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
           "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
    bounds = []
    for op in spec:
        if op not in ops:
            raise invalid_request(f"Invalid {field}[{op}]", f"{field}[{op}]")
        bound = integer(spec, op)
        if bound is not None:  # `created[gte]=`: empty, like any unset integer (no bound)
            bounds.append((ops[op], bound))
    return [o for o in objects if all(fn(o.get(field) or 0, b) for fn, b in bounds)]


INCLUDABLE = {"invoice": ("payments",)}  # shown only when asked for with expand[]


def render(tenant: Tenant, obj: dict[str, Any], params: dict[str, Any],
           version: str | None = None, *, invoice: str | None = None) -> dict[str, Any]:
    """A copy of `obj` in the shape of `version` (the current one when None), with the
    `expand[]` paths replaced by the objects they point to, rendered at the same version."""
    from simulators.stripe import versions

    paths = params.get("expand") or []
    if isinstance(paths, str):
        paths = [paths]
    version = version or versions.CURRENT
    out = versions.render(obj, version, tenant, invoice=invoice)
    _drop_includable(out, [str(p) for p in paths])
    for path in paths:
        parts = str(path).split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise invalid_request(f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a "
                                  f"property. Property: {path}", "expand")
        _expand(tenant, out, parts, path, version)
    return out


def _drop_includable(node: Any, paths: list[str]) -> None:
    """The invoice's `payments` list is includable: gone unless expanded (here or in a page)."""
    if not isinstance(node, dict):
        return
    if node.get("object") == "list":
        inner = [p[len("data."):] for p in paths if p.startswith("data.")]
        for item in node.get("data") or []:
            _drop_includable(item, inner)
        return
    asked = {p.split(".")[0] for p in paths}
    for name in INCLUDABLE.get(str(node.get("object")), ()):
        if name not in asked:
            node.pop(name, None)


def _expand(tenant: Tenant, node: Any, parts: list[str], path: str, version: str) -> None:
    if isinstance(node, list):
        for item in node:
            _expand(tenant, item, parts, path, version)
        return
    if not isinstance(node, dict) or not parts:
        return
    key, rest = parts[0], parts[1:]
    if node.get("object") == "list" and key == "data":
        _expand(tenant, node["data"], rest, path, version)
        return
    if key not in node:
        raise invalid_request(f"This property cannot be expanded ({path}).", "expand")
    value = node[key]
    if isinstance(value, str):
        target = collection_for(value)
        stored = tenant.collection(target[0]).get(value) if target else None
        if stored is None:
            raise invalid_request(f"This property cannot be expanded ({path}).", "expand")
        from simulators.stripe import versions

        node[key] = value = versions.render(stored, version, tenant)
    elif isinstance(value, bool | int | float):  # never an id: not expandable
        raise invalid_request(f"This property cannot be expanded ({path}).", "expand")
    if rest:
        _expand(tenant, value, rest, path, version)


def apply_metadata(target: dict[str, Any], raw: Any) -> None:
    """Stripe's metadata rules: ≤50 keys, key ≤40 chars, value ≤500 chars, "" unsets."""
    if raw is None:
        return
    metadata = target.setdefault("metadata", {})
    if raw == "":
        metadata.clear()
        return
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object", "metadata")
    for key, value in raw.items():
        if len(key) > 40:
            raise invalid_request("Metadata keys can have up to 40 characters; "
                                  f"'{key}' has {len(key)}.", f"metadata[{key}]")
        if isinstance(value, dict | list):
            raise invalid_request("Invalid string: metadata values must be strings.",
                                  f"metadata[{key}]")
        if len(value) > 500:
            raise invalid_request("Metadata values can have up to 500 characters, but you "
                                  f"passed in a value that is {len(value)} characters.",
                                  f"metadata[{key}]")
        if value == "":
            metadata.pop(key, None)
        else:
            metadata[key] = value
    if len(metadata) > 50:
        raise invalid_request("You can specify up to 50 keys, with key names up to 40 "
                              "characters long and values up to 500 characters long.",
                              "metadata")
