"""simulators/core/one_write.py: a response's head goes out with its body in one write; a write
nothing follows goes out at the loop's next turn; closing sends what is held, aborting drops it.
And a served fake answers through it (plain and keep-alive) byte for byte as before."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from simulators.core.one_write import _Coalescing


class Recorded:
    """The transport's side: what was written, and whether it was closed or aborted."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


def _coalescing() -> tuple[_Coalescing, Recorded]:
    recorded = Recorded()
    return _Coalescing(recorded, asyncio.get_running_loop()), recorded  # type: ignore[arg-type]


def test_the_head_goes_out_with_the_body() -> None:
    asyncio.run(_the_head_goes_out_with_the_body())


async def _the_head_goes_out_with_the_body() -> None:
    transport, recorded = _coalescing()
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert recorded.writes == []
    transport.write(b"{}")
    assert recorded.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    await asyncio.sleep(0)  # the flush scheduled for the head finds nothing held
    assert len(recorded.writes) == 1


def test_a_write_nothing_follows_goes_out_at_the_next_turn() -> None:
    asyncio.run(_a_write_nothing_follows_goes_out_at_the_next_turn())


async def _a_write_nothing_follows_goes_out_at_the_next_turn() -> None:
    transport, recorded = _coalescing()
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    await asyncio.sleep(0)
    assert recorded.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    transport.write(b"chunk")  # a slow body's next piece, alone in its turn
    await asyncio.sleep(0)
    assert recorded.writes[-1] == b"chunk"


def test_close_sends_what_is_held_and_abort_drops_it() -> None:
    asyncio.run(_close_sends_what_is_held_and_abort_drops_it())


async def _close_sends_what_is_held_and_abort_drops_it() -> None:
    transport, recorded = _coalescing()
    transport.write(b"last")
    transport.close()
    assert recorded.writes == [b"last"] and recorded.closed
    transport, recorded = _coalescing()
    transport.write(b"dropped")
    transport.abort()
    await asyncio.sleep(0)
    assert recorded.writes == [] and recorded.aborted


def test_everything_else_is_the_transports() -> None:
    asyncio.run(_everything_else_is_the_transports())


async def _everything_else_is_the_transports() -> None:
    transport, _ = _coalescing()
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    assert not transport.is_closing()


def test_a_served_fake_answers_whole_answers_over_one_connection(start_fake) -> None:
    """Two requests on one keep-alive connection: each answer arrives whole (status line,
    headers, a body as long as its content-length), the second after the first."""
    host, port = start_fake("stripe").url.removeprefix("http://").split(":")
    request = (f"GET /v1/customers/cus_missing HTTP/1.1\r\nHost: {host}\r\n"
               "Authorization: Bearer sk_test_one_write\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        for _ in range(2):
            conn.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            while len(body) < length:
                body += conn.recv(65536)
            assert head.startswith(b"HTTP/1.1 404 ")
            assert len(body) == length and b"resource_missing" in body
