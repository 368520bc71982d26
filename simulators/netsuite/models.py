"""NetSuite records and their business rules, without HTTP.

A record is a plain dict in `tenant.collection("records.<type>")`, keyed by its internal id:
standard fields by their REST names, custom fields by script id, references as `{"id": "7"}`,
sublists (`item` on invoice, `apply` on customerpayment) as lists of line dicts, dates as
"YYYY-MM-DD" and times as "YYYY-MM-DDTHH:MM:SSZ". Internal ids come from per-tenant counters, one
per id space as in NetSuite: entities share one, transactions share one, each custom record type
has its own. Custom fields are checked against the tenant's schema (simulators/core/schemas/).
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from simulators.core import lookup
from simulators.core.schemas import FieldDef, FieldValueError, ObjectDef
from simulators.core.tenancy import Tenant
from simulators.core.text import find_unencodable
from simulators.core.vendor import VendorError
from simulators.netsuite import errors

CUSTOM_PREFIXES = ("custentity", "custbody", "custrecord", "custcol", "custitem", "custevent")
CENTS = 2


@dataclass(frozen=True)
class StdField:
    kind: str  # text | bool | number | date | datetime | ref | select | sublist
    label: str
    to: str | None = None  # ref: the record type referenced (None: not modelled here)
    readonly: bool = False


def _f(kind: str, label: str, to: str | None = None, readonly: bool = False) -> StdField:
    return StdField(kind, label, to, readonly)


COMMON = {
    "externalId": _f("text", "External ID"),
    "dateCreated": _f("datetime", "Date Created", readonly=True),
    "lastModifiedDate": _f("datetime", "Last Modified Date", readonly=True),
    "customForm": _f("ref", "Custom Form"),
}
ENTITY = {
    "entityId": _f("text", "Customer ID"), "companyName": _f("text", "Company Name"),
    "firstName": _f("text", "First Name"), "lastName": _f("text", "Last Name"),
    "middleName": _f("text", "Middle Name"), "salutation": _f("text", "Mr./Ms..."),
    "isPerson": _f("bool", "Type"), "email": _f("text", "Email"), "phone": _f("text", "Phone"),
    "altPhone": _f("text", "Alt. Phone"), "fax": _f("text", "Fax"),
    "url": _f("text", "Web Address"),
    "comments": _f("text", "Comments"), "isInactive": _f("bool", "Inactive"),
    "subsidiary": _f("ref", "Subsidiary"), "currency": _f("ref", "Currency", "currency"),
    "terms": _f("ref", "Terms"), "category": _f("ref", "Category"),
    "entityStatus": _f("ref", "Status"), "leadSource": _f("ref", "Lead Source"),
    "salesRep": _f("ref", "Sales Rep"), "parent": _f("ref", "Child Of", "customer"),
    "creditLimit": _f("number", "Credit Limit"), "taxable": _f("bool", "Taxable"),
    "accountNumber": _f("text", "Account"), "vatRegNumber": _f("text", "Tax Number"),
    "emailPreference": _f("select", "Email Preference"), "language": _f("select", "Language"),
    "defaultAddress": _f("text", "Default Address", readonly=True),
    "balance": _f("number", "Balance", readonly=True),
    "overdueBalance": _f("number", "Overdue Balance", readonly=True),
}
TRANSACTION = {
    "tranId": _f("text", "Number"), "tranDate": _f("date", "Date"),
    "postingPeriod": _f("ref", "Posting Period"), "subsidiary": _f("ref", "Subsidiary"),
    "currency": _f("ref", "Currency", "currency"),
    "exchangeRate": _f("number", "Exchange Rate"),
    "memo": _f("text", "Memo"), "department": _f("ref", "Department"),
    "class": _f("ref", "Class"), "location": _f("ref", "Location"),
    "status": _f("select", "Status", readonly=True), "total": _f("number", "Total", readonly=True),
}
INVOICE = {
    **TRANSACTION, "entity": _f("ref", "Customer", "customer"), "dueDate": _f("date", "Due Date"),
    "terms": _f("ref", "Terms"), "otherRefNum": _f("text", "PO #"), "email": _f("text", "Email"),
    "salesRep": _f("ref", "Sales Rep"), "account": _f("ref", "Account"),
    "approvalStatus": _f("select", "Approval Status"), "billAddress": _f("text", "Bill To"),
    "item": _f("sublist", "Items"), "subtotal": _f("number", "Subtotal", readonly=True),
    "amountPaid": _f("number", "Amount Paid", readonly=True),
    "amountRemaining": _f("number", "Amount Remaining", readonly=True),
}
PAYMENT = {
    **TRANSACTION, "customer": _f("ref", "Customer", "customer"),
    "payment": _f("number", "Payment Amount"), "account": _f("ref", "Account"),
    "paymentMethod": _f("ref", "Payment Method"), "checkNum": _f("text", "Check #"),
    "undepFunds": _f("bool", "Undep. Funds"), "apply": _f("sublist", "Apply"),
    "applied": _f("number", "Applied", readonly=True),
    "unapplied": _f("number", "Unapplied", readonly=True),
}
CUSTOM_RECORD = {"name": _f("text", "Name"), "isInactive": _f("bool", "Inactive"),
                 "owner": _f("ref", "Owner")}
# Lists > Accounting > Currencies. A reference to a currency shows the record's *name* as its
# refName ("US Dollar"); the ISO 4217 code is the record's `symbol` (labelled "ISO Code" in the
# UI), and `displaySymbol` is what amounts are printed with ("$").
CURRENCY = {
    "externalId": COMMON["externalId"], "lastModifiedDate": COMMON["lastModifiedDate"],
    "name": _f("text", "Name"), "symbol": _f("text", "ISO Code"),
    "displaySymbol": _f("text", "Symbol"),
    "currencyPrecision": _f("number", "Currency Precision"),
    "exchangeRate": _f("number", "Default Exchange Rate (to root subsidiary currency)"),
    "isBaseCurrency": _f("bool", "Base Currency", readonly=True),
    "isInactive": _f("bool", "Inactive"),
    "overrideCurrencyFormat": _f("bool", "Override Currency Format"),
}
# Every account starts with these currency records [U: internal ids and names as commonly seen
# in US accounts (1 US Dollar, 2 British pound, 3 Canadian Dollar, 4 Euro); exchange rates are
# placeholders]. The tenant setting `base_currency` (an ISO code of this list, default USD)
# picks the base currency: the default of new customers, and through them of transactions.
DEFAULT_CURRENCIES = (
    ("1", "US Dollar", "USD", "$", 1.0),
    ("2", "British Pound", "GBP", "£", 1.27),
    ("3", "Canadian Dollar", "CAD", "$", 0.74),
    ("4", "Euro", "EUR", "€", 1.09),
)
INVOICE_LINE = {"item", "quantity", "rate", "amount", "description", "line", "taxCode",
                "price", "department", "class", "location"}
# status ids as REST shows them, and SuiteQL's letter codes (transaction.status)
INVOICE_STATUS = {"open": ("Open", "A"), "paidInFull": ("Paid In Full", "B")}
PAYMENT_STATUS = {"notDeposited": ("Not Deposited", "B"), "deposited": ("Deposited", "C")}


@dataclass(frozen=True)
class RecordType:
    name: str  # lower case: the key everywhere (customer, invoice, customerpayment, customrecord_x)
    path: str  # as it appears in URLs NetSuite builds (customerPayment)
    label: str
    id_space: str
    fields: dict[str, StdField]
    custom: ObjectDef | None = None  # the schema's custom fields for this type
    is_custom_record: bool = False
    required: tuple[str, ...] = field(default=())

    def custom_field(self, name: str) -> FieldDef | None:
        """`custom.field(name)` (any case), remembered per schema object and name."""
        custom = self.custom
        if custom is None:
            return None
        entry = _CUSTOM_FIELDS.get(id(custom))
        if entry is None or entry[0] is not custom:
            entry = _CUSTOM_FIELDS[id(custom)] = (custom, {})
            while len(_CUSTOM_FIELDS) > _CUSTOM_FIELDS_KEEP:
                _CUSTOM_FIELDS.pop(next(iter(_CUSTOM_FIELDS)))
        names = entry[1]
        if name in names:
            return names[name]
        found = custom.field(name)
        if len(names) < _CUSTOM_NAMES_KEEP:
            names[name] = found
        return found

    def std(self, name: str) -> tuple[str, StdField] | None:
        if name in self.fields:
            return name, self.fields[name]
        folded = name.casefold()
        return next(((n, f) for n, f in self.fields.items() if n.casefold() == folded), None)


# custom field lookups by name, per schema object (`RecordType.custom_field`)
_CUSTOM_FIELDS: dict[int, tuple[ObjectDef, dict[str, FieldDef | None]]] = {}
_CUSTOM_FIELDS_KEEP, _CUSTOM_NAMES_KEEP = 256, 4096

STANDARD = {
    "customer": ("customer", "Customer", "entity", {**COMMON, **ENTITY}),
    "invoice": ("invoice", "Invoice", "transaction", {**COMMON, **INVOICE}),
    "customerpayment": ("customerPayment", "Customer Payment", "transaction",
                        {**COMMON, **PAYMENT}),
    "currency": ("currency", "Currency", "currency", CURRENCY),
}


def record_type(tenant: Tenant, name: str) -> RecordType | None:
    """The record type called `name` (any case) in this account, with its custom fields."""
    key = name.lower()
    schema = tenant.schema
    custom = schema.object(key) if schema is not None else None
    if key in STANDARD:
        path, label, space, fields = STANDARD[key]
        return RecordType(key, path, label, space, fields, custom)
    if key.startswith("customrecord") and custom is not None and custom.custom:
        return RecordType(key, key, custom.label, key, {**COMMON, **CUSTOM_RECORD}, custom, True)
    return None


def record_types(tenant: Tenant) -> list[RecordType]:
    names = list(STANDARD)
    if tenant.schema is not None:
        names += [o.name.lower() for o in tenant.schema.custom_objects()]
    return [rt for n in names if (rt := record_type(tenant, n)) is not None]


def records(tenant: Tenant, rtype: RecordType | str) -> dict[str, dict[str, Any]]:
    name = rtype if isinstance(rtype, str) else rtype.name
    found = tenant.collection(f"records.{name}")
    if name == "currency" and not found and not tenant.counters.get("ids.currency"):
        _default_currencies(tenant, found)
    return found


def _default_currencies(tenant: Tenant, into: dict[str, dict[str, Any]]) -> None:
    """The account's currency records, made the first time anything reads them."""
    base = str(tenant.settings.get("base_currency") or "USD").upper()
    for record_id, name, code, shown, rate in DEFAULT_CURRENCIES:
        into[record_id] = {
            "id": record_id, "name": name, "symbol": code, "displaySymbol": shown,
            "currencyPrecision": 2.0, "exchangeRate": 1.0 if code == base else rate,
            "isBaseCurrency": code == base, "isInactive": False,
            "overrideCurrencyFormat": False, "lastModifiedDate": timestamp(0)}
    tenant.counters["ids.currency"] = len(DEFAULT_CURRENCIES)


def base_currency(tenant: Tenant) -> dict[str, str]:
    """A reference to the account's base currency."""
    found = next((r for r in records(tenant, "currency").values() if r.get("isBaseCurrency")),
                 None)
    return {"id": found["id"] if found else DEFAULT_CURRENCIES[0][0]}


def timestamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def today(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).date().isoformat()


def money(value: float) -> float:
    return round(float(value), CENTS)


def finite(value: Any) -> float:
    """A number as NetSuite takes it (numeric strings too); NaN, infinities (not JSON, so a
    stored one would break every later read) and magnitudes over MAX_AMOUNT raise ValueError."""
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        raise ValueError(value) from None
    if not math.isfinite(number) or abs(number) > MAX_AMOUNT:
        raise ValueError(value)
    return number


# -- what NetSuite bounds ----------------------------------------------------------------------
# Amounts: the largest a double holds to the cent (15 significant digits) [U: NetSuite's own
# maximum is not documented in the sources at hand].
MAX_AMOUNT = 9_999_999_999_999.99
# Standard text fields [3P: a NetSuite customer import template's character limits], every
# other one 4000 (a Text Area) [U]; custom text without a schema length: Free-Form Text 300,
# Text Area 4000 [U].
TEXT_LENGTHS = {"companyName": 83, "entityId": 80, "comments": 4000}
DEFAULT_TEXT_LENGTH = 4000
CUSTOM_TEXT_LENGTHS = {"textarea": 4000}
DEFAULT_CUSTOM_LENGTH = 300


def encodable(body: dict[str, Any]) -> dict[str, Any]:
    """`body` if all its text can be encoded as UTF-8, else INVALID_CONTENT at its JSON path."""
    path = find_unencodable(body)
    if path is None:
        return body
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    shown = where.encode("utf-8", "backslashreplace").decode()
    raise errors.invalid_content("The value is not valid UTF-8 text.", shown or None)


def check_length(name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise errors.too_long(name, limit)
    return value


# -- lookups ---------------------------------------------------------------------------------
def find(tenant: Tenant, rtype: RecordType, ref: str) -> dict[str, Any] | None:
    """A record by internal id or `eid:<externalId>`."""
    if ref.startswith("eid:"):
        return find_external(tenant, rtype, ref[4:])
    return records(tenant, rtype).get(ref)


def find_external(tenant: Tenant, rtype: RecordType, external_id: str) -> dict[str, Any] | None:
    """The first record (in stored order) with this external id."""
    found = _referring(tenant, rtype.name, "externalId", external_id)
    if found is None or len(found) > 1:  # the index cannot tell which came first
        found = [r for r in records(tenant, rtype).values() if r.get("externalId") == external_id]
    return found[0] if found else None


def _referring(tenant: Tenant, type_name: str, field_: str,
               value: str) -> list[dict[str, Any]] | None:
    """The records of `type_name` whose `field_` is `value` (a reference: its id), by index
    (core/lookup.py); None if the index cannot tell."""
    return lookup.hits(tenant, records(tenant, type_name), type_name, field_,
                       _reference_key(field_), value)


@functools.cache
def _reference_key(field_: str) -> lookup.KeyOf:
    def key_of(record: dict[str, Any]) -> Any:
        value = record.get(field_)
        return value.get("id") if isinstance(value, dict) else value
    return key_of


def balance(tenant: Tenant, customer_id: str) -> float:
    """What a customer owes: the amounts remaining on its invoices."""
    invoices = _referring(tenant, "invoice", "entity", customer_id) or []
    return money(sum(inv.get("amountRemaining", 0.0) for inv in invoices))


def ref_name(tenant: Tenant, type_name: str, record: dict[str, Any]) -> str | None:
    if type_name == "customer":
        return record.get("entityId") or record.get("companyName")
    if type_name == "invoice":
        return f"Invoice #{record.get('tranId')}"
    if type_name == "customerpayment":
        return f"Payment #{record.get('tranId')}"
    return record.get("name") or record.get("id")


# -- writing -----------------------------------------------------------------------------------
@dataclass
class Write:
    """One create/update request, checked field by field into `values`."""

    tenant: Tenant
    rtype: RecordType
    body: dict[str, Any]
    strict_names: bool = True
    values: dict[str, Any] = field(default_factory=dict)

    def check(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise errors.invalid_content("The request body must be a JSON object.")
        for name, value in self.body.items():
            if name in ("id", "links", "refName"):
                continue
            if name.startswith(CUSTOM_PREFIXES):
                self._custom(name, value)
                continue
            found = self.rtype.std(name)
            if found is None:
                if self.strict_names:
                    raise errors.unknown_field(name, self.rtype.name)
                continue
            std_name, spec = found
            if not spec.readonly:
                self.values[std_name] = self._standard(std_name, spec, value)
        return self.values

    def _custom(self, name: str, value: Any) -> None:
        fdef = self.rtype.custom_field(name)
        if fdef is None:
            if self.strict_names:
                raise errors.unknown_field(name, self.rtype.name)
            return
        self.values[fdef.name] = custom_value(self.tenant, fdef, value)

    def _standard(self, name: str, spec: StdField, value: Any) -> Any:
        if value is None or spec.kind == "sublist":
            return value
        if spec.kind == "ref":
            return reference(self.tenant, name, spec.to, value)
        if spec.kind == "select":
            # a list value: its id, plain or as {"id"}; anything else is not a value
            if isinstance(value, dict) and isinstance(value.get("id"), str | int):
                value = value["id"]
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise errors.invalid_field_value(name, value)
            return {"id": str(value)}
        if spec.kind == "bool" and not isinstance(value, bool):
            raise errors.invalid_field_value(name, value)
        if spec.kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise errors.invalid_field_value(name, value)
            try:
                return finite(value)
            except ValueError:
                raise errors.invalid_field_value(name, value) from None
        if spec.kind == "date":
            try:
                return date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise errors.invalid_field_value(name, value) from None
        if spec.kind == "text" and not isinstance(value, str | int | float):
            raise errors.invalid_field_value(name, value)
        if spec.kind != "text":
            return value
        return check_length(name, str(value), TEXT_LENGTHS.get(name, DEFAULT_TEXT_LENGTH))


def reference(tenant: Tenant, name: str, target: str | None, value: Any) -> dict[str, str]:
    """A reference `{"id"}` or `{"externalId"}` → `{"id"}`, checked when the target is modelled."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = {"id": str(value)}
    if not isinstance(value, dict) or not ({"id", "externalId"} & value.keys()):
        raise errors.invalid_content(f"Invalid value for the reference field '{name}'. "
                                     "Provide an object with 'id' or 'externalId'.", name)
    rtype = record_type(tenant, target) if target else None
    if rtype is None:
        return {"id": str(value.get("id") or value.get("externalId"))}
    found = (find(tenant, rtype, str(value["id"])) if "id" in value
             else find_external(tenant, rtype, str(value["externalId"])))
    if found is None:
        raise errors.invalid_field_value(name, value.get("id") or value.get("externalId"))
    return {"id": found["id"]}


def custom_value(tenant: Tenant, fdef: FieldDef, value: Any) -> Any:
    """A custom field's value in stored form, or NetSuite's invalid-value error."""
    if fdef.type in ("picklist", "multipicklist"):
        value = _list_values(fdef, value)
    elif fdef.type == "reference" and value is not None:
        return reference(tenant, fdef.name, fdef.to, value)
    try:
        coerced = fdef.coerce(value)
    except FieldValueError:
        raise errors.invalid_field_value(fdef.name, value) from None
    if isinstance(coerced, str) and fdef.length is None:
        check_length(fdef.name, coerced, CUSTOM_TEXT_LENGTHS.get(fdef.type,
                                                                 DEFAULT_CUSTOM_LENGTH))
    return coerced


def _list_values(fdef: FieldDef, value: Any) -> Any:
    """Custom list values are `{"id": "<n>"}` (1-based position) or `{"refName": text}`; the
    plain text is accepted too. Stored as the text, as the schema names the values."""
    def one(item: Any) -> Any:
        if isinstance(item, dict):
            if "id" in item:
                index = str(item["id"])
                if index.isdigit() and 1 <= int(index) <= len(fdef.values):
                    return fdef.values[int(index) - 1]
                return f"#{index}"  # rejected by coerce
            return item.get("refName")
        return item
    if isinstance(value, dict) and "items" in value:
        return [one(i) for i in value["items"]]
    if isinstance(value, list):
        return [one(i) for i in value]
    return one(value)


def list_id(fdef: FieldDef, value: str) -> str:
    return str(fdef.values.index(value) + 1) if value in fdef.values else value


def create(tenant: Tenant, rtype: RecordType, body: Any, now: float, *,
           strict_names: bool = True, external_id: str | None = None,
           record_id: str | None = None) -> dict[str, Any]:
    """`record_id`: a chosen internal id (provider states; the caller checks it is a free
    positive integer). The id space's counter moves past it, so later ids never collide."""
    values = Write(tenant, rtype, body, strict_names).check()
    if external_id is not None:
        values["externalId"] = external_id
    if values.get("externalId") and find_external(tenant, rtype, values["externalId"]):
        raise errors.user_error("A record with the same external ID already exists.",
                                "externalId")
    record: dict[str, Any] = {}
    if rtype.custom is not None:
        for fdef in rtype.custom.fields.values():
            if fdef.has_default:
                record[fdef.name] = fdef.default_value()
    record.update(values)
    record = {k: v for k, v in record.items() if v is not None}  # null: left empty
    _require(rtype, record)
    if record_id is None:
        record_id = str(tenant.next_number(f"ids.{rtype.id_space}"))
    else:
        counter = f"ids.{rtype.id_space}"
        tenant.counters[counter] = max(tenant.counters.get(counter, 0), int(record_id))
    record = {"id": record_id, **record, "dateCreated": timestamp(now),
              "lastModifiedDate": timestamp(now)}
    if rtype.name == "customer":
        record.setdefault("entityId", record.get("companyName") or
                          " ".join(filter(None, [record.get("firstName"),
                                                 record.get("lastName")])))
        record.setdefault("isPerson", False)
        record.setdefault("isInactive", False)
        record.setdefault("currency", base_currency(tenant))  # the customer's primary currency
    elif rtype.name == "currency":
        _new_currency(tenant, record)
    elif rtype.name == "invoice":
        _new_invoice(tenant, record, now)
    elif rtype.name == "customerpayment":
        _new_payment(tenant, record, now)
    elif rtype.is_custom_record:
        record.setdefault("isInactive", False)
    objects = records(tenant, rtype)
    objects[record_id] = record
    lookup.added(tenant, objects, rtype.name, record)
    return record


def update(tenant: Tenant, rtype: RecordType, record: dict[str, Any], body: Any, now: float,
           *, strict_names: bool = True) -> dict[str, Any]:
    values = Write(tenant, rtype, body, strict_names).check()
    new_eid = values.get("externalId")
    if new_eid and new_eid != record.get("externalId"):
        other = find_external(tenant, rtype, new_eid)
        if other is not None and other["id"] != record["id"]:
            raise errors.user_error("A record with the same external ID already exists.",
                                    "externalId")
    merged = {**record, **values}
    _require(rtype, merged)
    if rtype.name == "invoice" and "item" in values:
        _invoice_lines(merged)
        merged["amountRemaining"] = money(merged["total"] - merged.get("amountPaid", 0.0))
        if merged["amountRemaining"] < 0:
            raise errors.user_error("The invoice total cannot be less than the amount paid.",
                                    "item")
        _set_invoice_status(merged)
    if rtype.name == "customerpayment" and ({"apply", "payment", "customer"} & values.keys()):
        # _apply changes nothing unless every line is valid, so a failure undoes _unapply's
        # changes only: those of the invoices the payment was applied to
        invoices = records(tenant, "invoice")
        saved = {line["doc"]["id"]: copy.deepcopy(invoices[line["doc"]["id"]])
                 for line in record.get("apply") or [] if line["doc"]["id"] in invoices}
        try:
            _unapply(tenant, record)
            _apply(tenant, merged)
        except VendorError:
            for invoice_id, invoice in saved.items():
                invoices[invoice_id].clear()
                invoices[invoice_id].update(invoice)
            raise
    for name, value in values.items():
        if value is None:
            merged.pop(name, None)  # null clears the field
    merged["lastModifiedDate"] = timestamp(now)
    changed = lookup.changing(tenant, records(tenant, rtype), rtype.name, record)
    record.clear()
    record.update(merged)
    changed()
    return record


def delete(tenant: Tenant, rtype: RecordType, record: dict[str, Any]) -> None:
    if rtype.name == "currency" and (record.get("isBaseCurrency")
                                     or _currency_in_use(tenant, record["id"])):
        raise errors.user_error("This record cannot be deleted because it has dependent records.")
    if rtype.name == "invoice" and record.get("amountPaid"):
        raise errors.user_error("This record cannot be deleted because it has dependent records.")
    if rtype.name == "customer" and _has_transactions(tenant, record["id"]):
        raise errors.user_error("This record cannot be deleted because it has dependent records.")
    if rtype.name == "customerpayment":
        _unapply(tenant, record)
    objects = records(tenant, rtype)
    if objects.pop(record["id"], None) is not None:
        lookup.removed(tenant, objects, rtype.name, record)


def _require(rtype: RecordType, record: dict[str, Any]) -> None:
    missing: list[str] = []
    if rtype.name == "customer":
        wanted = ["firstName", "lastName"] if record.get("isPerson") else ["companyName"]
        missing = [rtype.fields[n].label for n in wanted if not record.get(n)]
    elif rtype.name == "invoice" and not record.get("entity"):
        missing = ["Customer"]
    elif rtype.name == "currency":
        missing = [rtype.fields[n].label for n in ("name", "symbol") if not record.get(n)]
    elif rtype.name == "customerpayment":
        missing = [rtype.fields[n].label for n in ("customer", "payment")
                   if record.get(n) in (None, "")]
    if rtype.custom is not None:
        labels = {f.name: f.label for f in rtype.custom.fields.values()}
        missing += [labels[n] for n in rtype.custom.missing_required(record)]
    if missing:
        raise errors.missing_values(missing)


def _has_transactions(tenant: Tenant, customer_id: str) -> bool:
    return bool(_referring(tenant, "invoice", "entity", customer_id)
                or _referring(tenant, "customerpayment", "customer", customer_id))


def _new_currency(tenant: Tenant, record: dict[str, Any]) -> None:
    code = str(record["symbol"])
    taken = next((r for r in records(tenant, "currency").values()
                  if str(r.get("symbol", "")).upper() == code.upper()
                  or str(r.get("name", "")).casefold() == str(record["name"]).casefold()), None)
    if taken is not None:  # [U] NetSuite's exact words
        raise errors.user_error("A currency record with this name or ISO code already exists.",
                                "symbol" if str(taken.get("symbol")).upper() == code.upper()
                                else "name")
    record.setdefault("displaySymbol", code)
    record.setdefault("currencyPrecision", 2.0)
    record.setdefault("exchangeRate", 1.0)
    record.setdefault("isInactive", False)
    record.setdefault("overrideCurrencyFormat", False)
    record["isBaseCurrency"] = False


def _currency_in_use(tenant: Tenant, currency_id: str) -> bool:
    return any(_referring(tenant, name, "currency", currency_id)
               for name in ("customer", "invoice", "customerpayment"))


def _entity_currency(tenant: Tenant, entity: Any) -> dict[str, str]:
    """A transaction's currency when none is given: its customer's, else the base currency."""
    customer = records(tenant, "customer").get(str((entity or {}).get("id")))
    found = (customer or {}).get("currency")
    return {"id": found["id"]} if isinstance(found, dict) else base_currency(tenant)


# -- invoices and payments -------------------------------------------------------------------
def _new_invoice(tenant: Tenant, record: dict[str, Any], now: float) -> None:
    record.setdefault("currency", _entity_currency(tenant, record.get("entity")))
    record.setdefault("tranId", str(tenant.next_number("tranid.invoice", 1001)))
    record.setdefault("tranDate", today(now))
    record.setdefault("dueDate", record["tranDate"])
    _invoice_lines(record)
    record["amountPaid"] = 0.0
    record["amountRemaining"] = record["total"]
    _set_invoice_status(record)


def _invoice_lines(record: dict[str, Any]) -> None:
    block = record.get("item")
    lines = block.get("items") if isinstance(block, dict) else block
    if not isinstance(lines, list) or not lines:
        raise errors.user_error("You must enter at least one line item for this transaction.",
                                "item")
    stored = []
    for n, line in enumerate(lines):
        where = f"item.items[{n}]"
        if not isinstance(line, dict) or not isinstance(line.get("item"), dict | str | int):
            raise errors.missing_values(["Item"], where)
        unknown = set(line) - INVOICE_LINE
        if unknown:
            raise errors.unknown_field(sorted(unknown)[0], "invoice.item")
        try:
            quantity = finite(line.get("quantity", 1))
            rate = finite(line["rate"]) if line.get("rate") is not None else None
            amount = (finite(line["amount"]) if line.get("amount") is not None
                      else finite(quantity * rate) if rate is not None else None)
        except (TypeError, ValueError):
            raise errors.invalid_field_value("amount", line.get("amount"), where) from None
        if amount is None:
            raise errors.missing_values(["Amount"], where)
        if not isinstance(line.get("description", ""), str):
            raise errors.invalid_field_value("description", line["description"],
                                             f"{where}.description")
        check_length("description", line.get("description", ""), DEFAULT_TEXT_LENGTH)
        item = line["item"] if isinstance(line["item"], dict) else {"id": str(line["item"])}
        stored.append({"line": n + 1, "item": {"id": str(item.get("id"))},
                       "quantity": quantity, "rate": rate if rate is not None else amount,
                       "amount": money(amount),
                       **({"description": line["description"]} if "description" in line else {})})
    total = sum(line["amount"] for line in stored)
    if not math.isfinite(total) or abs(total) > MAX_AMOUNT:
        raise errors.invalid_field_value("amount", total, "item")
    record["item"] = stored
    record["subtotal"] = record["total"] = money(total)


def _set_invoice_status(invoice: dict[str, Any]) -> None:
    key = "paidInFull" if invoice["amountRemaining"] <= 0 else "open"
    invoice["status"] = {"id": key, "refName": INVOICE_STATUS[key][0]}


def _new_payment(tenant: Tenant, record: dict[str, Any], now: float) -> None:
    record.setdefault("currency", _entity_currency(tenant, record.get("customer")))
    record.setdefault("tranId", str(tenant.next_number("tranid.customerpayment", 1)))
    record.setdefault("tranDate", today(now))
    record.setdefault("undepFunds", True)
    key = "notDeposited" if record["undepFunds"] else "deposited"
    record["status"] = {"id": key, "refName": PAYMENT_STATUS[key][0]}
    _apply(tenant, record)


def _apply(tenant: Tenant, payment: dict[str, Any]) -> None:
    """Apply the payment to the invoices its `apply` sublist names (NetSuite's apply lines)."""
    total = money(payment["payment"])
    if total <= 0:
        raise errors.invalid_field_value("payment", payment["payment"])
    block = payment.get("apply") or {}
    lines = block.get("items", []) if isinstance(block, dict) else block
    if not isinstance(lines, list):
        raise errors.invalid_content("The 'apply' sublist must have an 'items' array.", "apply")
    invoices = records(tenant, "invoice")
    customer = (payment.get("customer") or {}).get("id")
    left, applied = total, []
    for n, line in enumerate(lines):
        where = f"apply.items[{n}]"
        if not isinstance(line, dict) or line.get("apply") is False:
            continue
        doc_id = str((line.get("doc") or {}).get("id", "")) if isinstance(line.get("doc"),
                                                                          dict) else ""
        invoice = invoices.get(doc_id)
        if invoice is None or (invoice.get("entity") or {}).get("id") != customer:
            raise errors.invalid_field_value("doc", doc_id or None, f"{where}.doc")
        remaining = invoice["amountRemaining"]
        try:
            amount = (money(finite(line["amount"])) if line.get("amount") is not None
                      else min(remaining, left))
        except (TypeError, ValueError):
            amount = -1.0
        if isinstance(line.get("amount"), bool) or amount <= 0 or amount > remaining:
            raise errors.invalid_field_value("amount", line.get("amount"), f"{where}.amount")
        if amount > left + 1e-9:
            raise errors.user_error("The total amount applied cannot exceed the payment amount.",
                                    f"{where}.amount")
        left = money(left - amount)
        applied.append((invoice, amount))
    payment["payment"] = total  # kept to the cent, as its lines and every amount are
    payment["apply"] = []
    for invoice, amount in applied:
        invoice["amountPaid"] = money(invoice.get("amountPaid", 0.0) + amount)
        invoice["amountRemaining"] = money(invoice["amountRemaining"] - amount)
        _set_invoice_status(invoice)
        payment["apply"].append({"doc": {"id": invoice["id"]}, "apply": True, "amount": amount,
                                 "type": "Invoice", "refNum": invoice.get("tranId"),
                                 "total": invoice["total"], "due": invoice["amountRemaining"]})
    payment["total"] = total
    payment["applied"] = money(total - left)
    payment["unapplied"] = left


def _unapply(tenant: Tenant, payment: dict[str, Any]) -> None:
    invoices = records(tenant, "invoice")
    for line in payment.get("apply") or []:
        invoice = invoices.get(line["doc"]["id"])
        if invoice is not None:
            invoice["amountPaid"] = money(invoice.get("amountPaid", 0.0) - line["amount"])
            invoice["amountRemaining"] = money(invoice["amountRemaining"] + line["amount"])
            _set_invoice_status(invoice)


# -- SuiteQL and filter values ---------------------------------------------------------------
def plain_value(tenant: Tenant, rtype: RecordType, name: str, value: Any) -> Any:
    """A stored value as a query sees it: ids for references and list values, typed dates."""
    if value is None:
        return None
    fdef, kind = value_kind(rtype, name)
    return plain(fdef, kind, value)


def value_kind(rtype: RecordType, name: str) -> tuple[FieldDef | None, str | None]:
    """What `plain` needs to know of field `name`: its custom field definition and its kind."""
    fdef = rtype.custom_field(name)
    spec = rtype.fields.get(name)
    return fdef, fdef.type if fdef is not None else (spec.kind if spec else None)


def plain(fdef: FieldDef | None, kind: str | None, value: Any) -> Any:
    """`plain_value` once the field's `value_kind` is known (a query looks it up once)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get("id")
    if kind == "picklist" and fdef is not None:
        return list_id(fdef, value)
    if kind == "multipicklist" and fdef is not None:
        return ", ".join(list_id(fdef, v) for v in value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "datetime":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value
