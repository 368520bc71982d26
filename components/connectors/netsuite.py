"""NetSuite over SuiteTalk REST: the record API and SuiteQL, with token-based auth (OAuth 1.0a,
HMAC-SHA256) and the account's concurrency governance.

NetSuite limits requests in flight per account (5 on the base tier) and refuses the next one
with 429, so every request holds a slot of a local semaphore; a 429 that comes anyway (another
integration on the same account) is retried like any rate limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client  # type: ignore[import-untyped]

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.http import json_body, retry_after, send
from components.connectors.retry import RetryPolicy

VENDOR = "netsuite"
RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
PAGE_LIMIT = 1000  # the record API's and SuiteQL's largest page


class NetSuiteConnector:
    def __init__(self, account: str, *, consumer_key: str, consumer_secret: str, token_id: str,
                 token_secret: str, base_url: str | None = None, concurrency: int = 5,
                 http: httpx.AsyncClient | None = None, policy: RetryPolicy | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.account = account
        host = account.lower().replace("_", "-")
        self.base_url = (base_url or f"https://{host}.suitetalk.api.netsuite.com").rstrip("/")
        self._credentials = (consumer_key, consumer_secret, token_id, token_secret)
        self._slots = asyncio.Semaphore(concurrency)
        self._http = http or httpx.AsyncClient()
        self._owns_http = http is None
        self.policy = policy or RetryPolicy()
        self._now = now
        self._currency_codes: dict[str, str | None] = {}  # currency internal id → ISO code

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- records --------------------------------------------------------------------------------
    async def get(self, record_type: str, id: str, *, expand: bool = False) -> dict[str, Any]:
        params = {"expandSubResources": "true"} if expand else None
        response = await self._call("GET", f"{RECORD}/{record_type}/{id}", params=params)
        return cast(dict[str, Any], response.json())

    async def get_by_external_id(self, record_type: str,
                                 external_id: str) -> dict[str, Any] | None:
        try:
            response = await self._call("GET", _eid_path(record_type, external_id))
        except VendorError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return None
            raise
        return cast(dict[str, Any], response.json())

    async def currency_code(self, reference: Any) -> str | None:
        """The ISO 4217 code (lower case) of a currency reference on a record. A reference's
        refName is the currency record's *name* ("US Dollar"), not its code: the code is the
        currency record's `symbol` ("USD"), read once per currency and kept (an account's
        currencies do not change codes). None when the record carries no currency or the
        account does not expose currency records (Multiple Currencies off)."""
        currency_id = reference.get("id") if isinstance(reference, dict) else reference
        if currency_id is None or not str(currency_id).isdigit():
            return None
        key = str(currency_id)
        if key not in self._currency_codes:
            try:
                record = await self.get("currency", key)
            except VendorError as error:
                if error.kind not in (ErrorKind.NOT_FOUND, ErrorKind.INVALID):
                    raise  # down or busy: the caller's read fails as a whole, and is retried
                record = {}
            symbol = record.get("symbol")
            self._currency_codes[key] = (str(symbol).lower() if isinstance(symbol, str)
                                         and len(symbol) == 3 else None)
        return self._currency_codes[key]

    async def create(self, record_type: str, body: dict[str, Any]) -> str:
        """POST a new record; returns its internal id. NOT idempotent: a timeout or a 5xx is
        raised as `UnknownOutcome` (never retried), since the record may exist. Prefer
        `upsert` by external id, which can be retried safely."""
        response = await self._call("POST", f"{RECORD}/{record_type}", body=body,
                                    idempotent=False)
        created = _location_id(response)
        if created is None:
            raise UnknownOutcome(VENDOR, f"{record_type} created without a Location: its id is "
                                 "unknown")
        return created

    async def upsert(self, record_type: str, external_id: str,
                     body: dict[str, Any]) -> str | None:
        """PUT by external id: creates or updates, so a retry after an unknown outcome is safe.
        Returns the internal id from `Location` (None if NetSuite sent none)."""
        response = await self._call("PUT", _eid_path(record_type, external_id), body=body)
        return _location_id(response)

    async def update(self, record_type: str, id: str, body: dict[str, Any]) -> None:
        """PATCH the fields given (`None` clears one); idempotent."""
        await self._call("PATCH", f"{RECORD}/{record_type}/{id}", body=body)

    async def changed_since(self, record_type: str, since_epoch: float) -> list[str]:
        """Ids of records modified after `since_epoch`. NetSuite keeps whole seconds, so callers
        should overlap their windows by a second or more (a repeat id is harmless)."""
        moment = datetime.fromtimestamp(int(since_epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = f'lastModifiedDate AFTER "{moment}"'
        ids: list[str] = []
        offset = 0
        while True:
            page = (await self._call("GET", f"{RECORD}/{record_type}", params={
                "q": query, "limit": PAGE_LIMIT, "offset": offset})).json()
            ids += [str(item["id"]) for item in page.get("items", [])]
            if not page.get("hasMore"):
                return ids
            offset += PAGE_LIMIT

    async def suiteql(self, query: str, *, page_size: int = PAGE_LIMIT,
                      limit_total: int = 100_000) -> list[dict[str, Any]]:
        """Rows of a SuiteQL query, following `hasMore` page by page up to `limit_total` (REST
        SuiteQL serves at most 100,000 rows of one query)."""
        rows: list[dict[str, Any]] = []
        offset = 0
        while len(rows) < limit_total:
            page = (await self._call("POST", SUITEQL, body={"q": query},
                                     params={"limit": page_size, "offset": offset},
                                     headers={"Prefer": "transient"})).json()
            rows += page.get("items", [])
            if not page.get("hasMore"):
                break
            offset += page_size
        return rows[:limit_total]

    async def apply_payment(self, *, external_id: str, customer_id: str, invoice_id: str,
                            amount: float, memo: str,
                            fields: dict[str, Any] | None = None) -> str | None:
        """Record a recovered payment against an invoice: a customerPayment upserted by external
        id, so sending it again (after an unknown outcome) re-applies the same payment rather
        than adding a second one. `amount` is in major units; `fields` adds custbody_* fields."""
        body = {**(fields or {}), "customer": {"id": customer_id}, "payment": amount,
                "memo": memo, "apply": {"items": [
                    {"doc": {"id": invoice_id}, "apply": True, "amount": amount}]}}
        return await self.upsert("customerPayment", external_id, body)

    # -- the wire -------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                    body: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                    idempotent: bool = True) -> httpx.Response:
        url = str(httpx.URL(self.base_url + path, params=params))  # signed exactly as sent

        async def attempt() -> httpx.Response:
            async with self._slots:
                signed = {**(headers or {}), **self._sign(method, url)}  # fresh nonce per try
                response = await send(self._http, VENDOR, method, url, headers=signed,
                                      json=body, timeout=self.policy.timeout)
            if response.is_success:
                return response
            if response.status_code >= 500 and not idempotent:
                raise UnknownOutcome(VENDOR, f"{method} {path} answered "
                                     f"{response.status_code}: it may have been applied")
            raise _error(response)

        return await self.policy.run(attempt, idempotent=idempotent)

    def _sign(self, method: str, url: str) -> dict[str, str]:
        key, secret, token, token_secret = self._credentials
        client = Client(key, client_secret=secret, resource_owner_key=token,
                        resource_owner_secret=token_secret, realm=self.account,
                        signature_method=SIGNATURE_HMAC_SHA256,
                        timestamp=str(int(self._now())))
        _, headers, _ = client.sign(url, method)
        return dict(headers)


def _eid_path(record_type: str, external_id: str) -> str:
    return f"{RECORD}/{record_type}/eid:{quote(external_id, safe='')}"


def _location_id(response: httpx.Response) -> str | None:
    location = response.headers.get("location")
    return location.rstrip("/").rsplit("/", 1)[-1] if location else None


def _error(response: httpx.Response) -> VendorError:
    """NetSuite's problem-details body: `o:errorDetails[0]` has the code and the detail."""
    status = response.status_code
    try:
        detail = (response.json().get("o:errorDetails") or [{}])[0]
    except (ValueError, AttributeError, IndexError):
        detail = {}
    code = detail.get("o:errorCode")
    message = detail.get("detail") or response.reason_phrase or f"HTTP {status}"
    if status in (401, 403):  # INVALID_LOGIN; 403: the role lacks a permission
        kind = ErrorKind.AUTH
    elif status == 404:
        kind = ErrorKind.NOT_FOUND
    elif status == 409:
        kind = ErrorKind.CONFLICT
    elif status == 429:
        kind = ErrorKind.RATE_LIMITED
    elif status >= 500:
        kind = ErrorKind.UNAVAILABLE
    else:
        kind = ErrorKind.INVALID
    return VendorError(VENDOR, kind, message, status=status, code=code,
                       retry_after=retry_after(response.headers.get("retry-after")),
                       body=json_body(response) or response.text)
