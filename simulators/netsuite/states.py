"""Provider states of the fake NetSuite (see core/states.py): named setups, with the ids given.

Records are made by `models.create`, the function behind `POST /record/v1/...`, under the
internal ids given (positive integers; the id space's counter moves past them), and announce
themselves through the tenant's change notifications as an API create does. A state set up twice
with the same params finds its records and returns the same ids; an id taken by another record of
the same id space (entities, transactions, one per custom record type), or by a record that is
not what the state names (an invoice of another customer, or paid), is a `StateError`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulators.core.simulator import Simulator
from simulators.core.states import (
    Described,
    ParamSpec,
    ProviderState,
    StateError,
    describe_params,
    field_values,
    states_by_name,
    take_params,
)
from simulators.core.tenancy import Tenant
from simulators.core.vendor import VendorError
from simulators.netsuite import events, models
from simulators.netsuite.models import RecordType

# param -> (what it is, its default; None: optional)
CUSTOMER: ParamSpec = {
    "customer_id": ("the customer's internal id (a positive integer)", "1001"),
    "company_name": ("companyName", "Acme Corporation"),
    "entity_id": ("entityId, the customer's name in lists", Described("the company name")),
    "external_id": ("externalId", None),
    "email": ("email", "billing@acme.example"),
    "fields": ("more customer fields (custentity_*, …) as the record API takes them", None),
}
INVOICE = {
    **CUSTOMER,
    "invoice_id": ("the invoice's internal id (a positive integer)", "2001"),
    "amount": ("the invoice total, one line of that amount", 100.0),
    "item_id": ("the line's item internal id (items are not modelled)", "1"),
    "invoice_external_id": ("the invoice's externalId", None),
    "invoice_fields": ("more invoice fields (custbody_*, memo, …)", None),
}
SUBSCRIPTION_RECORD = {
    **CUSTOMER,
    "record_type": ("the custom record type", Described(
        "the schema's customrecord_* whose name or label mentions subscription")),
    "record_id": ("the record's internal id (a positive integer)", "1"),
    "name": ("the record's name", Described("<record type label> <record_id>")),
    "record_external_id": ("the record's externalId", None),
    "record_fields": ("custrecord_* values; required ones left out get a placeholder "
                      "(first picklist value, today, …) and a reference to customer gets the "
                      "customer", None),
}






def _internal_id(value: Any, param: str) -> str:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) \
        else ""
    if not text.isdigit() or int(text) < 1 or text != str(int(text)):
        raise StateError(f"{param} must be a NetSuite internal id (a positive integer), "
                         f"not {value!r}")
    return text




def _guarded(name: str, setup: Any) -> Any:
    """Values the record API would refuse (a bad custom field value) become StateErrors."""
    def run(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return setup(sim, tenant, params)
        except VendorError as error:
            body = error.body if isinstance(error.body, dict) else {}
            details = body.get("o:errorDetails") or [{}]
            raise StateError(f"{name}: {details[0].get('detail') or error}") from None
    return run


def _rtype(tenant: Tenant, name: str) -> RecordType:
    rtype = models.record_type(tenant, name)
    assert rtype is not None
    return rtype


def _existing(tenant: Tenant, rtype: RecordType, record_id: str) -> dict[str, Any] | None:
    """The record of `rtype` with this id; a StateError if another type in its id space has
    it (ids are unique per id space, as in NetSuite)."""
    for other in models.record_types(tenant):
        if (other.id_space == rtype.id_space and other.name != rtype.name
                and record_id in models.records(tenant, other)):
            raise StateError(f"internal id {record_id} is a {other.label} record; choose "
                             f"another id for the {rtype.label}")
    return models.records(tenant, rtype).get(record_id)


def _create(sim: Simulator, tenant: Tenant, rtype: RecordType, body: dict[str, Any],
            record_id: str) -> dict[str, Any]:
    record = models.create(tenant, rtype, body, sim.clock.now(), record_id=record_id)
    events.notify(sim, tenant, rtype, record, "create")  # as the record API's POST does
    return record


def _customer(sim: Simulator, tenant: Tenant, p: dict[str, Any]) -> dict[str, Any]:
    rtype = _rtype(tenant, "customer")
    customer_id = _internal_id(p["customer_id"], "customer_id")
    existing = _existing(tenant, rtype, customer_id)
    if existing is not None:
        if p["external_id"] is not None and existing.get("externalId") != p["external_id"]:
            raise StateError(f"customer {customer_id} exists with externalId "
                             f"{existing.get('externalId')!r}, not {p['external_id']!r}")
        return existing
    body = {**field_values(p["fields"], "fields"), "companyName": p["company_name"]}
    for param, name in (("entity_id", "entityId"), ("external_id", "externalId"),
                        ("email", "email")):
        if p[param] is not None:
            body[name] = p[param]
    return _create(sim, tenant, rtype, body, customer_id)


def a_customer(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
    customer = _customer(sim, tenant, take_params(params, CUSTOMER))
    return {"customer_id": customer["id"], "entity_id": customer.get("entityId"),
            "external_id": customer.get("externalId")}


def an_open_invoice(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
    p = take_params(params, INVOICE)
    rtype = _rtype(tenant, "invoice")
    invoice_id = _internal_id(p["invoice_id"], "invoice_id")
    try:
        amount = models.finite(p["amount"])
    except (TypeError, ValueError):
        amount = 0.0
    if isinstance(p["amount"], bool) or amount <= 0:
        raise StateError(f"amount must be a positive number, not {p['amount']!r}")
    invoice = _existing(tenant, rtype, invoice_id)
    customer_id = _internal_id(p["customer_id"], "customer_id")
    if invoice is None:
        customer = _customer(sim, tenant, p)
        body = {**field_values(p["invoice_fields"], "invoice_fields"),
                "entity": {"id": customer["id"]},
                "item": {"items": [{"item": {"id": str(p["item_id"])}, "amount": amount}]}}
        if p["invoice_external_id"] is not None:
            body["externalId"] = p["invoice_external_id"]
        invoice = _create(sim, tenant, rtype, body, invoice_id)
    if invoice["entity"]["id"] != customer_id:
        raise StateError(f"invoice {invoice_id} belongs to customer {invoice['entity']['id']}, "
                         f"not {customer_id}")
    if invoice["status"]["id"] != "open":
        raise StateError(f"invoice {invoice_id} exists but is {invoice['status']['refName']}")
    return {"invoice_id": invoice_id, "customer_id": customer_id, "tran_id": invoice["tranId"],
            "amount_remaining": invoice["amountRemaining"]}


# -- custom records ---------------------------------------------------------------------------
def _subscription_type(tenant: Tenant, wanted: str | None) -> RecordType:
    customs = [rt for rt in models.record_types(tenant) if rt.is_custom_record]
    schema = tenant.schema
    where = (f"the schema {schema.name!r} of account {tenant.id}" if schema is not None
             else f"account {tenant.id} (it has no schema)")
    if wanted is not None:
        found = next((rt for rt in customs if rt.name == str(wanted).lower()), None)
        if found is None:
            raise StateError(f"{where} has no custom record type {wanted!r}; it has "
                             f"{', '.join(rt.name for rt in customs) or 'none'}")
        return found
    found = next((rt for rt in customs if "subscription" in rt.name
                  or "subscription" in rt.label.lower()), None)
    if found is None:
        raise StateError(f"{where} has no custom record type for subscriptions (a "
                         f"customrecord_* named or labelled Subscription); custom record "
                         f"types: {', '.join(rt.name for rt in customs) or 'none'}")
    return found


def _placeholder(fdef: Any, now: float) -> Any:
    """A value for a required custom field nobody gave: plain, and accepted by the field."""
    moment = datetime.fromtimestamp(now, UTC)
    by_type = {"picklist": fdef.values[0] if fdef.values else None,
               "multipicklist": list(fdef.values[:1]), "boolean": False,
               "date": moment.date().isoformat(),
               "datetime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "email": "billing@acme.example", "url": "https://acme.example",
               "phone": "+1 555 0100", "int": 1, "double": 1, "currency": 1, "percent": 1}
    return by_type.get(fdef.type, fdef.label)


def a_custom_subscription_record(sim: Simulator, tenant: Tenant,
                                 params: dict[str, Any]) -> dict[str, Any]:
    p = take_params(params, SUBSCRIPTION_RECORD)
    rtype = _subscription_type(tenant, p["record_type"])
    record_id = _internal_id(p["record_id"], "record_id")
    customer_id = _internal_id(p["customer_id"], "customer_id")
    assert rtype.custom is not None
    links = [f for f in rtype.custom.fields.values()
             if f.type == "reference" and (f.to or "").lower() == "customer"]
    record = _existing(tenant, rtype, record_id)
    if record is None:
        _customer(sim, tenant, p)
        body = dict(field_values(p["record_fields"], "record_fields"))
        given = {name.lower() for name in body}
        for fdef in links[:1]:
            if fdef.name.lower() not in given:
                body[fdef.name] = {"id": customer_id}
        for fdef in rtype.custom.required_fields():
            if fdef.has_default or fdef.name.lower() in given or fdef.name in body:
                continue
            if fdef.type == "reference":
                raise StateError(f"{rtype.name} requires {fdef.name} (a {fdef.to} reference); "
                                 f"give it in record_fields")
            body[fdef.name] = _placeholder(fdef, sim.clock.now())
        body["name"] = p["name"] or f"{rtype.label} {record_id}"
        if p["record_external_id"] is not None:
            body["externalId"] = p["record_external_id"]
        record = _create(sim, tenant, rtype, body, record_id)
    linked = [(record.get(f.name) or {}).get("id") for f in links]
    if links and customer_id not in linked:
        raise StateError(f"{rtype.name} {record_id} exists, linked to customer "
                         f"{next((x for x in linked if x), None)}, not {customer_id}")
    return {"record_type": rtype.name, "record_id": record_id, "customer_id": customer_id}


def _state(name: str, description: str, setup: Any,
           spec: ParamSpec) -> ProviderState:
    return ProviderState(name, description, _guarded(name, setup), describe_params(spec))


STATES = states_by_name(
    _state("a customer", "A company customer (isPerson false) with the given internal id.",
           a_customer, CUSTOMER),
    _state("an open invoice",
           "An invoice of the customer, one line of amount, status Open (SuiteQL status A) "
           "with the whole amount remaining.", an_open_invoice, INVOICE),
    _state("a custom subscription record",
           "A record of the account schema's custom subscription record type, linked to the "
           "customer; a StateError names the schema when it has no such type.",
           a_custom_subscription_record, SUBSCRIPTION_RECORD),
)
