"""The fake Chargebee (API v2, Product Catalog 2.0): a site is a tenant, found by its API key.

Auth is HTTP Basic with the API key as the username and an empty password. The official SDK
builds its host as `{site}.{domain}`, so the site cannot be read from the host when the fake is
reached as 127.0.0.1; the key decides. A tenant's settings may name its keys (`api_key`, or a
list in `api_keys`); once any tenant does, unknown keys get Chargebee's 401. Otherwise (no keys
declared anywhere) the key itself names the site, created on first use.
"""

from __future__ import annotations

import base64
from collections import deque
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from simulators.chargebee.errors import ChargebeeErrors, cb_error, invalid_request
from simulators.chargebee.schema_rules import ChargebeeSchemaRules
from simulators.core.simulator import Simulator
from simulators.core.states import ProviderState
from simulators.core.tenancy import Tenant
from simulators.core.vendor import IdempotencyPolicy, Vendor, VendorError

IDEMPOTENCY_RETENTION = 30 * 60.0  # Chargebee's docs: same key + same parameters, 30 minutes
MAX_KEY_LENGTH = 100
# Requests per minute by plan; test sites are limited to 150/min whatever the plan.
PLAN_LIMITS = {"starter": 150, "performance": 1000, "enterprise": 3500, "test": 150}
DEMO_SITE = "acme-test"
DEMO_KEY = "test_acme_demo_key"


def _mismatch(key: str) -> VendorError:
    return cb_error(422, "unable_to_process_request",
                    f"The idempotency key {key} has already been used with a different request "
                    "payload.", type_="invalid_request", store_idempotent=False)


def _in_flight(key: str) -> VendorError:
    return cb_error(429, "lock_timeout",
                    f"Another request with the idempotency key {key} is in progress. Please "
                    "retry after some time.", type_="operation_failed", store_idempotent=False)


def _too_long(key: str) -> VendorError:
    return invalid_request("chargebee-idempotency-key : length cannot be more than 100",
                           "chargebee-idempotency-key", "param_wrong_value")


class ChargebeeVendor(Vendor):
    name = "chargebee"
    title = "Chargebee"
    schema_rules = ChargebeeSchemaRules()
    default_port = 12112
    errors = ChargebeeErrors()

    def __init__(self) -> None:
        self.idempotency = IdempotencyPolicy(
            header="chargebee-idempotency-key", retention_seconds=IDEMPOTENCY_RETENTION,
            mismatch=_mismatch, in_flight=_in_flight, too_long=_too_long,
            max_key_length=MAX_KEY_LENGTH,
            replayed_header=("chargebee-idempotency-replayed", "true"))
        # per-site request times for the plan limits, on the clock's monotonic time
        self._recent: dict[str, deque[float]] = {}

    def authenticate(self, sim: Simulator, request: Request) -> tuple[Tenant, dict[str, Any]]:
        key = _api_key(request.headers.get("authorization", ""))
        if not key:
            raise self.errors.unauthorized("missing")
        tenant = _site_for_key(sim, key)
        if tenant is None:
            raise self.errors.unauthorized(key)
        return tenant, {"api_key": key}

    def enforce_limits(self, sim: Simulator, tenant: Tenant) -> None:
        """Chargebee's per-site, per-minute limit; only for sites whose settings name a plan
        (or `rate_limit_per_minute`), so load tests are not throttled unless they ask to be."""
        limit = tenant.settings.get("rate_limit_per_minute")
        plan = tenant.settings.get("plan")
        if limit is None and plan is None:
            return
        if limit is None:
            plan = "test" if tenant.settings.get("test_site") else str(plan).lower()
            limit = PLAN_LIMITS.get(plan, PLAN_LIMITS["starter"])
        now = sim.clock.monotonic()
        window = self._recent.setdefault(tenant.id, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= int(limit):
            raise self.errors.rate_limited(max(1.0, round(60.0 - (now - window[0]))))
        window.append(now)

    def reset(self, sim: Simulator) -> None:
        self._recent.clear()

    def router(self) -> APIRouter:
        from simulators.chargebee import routes

        return routes.router()

    def openapi(self, generated: dict[str, Any]) -> dict[str, Any]:
        from simulators.chargebee.openapi import published

        return published(generated)

    def scheduled_work(self) -> dict[str, Any]:
        from simulators.chargebee.billing import SCHEDULED_WORK

        return SCHEDULED_WORK

    def provider_states(self) -> dict[str, ProviderState]:
        from simulators.chargebee.states import STATES

        return STATES

    def default_tenants(self) -> dict[str, dict[str, Any]]:
        return {DEMO_SITE: {"api_key": DEMO_KEY}}


def _api_key(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user = base64.b64decode(value.strip()).decode().split(":", 1)[0]
    except (ValueError, UnicodeDecodeError):
        return None
    return user or None


def tenant_keys(tenant: Tenant) -> list[str]:
    keys = list(tenant.settings.get("api_keys") or [])
    if tenant.settings.get("api_key"):
        keys.append(tenant.settings["api_key"])
    return keys


def _site_for_key(sim: Simulator, key: str) -> Tenant | None:
    strict = False
    for tenant in sim.tenants.all():
        keys = tenant_keys(tenant)
        if key in keys:
            return tenant
        strict = strict or bool(keys)
    if strict:
        return None
    return sim.tenants.get(key)  # None when the fake declares its tenants strictly
