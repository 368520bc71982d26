"""The fake vendors this project ships, by name."""

from __future__ import annotations

import importlib

from simulators.core.vendor import Vendor

VENDORS: dict[str, str] = {
    "stripe": "simulators.stripe.vendor:StripeVendor",
    "chargebee": "simulators.chargebee.vendor:ChargebeeVendor",
    "netsuite": "simulators.netsuite.vendor:NetSuiteVendor",
    "salesforce": "simulators.salesforce.vendor:SalesforceVendor",
}


def create_vendor(name: str) -> Vendor:
    if name not in VENDORS:
        raise KeyError(f"unknown vendor {name!r}; choose one of: {', '.join(VENDORS)}")
    module, _, cls = VENDORS[name].partition(":")
    return getattr(importlib.import_module(module), cls)()
