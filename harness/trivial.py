"""A trivial JSON endpoint served exactly like a fake (same uvicorn setup): the benchmark floor."""

from __future__ import annotations

import argparse

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulators.core.server import bind, serve_forever, url_of


async def ping(_request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def health(_request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/ping", ping), Route("/_sim/health", health)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sock = bind("127.0.0.1", args.port)
    print(f"trivial on {url_of(sock, None)}", flush=True)
    serve_forever(app, sock)
