"""An answer in one write: uvicorn's HTTP/1.1 protocol with a response's head sent together
with its body.

uvicorn writes a response's status line and headers when the app sends `http.response.start`
and the body when it sends `http.response.body`: two send(2) calls, two packets, and a client
that reads as they arrive wakes twice for one answer. Here a write is held until the next one
takes it along (the body comes in the same turn of the event loop as the head); a write that
nothing follows in that turn (a streamed or slow body, a 100 Continue) goes out at the loop's
next turn. Bytes and their order are as uvicorn wrote them. Measured at 1,000 req/s with 50 ms
injected, it took 0.05-0.15 ms off the fake's overhead at p50 and p99 (BENCHMARKS.md, "The fakes:
throughput, tails and overhead"); at saturation the server's CPU per request was the same.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _Coalescing:
    """The connection's transport, each write held until the next takes it along."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            held, self._held = self._held, None
            self._transport.write(held + data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # reading, flow control, extra info: as is
        return getattr(self._transport, name)


class OneWriteHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol on a transport that joins a response's writes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, hence the casts
        held = _Coalescing(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(cast(asyncio.Transport, held))
