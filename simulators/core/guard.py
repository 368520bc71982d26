"""What keeps the `/_sim/` control plane safe on a shared machine.

A fake listens on loopback, but a browser on the same machine can still reach it: a page on
another site may send simple cross-site requests (a form POST, `fetch` with `no-cors`), and DNS
rebinding gives a foreign hostname our address. So every control request is checked, in order:

1. `Host` is loopback (127.0.0.1, localhost, ::1; any port), `<vendor>.fake` (the in-process
   landscape) or one of `control.allowed_hosts`, else 421;
2. when a token is set (`control.token` or `LANDSCAPE_CONTROL_TOKEN`), it is given as
   `Authorization: Bearer <token>` or `X-Landscape-Control-Token`, else 401;
3. a state-changing request (POST/PUT/PATCH/DELETE) has no foreign `Origin` and no
   `Sec-Fetch-Site: cross-site`, else 403;
4. a state-changing request that carries a body, or any content type, says
   `application/json`, else 415: the types a browser sends without a preflight (text/plain,
   forms) never pass, with or without a body.

Settings live under `control` in the fake's config `settings`. Snapshots are files named (not
pathed) inside `control.state_dir`. Refusals are JSON `{"error": ..., "fix": ...}`.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.core.pipeline import CONTROL_PREFIX

TOKEN_ENV = "LANDSCAPE_CONTROL_TOKEN"
TOKEN_HEADER = "x-landscape-control-token"
DEFAULT_STATE_DIR = Path(".landscape") / "state"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Refusal(Exception):
    """A control request refused: the status, what is wrong, and how to fix it."""

    def __init__(self, status: int, error: str, fix: str) -> None:
        super().__init__(error)
        self.status, self.error, self.fix = status, error, fix

    def body(self) -> bytes:
        return json.dumps({"error": self.error, "fix": self.fix}).encode()


@dataclass(frozen=True)
class ControlSettings:
    allowed_hosts: frozenset[str]
    token: str | None
    state_dir: Path

    @classmethod
    def of(cls, vendor: str, settings: dict[str, Any]) -> ControlSettings:
        """From the fake's `settings.control` (and the environment, for the token); a wrong
        type is a ValueError naming the key."""
        control = settings.get("control") or {}
        if not isinstance(control, dict):
            raise ValueError("settings.control must be a mapping (allowed_hosts, token, "
                             "state_dir)")
        hosts = control.get("allowed_hosts", [])
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise ValueError("settings.control.allowed_hosts must be a list of host names")
        token = control.get("token") or os.environ.get(TOKEN_ENV) or None
        state_dir = control.get("state_dir", str(DEFAULT_STATE_DIR))
        if not isinstance(token, str | None) or not isinstance(state_dir, str):
            raise ValueError("settings.control.token and .state_dir must be strings")
        allowed = LOCAL_HOSTS | {f"{vendor}.fake"} | {_bare(h) for h in hosts}
        return cls(frozenset(allowed), token, Path.cwd() / state_dir)

    def allows_host(self, host: str) -> bool:
        bare = _bare(host)
        if bare in self.allowed_hosts:
            return True
        try:
            return ipaddress.ip_address(bare).is_loopback
        except ValueError:
            return False

    def snapshot_file(self, name: str) -> Path:
        """The file of snapshot `name` inside the state folder; a path is refused (400)."""
        if not SNAPSHOT_NAME.match(name) or ".." in name:
            raise Refusal(400, f"{name!r} is not a snapshot name",
                          "name the snapshot, not a path: letters, digits, '.', '_' and '-' "
                          "(e.g. 'before-checkout'); it is kept in the fake's state folder "
                          "(settings.control.state_dir)")
        return self.state_dir / (name if name.endswith(".json") else f"{name}.json")


def _bare(host: str) -> str:
    """`Host`/origin host without port, brackets, case or a trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


MAX_CONTROL_BODY = 256 * 1024 * 1024  # a whole-fake restore sent inline fits; a flood does not


def check(scope: Scope, settings: ControlSettings) -> None:
    """Raise a `Refusal` for a control request that must not run (rules in the docstring)."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    host = headers.get("host")
    if host is not None and not settings.allows_host(host):
        raise Refusal(421, f"the control plane does not answer to Host {host!r}",
                      "reach the fake at 127.0.0.1/localhost; for another name, list it in "
                      "settings.control.allowed_hosts")
    if settings.token is not None and not _token_given(headers, settings.token):
        raise Refusal(401, "this fake's control plane needs its token",
                      f"send 'Authorization: Bearer <token>' or '{TOKEN_HEADER}: <token>' "
                      f"(the client takes token= or ${TOKEN_ENV})")
    if scope["method"] not in UNSAFE_METHODS:
        return
    origin = headers.get("origin")
    if origin is not None and not settings.allows_host(urlsplit(origin).hostname or "null"):
        raise Refusal(403, f"cross-site control request from Origin {origin!r}",
                      "drive the control plane from a local client, not a web page")
    if headers.get("sec-fetch-site") == "cross-site":
        raise Refusal(403, "cross-site control request (Sec-Fetch-Site: cross-site)",
                      "drive the control plane from a local client, not a web page")
    length = headers.get("content-length", "0")
    if not length.isdigit() or len(length) > 12 or int(length) > MAX_CONTROL_BODY:
        raise Refusal(413, f"a control request body of {length[:20]} bytes",
                      f"send at most {MAX_CONTROL_BODY} bytes (restore large states by name "
                      f"from the state folder)")
    content_type = headers.get("content-type")
    has_body = length != "0" or "transfer-encoding" in headers
    if (content_type is not None or has_body) and not _is_json(content_type or ""):
        raise Refusal(415, f"a control request with a body must be JSON, not "
                           f"{content_type or 'an undeclared type'!r}",
                      "send the body as JSON with 'Content-Type: application/json'")


def _token_given(headers: dict[str, str], token: str) -> bool:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    given = value.strip() if scheme.lower() == "bearer" else headers.get(TOKEN_HEADER, "")
    return hmac.compare_digest(given.encode(), token.encode())


def _is_json(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == "application/json"


class ControlGuard:
    """ASGI middleware: applies `check` to `/_sim` requests, passes everything else through."""

    def __init__(self, app: ASGIApp, settings: ControlSettings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CONTROL_PREFIX):
            try:
                check(scope, self.settings)
            except Refusal as refusal:
                await respond(send, refusal)
                return
        await self.app(scope, receive, send)


async def respond(send: Send, refusal: Refusal) -> None:
    body = refusal.body()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if refusal.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="landscape control plane"'))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- what listings show -------------------------------------------------------------------------
SECRET_SETTING = re.compile(r"(key|secret|password|token)", re.IGNORECASE)
API_KEY_ID = re.compile(r"^[a-z]{2,3}_(test|live)_")  # Stripe-style keys as tenant ids
SESSION_COLLECTION = re.compile(r"(^|_)(sessions|tokens|auth_codes)$")


def mask(secret: str) -> str:
    """`sk_test_…abcd`: the key's prefix (letters and underscores) and its last 4 characters;
    a short secret shows nothing of itself."""
    prefix = re.match(r"^[A-Za-z]+_(?:[A-Za-z]+_)?", secret)
    head = prefix.group(0) if prefix else ""
    rest = secret[len(head):]
    return f"{head}…{rest[-4:]}" if len(rest) >= 12 else f"{head}…"


def public_tenant_id(tenant_id: str) -> str:
    return mask(tenant_id) if API_KEY_ID.match(tenant_id) else tenant_id


def public_settings(value: Any, key: str = "") -> Any:
    """Settings with every credential masked (keys named like key/secret/password/token)."""
    if isinstance(value, dict):
        return {k: public_settings(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [public_settings(v, key) for v in value]
    if isinstance(value, str) and SECRET_SETTING.search(key):
        return mask(value)
    return value


def is_session_collection(name: str) -> bool:
    """Session tokens, refresh tokens, OAuth codes: state, but never listed over HTTP."""
    return bool(SESSION_COLLECTION.search(name))
