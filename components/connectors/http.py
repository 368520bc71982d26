"""Shared httpx plumbing for the connectors that speak raw HTTP: the client, sending one
request with transport failures sorted into "never sent" and "outcome unknown", Retry-After."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError

T = TypeVar("T")

# Failures before any byte of the request left: safe to retry, even without an idempotency key.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol,
            httpx.ProxyError)


def new_client(timeout: float, **options: Any) -> httpx.AsyncClient:
    """A client of our own (connectors close it in `aclose`; a given client is the giver's)."""
    return httpx.AsyncClient(timeout=timeout, **options)


def transport_error(vendor: str, error: BaseException) -> VendorError | UnknownOutcome:
    """What a failure below HTTP means: refused before sending, or the outcome is unknown."""
    if isinstance(error, NOT_SENT):
        return VendorError(vendor, ErrorKind.UNAVAILABLE, f"not sent: {error!r}")
    return UnknownOutcome(vendor, repr(error))


async def send(http: httpx.AsyncClient, vendor: str, method: str, url: str, *, timeout: float,
               **options: Any) -> httpx.Response:
    """One request; transport failures are raised as `VendorError` or `UnknownOutcome`."""
    try:
        async with deadline(vendor, timeout):
            return await http.request(method, url, timeout=timeout, **options)
    except httpx.TransportError as error:
        raise transport_error(vendor, error) from error


@asynccontextmanager
async def deadline(vendor: str, seconds: float) -> AsyncIterator[None]:
    """A time limit on the whole exchange: in-process transports enforce none of their own."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as error:
        raise UnknownOutcome(vendor, f"no answer within {seconds:g} s") from error


async def hedged(read: Callable[[], Awaitable[T]], after: float | None) -> T:
    """`read()`'s answer; when none has come within `after` seconds, an identical second read
    races the first and the first good answer wins ("The Tail at Scale", Dean and Barroso,
    2013: a hedge sent at about the 95th percentile cuts the tail for a few % more reads).
    Only for reads, which are safe to send twice."""
    if after is None:
        return await read()
    first = asyncio.ensure_future(read())
    done, _ = await asyncio.wait({first}, timeout=after)
    if done:
        return first.result()
    racing = {first, asyncio.ensure_future(read())}
    failed: BaseException | None = None
    try:
        while racing:
            done, racing = await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is None:
                    return task.result()
                failed = failed or task.exception()
        assert failed is not None
        raise failed
    finally:
        for task in racing:
            task.cancel()


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body, or None when there is none (or it does not parse)."""
    try:
        return response.json()
    except ValueError:
        return None
