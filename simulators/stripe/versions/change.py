"""What one version change is: how an object of the newer shape looks at the older version, and
which request parameters the change removed, brought back or renamed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulators.core.tenancy import Tenant

Obj = dict[str, Any]


@dataclass
class Render:
    """What a transform may consult besides the object: the account's stored records (for links
    the newer shape no longer carries, e.g. a charge's invoice) and the version asked for."""
    tenant: Tenant
    version: str
    invoice: str | None = None  # the invoice whose lines are rendered on their own (/lines)

    def stored(self, collection: str, object_id: Any) -> Obj | None:
        if not isinstance(object_id, str):
            return None
        return self.tenant.collection(collection).get(object_id)


Transform = Callable[[Obj, Render], None]


@dataclass
class VersionChange:
    """One entry of Stripe's changelog. `version` is the first version with the change: an object
    rendered for an older version passes through `down[its object type]` (newest change first),
    which turns the newer shape into the older one in place.

    Request parameters are keyed "post /v1/subscriptions"; "items[].x" names x in each item."""
    version: str
    entry: str  # the changelog entry (URL)
    down: dict[str, Transform] = field(default_factory=dict)
    removed_params: dict[str, tuple[str, ...]] = field(default_factory=dict)  # gone from here on
    restored_params: dict[str, tuple[str, ...]] = field(default_factory=dict)  # back from here on
    renamed_params: dict[str, dict[str, str]] = field(default_factory=dict)  # {new: old} from here
    # the error a removed parameter gets, when Stripe names one (else `parameter_unknown`)
    refusal: Callable[[str], Exception] | None = None
