"""The one request pipeline every fake vendor's traffic passes through.

    body (bounded) -> auth and tenant -> journal -> rate/concurrency limits (the fake's, the
    vendor's, and concurrency_limit faults) -> idempotency key taken -> injected latency
    -> pre-handler faults -> handler (the vendor's models) or the stored idempotent response
    -> post-commit faults -> response

The journal entry is opened first and recorded last, whatever happened in between. A body over
`limits.max_body_bytes` is answered with the vendor's 413 before the rest of it is read. Whatever
fails unexpectedly, in a handler or a stage, is answered with the vendor's own 500 naming the
request id, and logged once with its traceback: never the server's plain-text 500.

Faults and latency live here, never in business rules. Post-commit faults are the ones that matter
most: the handler ran and its write is stored, but the client never learns the result (dropped
connection, truncated body), which is exactly what idempotent retries must survive.

The control plane (`/_sim/...`) bypasses every stage.

Next to the journal, an optional request log (`landscape serve --request-log PATH`): one text line
per request, written when the journal entry is recorded. Off (None) it costs one comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.core.bodies import read_body
from simulators.core.dispatch import Dispatch
from simulators.core.faults import DeclineDirective, Fault
from simulators.core.idempotency import fingerprint
from simulators.core.limits import DEFAULT_MAX_BODY_BYTES
from simulators.core.simulator import Simulator
from simulators.core.vendor import RequestContext, VendorError

CONTROL_PREFIX = "/_sim"
DEFAULT_HANG_SECONDS = 30.0
SLOW_BODY_CHUNKS = 8
log = logging.getLogger("landscape.pipeline")


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised to in-process clients (httpx's ASGITransport) where a socket would be closed."""


@dataclass
class Captured:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    started: bool = False

    @classmethod
    def from_error(cls, error: VendorError, content_type: str) -> Captured:
        headers = [(b"content-type", content_type.encode())]
        headers += [(k.lower().encode(), str(v).encode()) for k, v in error.headers.items()]
        return cls(error.status, headers, error.encode(), True)

    def header_pairs(self) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers]


class RequestLog:
    """One line per request, as the journal records it, to a line-buffered file (`--request-log`)
    and/or a stream (`landscape serve`'s stdout):

        2026-01-05T10:00:00.123+00:00 sk_test_acme_primary POST /v1/payment_intents 200 81.2ms

    time (ISO, UTC, wall clock), tenant (`-` before authentication), method, path, status (with
    the fault's outcome when one cut the answer: `-/hung`, `200/dropped_after_commit`), duration
    (the journal's, so simulated under a controlled clock).

    A stream with a file descriptor is written by a thread of its own (one `os.write` a line, so
    each line is flushed as it comes), fed through a bounded queue: a reader that stops reading
    (a parent that only wanted the startup line from a pipe, a paused terminal) never stalls the
    fake; lines beyond `STREAM_BACKLOG` unwritten ones are dropped instead."""

    STREAM_BACKLOG = 10_000

    def __init__(self, path: Path | None = None, *, stream: IO[str] | None = None) -> None:
        self.path = path
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", buffering=1, encoding="utf-8")  # raises OSError
        self._stream = stream
        self._fd: int | None = None
        self._queue: queue.Queue[bytes | None] | None = None
        self._writer: threading.Thread | None = None
        self.dropped = 0  # stream lines dropped because its reader fell behind
        self._stream_gone = False
        if stream is not None:
            try:
                stream.flush()  # what was printed before comes first
                self._fd = stream.fileno()
            except (OSError, ValueError, AttributeError):  # io.StringIO & co: written inline
                self._fd = None
            if self._fd is not None:
                self._queue = queue.Queue(self.STREAM_BACKLOG)
                self._writer = threading.Thread(target=self._drain, name="request-log-stream",
                                                daemon=True)
                self._writer.start()
        self._closed = False

    def write(self, entry: dict[str, Any]) -> None:
        if self._closed:  # a request finishing after the fake shut down
            return
        status = entry.get("status", "-")
        if entry.get("outcome", "ok") != "ok":
            status = f"{status}/{entry['outcome']}"
        path = str(entry["path"])
        if " " in path:  # keep one field per space
            path = path.replace(" ", "%20")
        line = (f"{datetime.now(UTC).isoformat(timespec='milliseconds')} "
                f"{entry.get('tenant') or '-'} {entry['method']} {path} {status} "
                f"{entry['duration_ms']:.1f}ms\n")
        if self._file is not None:
            self._file.write(line)
        if self._queue is not None:
            if not self._stream_gone:
                try:
                    self._queue.put_nowait(line.encode("utf-8", "replace"))
                except queue.Full:
                    self.dropped += 1
        elif self._stream is not None:
            self._stream.write(line)
            self._stream.flush()

    def _drain(self) -> None:
        assert self._queue is not None and self._fd is not None
        while (data := self._queue.get()) is not None:
            try:
                while data:  # a terminal may take part of it
                    data = data[os.write(self._fd, data):]
            except OSError:  # the reader went away (EPIPE, a closed fd): stop writing
                self._stream_gone = True
                return

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._file is not None:
            self._file.close()
        if self._queue is not None and self._writer is not None:
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self._writer.join(timeout=1.0)  # the lines still queued, unless the reader is stuck


class Pipeline:
    def __init__(self, sim: Simulator, app: ASGIApp,
                 request_log: RequestLog | None = None, dispatch: Dispatch | None = None) -> None:
        self.sim = sim
        self.app = app
        self.dispatch = dispatch  # the vendor's plain routes, called without the app's routing
        self.vendor = sim.vendor
        self.request_log = request_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            if scope["type"] == "http":
                scope.setdefault("state", {})["sim"] = RequestContext(self.sim, "", None)
            await self.app(scope, receive, send)
            return
        await self._handle(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        sim, errors = self.sim, self.vendor.errors
        started = sim.clock.monotonic()  # virtual in-process, so journals replay byte for byte
        request = Request(scope)
        method, path = scope["method"], scope["path"]
        ctx = RequestContext(sim, sim.request_id(), None)
        scope.setdefault("state", {})["sim"] = ctx
        entry: dict[str, Any] = {"at": sim.clock.now(), "request_id": ctx.request_id,
                                 "method": method, "path": path,
                                 "query": scope.get("query_string", b"").decode("latin-1")}
        outcome = "ok"
        in_flight: list[Fault] = []
        tenant_key: str | None = None
        counted: str | None = None  # the tenant whose in-flight count this request raised
        try:
            # 0. the body, read no further than the limit
            limit = (sim.limits.max_body_bytes or errors.max_body_bytes
                     or DEFAULT_MAX_BODY_BYTES)
            body = await read_body(scope, receive, limit)
            if body is None:
                raise errors.request_too_large(limit)
            # 1. auth and tenant
            if not path.startswith(self.vendor.public_paths or ("\0",)):
                ctx.tenant, ctx.credentials = self.vendor.authenticate(sim, request)
            tenant_key = ctx.tenant.id if ctx.tenant else None
            entry["tenant"] = tenant_key
            # 2. journal: `entry`, recorded in `finally`
            # 3. limits
            if ctx.tenant is not None:
                self._check_limits(ctx.tenant.id)
                self.vendor.enforce_limits(sim, ctx.tenant)
                counted = ctx.tenant.id
                sim.limit_state.in_flight[counted] = sim.limit_state.in_flight.get(counted, 0) + 1
            faults = (sim.faults.draw(sim.seeds.stream("faults"), sim.clock.now(),
                                      method=method, path=path, tenant=tenant_key)
                      if sim.faults.faults else [])  # none: nothing to draw
            entry["faults"] = [f"{f.id}:{f.spec.kind}" for f in faults] or None
            self._take_slots(faults, in_flight)  # concurrency_limit faults count like limits
            # the idempotency key is taken before the (simulated) service time starts, so a
            # second request with the same key meanwhile sees it in use
            replay = self._reserve_key(scope, body, ctx, request, entry)
            # 4. latency
            await self._delay(faults, entry)
            # 5. pre-handler faults
            outcome = await self._pre_faults(faults, ctx, send)
            if outcome != "ok":
                return
            # 6. handler, or the stored response for a repeated idempotency key
            captured = replay or await self._run_handler(scope, body, ctx)
            # 7. post-commit faults
            extra = self._extra_headers(ctx)
            outcome, captured = await self._post_faults(faults, captured, send, extra)
            if outcome == "ok":
                await _send(send, captured, extra)
            entry["status"] = captured.status
        except VendorError as error:
            captured = Captured.from_error(error, errors.content_type)
            entry["status"] = captured.status
            await _send(send, captured, self._extra_headers(ctx))
        except ConnectionDropped:
            raise  # an injected drop, for in-process clients
        except Exception:
            log.exception("request %s (%s %s) failed", ctx.request_id, method, path)
            entry["status"] = 500
            await self._internal_error(send, ctx)
        finally:
            for fault in in_flight:
                fault.in_flight -= 1
            # the handler never finished: release the key (only ever held with a tenant)
            if (ctx.holds_idempotency_key and ctx.tenant is not None
                    and ctx.idempotency_key is not None):
                sim.idempotency.abandon(ctx.tenant, ctx.idempotency_key)
            if counted is not None:
                sim.limit_state.in_flight[counted] -= 1
            entry["outcome"] = outcome
            entry["duration_ms"] = round((sim.clock.monotonic() - started) * 1000, 3)
            sim.journal.record(entry)
            if self.request_log is not None:
                self.request_log.write(entry)

    # -- stages -------------------------------------------------------------------------------
    def _check_limits(self, tenant: str) -> None:
        limits, state = self.sim.limits, self.sim.limit_state
        wait = state.take(limits, tenant, self.sim.clock.monotonic())
        if wait is not None:
            raise self.vendor.errors.rate_limited(max(1.0, round(wait)))
        if (limits.max_concurrency is not None
                and state.in_flight.get(tenant, 0) >= limits.max_concurrency):
            raise self.vendor.errors.concurrency_limited(limits.max_concurrency)

    def _take_slots(self, faults: list[Fault], in_flight: list[Fault]) -> None:
        for fault in faults:
            if fault.spec.kind == "concurrency_limit":
                if fault.in_flight >= (fault.spec.limit or 0):
                    raise self.vendor.errors.concurrency_limited(fault.spec.limit or 0)
                fault.in_flight += 1
                in_flight.append(fault)

    async def _delay(self, faults: list[Fault], entry: dict[str, Any]) -> None:
        rng = self.sim.seeds.stream("latency")
        ms = self.sim.latency.draw_ms(rng) if self.sim.latency else 0.0
        if faults:
            ms += sum(f.spec.latency.draw_ms(rng) for f in faults if f.spec.latency is not None)
        if ms > 0:
            entry["latency_ms"] = round(ms, 3)
            await self.sim.clock.sleep(ms / 1000.0)

    async def _pre_faults(self, faults: list[Fault], ctx: RequestContext, send: Send) -> str:
        errors = self.vendor.errors
        for fault in faults:
            spec = fault.spec
            if spec.kind == "http_error" and not spec.after_commit:
                raise errors.http_error(spec.status or 500, spec.code, spec.message)
            elif spec.kind == "brownout":
                raise errors.http_error(spec.status or 503, spec.code, spec.message)
            elif spec.kind == "rate_limit":
                raise errors.rate_limited(spec.retry_after)
            elif spec.kind == "auth_expired":
                raise errors.unauthorized("expired")
            elif spec.kind == "hang":
                await self.sim.clock.sleep(spec.seconds if spec.seconds is not None
                                           else DEFAULT_HANG_SECONDS)
                await _drop(send)
                return "hung"
            elif spec.kind == "drop_before":
                await _drop(send)
                return "dropped_before_handler"
            elif spec.kind == "decline":
                # a hit only once the model applies it (declines a charge)
                ctx.directives["decline"] = DeclineDirective(fault)
        return "ok"

    def _reserve_key(self, scope: Scope, body: bytes, ctx: RequestContext,
                     request: Request, entry: dict[str, Any]) -> Captured | None:
        """Take the request's idempotency key: the stored response to replay, or None (run)."""
        policy = self.vendor.idempotency
        if not policy or ctx.tenant is None or scope["method"] not in policy.methods:
            return None
        key = request.headers.get(policy.header)
        if not key:
            return None
        fp = fingerprint(scope["method"], scope["path"],
                         request.headers.get("content-type", ""), body)
        replay = self.sim.idempotency.begin(
            policy, ctx.tenant, key, fp, self.sim.clock.now(),
            self.sim.settings.get("idempotency_retention_seconds"))
        entry["idempotency_key"] = key
        if replay is None:
            ctx.idempotency_key, ctx.idempotency_fingerprint = key, fp
            ctx.holds_idempotency_key = True
            return None
        entry["replayed"] = True
        headers = [(k.encode(), v.encode()) for k, v in replay.headers]
        if policy.replayed_header:
            name, value = policy.replayed_header
            headers.append((name.encode(), value.encode()))
        return Captured(replay.status, headers, replay.body, True)

    async def _run_handler(self, scope: Scope, body: bytes, ctx: RequestContext) -> Captured:
        captured = await self._call_app(scope, body, ctx)
        if (ctx.holds_idempotency_key and ctx.tenant is not None
                and ctx.idempotency_key is not None):
            ctx.holds_idempotency_key = False
            self.sim.idempotency.finish(
                ctx.tenant, ctx.idempotency_key, ctx.idempotency_fingerprint,
                self.sim.clock.now(), captured.status, captured.header_pairs(), captured.body,
                store=ctx.store_idempotent)
        return captured

    async def _call_app(self, scope: Scope, body: bytes, ctx: RequestContext) -> Captured:
        captured = Captured()
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if delivered:
                await asyncio.Event().wait()  # no disconnect while the handler runs
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
                captured.started = True
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")

        try:
            dispatch = self.dispatch
            endpoint = dispatch.find(scope) if dispatch is not None else None
            if dispatch is not None and endpoint is not None:
                await dispatch.call(endpoint, scope, replay_receive, capture, body)
            else:
                await self.app(scope, replay_receive, capture)
        except Exception:  # kept here, not in the guard: a 500 the handler began is stored (Stripe)
            log.exception("request %s (%s %s) failed in its handler", ctx.request_id,
                          scope["method"], scope["path"])
            return Captured.from_error(self.vendor.errors.internal_error(ctx.request_id),
                                       self.vendor.errors.content_type)
        return captured

    async def _post_faults(self, faults: list[Fault], captured: Captured, send: Send,
                           extra: list[tuple[bytes, bytes]]) -> tuple[str, Captured]:
        """`extra`: the vendor's headers on every response, also on a truncated or slow one."""
        for fault in faults:
            spec = fault.spec
            if spec.kind == "http_error" and spec.after_commit:
                error = self.vendor.errors.http_error(spec.status or 500, spec.code, spec.message)
                captured = Captured.from_error(error, self.vendor.errors.content_type)
            elif spec.kind == "drop_after":
                await _drop(send)
                return "dropped_after_commit", captured
            elif spec.kind == "truncate":
                keep = int(len(captured.body) * (spec.keep_fraction or 0.5))
                await _send(send, captured, extra, body=captured.body[:keep], more=True)
                await _drop(send)
                return "truncated", captured
            elif spec.kind == "slow_body":
                await _send_slowly(send, captured, extra, (spec.chunk_delay_ms or 200) / 1000.0,
                                   self.sim.clock.sleep)
                return "slow_body", captured
        return "ok", captured

    async def _internal_error(self, send: Send, ctx: RequestContext) -> None:
        """The vendor's 500 for a failure of the fake itself. The failure may lie in the vendor's
        header hook, and the response may have begun (then the client sees it cut off)."""
        errors = self.vendor.errors
        captured = Captured.from_error(errors.internal_error(ctx.request_id), errors.content_type)
        try:
            extra = self._extra_headers(ctx)
        except Exception:
            extra = []
        with contextlib.suppress(Exception):  # already logged; nothing more to tell the client
            await _send(send, captured, extra)

    def _extra_headers(self, ctx: RequestContext) -> list[tuple[bytes, bytes]]:
        return [(k.lower().encode(), v.encode())
                for k, v in self.vendor.response_headers(ctx).items()]


async def _send(send: Send, captured: Captured, extra: list[tuple[bytes, bytes]], *,
                body: bytes | None = None, more: bool = False) -> None:
    headers = [(k, v) for k, v in captured.headers if k.lower() != b"content-length"]
    names = {k.lower() for k, _ in headers}
    headers += [(k, v) for k, v in extra if k not in names]
    headers.append((b"content-length", str(len(captured.body)).encode()))
    await send({"type": "http.response.start", "status": captured.status, "headers": headers})
    await send({"type": "http.response.body",
                "body": captured.body if body is None else body, "more_body": more})


async def _send_slowly(send: Send, captured: Captured, extra: list[tuple[bytes, bytes]],
                       delay: float, sleep: Callable[[float], Awaitable[None]]) -> None:
    body = captured.body
    size = max(1, -(-len(body) // SLOW_BODY_CHUNKS))
    chunks = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
    for i, chunk in enumerate(chunks):
        if i == 0:
            await _send(send, captured, extra, body=chunk, more=len(chunks) > 1)
        else:
            await send({"type": "http.response.body", "body": chunk,
                        "more_body": i < len(chunks) - 1})
        if i < len(chunks) - 1:
            await sleep(delay)


async def _drop(send: Send) -> None:
    """Close the client's connection without a (complete) response.

    Under uvicorn the ASGI `send` is bound to the connection's protocol cycle, which holds the
    transport; aborting it resets the TCP connection. In-process transports get an exception.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("connection dropped by an injected fault")
    transport.abort()
    await asyncio.sleep(0.01)  # let the server see the connection is gone before we return
