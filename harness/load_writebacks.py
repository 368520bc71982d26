"""Write-back lag for `landscape load`: the outbox messages each merchant's engine queued during
the load, read from its store once the load is judged, and their digest.

A write-back's lag runs from its queueing (`outbox.created_at`, written in the transaction that
records the charge's result or the decision: the decision's commit) to its send (the time the
relay marked it done, once the vendor answered), as the model's `writeback_lag_s` does
(harness/model/sim.py `_relay`). The stores are read directly: every reference component's
store is a file of the run folder (harness/launcher.py), so no endpoint is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.store import StoreError, open_store
from components.store.tables import mask_url
from harness.load_metrics import nearest_ranks

if TYPE_CHECKING:
    from harness.launcher import RunningLandscape


def read(landscape: RunningLandscape, since: float,
         until: float) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every merchant's write-backs queued from `since` to `until` (epoch s), oldest first, and
    the merchants whose store was not read, with why."""
    found: list[dict[str, Any]] = []
    unread: dict[str, str] = {}
    for merchant, settings in landscape.settings.items():
        if landscape.topology.merchants[merchant].components.recovery.command:
            # opening a team's own store would add this schema's tables to it
            unread[merchant] = "its recovery service is a team's own (topology command)"
            continue
        url = settings.store
        if not _on_disk(url):
            unread[merchant] = f"no store file at {mask_url(url)}"
            continue
        try:
            store = open_store(url)
            try:
                queued = store.writebacks(since, until)
            finally:
                store.close()
        except StoreError as exc:
            unread[merchant] = str(exc)
            continue
        except Exception as exc:  # any backend's error (a locked file): the run goes on
            unread[merchant] = f"{type(exc).__name__}: {exc}"
            continue
        found += [{"merchant": merchant, **w.to_dict()} for w in queued]
    return sorted(found, key=lambda w: w["committed"]), unread


def _on_disk(url: str) -> bool:
    """False for an SQLite file that is not there (opening it would create an empty store) or
    an in-memory one (another process's memory); other stores are servers, read as they are."""
    if not url.startswith("sqlite:"):
        return True
    path = url.removeprefix("sqlite:///")
    return path != url and path not in ("", ":memory:") and Path(path).is_file()


def lag_summary(writebacks: list[dict[str, Any]],
                unread: dict[str, str] | None = None) -> dict[str, Any]:
    """How many were sent and their lag (s, nearest rank: p50, p95, p99, max), and how many
    are still pending or dead letters when read."""
    lags = sorted(w["done"] - w["committed"] for w in writebacks if w["done"] is not None)
    out: dict[str, Any] = {"count": len(lags), **nearest_ranks(lags)}
    out["pending"] = sum(1 for w in writebacks if w["status"] == "pending")
    out["dead"] = sum(1 for w in writebacks if w["status"] == "dead")
    if unread:
        out["unread"] = unread
    return out
