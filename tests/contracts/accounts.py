"""The accounts the contracts speak as: one example per vendor, shared by both sides.

The consumer tests send these credentials (so they are the example values in the pacts); the
provider side sets its fakes up under the same tenants, so the replayed requests reach them."""

from __future__ import annotations

STRIPE_KEY = "sk_test_landscape_contracts"
CHARGEBEE_KEY = "test_landscape_contracts"          # also the site: the fake makes one per key
NETSUITE_ACCOUNT = "1234567_SB1"                     # the fake's demo account
NETSUITE_TBA = {"consumer_key": "demo-consumer-key", "consumer_secret": "demo-consumer-secret",
                "token_id": "demo-token-id", "token_secret": "demo-token-secret"}
SALESFORCE_CLIENT = {"client_id": "3MVG9landscape.demo.consumer.key",
                     "client_secret": "demo-consumer-secret"}
# Salesforce sessions live per run: the pacts carry these examples, and the provider side
# swaps the live one for a session it has just opened (provider.py, `Credentials`)
SALESFORCE_SESSION = "00DPACT0000000001!live-session"
SALESFORCE_STALE_SESSION = "00DPACT0000000001!expired-session"

# the merchant the contracts are written for: Stripe Billing, NetSuite, Salesforce (acme)
NETSUITE_SCHEMA = "netsuite-recovery-fields.yaml"
SALESFORCE_SCHEMA = "salesforce-cpq.yaml"
