"""Stripe, one account (a MID) per connector, through the official SDK's async API.

The SDK's own retries are off (it ignores Retry-After): `RetryPolicy` retries, and every POST
carries an idempotency key, so a retry after an unknown outcome gets the first answer back."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast
from urllib.parse import quote_plus

import httpx
import stripe

from components.connectors.errors import ErrorKind, UnknownOutcome, VendorError
from components.connectors.http import deadline, retry_after, transport_error
from components.connectors.retry import RetryPolicy
from components.domain import AttemptStatus, ChargeResult

VENDOR = "stripe"
API_BASE = "https://api.stripe.com"
# The version the SDK is pinned to (2026-10-28.endive for stripe 16.1): objects come in its
# shape (invoice.parent, invoice payments; no invoice.payment_intent, charge, paid). Webhook
# events come in their endpoint's version, which may be older: the readers below take both.
API_VERSION: str = stripe.api_version
# what an invoice read needs of its payments: the PaymentIntent, expanded (for its charge)
INVOICE_PAYMENTS = "payments.data.payment.payment_intent"
PAGE_SIZE = 100  # Stripe's largest page
CONFLICT_CODES = {"idempotency_key_in_use", "lock_timeout"}
ALREADY_PAID = "invoice_already_paid"
# The invoice metadata naming the gateway payment an out-of-band payment records (the engine's
# write-back sets it): a merchant's own out-of-band payment names none (`collect`, reconcile's
# paid_twice).
RECOVERY_PAYMENT_ID = "recovery_payment_id"
T = TypeVar("T")


_SDK_TRANSPORTS: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[float, stripe.HTTPXClient]] \
    = weakref.WeakKeyDictionary()


def _sdk_transport(http: httpx.AsyncClient, timeout: float) -> stripe.HTTPXClient:
    """The SDK's transport around a client of ours, one per client and timeout: the SDK makes
    a client of its own first (scanning the environment for proxies, 1–3 ms), which a harness
    starting services thousands of times would pay per merchant and MID."""
    by_timeout = _SDK_TRANSPORTS.setdefault(http, {})
    if timeout not in by_timeout:
        # ours replaces the SDK's own client, which was never opened: nothing to close
        transport = stripe.HTTPXClient(timeout=timeout, verify_ssl_certs=False)
        transport._client_async = http
        by_timeout[timeout] = transport
    return by_timeout[timeout]


class _Final(Exception):
    """Carries an answer out of the retry loop as it is (the loop would retry a CONFLICT)."""

    def __init__(self, error: VendorError | UnknownOutcome) -> None:
        super().__init__(str(error))
        self.error = error


class StripeConnector:
    def __init__(self, api_key: str, *, base_url: str = API_BASE, mid: str = "primary",
                 http: httpx.AsyncClient | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.mid = mid
        self.policy = policy or RetryPolicy()
        self._owns_http = http is None
        self._transport = (stripe.HTTPXClient(timeout=self.policy.timeout) if http is None
                           else _sdk_transport(http, self.policy.timeout))
        self._client = stripe.StripeClient(
            api_key, base_addresses={"api": base_url}, http_client=self._transport,
            max_network_retries=0, stripe_version=API_VERSION)

    def with_policy(self, policy: RetryPolicy) -> StripeConnector:
        """The same account and HTTP client under another retry policy."""
        other = copy.copy(self)
        other.policy = policy
        other._owns_http = False  # the original closes the shared client
        return other

    async def aclose(self) -> None:
        if self._owns_http:
            await self._transport.close_async()  # type: ignore[no-untyped-call]

    # -- payments ---------------------------------------------------------------------------------
    async def charge(self, *, amount: int, currency: str, customer: str, payment_method: str,
                     idempotency_key: str, metadata: dict[str, str],
                     description: str | None = None) -> ChargeResult:
        """One off-session PaymentIntent, confirmed at once; a decline is a result."""
        params: dict[str, Any] = {
            "amount": amount, "currency": currency, "customer": customer,
            "payment_method": payment_method, "confirm": True, "off_session": True,
            "metadata": metadata}
        if description is not None:
            params["description"] = description

        async def attempt() -> ChargeResult:
            try:
                intent = await self._client.v1.payment_intents.create_async(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": idempotency_key})
            except stripe.CardError as error:
                return _declined(error)
            return _charged(intent.to_dict(), _replayed(intent))

        return await self._run(attempt)

    async def pay_invoice(self, invoice_id: str, *, idempotency_key: str,
                          payment_method: str | None = None) -> ChargeResult:
        """Attempt an open invoice's payment now; a decline is a result. Already paid:
        VendorError CONFLICT, code `invoice_already_paid`, raised without retrying."""
        params: dict[str, Any] = {"off_session": True, "expand": [INVOICE_PAYMENTS]}
        if payment_method is not None:
            params["payment_method"] = payment_method

        async def attempt() -> ChargeResult:
            try:
                invoice = await self._pay(invoice_id, params, idempotency_key)
            except stripe.CardError as error:
                return _declined(error)
            intent, charge = invoice_payment_refs(invoice.to_dict())
            return ChargeResult(AttemptStatus.SUCCEEDED, intent, charge_id=charge,
                                replayed=_replayed(invoice))

        return await self._run(attempt)

    async def pay_invoice_out_of_band(self, invoice_id: str, *, idempotency_key: str,
                                      payment_id: str | None = None) -> dict[str, Any]:
        """Mark an invoice paid elsewhere; one already paid is the desired state: returned.

        `payment_id`: the gateway payment this out-of-band payment records, set on the invoice
        as `metadata[recovery_payment_id]` once the payment is this call's (made now, or by an
        earlier try under the same idempotency key, replayed). It is written after the payment,
        never before: an invoice someone else paid first (a bank transfer the merchant marked)
        is left without it, so reconciliation can tell it from ours (`paid_twice`). A crash
        between the two writes leaves ours unmarked until the message is sent again: a
        difference reconciliation reports, never one it hides."""
        async def attempt() -> dict[str, Any]:
            invoice = await self._pay(invoice_id, {"paid_out_of_band": True}, idempotency_key)
            return invoice.to_dict()

        try:
            invoice = await self._run(attempt)
        except VendorError as error:
            if error.code != ALREADY_PAID:
                raise
            return await self.get_invoice(invoice_id)
        if payment_id and (invoice.get("metadata") or {}).get(RECOVERY_PAYMENT_ID) != payment_id:
            invoice = await self.update_invoice_metadata(
                invoice_id, {RECOVERY_PAYMENT_ID: payment_id},
                idempotency_key=f"{idempotency_key}:metadata")
        return invoice

    async def update_invoice_metadata(self, invoice_id: str, metadata: dict[str, str], *,
                                      idempotency_key: str) -> dict[str, Any]:
        """`POST /v1/invoices/{id}` with metadata only: allowed on a paid invoice too."""
        async def attempt() -> dict[str, Any]:
            invoice = await self._client.v1.invoices.update_async(
                invoice_id, params={"metadata": metadata},
                options={"idempotency_key": idempotency_key})
            return invoice.to_dict()

        return await self._run(attempt)

    # -- reads ------------------------------------------------------------------------------------
    async def get_invoice(self, invoice_id: str) -> dict[str, Any]:
        """The invoice with its payments (`invoice_payment_refs` reads them)."""
        return await self._read(f"/v1/invoices/{quote_plus(invoice_id)}",
                                {"expand": [INVOICE_PAYMENTS]})

    async def get_customer(self, customer_id: str) -> dict[str, Any]:
        return await self._read(f"/v1/customers/{quote_plus(customer_id)}")

    async def get_payment_method(self, payment_method_id: str) -> dict[str, Any]:
        return await self._read(f"/v1/payment_methods/{quote_plus(payment_method_id)}")

    async def get_payment_intent(self, payment_intent_id: str) -> dict[str, Any]:
        return await self._read(f"/v1/payment_intents/{quote_plus(payment_intent_id)}")

    async def find_customer_by_email(self, email: str) -> dict[str, Any] | None:
        found = await self._list("/v1/customers", {"email": email},
                                 limit_total=1)
        return found[0] if found else None

    async def list_payment_intents(self, *, created_gte: int | None = None,
                                   customer: str | None = None, with_charge: bool = False,
                                   limit_total: int = 10_000,
                                   page_size: int = PAGE_SIZE) -> list[dict[str, Any]]:
        """`with_charge`: each intent's `latest_charge` as the Charge (what was refunded of
        it), not its id."""
        params = _created({"customer": customer} if customer else {}, created_gte)
        if with_charge:
            params["expand"] = ["data.latest_charge"]
        return await self._list("/v1/payment_intents", params,
                                limit_total=limit_total, page_size=page_size)

    async def list_invoices(self, *, status: str | None = None, created_gte: int | None = None,
                            limit_total: int = 10_000,
                            page_size: int = PAGE_SIZE) -> list[dict[str, Any]]:
        params = _created({"status": status} if status else {}, created_gte)
        params["expand"] = ["data.payments"]  # the payments' PaymentIntents, as ids
        return await self._list("/v1/invoices", params,
                                limit_total=limit_total, page_size=page_size)

    async def list_events(self, *, type_: str, created_gte: int | None = None,
                          limit_total: int = 10_000) -> list[dict[str, Any]]:
        """Events of one type, newest first (Stripe keeps 30 days of them): what a service
        that was down lists to catch up on the webhooks it missed."""
        return await self._list("/v1/events",
                                _created({"type": type_}, created_gte), limit_total=limit_total)

    async def find_payment_by_metadata(self, key: str, value: str, *,
                                       created_gte: int | None = None) -> list[dict[str, Any]]:
        """PaymentIntents whose metadata[key] == value (filtered here: no search endpoint)."""
        intents = await self.list_payment_intents(created_gte=created_gte)
        return [i for i in intents if (i.get("metadata") or {}).get(key) == value]

    # -- plumbing ---------------------------------------------------------------------------------
    async def _pay(self, invoice_id: str, params: dict[str, Any],
                   idempotency_key: str) -> stripe.Invoice:
        try:
            return await self._client.v1.invoices.pay_async(
                invoice_id, params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as error:
            # Stripe says so in words only: a 400 without a code
            if error.code == ALREADY_PAID or "already paid" in str(error.user_message):
                raise _Final(VendorError(VENDOR, ErrorKind.CONFLICT, str(error.user_message),
                                         status=error.http_status, code=ALREADY_PAID,
                                         body=error.json_body)) from error
            raise

    async def _read(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A GET through the SDK (its key, version, headers and errors), answered as the JSON
        it came as: the components work on dicts, and the SDK's typed objects, built only to
        be turned back into dicts, cost a read about as much as the request itself."""
        async def attempt() -> dict[str, Any]:
            response = await self._client.raw_request_async("get", path, **(params or {}))
            return cast(dict[str, Any], response.data)
        return await self._run(attempt)

    async def _list(self, path: str, params: dict[str, Any], *, limit_total: int,
                    page_size: int = PAGE_SIZE) -> list[dict[str, Any]]:
        """Follow `starting_after` page by page, each page retried on its own."""
        found: list[dict[str, Any]] = []
        while len(found) < limit_total:
            query = {**params, "limit": min(page_size, limit_total - len(found))}
            if found:
                query["starting_after"] = found[-1]["id"]
            page = await self._read(path, query)
            data = page.get("data") or []
            found += data
            if not page.get("has_more") or not data:
                break
        return found[:limit_total]

    async def _run(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Every call is a GET or a POST with an idempotency key: safe to repeat."""
        async def once() -> T:
            try:
                async with deadline(VENDOR, self.policy.timeout):
                    return await attempt()
            except stripe.StripeError as error:
                raise translate(error) from error
        try:
            return await self.policy.run(once, idempotent=True)
        except _Final as final:
            raise final.error from final.__cause__


def translate(error: stripe.StripeError) -> VendorError | UnknownOutcome:
    """The SDK's exception as our error kinds."""
    if isinstance(error, stripe.APIConnectionError):
        cause = error.__cause__
        if isinstance(cause, httpx.TransportError):
            return transport_error(VENDOR, cause)
        return UnknownOutcome(VENDOR, str(error.user_message))
    status = error.http_status
    code = error.code or _error_field(error, "code")  # the SDK sets .code on few classes
    if status is None or status < 400:  # e.g. a 200 whose body we could not read
        return UnknownOutcome(VENDOR, str(error.user_message))
    if code in CONFLICT_CODES:
        kind = ErrorKind.CONFLICT
    elif status == 429 or isinstance(error, stripe.RateLimitError):
        kind = ErrorKind.RATE_LIMITED
    elif isinstance(error, stripe.CardError):
        kind, code = ErrorKind.DECLINED, _error_field(error, "decline_code") or code
    elif isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        kind = ErrorKind.AUTH
    elif status >= 500:
        kind = ErrorKind.UNAVAILABLE
    elif status == 404:
        kind = ErrorKind.NOT_FOUND
    else:  # incl. idempotency_error: the key was used with other parameters
        kind = ErrorKind.INVALID
        code = code or _error_field(error, "type")
    return VendorError(VENDOR, kind, str(error.user_message or error), status=status, code=code,
                       retry_after=retry_after(_header(error.headers, "retry-after")),
                       body=error.json_body)


# -- invoices in either shape ------------------------------------------------------------------
def invoice_subscription(invoice: dict[str, Any]) -> str | None:
    """The subscription that generated the invoice: `parent.subscription_details` since
    2025-03-31.basil, top-level `subscription` before (events of an older endpoint)."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def invoice_payment_refs(invoice: dict[str, Any]) -> tuple[str | None, str | None]:
    """(PaymentIntent, charge) that paid the invoice, or that is collecting it: the paid (else
    the default) invoice payment since 2025-03-31.basil, `payment_intent`/`charge` before. The
    charge is known when the PaymentIntent was expanded (`INVOICE_PAYMENTS`)."""
    if "payments" not in invoice and "parent" not in invoice:
        return _id(invoice.get("payment_intent")), _id(invoice.get("charge"))
    payments = (invoice.get("payments") or {}).get("data") or []
    chosen = next((p for p in payments if p.get("status") == "paid"), None) or next(
        (p for p in payments if p.get("is_default")), None)
    intent = ((chosen or {}).get("payment") or {}).get("payment_intent")
    charge = intent.get("latest_charge") if isinstance(intent, dict) else None
    return _id(intent), _id(charge)


def invoice_paid_out_of_band(invoice: dict[str, Any]) -> bool:
    """Marked paid with no payment on Stripe: `paid_out_of_band` before 2025-03-31.basil; since,
    a paid invoice whose amount was paid off Stripe (`amount_paid_off_stripe`)."""
    if "paid_out_of_band" in invoice:
        return bool(invoice["paid_out_of_band"])
    return invoice.get("status") == "paid" and (invoice.get("amount_paid_off_stripe") or 0) > 0


def _declined(error: stripe.CardError) -> ChargeResult:
    """A 402: the body names the PaymentIntent and its decline."""
    intent = _error_field(error, "payment_intent")
    intent = intent if isinstance(intent, dict) else {}
    last = intent.get("last_payment_error") or {}

    def field(name: str) -> Any:
        return _error_field(error, name) or last.get(name)

    return ChargeResult(
        AttemptStatus.DECLINED, _id(intent), charge_id=_id(field("charge")),
        decline_code=field("decline_code") or error.code, advice_code=field("advice_code"),
        network_advice_code=field("network_advice_code"),
        replayed=_header(error.headers, "idempotent-replayed") == "true")


def _charged(intent: dict[str, Any], replayed: bool) -> ChargeResult:
    if intent.get("status") == "succeeded":
        return ChargeResult(AttemptStatus.SUCCEEDED, intent["id"],
                            charge_id=_id(intent.get("latest_charge")), replayed=replayed)
    if intent.get("status") in ("requires_payment_method", "requires_action", "canceled"):
        last = intent.get("last_payment_error") or {}
        return ChargeResult(AttemptStatus.DECLINED, intent["id"],
                            charge_id=_id(last.get("charge") or intent.get("latest_charge")),
                            decline_code=last.get("decline_code") or last.get("code")
                            or "authentication_required",
                            advice_code=last.get("advice_code"),
                            network_advice_code=last.get("network_advice_code"),
                            replayed=replayed)
    # processing: the card network has not answered yet; only a later read can tell
    raise _Final(UnknownOutcome(VENDOR, f"payment_intent {intent['id']} is "
                                        f"{intent.get('status')}"))


def _error_field(error: stripe.StripeError, name: str) -> Any:
    body = error.json_body if isinstance(error.json_body, dict) else {}
    return (body.get("error") or {}).get(name)


def _replayed(obj: stripe.StripeObject) -> bool:
    response = obj.last_response
    return response is not None and _header(response.headers, "idempotent-replayed") == "true"


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _id(value: Any) -> str | None:
    """An id, whether the field was expanded to an object or not."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


def _created(params: dict[str, Any], created_gte: int | None) -> dict[str, Any]:
    return {**params, "created": {"gte": created_gte}} if created_gte is not None else params
