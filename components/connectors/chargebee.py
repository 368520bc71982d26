"""Chargebee (API v2) over raw HTTP: Basic auth with the API key, form bodies in Chargebee's
bracket style, errors read from the native body. Every POST carries a
`chargebee-idempotency-key`, so a retry after an unknown outcome cannot act twice."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.http import hedged, json_body, new_client, retry_after, send
from components.connectors.retry import RetryPolicy

VENDOR = "chargebee"
IDEMPOTENCY_HEADER = "chargebee-idempotency-key"
MAX_KEY_LENGTH = 100
PAGE_SIZE = 100  # Chargebee's largest page


class ChargebeeConnector:
    def __init__(self, site: str, api_key: str, *, base_url: str | None = None,
                 http: httpx.AsyncClient | None = None,
                 policy: RetryPolicy | None = None, hedge_after: float | None = None) -> None:
        self.site = site
        self.hedge_after = hedge_after  # seconds before a hot-path read is sent a second time
        self.policy = policy or RetryPolicy()
        self._api = (base_url or f"https://{site}.chargebee.com").rstrip("/") + "/api/v2"
        self._auth = httpx.BasicAuth(api_key, "")
        self._owns_http = http is None
        self._http = http or new_client(self.policy.timeout)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- reads ------------------------------------------------------------------------------------
    async def get_invoice(self, invoice_id: str) -> dict[str, Any]:
        """On the decision's hot path: hedged (`components.connectors.http.hedged`)."""
        return _resource(await hedged(lambda: self._get(f"/invoices/{invoice_id}"),
                                      self.hedge_after), "invoice")

    async def get_customer(self, customer_id: str) -> dict[str, Any]:
        return _resource(await self._get(f"/customers/{customer_id}"), "customer")

    async def get_subscription(self, subscription_id: str) -> dict[str, Any]:
        return _resource(await self._get(f"/subscriptions/{subscription_id}"), "subscription")

    async def get_transaction(self, transaction_id: str) -> dict[str, Any]:
        return _resource(await self._get(f"/transactions/{transaction_id}"), "transaction")

    async def list_invoices(self, *, status: str | None = None, updated_after: int | None = None,
                            limit_total: int = 10_000,
                            page_size: int = PAGE_SIZE) -> list[dict[str, Any]]:
        filters = _filters(status=status, updated_after=updated_after)
        return await self._list("/invoices", "invoice", filters, limit_total, page_size)

    async def list_transactions(self, *, customer_id: str | None = None,
                                status: str | None = None, updated_after: int | None = None,
                                limit_total: int = 10_000,
                                page_size: int = PAGE_SIZE) -> list[dict[str, Any]]:
        filters = _filters(status=status, updated_after=updated_after)
        if customer_id is not None:
            filters["customer_id[is]"] = customer_id
        return await self._list("/transactions", "transaction", filters, limit_total, page_size)

    async def list_events(self, *, event_type: str, occurred_after: int | None = None,
                          limit_total: int = 10_000,
                          page_size: int = PAGE_SIZE) -> list[dict[str, Any]]:
        """The site's events of one type (`occurred_at[after]` is strict; any order)."""
        filters = _drop_none({"event_type[is]": event_type,
                              "occurred_at[after]": occurred_after})
        return await self._list("/events", "event", filters, limit_total, page_size)

    # -- writes -----------------------------------------------------------------------------------
    async def record_payment(self, invoice_id: str, *, amount: int, payment_method: str = "other",
                             reference_number: str, id_at_gateway: str | None = None,
                             date: int | None = None, comment: str | None = None,
                             idempotency_key: str) -> dict[str, Any]:
        """Record a payment made elsewhere (our gateway charge); returns the invoice after.

        An invoice that is already paid by a payment carrying our reference (or gateway id) is
        the done state of an earlier try, not an error."""
        form = _drop_none({
            "transaction[amount]": amount, "transaction[payment_method]": payment_method,
            "transaction[reference_number]": reference_number,
            "transaction[id_at_gateway]": id_at_gateway, "transaction[date]": date,
            "comment": comment})
        try:
            body = await self._post(f"/invoices/{invoice_id}/record_payment", form,
                                    idempotency_key)
        except VendorError as error:
            if error.code != "invalid_state_for_request":
                raise
            invoice = await self.get_invoice(invoice_id)
            if invoice.get("status") != "paid":
                raise
            if await self._paid_by(invoice, reference_number, id_at_gateway):
                return invoice
            raise VendorError(VENDOR, ErrorKind.CONFLICT, f"invoice {invoice_id} is already "
                              "paid by another payment", status=error.status,
                              code="invoice_already_paid", body=invoice) from error
        return _resource(body, "invoice")

    async def collect_payment(self, invoice_id: str, *, idempotency_key: str | None = None,
                              payment_source_id: str | None = None,
                              amount: int | None = None) -> dict[str, Any]:
        """Charge the invoice's due amount to the customer's card: `{"invoice", "transaction"}`.
        A decline raises `VendorError` of kind DECLINED."""
        form = _drop_none({"payment_source_id": payment_source_id, "amount": amount})
        return await self._post(f"/invoices/{invoice_id}/collect_payment", form,
                                idempotency_key)

    async def stop_dunning(self, invoice_id: str, *, idempotency_key: str) -> dict[str, Any]:
        """Stop Chargebee's own retries; an invoice no longer in dunning is already there."""
        try:
            body = await self._post(f"/invoices/{invoice_id}/stop_dunning", {}, idempotency_key)
        except VendorError as error:
            if error.code != "invalid_state_for_request":
                raise
            invoice = await self.get_invoice(invoice_id)
            if invoice.get("dunning_status") == "in_progress":
                raise
            return invoice
        return _resource(body, "invoice")

    async def pause_dunning(self, invoice_id: str, *, expected_payment_date: int,
                            idempotency_key: str | None = None) -> dict[str, Any]:
        body = await self._post(f"/invoices/{invoice_id}/pause_dunning",
                                {"expected_payment_date": expected_payment_date},
                                idempotency_key)
        return _resource(body, "invoice")

    # -- plumbing ---------------------------------------------------------------------------------
    async def _paid_by(self, invoice: dict[str, Any], reference: str,
                       id_at_gateway: str | None) -> bool:
        for payment in invoice.get("linked_payments") or []:
            txn = await self.get_transaction(payment["txn_id"])
            if txn.get("reference_number") == reference or (
                    id_at_gateway is not None and txn.get("id_at_gateway") == id_at_gateway):
                return True
        return False

    async def _list(self, path: str, resource: str, filters: dict[str, Any], limit_total: int,
                    page_size: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        offset: str | None = None
        while len(found) < limit_total:
            params = {**filters, "limit": min(page_size, limit_total - len(found))}
            if offset:
                params["offset"] = offset
            page = await self._get(path, params)
            found += [entry[resource] for entry in page.get("list", [])]
            offset = page.get("next_offset")
            if not offset:
                break
        return found[:limit_total]

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.policy.run(lambda: self._send("GET", path, params=params),
                                     idempotent=True)

    async def _post(self, path: str, form: dict[str, Any],
                    idempotency_key: str | None) -> dict[str, Any]:
        key = idempotency_key or derive_key(path, form)
        headers = {IDEMPOTENCY_HEADER: key}
        return await self.policy.run(
            lambda: self._send("POST", path, data=form, headers=headers), idempotent=True)

    async def _send(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        response = await send(self._http, VENDOR, method, self._api + path, auth=self._auth,
                              timeout=self.policy.timeout, **options)
        body = json_body(response)
        if response.is_success:
            if not isinstance(body, dict):  # a 2xx we cannot read: it may have taken effect
                raise UnknownOutcome(VENDOR, f"{method} {path}: unreadable {response.status_code}")
            return body
        raise error_from(response, body)


def error_from(response: httpx.Response, body: Any) -> VendorError:
    """A VendorError from Chargebee's native error body (`api_error_code`, `type`)."""
    body = body if isinstance(body, dict) else {}
    status = body.get("http_status_code") or response.status_code
    code = body.get("api_error_code") or body.get("error_code")
    wait = retry_after(response.headers.get("retry-after"))
    if code == "lock_timeout":  # another request holds the resource or our key
        kind = ErrorKind.CONFLICT
    elif status == 429:
        kind = ErrorKind.RATE_LIMITED
    elif status >= 500:
        kind = ErrorKind.UNAVAILABLE
    elif status in (401, 403):
        kind = ErrorKind.AUTH
    elif status == 404:
        kind = ErrorKind.NOT_FOUND
    elif body.get("type") == "payment":  # a decline is a 400, never a 402
        kind = ErrorKind.DECLINED
    else:  # incl. 422 for an idempotency key reused with other parameters
        kind = ErrorKind.INVALID
    message = body.get("message") or response.reason_phrase or f"HTTP {status}"
    return VendorError(VENDOR, kind, message, status=status, code=code, retry_after=wait,
                       body=body or response.text)


def derive_key(operation: str, params: dict[str, Any]) -> str:
    """The same operation with the same parameters always gets the same key."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    return f"{operation.strip('/').replace('/', '-')[:MAX_KEY_LENGTH - 41]}-{digest[:40]}"


def _resource(body: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = body[name]
    return found


def _filters(*, status: str | None, updated_after: int | None) -> dict[str, Any]:
    return _drop_none({"status[is]": status, "updated_at[after]": updated_after})


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
