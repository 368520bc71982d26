"""A trivial JSON endpoint served exactly like a fake (same uvicorn setup): the benchmark floor.

`--canned FILE` serves instead the fake Stripe's two customer operations as a stateless FastAPI
app answering fixed bodies (FILE: {"post": …, "get": …}, captured from the fake): the leanest
peer on the same server setup (`landscape bench --peers`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse as FastJSONResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulators.core.server import bind, serve_forever, url_of


async def ping(_request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/ping", ping), Route("/_sim/health", health)])


def canned(bodies: dict[str, object], delay_ms: float = 0.0) -> FastAPI:
    """`delay_ms`: each answer waits that long first (the floor under an injected latency)."""
    served = FastAPI()
    served.add_api_route("/_sim/health", health)

    @served.post("/v1/customers")
    async def create(request: Request) -> FastJSONResponse:
        await request.body()  # read like the fake does
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        return FastJSONResponse(bodies["post"])

    @served.get("/v1/customers/{customer}")
    async def retrieve(customer: str) -> FastJSONResponse:
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        return FastJSONResponse(bodies["get"])

    return served


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--canned", type=Path, default=None)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    sock = bind("127.0.0.1", args.port)
    print(f"trivial on {url_of(sock, None)}", flush=True)
    served = canned(json.loads(args.canned.read_text()), args.delay_ms) if args.canned else app
    serve_forever(served, sock)
