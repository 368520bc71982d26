"""The API versions the fake serves, oldest first, each a real Stripe release."""

from __future__ import annotations

OLDEST = "2023-08-16"  # the version of the official spec the fake is checked against
CURRENT = "2026-10-28.endive"  # the shape the fake's objects have before any transform
DEFAULT = OLDEST  # an account's version unless its `api_version` setting says otherwise

# Stripe's releases since the bundled spec (docs.stripe.com/changelog and the release pages of
# acacia, basil, clover, dahlia, endive; the SDKs' pinned versions). A date not listed is refused
# as Stripe refuses it.
VERSIONS: tuple[str, ...] = (
    "2023-08-16", "2023-10-16", "2024-04-10", "2024-06-20",
    "2024-09-30.acacia", "2024-10-28.acacia", "2024-11-20.acacia", "2024-12-18.acacia",
    "2025-01-27.acacia", "2025-02-24.acacia",
    "2025-03-31.basil", "2025-04-30.basil", "2025-05-28.basil", "2025-06-30.basil",
    "2025-07-30.basil", "2025-08-27.basil",
    "2025-09-30.clover", "2025-10-29.clover", "2025-11-17.clover", "2025-12-15.clover",
    "2026-01-28.clover", "2026-02-25.clover",
    "2026-03-25.dahlia", "2026-04-22.dahlia", "2026-05-27.dahlia", "2026-06-24.dahlia",
    "2026-07-29.dahlia", "2026-08-26.dahlia",
    "2026-09-30.endive", "2026-10-28.endive",
)
_ORDER = {v: i for i, v in enumerate(VERSIONS)}


def known(version: str) -> bool:
    return version in _ORDER


def at_least(version: str, than: str) -> bool:
    """Whether `version` is `than` or newer (both served versions)."""
    return _ORDER[version] >= _ORDER[than]
