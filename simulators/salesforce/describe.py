"""The objects of one org (standard objects plus the tenant schema) and their describe bodies.

`OrgSchema(tenant.schema)` merges the built-in standard objects (Account, Contact, Opportunity,
User, Contract, Product2) with the schema's custom fields and custom objects. Standard fields
keep Salesforce's names, types and flags; custom ones are `custom: true`, and custom picklists are
restricted (the default for picklists created since Spring '17), standard ones are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulators.core.schemas import FieldDef, ObjectDef, Schema
from simulators.salesforce import ids

SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
    "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
    "date": "xsd:date", "datetime": "xsd:dateTime",
}
TEXT_LENGTH = {"string": 255, "textarea": 32768, "email": 80, "phone": 40, "url": 255,
               "picklist": 255, "multipicklist": 4099, "id": 18, "reference": 18}


@dataclass(frozen=True)
class SfField:
    """One field as describe shows it, plus the `FieldDef` that checks written values."""

    name: str
    type: str  # describe type: id, string, reference, picklist, datetime, ...
    label: str
    defn: FieldDef
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    required: bool = False  # REQUIRED_FIELD_MISSING when absent on create
    calculated: bool = False
    restricted: bool = False  # restricted picklist
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    name_field: bool = False
    id_lookup: bool = False

    @property
    def external_id(self) -> bool:
        return self.defn.external_id

    @property
    def unique(self) -> bool:
        return self.defn.unique

    @property
    def length(self) -> int:
        if self.type in TEXT_LENGTH:
            return self.defn.length or TEXT_LENGTH[self.type]
        return 0


@dataclass
class SObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool
    fields: dict[str, SfField] = field(default_factory=dict)

    def field(self, name: str) -> SfField | None:
        found = self.fields.get(name)
        if found is None:
            folded = name.casefold()
            found = next((f for n, f in self.fields.items() if n.casefold() == folded), None)
        return found


def _f(name: str, type_: str, label: str | None = None, *, values: tuple[str, ...] = (),
       to: str | None = None, rel: str | None = None, length: int | None = None,
       precision: int | None = None, scale: int | None = None, **flags: Any) -> SfField:
    """A standard field. System fields pass createable/updateable False."""
    defn = FieldDef(name=name, type="reference" if type_ == "reference" else type_,
                    label=label or name, values=values, length=length, precision=precision,
                    scale=scale, to=to, relationship=rel)
    return SfField(name=name, type=type_, label=label or name, defn=defn,
                   reference_to=(to,) if to else (), relationship_name=rel, **flags)


_SYSTEM = {"createable": False, "updateable": False}


def _head(label_prefix: str) -> list[SfField]:
    return [_f("Id", "id", f"{label_prefix} ID", nillable=False, id_lookup=True, **_SYSTEM),
            _f("IsDeleted", "boolean", "Deleted", nillable=False, **_SYSTEM)]


def _audit() -> list[SfField]:
    return [
        _f("CreatedDate", "datetime", "Created Date", nillable=False, **_SYSTEM),
        _f("CreatedById", "reference", "Created By ID", to="User", rel="CreatedBy",
           nillable=False, **_SYSTEM),
        _f("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, **_SYSTEM),
        _f("LastModifiedById", "reference", "Last Modified By ID", to="User",
           rel="LastModifiedBy", nillable=False, **_SYSTEM),
        _f("SystemModstamp", "datetime", "System Modstamp", nillable=False, **_SYSTEM),
    ]


def _owner() -> SfField:
    return _f("OwnerId", "reference", "Owner ID", to="User", rel="Owner", nillable=False)


ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel",
                 "Channel Partner / Reseller", "Installation Partner", "Technology Partner",
                 "Other")
INDUSTRIES = ("Agriculture", "Banking", "Communications", "Consulting", "Education",
              "Electronics", "Energy", "Finance", "Healthcare", "Insurance", "Manufacturing",
              "Media", "Retail", "Technology", "Telecommunications", "Other")
STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
          "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
          "Negotiation/Review", "Closed Won", "Closed Lost")


def _standard_objects() -> list[SObjectDef]:
    address = [_f(f"{kind}{part}", "textarea" if part == "Street" else "string",
                  f"{kind} {part}", length=255 if part == "Street" else 80)
               for kind in ("Billing",) for part in ("Street", "City", "State", "PostalCode",
                                                      "Country")]
    account = [
        *_head("Account"),
        _f("Name", "string", "Account Name", length=255, nillable=False, required=True,
           name_field=True),
        _f("Type", "picklist", "Account Type", values=ACCOUNT_TYPES),
        _f("ParentId", "reference", "Parent Account ID", to="Account", rel="Parent"),
        *address,
        _f("Phone", "phone", "Account Phone", length=40),
        _f("Website", "url", "Website", length=255),
        _f("Industry", "picklist", "Industry", values=INDUSTRIES),
        _f("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        _f("NumberOfEmployees", "int", "Employees", precision=8),
        _f("AccountNumber", "string", "Account Number", length=40),
        _f("Description", "textarea", "Account Description", length=32000),
        _owner(), *_audit(),
    ]
    contact = [
        *_head("Contact"),
        _f("AccountId", "reference", "Account ID", to="Account", rel="Account"),
        _f("LastName", "string", "Last Name", length=80, nillable=False, required=True),
        _f("FirstName", "string", "First Name", length=40),
        _f("Name", "string", "Full Name", length=121, nillable=False, name_field=True,
           calculated=True, **_SYSTEM),
        _f("Email", "email", "Email", length=80),
        _f("Phone", "phone", "Business Phone", length=40),
        _f("Title", "string", "Title", length=128),
        _f("MailingCity", "string", "Mailing City", length=40),
        _f("MailingCountry", "string", "Mailing Country", length=80),
        _owner(), *_audit(),
    ]
    opportunity = [
        *_head("Opportunity"),
        _f("AccountId", "reference", "Account ID", to="Account", rel="Account"),
        _f("Name", "string", "Name", length=120, nillable=False, required=True,
           name_field=True),
        _f("StageName", "picklist", "Stage", values=STAGES, nillable=False, required=True),
        _f("CloseDate", "date", "Close Date", nillable=False, required=True),
        _f("Amount", "currency", "Amount", precision=18, scale=2),
        _f("Probability", "percent", "Probability (%)", precision=3, scale=0),
        _f("Type", "picklist", "Opportunity Type",
           values=("Existing Customer - Upgrade", "Existing Customer - Replacement",
                   "Existing Customer - Downgrade", "New Customer")),
        _f("Description", "textarea", "Description", length=32000),
        _f("IsClosed", "boolean", "Closed", nillable=False, calculated=True, **_SYSTEM),
        _f("IsWon", "boolean", "Won", nillable=False, calculated=True, **_SYSTEM),
        _owner(), *_audit(),
    ]
    user = [
        _f("Id", "id", "User ID", nillable=False, id_lookup=True, **_SYSTEM),
        _f("Username", "string", "Username", length=80, nillable=False, required=True),
        _f("LastName", "string", "Last Name", length=80, nillable=False, required=True),
        _f("FirstName", "string", "First Name", length=40),
        _f("Name", "string", "Full Name", length=121, nillable=False, name_field=True,
           calculated=True, **_SYSTEM),
        _f("Email", "email", "Email", length=128, nillable=False, required=True),
        _f("IsActive", "boolean", "Active", nillable=False),
        *_audit(),
    ]
    contract = [
        *_head("Contract"),
        _f("AccountId", "reference", "Account ID", to="Account", rel="Account",
           nillable=False, required=True),
        _f("ContractNumber", "string", "Contract Number", length=30, nillable=False,
           name_field=True, **_SYSTEM),
        _f("Status", "picklist", "Status", values=("Draft", "In Approval Process", "Activated"),
           nillable=False),
        _f("StartDate", "date", "Contract Start Date"),
        _f("ContractTerm", "int", "Contract Term", precision=4),
        _owner(), *_audit(),
    ]
    product = [
        *_head("Product"),
        _f("Name", "string", "Product Name", length=255, nillable=False, required=True,
           name_field=True),
        _f("ProductCode", "string", "Product Code", length=255),
        _f("Family", "picklist", "Product Family", values=("None",)),
        _f("IsActive", "boolean", "Active", nillable=False),
        _f("Description", "textarea", "Product Description", length=4000),
        *_audit(),
    ]
    table = [("Account", "Account", "Accounts", "001", account),
             ("Contact", "Contact", "Contacts", "003", contact),
             ("Opportunity", "Opportunity", "Opportunities", "006", opportunity),
             ("User", "User", "Users", ids.USER_PREFIX, user),
             ("Contract", "Contract", "Contracts", "800", contract),
             ("Product2", "Product", "Products", "01t", product)]
    return [SObjectDef(name, label, plural, prefix, False, {f.name: f for f in fields})
            for name, label, plural, prefix, fields in table]


def _custom_field(defn: FieldDef) -> SfField:
    type_ = "string" if defn.type == "id" else defn.type
    reference_to = (defn.to,) if defn.type == "reference" and defn.to else ()
    return SfField(name=defn.name, type=type_, label=defn.label, defn=defn, custom=True,
                   nillable=not defn.required and defn.type != "boolean",
                   required=defn.required and not defn.has_default,
                   restricted=defn.type in ("picklist", "multipicklist"),
                   reference_to=reference_to,
                   relationship_name=defn.relationship if reference_to else None,
                   id_lookup=defn.external_id or defn.unique)


def _custom_object(obj: ObjectDef, prefix: str) -> SObjectDef:
    fields = [
        *_head(obj.label),
        _owner(),
        # A text Name field: optional over the API (Salesforce then stores the record id).
        _f("Name", "string", f"{obj.label} Name", length=80, nillable=True, name_field=True),
        *_audit(),
        *(_custom_field(d) for d in obj.fields.values()),
    ]
    return SObjectDef(obj.name, obj.label, obj.label + "s", prefix, True,
                      {f.name: f for f in fields})


class OrgSchema:
    """Every sObject one org has; case-insensitive lookups by name and key prefix."""

    def __init__(self, schema: Schema | None) -> None:
        objects = {o.name: o for o in _standard_objects()}
        used = {o.key_prefix for o in objects.values()}
        customs = schema.custom_objects() if schema else ()
        used |= {o.key_prefix for o in customs if o.key_prefix}
        generated = (f"a{n // 36:01d}{'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[n % 36]}"
                     for n in range(360))
        for obj in customs:
            prefix = obj.key_prefix or next(p for p in generated if p not in used)
            used.add(prefix)
            objects[obj.name] = _custom_object(obj, prefix)
        for obj in (schema.objects.values() if schema else ()):
            target = objects.get(obj.name)
            if not obj.custom and target is not None:
                target.fields.update({d.name: _custom_field(d) for d in obj.fields.values()})
        self.objects = objects
        self._folded = {name.casefold(): o for name, o in objects.items()}
        self._prefixes = {o.key_prefix: o for o in objects.values()}

    def get(self, name: str) -> SObjectDef | None:
        return self._folded.get(name.casefold())

    def by_prefix(self, key_prefix: str) -> SObjectDef | None:
        return self._prefixes.get(key_prefix)

    def children(self, parent: str) -> list[tuple[SObjectDef, SfField]]:
        return [(o, f) for o in self.objects.values() for f in o.fields.values()
                if f.type == "reference" and parent in f.reference_to
                and f.name not in ("CreatedById", "LastModifiedById")]


# ---- describe bodies ----------------------------------------------------------------------

def _urls(base: str, obj: SObjectDef) -> dict[str, str]:
    url = f"{base}/sobjects/{obj.name}"
    return {"compactLayouts": f"{url}/describe/compactLayouts", "rowTemplate": f"{url}/{{ID}}",
            "describe": f"{url}/describe", "sobject": url}


def object_summary(base: str, obj: SObjectDef) -> dict[str, Any]:
    """An entry of the global describe (`GET /sobjects`) and of `GET /sobjects/{X}`."""
    writable = obj.name != "User"
    return {
        "activateable": False, "createable": writable, "custom": obj.custom,
        "customSetting": False, "deletable": writable, "deprecatedAndHidden": False,
        "feedEnabled": False, "hasSubtypes": False, "isSubtype": False,
        "keyPrefix": obj.key_prefix, "label": obj.label, "labelPlural": obj.label_plural,
        "layoutable": True, "mergeable": obj.name in ("Account", "Contact"), "mruEnabled": True,
        "name": obj.name, "queryable": True, "replicateable": True, "retrieveable": True,
        "searchable": True, "triggerable": True, "undeletable": True, "updateable": writable,
        "urls": _urls(base, obj),
    }


def _picklist_values(f: SfField) -> list[dict[str, Any]]:
    default = f.defn.default
    return [{"active": True, "defaultValue": value == default, "label": value, "validFor": None,
             "value": value} for value in f.defn.values]


def describe_field(f: SfField) -> dict[str, Any]:
    d = f.defn
    numeric = f.type in ("int", "double", "currency", "percent")
    length = f.length
    default = d.default_value()
    if isinstance(default, list):
        default = ";".join(default)
    return {
        "aggregatable": f.type not in ("textarea", "multipicklist"), "autoNumber": False,
        "byteLength": length * 3, "calculated": f.calculated, "calculatedFormula": None,
        "cascadeDelete": False, "caseSensitive": False, "controllerName": None,
        "createable": f.createable, "custom": f.custom,
        "defaultValue": default if f.type in ("picklist", "multipicklist") else None,
        "defaultValueFormula": None if default is None or f.type in ("picklist", "multipicklist")
        else repr(default) if isinstance(default, str) else str(default).lower(),
        "defaultedOnCreate": default is not None or f.type == "boolean" or f.name in (
            "Id", "OwnerId", "CreatedDate", "CreatedById", "LastModifiedDate",
            "LastModifiedById", "SystemModstamp"),
        "dependentPicklist": False, "deprecatedAndHidden": False,
        "digits": (d.precision or 9) if f.type == "int" else 0,
        "externalId": f.external_id, "filterable": f.type not in ("textarea",),
        "groupable": f.type not in ("double", "currency", "percent", "textarea", "datetime"),
        "htmlFormatted": False, "idLookup": f.id_lookup, "inlineHelpText": d.description,
        "label": f.label, "length": length, "name": f.name, "nameField": f.name_field,
        "namePointing": False, "nillable": f.nillable,
        "picklistValues": _picklist_values(f),
        "polymorphicForeignKey": False,
        "precision": (d.precision or 18) if numeric and f.type != "int" else 0,
        "referenceTargetField": None, "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name, "relationshipOrder": None,
        "restrictedPicklist": f.restricted,
        "scale": (d.scale or 0) if numeric and f.type != "int" else 0,
        "soapType": SOAP_TYPES.get(f.type, "xsd:string"), "sortable": f.type != "textarea",
        "type": f.type, "unique": f.unique, "updateable": f.updateable,
    }


def child_relationship_name(child: SObjectDef, f: SfField) -> str:
    if not child.custom and not f.custom:
        return "ChildAccounts" if f.name == "ParentId" else child.label_plural.replace(" ", "")
    base = child.name[:-3] if child.name.endswith("__c") else child.name
    return f"{base}s__r"


def describe_object(base: str, org: OrgSchema, obj: SObjectDef) -> dict[str, Any]:
    children = [{"cascadeDelete": False, "childSObject": child.name,
                 "deprecatedAndHidden": False, "field": f.name,
                 "relationshipName": child_relationship_name(child, f),
                 "restrictedDelete": False}
                for child, f in org.children(obj.name)]
    return {**object_summary(base, obj), "childRelationships": children,
            "fields": [describe_field(f) for f in obj.fields.values()],
            "recordTypeInfos": [], "supportedScopes": [{"label": "All", "name": "everything"}],
            "urls": {**_urls(base, obj), "uiDetailTemplate": None}}

