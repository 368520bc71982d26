"""The fake Salesforce: org = tenant, OAuth 2.0 sessions with an inactivity timeout, and the
rolling 24-hour API request allocation reported in `Sforce-Limit-Info`.

Access tokens look like Salesforce's (`<15-char org id>!<random>`); a session expires after
`session_timeout_seconds` (default 7200) of inactivity on the simulated clock, and every call
resets the timer. Each authenticated REST call counts against `daily_api_limit` (default 15000,
a Developer Edition org) over a rolling 24 h window; past it calls get 403 REQUEST_LIMIT_EXCEEDED.
Idle sessions, idle query locators (15 min) and unused authorization codes are dropped, not just
refused: a locator when it is next asked for, all of them by a sweep at most once a minute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request

from simulators.core.simulator import Simulator
from simulators.core.states import ProviderState
from simulators.core.tenancy import Tenant
from simulators.core.vendor import RequestContext, Vendor
from simulators.salesforce import ids
from simulators.salesforce.errors import (
    DAILY_LIMIT_MESSAGE,
    SalesforceError,
    SalesforceErrors,
    oauth_error,
)
from simulators.salesforce.models import org_id, org_schema, user_id
from simulators.salesforce.schema_rules import SalesforceSchemaRules

DEFAULT_SESSION_TIMEOUT = 7200.0
DEFAULT_DAILY_LIMIT = 15_000
AUTH_CODE_TTL = 15 * 60.0
WINDOW = 24 * 3600.0
SWEEP_EVERY = 60.0  # simulated seconds between sweeps of an org's idle sessions and cursors
_QUERY_MORE = re.compile(r"/services/data/v[\d.]+/query(?:All)?/([^/]+)-\d+/?$")
DEMO_ORG = ids.org_id("DEMO1")
DEMO_SETTINGS: dict[str, Any] = {
    "client_id": "3MVG9landscape.demo.consumer.key",
    "client_secret": "demo-consumer-secret",
    "username": "integration@demo.landscape.test",
    "password": "demo-password",
    "security_token": "DEMOTOKEN",
    "daily_api_limit": DEFAULT_DAILY_LIMIT,
    "session_timeout_seconds": DEFAULT_SESSION_TIMEOUT,
}


class SalesforceVendor(Vendor):
    name = "salesforce"
    title = "Salesforce"
    schema_rules = SalesforceSchemaRules()
    default_port = 12114
    errors = SalesforceErrors()
    public_paths = ("/services/oauth2/",)

    def router(self) -> APIRouter:
        from simulators.salesforce import routes

        return routes.router()

    def default_tenants(self) -> dict[str, dict[str, Any]]:
        return {DEMO_ORG: dict(DEMO_SETTINGS)}

    def configure_tenant(self, sim: Simulator, tenant: Tenant) -> None:
        org_schema(tenant)  # build (and so check) the org's objects up front

    def authenticate(self, sim: Simulator, request: Request) -> tuple[Tenant, dict[str, Any]]:
        if request.url.path.rstrip("/") == "/services/data":
            return None, {}  # type: ignore[return-value]  # the versions list is public
        token = _bearer(request.headers.get("authorization", ""))
        found = find_session(sim, token) if token else None
        if found is None:
            raise self.errors.unauthorized()
        tenant, session = found
        now = sim.clock.now()
        timeout = float(tenant.settings.get("session_timeout_seconds", DEFAULT_SESSION_TIMEOUT))
        if now - session["last_used"] > timeout:
            tenant.collection("sessions").pop(token, None)
            raise self.errors.unauthorized("expired")
        session["last_used"] = now
        forget_idle(tenant, now, request.url.path)
        count_api_call(tenant, now)
        return tenant, {"token": token, "user": user_id(tenant)}

    def openapi(self, generated: dict[str, Any]) -> dict[str, Any]:
        from simulators.salesforce.openapi import published

        return published(generated)

    def provider_states(self) -> dict[str, ProviderState]:
        from simulators.salesforce.states import STATES

        return STATES

    def response_headers(self, ctx: RequestContext) -> dict[str, str]:
        if ctx.tenant is None:
            return {}
        return {"Sforce-Limit-Info": limit_info(ctx.tenant, ctx.now)}


# -- sessions ----------------------------------------------------------------------------------

def _bearer(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() in ("bearer", "oauth") else None


def find_session(sim: Simulator, token: str) -> tuple[Tenant, dict[str, Any]] | None:
    org15 = token.partition("!")[0]
    for tenant in sim.tenants.all():
        if org_id(tenant)[:15] == org15:
            session = tenant.collection("sessions").get(token)
            if session is not None:
                return tenant, session
    return None


def forget_idle(tenant: Tenant, now: float, path: str) -> None:
    """Drop what has expired: the query locator `path` asks for, if idle too long; and, at most
    once per `SWEEP_EVERY`, every idle session, idle locator and expired authorization code (so
    each is scanned O(1) times amortised over its lifetime)."""
    from simulators.salesforce.routes import LOCATOR_IDLE  # routes imports this module

    locators = tenant.collection("query_locators")
    asked = _QUERY_MORE.match(path)
    if asked and now - locators.get(asked.group(1), {}).get("touched", now) > LOCATOR_IDLE:
        del locators[asked.group(1)]
    if now - tenant.derived.get("swept_at", float("-inf")) < SWEEP_EVERY:
        return
    tenant.derived["swept_at"] = now
    timeout = float(tenant.settings.get("session_timeout_seconds", DEFAULT_SESSION_TIMEOUT))
    for name, expired in (
            ("sessions", lambda s: now - s["last_used"] > timeout),
            ("query_locators", lambda s: now - s["touched"] > LOCATOR_IDLE),
            ("auth_codes", lambda s: s["expires"] < now)):
        objects = tenant.collection(name)
        for key in [k for k, v in objects.items() if expired(v)]:
            del objects[key]


def new_session(sim: Simulator, tenant: Tenant, grant: str, client_id: str) -> str:
    token = (org_id(tenant)[:15] + "!AQ" + sim.seeds.token(f"ids:{tenant.id}", 94))
    now = sim.clock.now()
    tenant.collection("sessions")[token] = {"issued_at": now, "last_used": now, "grant": grant,
                                            "client_id": client_id}
    return token


# -- API allocation ----------------------------------------------------------------------------

def api_usage(tenant: Tenant, now: float) -> int:
    buckets = tenant.collection("api_usage")  # minute (epoch // 60) -> calls
    cutoff = int((now - WINDOW) // 60)
    for minute in [m for m in buckets if int(m) <= cutoff]:
        del buckets[minute]
    return sum(buckets.values())


def daily_limit(tenant: Tenant) -> int:
    return int(tenant.settings.get("daily_api_limit", DEFAULT_DAILY_LIMIT))


def limit_info(tenant: Tenant, now: float) -> str:
    return f"api-usage={api_usage(tenant, now)}/{daily_limit(tenant)}"


def count_api_call(tenant: Tenant, now: float) -> None:
    used, limit = api_usage(tenant, now), daily_limit(tenant)
    if used >= limit:
        raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", DAILY_LIMIT_MESSAGE,
                              headers={"Sforce-Limit-Info": f"api-usage={used}/{limit}"})
    minute = str(int(now // 60))
    buckets = tenant.collection("api_usage")
    buckets[minute] = buckets.get(minute, 0) + 1


# -- OAuth 2.0 ---------------------------------------------------------------------------------

def client_tenant(sim: Simulator, client_id: str | None) -> Tenant:
    """The org whose connected app has this consumer key (declaring a default org on demand)."""
    for tenant in sim.tenants.all():
        if client_id and tenant.settings.get("client_id") == client_id:
            return tenant
    for tenant_id, settings in sim.vendor.default_tenants().items():
        if client_id and settings.get("client_id") == client_id and \
                sim.tenants.find(tenant_id) is None:
            tenant = sim.tenants.declare(tenant_id, settings)
            sim.vendor.configure_tenant(sim, tenant)
            return tenant
    raise oauth_error("invalid_client_id", "client identifier invalid")


def _check_secret(tenant: Tenant, form: dict[str, str], required: bool = True) -> None:
    secret = form.get("client_secret")
    if (secret is None and required) or (
            secret is not None and not hmac.compare_digest(
                secret, str(tenant.settings.get("client_secret", "")))):
        raise oauth_error("invalid_client", "invalid client credentials")


def token_response(sim: Simulator, tenant: Tenant, token: str, instance_url: str,
                   refresh_token: str | None = None, scope: str = "api") -> dict[str, Any]:
    issued_at = str(int(sim.clock.now() * 1000))
    identity = f"{instance_url}/id/{org_id(tenant)}/{user_id(tenant)}"
    secret = str(tenant.settings.get("client_secret", "")).encode()
    signature = base64.b64encode(hmac.new(secret, (identity + issued_at).encode(),
                                          hashlib.sha256).digest()).decode()
    body: dict[str, Any] = {"access_token": token}
    if refresh_token:
        body["refresh_token"] = refresh_token
    body.update({"signature": signature, "scope": scope, "instance_url": instance_url,
                 "id": identity, "token_type": "Bearer", "issued_at": issued_at})
    return body


def grant(sim: Simulator, form: dict[str, str], instance_url: str) -> dict[str, Any]:
    """`POST /services/oauth2/token`: client_credentials, password, authorization_code and
    refresh_token grants. Errors use the OAuth shape `{"error","error_description"}`."""
    kind = form.get("grant_type", "")
    if kind not in ("client_credentials", "password", "authorization_code", "refresh_token"):
        raise oauth_error("unsupported_grant_type", "grant type not supported")
    tenant = client_tenant(sim, form.get("client_id"))
    instance_url = str(tenant.settings.get("instance_url") or instance_url).rstrip("/")
    settings = tenant.settings
    if kind == "client_credentials":
        _check_secret(tenant, form)
        token = new_session(sim, tenant, kind, form["client_id"])
        return token_response(sim, tenant, token, instance_url)
    if kind == "password":
        _check_secret(tenant, form)
        expected = str(settings.get("password", "")) + str(settings.get("security_token", ""))
        ok_user = form.get("username") == settings.get("username")
        if not ok_user or form.get("password") not in (expected, settings.get("password")):
            raise oauth_error("invalid_grant", "authentication failure")
        token = new_session(sim, tenant, kind, form["client_id"])
        return token_response(sim, tenant, token, instance_url)
    if kind == "authorization_code":
        _check_secret(tenant, form)
        code = tenant.collection("auth_codes").pop(form.get("code", ""), None)
        if (code is None or code["expires"] < sim.clock.now()
                or code["redirect_uri"] != form.get("redirect_uri", code["redirect_uri"])):
            raise oauth_error("invalid_grant", "invalid authorization code")
        refresh = org_id(tenant)[:15] + "!" + sim.seeds.token(f"ids:{tenant.id}", 80)
        tenant.collection("refresh_tokens")[refresh] = {"client_id": form["client_id"],
                                                        "issued_at": sim.clock.now()}
        token = new_session(sim, tenant, kind, form["client_id"])
        return token_response(sim, tenant, token, instance_url, refresh, "refresh_token api")
    _check_secret(tenant, form, required=False)
    stored = tenant.collection("refresh_tokens").get(form.get("refresh_token", ""))
    if stored is None or stored["client_id"] != form.get("client_id"):
        raise oauth_error("invalid_grant", "expired access/refresh token")
    token = new_session(sim, tenant, kind, form["client_id"])
    return token_response(sim, tenant, token, instance_url, scope="refresh_token api")


def authorize(sim: Simulator, params: dict[str, str]) -> str:
    """`GET /services/oauth2/authorize` (web-server flow): the org's integration user approves at
    once; returns the redirect location carrying `code` (and `state`)."""
    if params.get("response_type") != "code":
        raise oauth_error("unsupported_response_type", "response type not supported")
    tenant = client_tenant(sim, params.get("client_id"))
    redirect = params.get("redirect_uri")
    if not redirect:
        raise oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
    code = "aPr" + sim.seeds.token(f"ids:{tenant.id}", 60)
    tenant.collection("auth_codes")[code] = {"client_id": params.get("client_id"),
                                             "redirect_uri": redirect,
                                             "expires": sim.clock.now() + AUTH_CODE_TTL}
    query = {"code": code, **({"state": params["state"]} if params.get("state") else {})}
    return redirect + ("&" if "?" in redirect else "?") + urlencode(query)


def revoke(sim: Simulator, token: str) -> bool:
    for tenant in sim.tenants.all():
        for name in ("sessions", "refresh_tokens"):
            if tenant.collection(name).pop(token, None) is not None:
                return True
    return False
