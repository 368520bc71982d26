"""`python -m components.recovery --config scenarios/components/acme.yaml [--port 8081]`: the
recovery engine on loopback (webhooks, the intercept API, /healthz, /metrics), with its
scheduled-retry loop running until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse

from components.observability import configure_logging
from components.recovery.service import RecoveryService
from components.serve import add_serve_arguments, serve

DEFAULT_PORT = 8081


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m components.recovery",
        description="Serve the reference recovery engine for one merchant on loopback.")
    add_serve_arguments(parser, DEFAULT_PORT)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    serve("recovery engine", args, lambda settings: RecoveryService(settings).app,
          lambda settings: {"mode": settings.mode})


if __name__ == "__main__":
    main()
