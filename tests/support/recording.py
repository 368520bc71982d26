"""An ASGI wrapper that keeps a copy of every complete response a fake serves, so the `start_fake`
fixture can hold each one to the vendor's OpenAPI document (tests/support/conformance.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONTROL_PREFIX = "/_sim/"


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Recorder:
    """Wraps a fake's ASGI app; `seen` gets each complete vendor response (not the control
    plane's). Dropped and truncated responses never complete, so they are not kept."""

    app: Any
    seen: list[Recorded] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Tap(self, scope, send).send)


class _Tap:
    def __init__(self, recorder: Recorder, scope: Any, send: Any) -> None:
        self.recorder, self.scope, self._send = recorder, scope, send
        self.status, self.headers, self.body = 0, {}, bytearray()

    @property
    def transport(self) -> Any:
        """The pipeline drops a connection through `send.__self__.transport` (uvicorn's)."""
        return getattr(getattr(self._send, "__self__", None), "transport", None)

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                            for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                scope = self.scope
                self.recorder.seen.append(Recorded(
                    scope["method"], scope["path"],
                    scope.get("query_string", b"").decode("latin-1"),
                    self.status, self.headers, bytes(self.body)))
        await self._send(message)
