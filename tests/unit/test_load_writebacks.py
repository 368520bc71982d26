"""`landscape load`'s write-back lag (harness/load_writebacks.py, harness/load_report.py): each
merchant's store read after the run, summarised, shown. No processes: a store file and a
stand-in for the running landscape."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from components.domain import OutboxMessage
from components.store import open_store
from harness import load_writebacks
from harness.load_report import writeback_row, writeback_text


def _message(key: str, destination: str = "netsuite") -> OutboxMessage:
    return OutboxMessage(destination=destination, kind="recovery_status", dedupe_key=key,
                         payload={"invoice_key": f"stripe:{key}"})


def _landscape(stores: dict[str, str], own: tuple[str, ...] = ()) -> Any:
    """What `read` uses of a RunningLandscape: each merchant's settings and topology entry."""
    def merchant(name: str) -> SimpleNamespace:
        command = ["./own-engine"] if name in own else None
        return SimpleNamespace(components=SimpleNamespace(recovery=SimpleNamespace(
            command=command)))
    return SimpleNamespace(settings={m: SimpleNamespace(store=url) for m, url in stores.items()},
                           topology=SimpleNamespace(merchants={m: merchant(m) for m in stores}))


def test_every_merchant_s_write_backs_in_the_window_are_read_from_its_store(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/components.db"
    store = open_store(url)
    store.enqueue([_message("early")], at=90.0)
    store.enqueue([_message("sent"), _message("waiting", "salesforce")], at=100.0)
    store.enqueue([_message("late")], at=200.0)
    sent = next(m for m in store.due_messages(now=100.0, limit=10) if m.dedupe_key == "sent")
    assert sent.id is not None
    store.mark_done(sent.id, at=101.25)
    store.close()
    missing = f"sqlite:///{tmp_path}/none/components.db"
    found, unread = load_writebacks.read(
        _landscape({"acme": url, "initech": missing, "globex": url}, own=("globex",)),
        99.0, 150.0)
    assert [(w["merchant"], w["destination"], w["committed"], w["done"], w["status"])
            for w in found] == [("acme", "netsuite", 100.0, 101.25, "done"),
                                ("acme", "salesforce", 100.0, None, "pending")]
    assert set(unread) == {"initech", "globex"}
    assert "no store file" in unread["initech"] and "team's own" in unread["globex"]
    assert not Path(tmp_path / "none").exists()  # reading never creates a store


def test_the_lag_summary_counts_what_was_sent_and_what_was_not() -> None:
    def queued(committed: float, done: float | None, status: str) -> dict[str, Any]:
        return {"committed": committed, "done": done, "status": status}

    writebacks = [queued(100.0, 100.0 + lag, "done") for lag in range(1, 101)]
    writebacks += [queued(150.0, None, "pending"), queued(150.0, None, "dead")]
    lag = load_writebacks.lag_summary(writebacks)
    assert lag == {"count": 100, "p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0,
                   "pending": 1, "dead": 1}
    assert load_writebacks.lag_summary([], {"acme": "x"}) == {
        "count": 0, "p50": None, "p95": None, "p99": None, "max": None, "pending": 0,
        "dead": 0, "unread": {"acme": "x"}}


def test_the_report_shows_the_lag_in_seconds_and_load_csv_in_ms() -> None:
    lag = {"count": 12, "p50": 1.2, "p95": 2.5, "p99": 3.25, "max": 3.5, "pending": 1,
           "dead": 0, "unread": {"initech": "no store file at sqlite:///x.db"}}
    result = {"load": {"writeback_lag_s": lag}}
    text = writeback_text(result)
    assert text is not None
    assert "12 sent, p50 1.20 s, p95 2.50 s, p99 3.25 s, max 3.50 s" in text
    assert "1 still pending, 0 dead letters" in text and "initech not read" in text
    row = writeback_row(result)
    assert row is not None
    assert (row["count"], row["failures"], row["p50_ms"], row["p99_ms"], row["max_ms"]) \
        == (12, 1, 1200.0, 3250.0, 3500.0)
    assert writeback_text({"load": {}}) is None and writeback_row({"load": {}}) is None
