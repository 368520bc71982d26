"""What every fake's published OpenAPI document shares.

FastAPI generates a document for the whole app, but only its `/_sim/` control plane is right:
the vendor's wire API is described by the vendor (by hand, or cut from the vendor's official
spec). A vendor's `Vendor.openapi(generated)` therefore builds its own paths and components and
calls `publish` (or, for a document built another way, `control_paths` and `merge_components`)
to add the control plane's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from simulators.core.pipeline import CONTROL_PREFIX

OPENAPI_VERSION = "3.1.0"

Document = dict[str, Any]


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def control_paths(generated: Document) -> dict[str, Any]:
    """The `/_sim/` paths of FastAPI's generated document (a copy)."""
    return copy.deepcopy({path: item for path, item in generated.get("paths", {}).items()
                          if path.startswith(CONTROL_PREFIX)})


def merge_components(generated: Document, vendor: Mapping[str, Mapping[str, Any]],
                     owner: str) -> dict[str, Any]:
    """The generated document's components (the control plane's models) plus the vendor's, by
    section (schemas, parameters, securitySchemes, …). A name both use is refused rather than
    letting one silently describe the other's body; `owner` names the vendor in that error."""
    components: dict[str, Any] = copy.deepcopy(generated.get("components", {}))
    for section, entries in vendor.items():
        target = components.setdefault(section, {})
        clash = set(target) & set(entries)
        if clash:
            raise ValueError(f"components.{section}: {sorted(clash)} are used by both {owner} "
                             f"and the control plane; rename the {owner} ones")
        target.update(copy.deepcopy(dict(entries)))
    return components


def publish(generated: Document, *, owner: str, info: dict[str, Any], paths: dict[str, Any],
            components: Mapping[str, Mapping[str, Any]], tags: Iterable[str] = ()) -> Document:
    """The published OpenAPI 3.1 document: the vendor's `paths` and `components` plus the
    control plane's, from FastAPI's `generated` document."""
    document: Document = {"openapi": OPENAPI_VERSION, "info": info}
    tag_list = [{"name": tag} for tag in tags]
    if tag_list:
        document["tags"] = tag_list
    document["paths"] = {**paths, **control_paths(generated)}
    document["components"] = merge_components(generated, components, owner)
    return document


def generated_title(generated: Document, default: str) -> str:
    """The title FastAPI gave the app ("landscape fake <Vendor>")."""
    return str(generated.get("info", {}).get("title", default))
