"""One retry loop for every connector: exponential backoff with full jitter, `Retry-After`
honoured, a cap on attempts and on total time. Only retryable errors and unknown outcomes of
idempotent requests are retried; everything else is raised at once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from components.connectors.errors import UnknownOutcome, VendorError

T = TypeVar("T")


@dataclass
class RetryPolicy:
    attempts: int = 4                 # tries in all, the first included
    base_delay: float = 0.2           # seconds; try n waits up to base * 2**(n-1)
    max_delay: float = 5.0
    max_retry_after: float = 30.0     # a longer Retry-After is not waited for: raise instead
    timeout: float = 10.0             # per request, seconds
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def delay(self, try_no: int, error: VendorError | None) -> float:
        if error is not None and error.retry_after is not None:
            return error.retry_after
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (try_no - 1)))

    async def run(self, call: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        """Call until it succeeds, the error is final, or the tries run out (the last error is
        raised). An `UnknownOutcome` is retried only when the request is idempotent (a GET, a
        PUT by external id, a POST with an idempotency key)."""
        for try_no in range(1, self.attempts + 1):
            try:
                return await call()
            except VendorError as error:
                if not error.retryable or try_no == self.attempts:
                    raise
                wait = self.delay(try_no, error)
                if wait > self.max_retry_after:
                    raise
            except UnknownOutcome:
                if not idempotent or try_no == self.attempts:
                    raise
                wait = self.delay(try_no, None)
            await self.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises
