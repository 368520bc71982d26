"""The ERP currency: NetSuite names a record's currency by reference, and the reference's
refName is the currency record's *name* ("US Dollar", "Euro"), not an ISO code. The fake models
that (currency records with `symbol` = the ISO code; every customer, invoice and payment in a
currency), and the components read the code from the currency record, once per currency."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from components.connectors.errors import ErrorKind, VendorError
from components.context import read_erp_invoice
from simulators.landscape import Landscape
from tests.components.test_connector_netsuite import RECORD, connect, in_landscape, state

NETSUITE = "netsuite"


def test_the_fake_s_invoices_name_their_currency_as_netsuite_does() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        await state(world, http, "an open invoice", customer_id="101", invoice_id="501",
                    amount=20.0)
        netsuite = connect(world, http)
        invoice = await netsuite.get("invoice", "501")
        assert invoice["currency"]["id"] == "1"
        assert invoice["currency"]["refName"] == "US Dollar"  # the record's name, not "USD"
        assert invoice["currency"]["links"][0]["href"].endswith(f"{RECORD}/currency/1")
        customer = await netsuite.get("customer", "101")
        assert customer["currency"]["refName"] == "US Dollar"  # the primary currency
        usd = await netsuite.get("currency", "1")
        assert (usd["name"], usd["symbol"], usd["isBaseCurrency"]) == ("US Dollar", "USD", True)
        euro = await netsuite.get("currency", "4")
        assert (euro["symbol"], euro["isBaseCurrency"]) == ("EUR", False)
        rows = await netsuite.suiteql("SELECT id, symbol FROM currency ORDER BY id")
        assert [r["symbol"] for r in rows] == ["USD", "GBP", "CAD", "EUR"]

    in_landscape(scenario)


def test_an_unknown_currency_is_refused_and_a_new_one_can_be_made() -> None:
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> None:
        await state(world, http, "a customer", customer_id="101")
        netsuite = connect(world, http)
        body = {"entity": {"id": "101"}, "currency": {"id": "99"},
                "item": {"items": [{"item": {"id": "1"}, "amount": 5}]}}
        with pytest.raises(VendorError) as refused:
            await netsuite.create("invoice", body)
        assert (refused.value.kind, refused.value.code) == (ErrorKind.INVALID, "USER_ERROR")
        assert "currency" in str(refused.value)
        created = await netsuite.create("currency", {"name": "Swiss Franc", "symbol": "CHF"})
        assert (await netsuite.get("currency", created))["symbol"] == "CHF"

    in_landscape(scenario)


def test_the_erp_currency_is_the_iso_code_of_the_invoice_s_currency() -> None:
    """Without the currency record's symbol the engine read "us dollar"/"euro" (or nothing) and
    reconciliation fell back to usd for every invoice."""
    async def scenario(world: Landscape, http: httpx.AsyncClient) -> list[Any]:
        await state(world, http, "an open invoice", customer_id="101", invoice_id="501",
                    amount=20.0, invoice_external_id="in_usd")
        netsuite = connect(world, http)
        await netsuite.create("customer", {"companyName": "Euro GmbH", "externalId": "c_eur",
                                           "currency": {"id": "4"}})
        [euro_customer] = await netsuite.suiteql(
            "SELECT id FROM customer WHERE externalid = 'c_eur'")
        await netsuite.create("invoice", {
            "entity": {"id": str(euro_customer["id"])}, "externalId": "in_eur",
            "item": {"items": [{"item": {"id": "1"}, "amount": 30.0}]}})  # the customer's EUR
        before = len(world.fakes[NETSUITE].journal.entries())
        usd = await read_erp_invoice(netsuite, "externalId", "stripe", "in_usd")
        eur = await read_erp_invoice(netsuite, "externalId", "stripe", "in_eur")
        again = await read_erp_invoice(netsuite, "externalId", "stripe", "in_eur")
        paths = [e["path"] for e in world.fakes[NETSUITE].journal.entries()[before:]]
        return [usd, eur, again, paths]

    usd, eur, again, paths = in_landscape(scenario)
    assert (usd["currency"], eur["currency"], again["currency"]) == ("usd", "eur", "eur")
    # each currency record is read once; later reads of its invoices use what was read
    assert sorted(p for p in paths if "/currency/" in p) == [
        f"{RECORD}/currency/1", f"{RECORD}/currency/4"]
