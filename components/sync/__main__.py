"""`python -m components.sync`: the sync service and its operator commands.

    python -m components.sync --config FILE [--port 8082]      serve (the outbox relay runs)
    python -m components.sync dead-letters --config FILE [--json]
    python -m components.sync replay --config FILE [--ids 1,2] dead letters back to the outbox
    python -m components.sync reconcile --config FILE [--repair] [--since EPOCH]

The operator commands work on the store (and the vendors, for reconcile) directly, so they run
whether or not a sync service is serving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from components.connectors.errors import UnknownOutcome, VendorError
from components.mapping import MappingError
from components.observability import configure_logging
from components.serve import (
    EXIT_CONFIG,
    add_common_arguments,
    add_serve_arguments,
    fail,
    serve,
    settings_or_exit,
)
from components.settings import ComponentSettings
from components.store import Store, StoreError, open_store
from components.sync.service import SyncService

DEFAULT_PORT = 8082
COMMANDS = ("serve", "dead-letters", "replay", "reconcile")


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give dead-letter ids as 1,2,3") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.sync",
        description="The reference sync service (serve is the default command).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_serve_arguments(commands.add_parser(
        "serve", help="serve the sync service on loopback (the default)"), DEFAULT_PORT)
    listed = commands.add_parser("dead-letters", help="list the write-backs given up on")
    add_common_arguments(listed)
    listed.add_argument("--json", action="store_true", help="one JSON object per line")
    replay = commands.add_parser("replay", help="put dead letters back on the outbox")
    add_common_arguments(replay)
    replay.add_argument("--ids", type=_ids, default=None,
                        help="comma-separated dead-letter ids (default: all of them)")
    reconcile = commands.add_parser("reconcile", help="three-way reconciliation; prints the "
                                    "report as JSON")
    add_common_arguments(reconcile)
    reconcile.add_argument("--repair", action="store_true",
                           help="queue the repairs of the drift found on the outbox")
    reconcile.add_argument("--since", type=float, default=None,
                           help="epoch seconds (default: the last 7 days)")
    return parser


def _store(settings: ComponentSettings, config: object) -> Store:
    try:
        return open_store(settings.store)
    except StoreError as exc:
        fail(f"{config}: store: {exc}")


def dead_letters(args: argparse.Namespace) -> None:
    store = _store(settings_or_exit(args.config), args.config)
    try:
        letters = store.dead_letters()
    finally:
        store.close()
    for m in letters:
        if args.json:
            print(json.dumps(m.__dict__, default=str))
        else:
            print(f"#{m.id}  {m.destination} {m.kind}  attempts {m.attempts}  "
                  f"key {m.dedupe_key}  last error: {m.last_error}")
    if not args.json:
        print(f"{len(letters)} dead letter(s)")


def replay(args: argparse.Namespace) -> None:
    store = _store(settings_or_exit(args.config), args.config)
    try:
        replayed = store.replay_dead(args.ids, now=time.time())
    finally:
        store.close()
    print(f"replayed {replayed} dead letter(s) to the outbox")


def reconcile(args: argparse.Namespace) -> None:
    settings = settings_or_exit(args.config)

    async def run() -> dict[str, Any]:
        service = SyncService(settings)
        try:
            return await service.reconcile(args.since, args.repair)
        finally:
            await service.deployment.aclose()
            service.store.close()

    try:
        report = asyncio.run(run())
    except MappingError as exc:
        fail(f"{args.config}: mapping: {exc}", EXIT_CONFIG)
    except StoreError as exc:
        fail(f"{args.config}: store: {exc}")
    except (VendorError, UnknownOutcome) as exc:  # str() names the vendor and the kind
        fail(f"reconciliation stopped: {exc}")
    print(json.dumps(report, indent=2, default=str))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in (*COMMANDS, "-h", "--help"):
        argv.insert(0, "serve")  # `python -m components.sync --config …` serves
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        raise SystemExit(EXIT_CONFIG)
    configure_logging(args.log_level)
    if args.command == "serve":
        serve("sync service", args, lambda settings: SyncService(settings).app)
    else:
        {"dead-letters": dead_letters, "replay": replay, "reconcile": reconcile}[
            args.command](args)


if __name__ == "__main__":
    main()
