"""Driving a real connector against Pact's mock server, one call and closed after."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def drive(make: Callable[[], Any], call: Callable[[Any], Awaitable[T]]) -> T:
    """`make()` a connector inside a fresh event loop, await `call(connector)`, close it."""
    async def go() -> T:
        connector = make()
        try:
            return await call(connector)
        finally:
            await connector.aclose()
    return asyncio.run(go())
