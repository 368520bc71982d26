"""The fake NetSuite: account = tenant; TBA (OAuth 1.0a) and OAuth 2.0 bearer auth; concurrency
governance per account; routes in routes.py.

Tenant settings (all optional except what the chosen auth needs)::

    consumer_key / consumer_secret      # the integration record (TBA)
    token_id / token_secret             # an access token of that integration (TBA)
    tokens: [{token_id, token_secret}]  # more access tokens of the same integration
    client_id / client_secret           # OAuth 2.0 (client credentials)
    certificates: {kid: PEM}            # OAuth 2.0 M2M client-assertion certificates
    integrations: [{...the keys above...}]  # further integration records
    concurrency_limit: 5                # in-flight requests per account (null: unlimited)
    notifications: {url: ...}           # change notifications (events.py)
    base_currency: USD                  # the ISO code of the base currency (models.py)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from starlette.requests import Request

from simulators.core.simulator import Simulator
from simulators.core.states import ProviderState
from simulators.core.tenancy import Tenant
from simulators.core.vendor import Vendor
from simulators.netsuite import oauth1, oauth2
from simulators.netsuite.errors import NetSuiteErrors, invalid_login
from simulators.netsuite.schema_rules import NetSuiteSchemaRules

DEMO_ACCOUNT = "1234567_SB1"
DEMO_SETTINGS: dict[str, Any] = {
    "consumer_key": "demo-consumer-key", "consumer_secret": "demo-consumer-secret",
    "token_id": "demo-token-id", "token_secret": "demo-token-secret",
    "client_id": "demo-client-id", "client_secret": "demo-client-secret",
    "concurrency_limit": 5,
}
DEFAULT_CONCURRENCY = 5  # the documented limit of developer accounts / the base service tier
MAX_SKEW = 300.0


class NetSuiteVendor(Vendor):
    name = "netsuite"
    title = "NetSuite"
    schema_rules = NetSuiteSchemaRules()
    default_port = 12113
    errors = NetSuiteErrors()
    public_paths = (oauth2.TOKEN_PATH,)

    def __init__(self) -> None:
        self._nonces: dict[str, oauth1.NonceCache] = {}  # replay memory per account

    def reset(self, sim: Simulator) -> None:
        self._nonces.clear()

    def router(self) -> APIRouter:
        from simulators.netsuite import routes

        return routes.router(self)

    def default_tenants(self) -> dict[str, dict[str, Any]]:
        return {DEMO_ACCOUNT: dict(DEMO_SETTINGS)}

    def openapi(self, generated: dict[str, Any]) -> dict[str, Any]:
        from simulators.netsuite.openapi import published

        return published(generated)

    def provider_states(self) -> dict[str, ProviderState]:
        from simulators.netsuite.states import STATES

        return STATES

    # -- tenants --------------------------------------------------------------------------------
    def find_tenant(self, sim: Simulator, account: str | None) -> Tenant | None:
        """The account (case-insensitive), or the demo account if the fake declares none."""
        if not account:
            return None
        tenant = sim.tenants.find(account) or next(
            (t for t in sim.tenants.all() if t.id.upper() == account.upper()), None)
        if tenant is None and not sim.tenants.all():
            defaults = {k.upper(): (k, v) for k, v in self.default_tenants().items()}
            if account.upper() in defaults:
                tenant_id, settings = defaults[account.upper()]
                tenant = sim.tenants.declare(tenant_id, settings)
                self.configure_tenant(sim, tenant)
        return tenant

    def all_tenants(self, sim: Simulator) -> list[Tenant]:
        if not sim.tenants.all():
            self.find_tenant(sim, DEMO_ACCOUNT)
        return sim.tenants.all()

    # -- auth -----------------------------------------------------------------------------------
    def authenticate(self, sim: Simulator, request: Request) -> tuple[Tenant, dict[str, Any]]:
        header = request.headers.get("authorization", "")
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "oauth":
            tenant, credentials = self._tba(sim, request, header)
        elif scheme == "bearer":
            tenant, credentials = self._bearer(sim, header[len("bearer "):].strip())
        else:
            raise invalid_login()
        return tenant, credentials

    def _tba(self, sim: Simulator, request: Request, header: str) -> tuple[Tenant, dict]:
        try:
            parsed = oauth1.parse_authorization(header)
        except oauth1.OAuth1Error:
            raise invalid_login() from None
        tenant = self.find_tenant(sim, parsed.realm)
        if tenant is None:
            raise invalid_login()
        records = oauth2.integrations(tenant.settings)

        def consumer_secret(key: str) -> str | None:
            return next((i.get("consumer_secret") for i in records
                         if i.get("consumer_key") == key), None)

        def token_secret(key: str, token_id: str) -> str | None:
            for i in records:
                if i.get("consumer_key") != key:
                    continue
                tokens = [i] + list(i.get("tokens") or [])
                return next((t.get("token_secret") for t in tokens
                             if t.get("token_id") == token_id), None)
            return None

        # The client signed the URL it sent to: scheme and Host as received, the raw path.
        scope = request.scope
        raw_path = scope.get("raw_path") or request.url.path.encode()
        scheme = scope.get("scheme", "http")
        url = f"{scheme}://{request.headers.get('host', '')}{raw_path.decode()}"
        query_string = scope.get("query_string", b"")
        query = parse_qsl(query_string.decode("latin-1"),
                          keep_blank_values=True) if query_string else []
        try:
            params = oauth1.verify(
                request.method, url, header, query, lookup_consumer_secret=consumer_secret,
                lookup_token_secret=token_secret, now=sim.clock.wall(),
                nonce_seen=self._nonces.setdefault(tenant.id, oauth1.NonceCache(MAX_SKEW)),
                max_skew=MAX_SKEW, expected_realm=tenant.id, parsed=parsed)
        except oauth1.OAuth1Error as error:
            raise invalid_login() from error
        return tenant, {"auth": "tba", "consumer_key": params.consumer_key,
                        "token_id": params.token}

    def _bearer(self, sim: Simulator, token: str) -> tuple[Tenant, dict]:
        claims = oauth2.bearer_claims(token, sim.seed) or {}
        tenant = self.find_tenant(sim, claims.get("account"))
        if tenant is None:
            raise invalid_login(bearer=True)
        issued = tenant.collection("oauth2.tokens").get(str(claims.get("jti")))
        if issued is None or issued["expires_at"] <= sim.clock.now():
            raise invalid_login(tenant.id, bearer=True)
        return tenant, {"auth": "oauth2", "client_id": issued["client_id"]}

    def enforce_limits(self, sim: Simulator, tenant: Tenant) -> None:
        """Account concurrency governance. The pipeline counts this tenant's requests in flight
        (and releases them when each ends); this runs right before it counts this one."""
        limit = tenant.settings.get("concurrency_limit", DEFAULT_CONCURRENCY)
        if limit is not None and sim.limit_state.in_flight.get(tenant.id, 0) >= int(limit):
            raise self.errors.concurrency_limited(int(limit))
