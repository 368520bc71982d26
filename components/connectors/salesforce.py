"""Salesforce over the REST API: an OAuth 2.0 session (client credentials, or the password grant)
renewed once when it expires, and the org's daily API allocation watched through
`Sforce-Limit-Info` so that the integration never spends the org's last calls."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.http import json_body, retry_after, send
from components.connectors.retry import RetryPolicy

VENDOR = "salesforce"
log = logging.getLogger(__name__)
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class _Final(Exception):
    """An error the retry loop must not retry although its kind is retryable."""

    def __init__(self, error: VendorError) -> None:
        super().__init__(str(error))
        self.error = error


class SalesforceConnector:
    def __init__(self, *, base_url: str = "https://login.salesforce.com", client_id: str,
                 client_secret: str, username: str | None = None, password: str | None = None,
                 api_version: str = "62.0", reserve: float = 0.95,
                 recheck_after: float = 300.0, http: httpx.AsyncClient | None = None,
                 policy: RetryPolicy | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.reserve = reserve  # share of the daily allocation past which we stop calling
        self.recheck_after = recheck_after  # seconds a reading holds calls back (24 h window)
        self._now = now
        self._grant: dict[str, str] = {"client_id": client_id, "client_secret": client_secret}
        if username is not None and password is not None:
            self._grant.update(grant_type="password", username=username, password=password)
        else:
            self._grant["grant_type"] = "client_credentials"
        self._http = http or httpx.AsyncClient()
        self._owns_http = http is None
        self.policy = policy or RetryPolicy()
        self._token: str | None = None
        self.instance_url: str | None = None
        self._login_lock = asyncio.Lock()
        self.session_refreshes = 0
        self.api_usage: tuple[int, int] | None = None  # (used, limit) as the org last reported
        self._usage_seen_at = 0.0

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    @property
    def _data(self) -> str:
        return f"/services/data/v{self.api_version}"

    # -- SOQL and records -----------------------------------------------------------------------
    async def query(self, soql: str, *, limit_total: int = 50_000, batch_size: int | None = None,
                    strip_attributes: bool = False) -> list[dict[str, Any]]:
        """Records of a SOQL query, following `nextRecordsUrl` up to `limit_total`. `batch_size`
        (200-2000) asks for smaller pages; records keep `attributes` unless told otherwise."""
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else None
        page = (await self._call("GET", f"{self._data}/query", params={"q": soql},
                                 headers=headers)).json()
        records = list(page.get("records", []))
        while not page.get("done", True) and page.get("nextRecordsUrl") \
                and len(records) < limit_total:
            page = (await self._call("GET", page["nextRecordsUrl"], headers=headers)).json()
            records += page.get("records", [])
        if strip_attributes:
            records = [{k: v for k, v in r.items() if k != "attributes"} for r in records]
        return records[:limit_total]

    async def get(self, sobject: str, id: str,
                  fields: list[str] | None = None) -> dict[str, Any]:
        params = {"fields": ",".join(fields)} if fields else None
        record: dict[str, Any] = (await self._call(
            "GET", f"{self._data}/sobjects/{sobject}/{id}", params=params)).json()
        return record

    async def get_by_external_id(self, sobject: str, field: str,
                                 value: str) -> dict[str, Any] | None:
        """The record whose external id `field` is `value`; None if there is none, CONFLICT
        (MULTIPLE_CHOICES) if several match."""
        try:
            response = await self._call("GET", _by_external_id(self._data, sobject, field, value))
        except VendorError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        record: dict[str, Any] = response.json()
        return record

    async def create(self, sobject: str, fields: dict[str, Any]) -> str:
        """Insert a record; returns its id. NOT idempotent: a timeout or a 5xx is raised as
        `UnknownOutcome` (never retried). Prefer `upsert` by an external id."""
        response = await self._call("POST", f"{self._data}/sobjects/{sobject}", body=fields,
                                    idempotent=False)
        return str(response.json()["id"])

    async def update(self, sobject: str, id: str, fields: dict[str, Any]) -> None:
        await self._call("PATCH", f"{self._data}/sobjects/{sobject}/{id}", body=fields)

    async def upsert(self, sobject: str, field: str, value: str,
                     fields: dict[str, Any]) -> tuple[str, bool]:
        """Create or update by external id; returns (id, created). Idempotent."""
        response = await self._call("PATCH", _by_external_id(self._data, sobject, field, value),
                                    body=fields)
        if response.status_code == 204:  # API < 46.0 answers an update with no body
            found = await self.get_by_external_id(sobject, field, value)
            return str((found or {}).get("Id", "")), False
        answer = response.json()
        return str(answer["id"]), bool(answer.get("created", response.status_code == 201))

    async def updated_since(self, sobject: str, start_epoch: float,
                            end_epoch: float) -> list[str]:
        """Ids changed in [start, end) by SystemModstamp (Salesforce covers whole minutes, and
        only the last 30 days)."""
        params = {"start": _iso(start_epoch), "end": _iso(end_epoch)}
        response = await self._call("GET", f"{self._data}/sobjects/{sobject}/updated",
                                    params=params)
        return [str(i) for i in response.json().get("ids", [])]

    # -- the wire -------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                    body: Any = None, headers: dict[str, str] | None = None,
                    idempotent: bool = True) -> httpx.Response:
        refreshed = False  # once per call, across retries: a second 401 is a real refusal

        async def attempt() -> httpx.Response:
            nonlocal refreshed
            while True:
                token = await self._session()
                self._check_budget()
                url = str(httpx.URL(f"{self.instance_url}{path}", params=params))
                sent = {**(headers or {}), "Authorization": f"Bearer {token}"}
                response = await send(self._http, VENDOR, method, url, headers=sent, json=body,
                                      timeout=self.policy.timeout)
                self._note_usage(response)
                if response.status_code == 401 and not refreshed:
                    refreshed = True
                    await self._refresh(token)
                    continue
                if response.is_success:
                    return response
                if response.status_code >= 500 and not idempotent:
                    raise UnknownOutcome(VENDOR, f"{method} {path} answered "
                                         f"{response.status_code}: it may have been applied")
                error = _error(response)
                if error.code == "MULTIPLE_CHOICES":  # asking again finds the same records
                    raise _Final(error)
                raise error

        try:
            return await self.policy.run(attempt, idempotent=idempotent)
        except _Final as final:
            raise final.error from None

    def _check_budget(self) -> None:
        """Refuse while the last reading says the reserve is reached; an old reading lets one
        call through, since the rolling window frees calls as it moves."""
        if self.api_usage is None or self._now() - self._usage_seen_at >= self.recheck_after:
            return
        used, limit = self.api_usage
        if used >= self.reserve * limit:
            raise _Final(VendorError(
                VENDOR, ErrorKind.RATE_LIMITED, f"{used} of the org's {limit} daily API calls "
                f"used; the last {1 - self.reserve:.0%} are left to the org",
                code="API_BUDGET_RESERVED"))

    def _note_usage(self, response: httpx.Response) -> None:
        found = _USAGE.search(response.headers.get("sforce-limit-info", ""))
        if found:
            self.api_usage = (int(found.group(1)), int(found.group(2)))
            self._usage_seen_at = self._now()

    # -- the session ----------------------------------------------------------------------------
    async def _session(self) -> str:
        if self._token is None:
            async with self._login_lock:
                if self._token is None:
                    await self._login()
        assert self._token is not None
        return self._token

    async def _refresh(self, stale: str) -> None:
        async with self._login_lock:
            if self._token != stale:  # a concurrent call has renewed it already
                return
            self._token = None
            await self._login()
            self.session_refreshes += 1
            log.info("salesforce session renewed", extra={"refreshes": self.session_refreshes})

    async def _login(self) -> None:
        url = f"{self.base_url}/services/oauth2/token"
        try:
            response = await send(self._http, VENDOR, "POST", url, data=self._grant,
                                  timeout=self.policy.timeout)
        except UnknownOutcome as error:  # asking for a session again is harmless
            raise VendorError(VENDOR, ErrorKind.UNAVAILABLE, error.message) from None
        if not response.is_success:
            limited = _error(response)
            if limited.kind == ErrorKind.RATE_LIMITED:  # over the org's limits: back off and
                raise limited                          # retry, not dead-letter (harness/explore)
            answer = json_body(response) or response.text
            answer = answer if isinstance(answer, dict) else {}
            kind = ErrorKind.UNAVAILABLE if response.status_code >= 500 else ErrorKind.AUTH
            raise VendorError(VENDOR, kind, str(answer.get("error_description") or
                                                response.reason_phrase),
                              status=response.status_code, code=answer.get("error"),
                              body=answer)
        answer = response.json()
        self._token = answer["access_token"]
        self.instance_url = str(answer.get("instance_url") or self.base_url).rstrip("/")


def _by_external_id(data: str, sobject: str, field: str, value: str) -> str:
    return f"{data}/sobjects/{sobject}/{field}/{quote(value, safe='')}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _error(response: httpx.Response) -> VendorError:
    """Salesforce's `[{"message", "errorCode", "fields"}]`; a 300 lists the matching records."""
    status, answer = response.status_code, json_body(response) or response.text
    first = answer[0] if isinstance(answer, list) and answer and isinstance(answer[0], dict) \
        else {}
    code, message = first.get("errorCode"), first.get("message") or response.reason_phrase
    if status == 300:
        kind, code, message = ErrorKind.CONFLICT, "MULTIPLE_CHOICES", "several records match"
    elif status == 401:
        kind = ErrorKind.AUTH
    elif status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        kind = ErrorKind.RATE_LIMITED  # no Retry-After: the policy backs off
    elif status == 403:
        kind = ErrorKind.AUTH  # the integration user lacks access
    elif status == 404:
        kind = ErrorKind.NOT_FOUND
    elif status == 409 or code == "UNABLE_TO_LOCK_ROW":
        kind = ErrorKind.CONFLICT
    elif status >= 500:
        kind = ErrorKind.UNAVAILABLE
    else:
        kind = ErrorKind.INVALID
    return VendorError(VENDOR, kind, str(message or f"HTTP {status}"), status=status, code=code,
                       retry_after=retry_after(response.headers.get("retry-after")), body=answer)
