"""Provider states of the fake Salesforce (see core/states.py): named setups, with the ids given.

Records are made by `Work.create`, the write path behind `POST /sobjects/{X}` (same coercion,
required fields, uniqueness and reference checks, audit fields, change notifications), under
the ids given. An id is Salesforce's: 15 or 18 characters, starting with the object's key prefix
(001 Account, 003 Contact, the schema's prefix for custom objects), and an 18-char id must carry
its case checksum (`ids.to18`); the state returns the 18-char form. A state set up twice with the
same params finds its records and returns the same ids; an id of a deleted record, or of a
record linked to another account, is a `StateError`.
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
from simulators.salesforce import events, ids
from simulators.salesforce.describe import SfField, SObjectDef
from simulators.salesforce.models import Work, table

STATE_ID_BODY = "STATE0000001"  # the 12 chars after the key prefix of every default id

# param -> (what it is, its default; None: optional)
ACCOUNT: ParamSpec = {
    "account_id": ("the Account's id (001…, 15 or 18 chars)", ids.to18("001" + STATE_ID_BODY)),
    "name": ("the Account's Name", "Acme Corporation"),
    "fields": ("more Account fields (custom __c fields, …) as the REST API takes them", None),
}
CONTACT = {
    **ACCOUNT,
    "contact_id": ("the Contact's id (003…)", ids.to18("003" + STATE_ID_BODY)),
    "first_name": ("the Contact's FirstName", "Ada"),
    "last_name": ("the Contact's LastName", "Lovelace"),
    "email": ("the Contact's Email", "ada@acme.example"),
    "contact_fields": ("more Contact fields", None),
}
SUBSCRIPTION_RECORD = {
    **ACCOUNT,
    "object": ("the custom object", Described(
        "the schema's custom object whose name or label mentions Subscription")),
    "record_id": ("the record's id", Described("<object key prefix>" + STATE_ID_BODY)),
    "record_name": ("the record's Name", Described("Salesforce's: the record id")),
    "record_fields": ("field values; required ones left out get a placeholder (first picklist "
                      "value, today, …) and the first Account reference gets the account",
                      None),
    "junction_id": ("when the object has no Account reference but a junction object links "
                    "Account and it (Plan__c), the junction record's id",
                    Described("<junction key prefix>" + STATE_ID_BODY)),
    "junction_fields": ("the junction record's field values", None),
}






def record_id(value: Any, obj: SObjectDef, param: str) -> str:
    """A chosen id for a record of `obj`, in its canonical 18-char form, or a StateError."""
    normal = ids.normalize(value) if isinstance(value, str) else None
    if normal is None:
        raise StateError(f"{param} must be a Salesforce id (15 or 18 letters and digits), "
                         f"not {value!r}")
    if len(value) == 18 and normal != value:
        raise StateError(f"{param} {value} does not match its case checksum (the last 3 "
                         f"chars); the 18-char id of {value[:15]} is {ids.to18(value[:15])}")
    if ids.prefix(normal) != obj.key_prefix:
        raise StateError(f"{param} must start with {obj.key_prefix}, the key prefix of "
                         f"{obj.name}, not {ids.prefix(normal)}")
    return normal




def _guarded(name: str, setup: Any) -> Any:
    """Write errors (a required field, a bad picklist value) become StateErrors; the changes
    made are announced as a request's would be."""
    def run(sim: Simulator, tenant: Tenant, params: dict[str, Any]) -> dict[str, Any]:
        work = Work(tenant, sim.clock.now())
        try:
            return setup(work, params)
        except VendorError as error:
            body = error.body if isinstance(error.body, list) and error.body else [{}]
            raise StateError(f"{name}: {body[0].get('message') or error}") from None
        finally:
            events.notify(sim, tenant, work.changes, work.now)
    return run


def _existing(work: Work, obj: SObjectDef, rid: str) -> dict[str, Any] | None:
    record = table(work.tenant, obj.name).get(rid)
    if record is not None and record.get("IsDeleted"):
        raise StateError(f"{obj.name} {rid} was deleted; choose another id")
    return record


def _account(work: Work, p: dict[str, Any]) -> dict[str, Any]:
    obj = work.sobject("Account")
    rid = record_id(p["account_id"], obj, "account_id")
    record = _existing(work, obj, rid)
    if record is None:
        body = {**field_values(p["fields"], "fields"), "Name": p["name"]}
        work.create(obj, body, record_id=rid)
        record = table(work.tenant, obj.name)[rid]
    return record


def an_account(work: Work, params: dict[str, Any]) -> dict[str, Any]:
    return {"account_id": _account(work, take_params(params, ACCOUNT))["Id"]}


def an_account_with_a_contact(work: Work, params: dict[str, Any]) -> dict[str, Any]:
    p = take_params(params, CONTACT)
    account = _account(work, p)
    obj = work.sobject("Contact")
    rid = record_id(p["contact_id"], obj, "contact_id")
    contact = _existing(work, obj, rid)
    if contact is None:
        body = {**field_values(p["contact_fields"], "contact_fields"), "AccountId": account["Id"],
                "FirstName": p["first_name"], "LastName": p["last_name"], "Email": p["email"]}
        work.create(obj, body, record_id=rid)
        contact = table(work.tenant, obj.name)[rid]
    if contact["AccountId"] != account["Id"]:
        raise StateError(f"Contact {rid} belongs to Account {contact['AccountId']}, not "
                         f"{account['Id']}")
    return {"account_id": account["Id"], "contact_id": rid}


# -- custom objects ---------------------------------------------------------------------------
def _subscription_object(work: Work, wanted: str | None) -> SObjectDef:
    customs = [o for o in work.org.objects.values() if o.custom]
    schema = work.tenant.schema
    where = (f"the schema {schema.name!r} of org {work.tenant.id}" if schema is not None
             else f"org {work.tenant.id} (it has no schema)")
    if wanted is not None:
        found = work.org.get(str(wanted))
        if found is None or not found.custom:
            raise StateError(f"{where} has no custom object {wanted!r}; it has "
                             f"{', '.join(o.name for o in customs) or 'none'}")
        return found
    found = next((o for o in customs if "subscription" in o.name.lower()
                  or "subscription" in o.label.lower()), None)
    if found is None:
        raise StateError(f"{where} has no custom object for subscriptions (a __c object named "
                         f"or labelled Subscription); custom objects: "
                         f"{', '.join(o.name for o in customs) or 'none'}")
    return found


def _refs(obj: SObjectDef, target: str) -> list[SfField]:
    return [f for f in obj.fields.values() if f.type == "reference" and target in f.reference_to
            and f.createable]


def _junction(work: Work, sub: SObjectDef) -> tuple[SObjectDef, SfField, SfField] | None:
    """A custom object with references to both Account and `sub` (Plan__c), if any."""
    for obj in work.org.objects.values():
        if obj.custom and obj is not sub and _refs(obj, "Account") and _refs(obj, sub.name):
            return obj, _refs(obj, "Account")[0], _refs(obj, sub.name)[0]
    return None


def _placeholder(f: SfField, now: float) -> Any:
    """A value for a required field nobody gave: plain, and accepted by the field."""
    moment = datetime.fromtimestamp(now, UTC)
    values = f.defn.values
    by_type = {"picklist": values[0] if values else None,
               "multipicklist": values[0] if values else None,
               "date": moment.date().isoformat(), "datetime": moment.isoformat(),
               "email": "billing@acme.example", "url": "https://acme.example",
               "phone": "+1 555 0100", "int": 1, "double": 1, "currency": 1, "percent": 1}
    return by_type.get(f.type, f.label)


def _fill(work: Work, obj: SObjectDef, body: dict[str, Any],
          links: dict[str, str]) -> dict[str, Any]:
    """`body` plus the links (field -> id) and placeholders for required fields left out."""
    given = {name.casefold() for name in body}
    for name, value in links.items():
        if name.casefold() not in given:
            body[name] = value
            given.add(name.casefold())
    for f in obj.fields.values():
        if f.required and f.createable and f.name.casefold() not in given:
            if f.type == "reference":
                raise StateError(f"{obj.name} requires {f.name} (a reference to "
                                 f"{', '.join(f.reference_to)}); give it in the fields")
            body[f.name] = _placeholder(f, work.now)
    return body


def a_custom_subscription_record(work: Work, params: dict[str, Any]) -> dict[str, Any]:
    p = take_params(params, SUBSCRIPTION_RECORD)
    obj = _subscription_object(work, p["object"])
    rid = record_id(p["record_id"] or obj.key_prefix + STATE_ID_BODY, obj, "record_id")
    account_id = record_id(p["account_id"], work.sobject("Account"), "account_id")
    direct = _refs(obj, "Account")[:1]
    junction = None if direct else _junction(work, obj)
    junction_id = None
    if junction is not None:
        junction_id = record_id(p["junction_id"] or junction[0].key_prefix + STATE_ID_BODY,
                                junction[0], "junction_id")
    record = _existing(work, obj, rid)
    if record is None:
        _account(work, p)
        body = dict(field_values(p["record_fields"], "record_fields"))
        if p["record_name"] is not None:
            body["Name"] = p["record_name"]
        work.create(obj, _fill(work, obj, body, {f.name: account_id for f in direct}),
                    record_id=rid)
        record = table(work.tenant, obj.name)[rid]
    if direct and record.get(direct[0].name) != account_id:
        raise StateError(f"{obj.name} {rid} is linked to Account "
                         f"{record.get(direct[0].name)}, not {account_id}")
    created: dict[str, Any] = {"account_id": account_id, "object": obj.name, "record_id": rid}
    if junction is not None and junction_id is not None:
        jobj, to_account, to_sub = junction
        link = _existing(work, jobj, junction_id)
        if link is None:
            _account(work, p)
            body = dict(field_values(p["junction_fields"], "junction_fields"))
            work.create(jobj, _fill(work, jobj, body, {to_account.name: account_id,
                                                       to_sub.name: rid}),
                        record_id=junction_id)
            link = table(work.tenant, jobj.name)[junction_id]
        if (link.get(to_account.name), link.get(to_sub.name)) != (account_id, rid):
            raise StateError(f"{jobj.name} {junction_id} links Account "
                             f"{link.get(to_account.name)} and {obj.name} "
                             f"{link.get(to_sub.name)}, not {account_id} and {rid}")
        created.update(junction_object=jobj.name, junction_id=junction_id)
    return created


def _state(name: str, description: str, setup: Any,
           spec: ParamSpec) -> ProviderState:
    return ProviderState(name, description, _guarded(name, setup), describe_params(spec))


STATES = states_by_name(
    _state("an account", "An Account with the given id and Name.", an_account, ACCOUNT),
    _state("an account with a contact", "An Account and a Contact of it (AccountId).",
           an_account_with_a_contact, CONTACT),
    _state("a custom subscription record",
           "A record of the org schema's custom subscription object (Subscription__c, "
           "SBQQ__Subscription__c, …) linked to the account: through its Account reference, "
           "or through a junction record (Plan__c) when it has none. A StateError names the "
           "schema when it has no such object.", a_custom_subscription_record,
           SUBSCRIPTION_RECORD),
)
