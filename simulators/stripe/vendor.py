"""The fake Stripe: auth (secret key = account = tenant), idempotency policy, routes."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from simulators.core.simulator import Simulator
from simulators.core.states import ProviderState
from simulators.core.tenancy import Tenant
from simulators.core.vendor import IdempotencyPolicy, RequestContext, Vendor
from simulators.stripe import versions
from simulators.stripe.errors import StripeErrors, mask_key, stripe_error
from simulators.stripe.schema_rules import StripeSchemaRules

KEY_PREFIXES = ("sk_test_", "rk_test_")
IDEMPOTENCY_RETENTION = 24 * 3600.0  # Stripe prunes keys once they are at least 24 h old


def _mismatch(key: str):
    return stripe_error(400, "idempotency_error",
                        f"Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        f"meant to execute a different request.", store_idempotent=False)


def _in_flight(key: str):
    return stripe_error(409, "invalid_request_error",
                        "There is currently another in-progress request using this Stripe token "
                        "(probably means you sent two requests with the same idempotency key). "
                        "Try again later.", code="idempotency_key_in_use",
                        store_idempotent=False)


def _too_long(key: str):
    return stripe_error(400, "invalid_request_error",
                        "Idempotency key too long: keys may be at most 255 characters.",
                        store_idempotent=False)


class StripeVendor(Vendor):
    name = "stripe"
    title = "Stripe"
    schema_rules = StripeSchemaRules()
    default_port = 12111
    errors = StripeErrors()
    idempotency = IdempotencyPolicy(
        header="idempotency-key", retention_seconds=IDEMPOTENCY_RETENTION, mismatch=_mismatch,
        in_flight=_in_flight, too_long=_too_long, methods=("POST", "DELETE"),
        replayed_header=("Idempotent-Replayed", "true"))

    def authenticate(self, sim: Simulator, request: Request) -> tuple[Tenant, dict[str, Any]]:
        key = _api_key(request.headers.get("authorization", ""))
        if not key:
            raise self.errors.unauthorized("missing")
        tenant = sim.tenants.get(key) if key.startswith(KEY_PREFIXES) else None
        if tenant is None:
            raise self.errors.unauthorized(mask_key(key))
        asked = request.headers.get("stripe-version")
        version = versions.check(asked.strip()) if asked else versions.account_version(tenant)
        versions.answering(tenant, version)
        return tenant, {"api_key": key, "stripe_version": version}

    def response_headers(self, ctx: RequestContext) -> dict[str, str]:
        headers = {"Request-Id": ctx.request_id}
        if "stripe_version" in ctx.credentials:
            headers["Stripe-Version"] = ctx.credentials["stripe_version"]
        return headers

    def router(self) -> APIRouter:
        from simulators.stripe import routes

        return routes.router()

    def openapi(self, generated: dict[str, Any]) -> dict[str, Any]:
        from simulators.stripe.openapi import published

        return published(generated)

    def scheduled_work(self) -> dict[str, Any]:
        from simulators.stripe.billing_clocks import SCHEDULED_WORK

        return SCHEDULED_WORK

    def provider_states(self) -> dict[str, ProviderState]:
        from simulators.stripe.states import STATES

        return STATES


def _api_key(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return None
        return user or None
    return None
