"""Connectors, mapping and store built from one settings file: what both services start from."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from components.connectors.chargebee import ChargebeeConnector
from components.connectors.netsuite import NetSuiteConnector
from components.connectors.retry import RetryPolicy
from components.connectors.salesforce import SalesforceConnector
from components.connectors.stripe import StripeConnector
from components.mapping import MerchantMapping, load_mapping
from components.recovery.engine import Vendors
from components.settings import ComponentSettings


@dataclass
class Deployment:
    """Everything a service needs to reach the outside world, for one merchant."""

    settings: ComponentSettings
    vendors: Vendors
    salesforce: SalesforceConnector | None
    mapping: MerchantMapping | None

    async def aclose(self) -> None:
        for connector in [*self.vendors.mids.values(), self.vendors.chargebee,
                          self.vendors.netsuite, self.salesforce]:
            if connector is not None:
                await connector.aclose()


def connect(settings: ComponentSettings, *, http: httpx.AsyncClient | None = None,
            seed: int = 0) -> Deployment:
    """`http`: one client for every connector (an in-process transport in tests)."""
    rng = random.Random(seed)  # backoff jitter, reproducible from the seed

    def policy() -> RetryPolicy:
        return RetryPolicy(timeout=settings.request_timeout,
                           rng=random.Random(rng.getrandbits(64)))

    s = settings
    mids = {mid.name: StripeConnector(mid.api_key, base_url=s.stripe.base_url, mid=mid.name,
                                      http=http, policy=policy()) for mid in s.stripe.mids}
    chargebee = (ChargebeeConnector(
        s.chargebee.site, s.chargebee.api_key, base_url=s.chargebee.base_url, http=http,
        policy=policy(), hedge_after=s.chargebee.hedge_after_ms / 1000
        if s.chargebee.hedge_after_ms else None) if s.chargebee else None)
    netsuite = (NetSuiteConnector(
        s.netsuite.account, consumer_key=s.netsuite.consumer_key,
        consumer_secret=s.netsuite.consumer_secret, token_id=s.netsuite.token_id,
        token_secret=s.netsuite.token_secret, base_url=s.netsuite.base_url,
        concurrency=s.netsuite.concurrency, http=http, policy=policy())
        if s.netsuite else None)
    salesforce = (SalesforceConnector(
        base_url=s.salesforce.base_url, client_id=s.salesforce.client_id,
        client_secret=s.salesforce.client_secret, username=s.salesforce.username,
        password=s.salesforce.password, api_version=s.salesforce.api_version, http=http,
        policy=policy()) if s.salesforce else None)
    mapping = load_mapping(s.mapping) if s.mapping else None
    key_field = "externalId"
    if mapping is not None and mapping.has("netsuite", "invoice"):
        key_field = mapping.key_field("netsuite", "invoice") or "externalId"
    return Deployment(s, Vendors(mids, chargebee, netsuite, key_field), salesforce, mapping)
