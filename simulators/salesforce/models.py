"""Records of one org and the rules Salesforce applies to writes. No HTTP here.

Records live in `tenant.collection("sobject:<Name>")`, keyed by 18-char id, every field present
(null when unset), values in Salesforce's wire form (datetimes `2024-05-31T12:00:00.000+0000`,
multipicklists `"a;b"`). Deleting sets `IsDeleted` (the row stays for `queryAll`).
A `Work` is one unit of work (a request, or a composite/collection call that can roll back); it
collects the changes that become notifications once the work commits.
"""

from __future__ import annotations

import copy
import json
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from simulators.core import lookup
from simulators.core.schemas import FieldValueError
from simulators.core.tenancy import Tenant
from simulators.core.text import find_unencodable, printable
from simulators.salesforce import ids
from simulators.salesforce.describe import STAGES, OrgSchema, SfField, SObjectDef
from simulators.salesforce.errors import (
    SalesforceError,
    invalid_field_on_read,
    invalid_field_on_write,
    json_parser,
    not_found,
    not_writable,
    required_missing,
)
from simulators.salesforce.soql import FieldInfo, QueryResult, execute

TEXT = ("string", "textarea", "email", "phone", "url")
NUMBERS = ("int", "double", "currency", "percent")
def _is_email(text: str) -> bool:
    """local@domain.tld, checked without a backtracking regex (linear in the text)."""
    local, at, domain = text.partition("@")
    if not at or not local or "@" in domain or any(c.isspace() for c in text):
        return False
    dot = domain.rfind(".")
    return 0 < dot < len(domain) - 1
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_HAS_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def org_schema(tenant: Tenant) -> OrgSchema:
    """The tenant's objects, rebuilt whenever the tenant's schema object changes."""
    cached = tenant.derived.get("org_schema")
    if cached is None or cached[0] is not tenant.schema:
        cached = tenant.derived["org_schema"] = (tenant.schema, _built(tenant.schema))
    return cached[1]


# Built objects by schema (a schema is replaced, never changed, so identity is its version):
# orgs sharing a schema share them, and a reset tenant does not rebuild them (1.5 ms a time).
# The last few only: a schema drifted again and again must not keep every version alive.
_BUILT: OrderedDict[int, tuple[Any, OrgSchema]] = OrderedDict()
_BUILT_KEEP = 32


def _built(schema: Any) -> OrgSchema:
    found = _BUILT.get(id(schema))
    if found is not None and found[0] is schema:
        _BUILT.move_to_end(id(schema))
        return found[1]
    built = _BUILT[id(schema)] = (schema, OrgSchema(schema))
    while len(_BUILT) > _BUILT_KEEP:
        _BUILT.popitem(last=False)
    return built[1]


def org_id(tenant: Tenant) -> str:
    return ids.org_of(tenant)  # in ids.py: record ids carry a tag of it


def user_id(tenant: Tenant) -> str:
    return _user_of(org_id(tenant))


@lru_cache(maxsize=256)
def _user_of(org: str) -> str:
    return ids.to18(ids.USER_PREFIX + org[3:15])


def sf_datetime(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    # the year by hand: strftime's %Y does not pad years before 1000
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def table(tenant: Tenant, sobject: str) -> dict[str, dict[str, Any]]:
    return tenant.collection(f"sobject:{sobject}")


@dataclass
class Work:
    """One unit of work on an org: reads, validated writes, and the changes to announce."""

    tenant: Tenant
    now: float
    org: OrgSchema = field(init=False)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.org = org_schema(self.tenant)
        self.user = user_id(self.tenant)
        self._seed_user()

    def _seed_user(self) -> None:
        users = table(self.tenant, "User")
        if self.user in users:
            return
        settings = self.tenant.settings
        obj = self.org.get("User")
        assert obj is not None
        record = {name: None for name in obj.fields}
        stamp = sf_datetime(self.now)
        record.update(Id=self.user, Username=settings.get("username", "integration@example.com"),
                      FirstName="Integration", LastName="User", Name="Integration User",
                      Email=settings.get("username", "integration@example.com"), IsActive=True,
                      CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp,
                      CreatedById=self.user, LastModifiedById=self.user)
        users[self.user] = record

    def sobject(self, name: str) -> SObjectDef:
        obj = self.org.get(name)
        if obj is None:
            raise not_found()
        return obj

    def savepoint(self) -> tuple[dict[str, Any], dict[str, int], int]:
        return copy.deepcopy(self.tenant.data), dict(self.tenant.counters), len(self.changes)

    def rollback(self, point: tuple[dict[str, Any], dict[str, int], int]) -> None:
        data, counters, changes = point
        self.tenant.data, self.tenant.counters = data, counters
        del self.changes[changes:]

    # -- reads ----------------------------------------------------------------------------
    def find(self, obj: SObjectDef, record_id: str) -> dict[str, Any] | None:
        """A live record by 15/18-char id; None when malformed, unknown, deleted, other type."""
        normal = ids.normalize(record_id)
        record = table(self.tenant, obj.name).get(normal) if normal else None
        return None if record is None or record.get("IsDeleted") else record

    def render(self, obj: SObjectDef, record: dict[str, Any], version: str,
               fields: list[str] | None = None) -> dict[str, Any]:
        names = list(obj.fields) if fields is None else fields
        out: dict[str, Any] = {"attributes": attributes(obj.name, record["Id"], version)}
        for name in names:
            f = obj.field(name)
            if f is None:
                raise invalid_field_on_read(name, obj.name)
            out[f.name] = record.get(f.name)
        return out

    def by_external_id(self, obj: SObjectDef, f: SfField, value: str) -> list[dict[str, Any]]:
        """The live rows whose `f` matches `value`, in the table's order."""
        key = _match_key(f, value)
        found = self._indexed(obj, f, key)
        if found is None or len(found) > 1:  # the index does not keep the table's order
            found = [r for r in table(self.tenant, obj.name).values()
                     if not r.get("IsDeleted") and r.get(f.name) is not None
                     and _match_key(f, r[f.name]) == key]
        return found

    def _indexed(self, obj: SObjectDef, f: SfField, key: Any) -> list[dict[str, Any]] | None:
        def key_of(row: dict[str, Any]) -> Any:
            value = row.get(f.name)
            return None if value is None or row.get("IsDeleted") else _match_key(f, value)
        return lookup.hits(self.tenant, table(self.tenant, obj.name), obj.name, f.name, key_of,
                           key, id_field="Id")

    # -- writes ---------------------------------------------------------------------------
    def create(self, obj: SObjectDef, body: Any, *, record_id: str | None = None) -> str:
        """`record_id`: a chosen canonical 18-char id of `obj`'s key prefix (provider states;
        the caller checks it is free). Generated ids never collide with it later."""
        values = self._values(obj, body, creating=True)
        record: dict[str, Any] = {name: None for name in obj.fields}
        for f in obj.fields.values():
            if f.defn.has_default:
                record[f.name] = _wire_default(f)
            elif f.type == "boolean":
                record[f.name] = False
        record.update(values)
        if "OwnerId" in obj.fields and not record.get("OwnerId"):
            record["OwnerId"] = self.user
        missing = [f.name for f in obj.fields.values()
                   if f.required and record.get(f.name) in (None, "")]
        if missing:
            raise required_missing(missing)
        self._check_unique(obj, record, None)
        if record_id is None:
            record_id = ids.new_id(self.tenant, obj.key_prefix)
        else:
            ids.reserve(self.tenant, record_id)
        stamp = sf_datetime(self.now)
        record.update(Id=record_id, IsDeleted=False, CreatedDate=stamp, CreatedById=self.user,
                      LastModifiedDate=stamp, LastModifiedById=self.user, SystemModstamp=stamp)
        _derive(obj, record)
        record = {name: record.get(name) for name in obj.fields}
        rows = table(self.tenant, obj.name)
        rows[record_id] = record
        lookup.added(self.tenant, rows, obj.name, record)
        self._changed(obj, record, "CREATE", [n for n, v in values.items() if v is not None])
        return record_id

    def update(self, obj: SObjectDef, record: dict[str, Any], body: Any) -> None:
        values = self._values(obj, body, creating=False)
        cleared = [f.name for f in obj.fields.values()
                   if f.name in values and f.required and values[f.name] in (None, "")]
        if cleared:
            raise required_missing(cleared)
        merged = {**record, **values}
        self._check_unique(obj, merged, record["Id"])
        changed = [name for name, value in values.items() if record.get(name) != value]
        stamp = sf_datetime(self.now)
        merged.update(LastModifiedDate=stamp, LastModifiedById=self.user, SystemModstamp=stamp)
        _derive(obj, merged)
        indexed = lookup.changing(self.tenant, table(self.tenant, obj.name), obj.name, record)
        record.update(merged)
        indexed()
        self._changed(obj, record, "UPDATE", changed)

    def delete(self, obj: SObjectDef, record_id: str) -> None:
        normal = ids.normalize(record_id)
        record = table(self.tenant, obj.name).get(normal) if normal else None
        if record is None:
            raise not_found()
        if record.get("IsDeleted"):
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        stamp = sf_datetime(self.now)
        indexed = lookup.changing(self.tenant, table(self.tenant, obj.name), obj.name, record)
        record.update(IsDeleted=True, LastModifiedDate=stamp, LastModifiedById=self.user,
                      SystemModstamp=stamp)
        indexed()
        self._changed(obj, record, "DELETE", [])

    def upsert(self, obj: SObjectDef, field_name: str, value: str, body: Any,
               update_only: bool = False) -> tuple[str, bool]:
        """Create or update by external id; returns (id, created). 300 on several matches."""
        f = obj.field(field_name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise SalesforceError(404, "NOT_FOUND", "Provided external ID field does not exist "
                                  f"or is not accessible: {field_name}")
        if f.name == "Id":
            record = self.find(obj, value)
            if record is None:
                raise not_found()
            self.update(obj, record, body)
            return record["Id"], False
        if isinstance(body, dict):
            sent = next((v for k, v in body.items() if k.casefold() == f.name.casefold()), None)
            if sent is not None and _match_key(f, sent) != _match_key(f, value):
                raise SalesforceError(400, "INVALID_FIELD", f"The value in the body of field "
                                      f"{f.name} doesn't match the value in the URL.", [f.name])
        matches = self.by_external_id(obj, f, value)
        if len(matches) > 1:
            raise MultipleMatches([r["Id"] for r in matches])
        if matches:
            self.update(obj, matches[0], body)
            return matches[0]["Id"], False
        if update_only:
            raise not_found()
        body = dict(body) if isinstance(body, dict) else body
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k.casefold() != f.name.casefold()}
            body[f.name] = value
        return self.create(obj, body), True

    # -- validation -----------------------------------------------------------------------
    def _values(self, obj: SObjectDef, body: Any, *, creating: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise json_parser("Cannot deserialize instance of "
                              f"{obj.name} from {_token(body)} value at [line:1, column:1]")
        text = json.dumps(body)
        values: dict[str, Any] = {}
        for key, raw in body.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None:
                raise invalid_field_on_write(key, obj.name)
            if not (f.createable if creating else f.updateable):
                if not creating and f.name == "Id" and ids.normalize(str(raw)):
                    continue  # Salesforce tolerates the record's own Id in an update body
                raise not_writable(f.name)
            values[f.name] = self._coerce(obj, f, raw, _column(text, key))
        return values

    def _coerce(self, obj: SObjectDef, f: SfField, value: Any, column: int) -> Any:
        if value is None:
            return False if f.type == "boolean" else None
        t = f.type

        def parser_error() -> SalesforceError:
            shown = json.dumps(value) if not isinstance(value, str) else value
            return json_parser(f"Cannot deserialize instance of {t} from {_token(value)} value "
                               f"{shown} or request may be missing a required field at "
                               f"[line:1, column:{column}]")

        if isinstance(value, dict | list) or (isinstance(value, bool) and t != "boolean"):
            raise parser_error()
        if t in TEXT or t == "picklist":
            text = value if isinstance(value, str) else json.dumps(value)
            if len(text) > f.length:
                raise SalesforceError(400, "STRING_TOO_LONG", f"{f.label}: data value too large:"
                                      f" {text} (max length={f.length})", [f.name])
            if t == "email" and text and not _is_email(text):
                raise SalesforceError(400, "INVALID_EMAIL_ADDRESS",
                                      f"{f.label}: invalid email address: {text}", [f.name])
            if t == "picklist" and f.restricted and text not in f.defn.values:
                raise _bad_picklist(f, text)
            return text
        if t == "multipicklist":
            if not isinstance(value, str):
                raise parser_error()
            if len(value) > f.length:
                raise SalesforceError(400, "STRING_TOO_LONG", f"{f.label}: data value too large:"
                                      f" {value} (max length={f.length})", [f.name])
            chosen: list[str] = []
            for item in (v.strip() for v in value.split(";")):
                if item and f.restricted and item not in f.defn.values:
                    raise _bad_picklist(f, item)
                if item and item not in chosen:
                    chosen.append(item)
            return ";".join(chosen) or None
        if t in NUMBERS:
            try:
                number = Decimal(str(value).strip())
            except InvalidOperation:
                raise parser_error() from None
            if not number.is_finite() or (t == "int" and number != number.to_integral_value()):
                raise parser_error()
            try:
                return f.defn.coerce(int(number) if t == "int" else float(number))
            except FieldValueError:
                raise SalesforceError(400, "NUMBER_OUTSIDE_VALID_RANGE",
                                      f"{f.label}: value outside of valid range on numeric "
                                      f"field: {value}", [f.name]) from None
        if t == "boolean":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise parser_error()
            return value
        if t == "date":
            if not isinstance(value, str) or not _DATE.match(value):
                raise parser_error()
            try:
                return f.defn.coerce(value[:10])
            except FieldValueError:
                raise parser_error() from None
        if t == "datetime":
            if not isinstance(value, str) or not _DATE.match(value):
                raise parser_error()
            text = value if "T" in value else value + "T00:00:00"
            text = text if _HAS_ZONE.search(text) else text + "Z"  # no zone means GMT
            try:
                moment = datetime.fromisoformat(f.defn.coerce(text).replace("Z", "+00:00"))
            except (FieldValueError, ValueError):
                raise parser_error() from None
            return sf_datetime(moment.timestamp())
        if t in ("reference", "id"):
            return self._reference(f, value, parser_error)
        raise parser_error()

    def _reference(self, f: SfField, value: Any, parser_error: Any) -> str:
        if not isinstance(value, str):
            raise parser_error()
        normal = ids.normalize(value)
        message = f"{f.label}: id value of incorrect type: {value}"
        if normal is None:
            raise SalesforceError(400, "MALFORMED_ID", message, [f.name])
        targets = [t for t in (self.org.get(name) for name in f.reference_to) if t is not None]
        target = next((t for t in targets if t.key_prefix == ids.prefix(normal)), None)
        if targets and target is None:
            raise SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION", message, [f.name])
        if target is not None:
            record = table(self.tenant, target.name).get(normal)
            if record is None:
                raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY",
                                      "invalid cross reference id", [])
            if record.get("IsDeleted"):
                raise SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", [f.name])
        return normal

    def _check_unique(self, obj: SObjectDef, record: dict[str, Any], own: str | None) -> None:
        for f in obj.fields.values():
            if not f.unique or record.get(f.name) is None:
                continue
            key = _match_key(f, record[f.name])
            found = self._indexed(obj, f, key)
            others = None if found is None else [r for r in found if r["Id"] != own]
            if others is None or len(others) > 1:  # the first in the table's order, by a scan
                others = [r for r in table(self.tenant, obj.name).values()
                          if r["Id"] != own and not r.get("IsDeleted")
                          and r.get(f.name) is not None and _match_key(f, r[f.name]) == key]
            if others:
                raise SalesforceError(400, "DUPLICATE_VALUE",
                                      f"duplicate value found: {f.name} duplicates value on "
                                      f"record with id: {others[0]['Id']}", [])

    def _changed(self, obj: SObjectDef, record: dict[str, Any], kind: str,
                 fields: list[str]) -> None:
        self.changes.append({"sobject": obj.name, "id": record["Id"], "changeType": kind,
                             "changedFields": fields,
                             "SystemModstamp": record["SystemModstamp"]})


class MultipleMatches(SalesforceError):
    """Upsert/get by external id matched several records: 300 with their URLs."""

    def __init__(self, record_ids: list[str]) -> None:
        super().__init__(300, "MULTIPLE_CHOICES", "more than one record matched")
        self.record_ids = record_ids


def attributes(sobject: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def _bad_picklist(f: SfField, value: str) -> SalesforceError:
    return SalesforceError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                           f"{f.label}: bad value for restricted picklist field: {value}",
                           [f.name])


def _token(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_STRING"


def encodable(body: Any) -> Any:
    """A parsed JSON body, refused with JSON_PARSER_ERROR [U: Salesforce's wording] when a
    string (JSON's "\\ud800" escape) holds a code point UTF-8 cannot encode."""
    path = find_unencodable(body)
    if path is None:
        return body
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    raise json_parser("Invalid UTF-8 text: an unpaired surrogate in the value of "
                      f"'{printable(where) or 'body'}'")


def _column(text: str, key: str) -> int:
    at = text.find(json.dumps(key) + ":")
    return (at + len(json.dumps(key)) + 3) if at >= 0 else 1


def _match_key(f: SfField, value: Any) -> Any:
    if f.type in ("id", "reference"):
        return ids.normalize(str(value)) or str(value)
    if f.type in NUMBERS:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return str(value)
    return str(value).casefold()  # external ids are case-insensitive unless marked otherwise


def _wire_default(f: SfField) -> Any:
    value = f.defn.default_value()
    if isinstance(value, list):
        return ";".join(value)
    if f.type == "datetime" and isinstance(value, str):
        return sf_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    return value


def _derive(obj: SObjectDef, record: dict[str, Any]) -> None:
    """Fields Salesforce computes: full names, closed/won flags, text Name defaults."""
    if obj.name in ("Contact", "User"):
        record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName"))
                                  if p)
    elif obj.name == "Opportunity":
        stage = record.get("StageName")
        record["IsClosed"] = stage in ("Closed Won", "Closed Lost")
        record["IsWon"] = stage == "Closed Won"
        if stage and stage not in STAGES:
            record["IsClosed"] = record["IsWon"] = False
    elif obj.name == "Contract" and not record.get("ContractNumber"):
        record["ContractNumber"] = f"{int(record['Id'][6:15], 36) % 10**8:08d}"
    elif obj.custom and not record.get("Name"):
        record["Name"] = record["Id"]


# -- SOQL ------------------------------------------------------------------------------------

class OrgCatalog:
    """The `soql.Catalog` over one org's records and schema."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.org = org_schema(tenant)
        # rows a query may examine before QUERY_TIMEOUT (soql.DEFAULT_ROW_BUDGET if unset)
        self.row_budget: int | None = tenant.settings.get("soql_row_budget")

    def object_name(self, name: str) -> str | None:
        obj = self.org.get(name)
        return obj.name if obj else None

    def fields(self, sobject: str) -> dict[str, FieldInfo]:
        obj = self.org.get(sobject)
        assert obj is not None
        return {f.name: FieldInfo(f.name, f.type, f.reference_to[0] if f.reference_to else None,
                                  f.relationship_name) for f in obj.fields.values()}

    def records(self, sobject: str, include_deleted: bool) -> Iterable[dict[str, Any]]:
        rows = table(self.tenant, sobject).values()
        return list(rows) if include_deleted else [r for r in rows if not r.get("IsDeleted")]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        normal = ids.normalize(record_id)
        record = table(self.tenant, sobject).get(normal) if normal else None
        return None if record is None or record.get("IsDeleted") else record


def run_query(tenant: Tenant, soql: str, now: float, *, include_deleted: bool,
              version: str) -> QueryResult:
    """Raises `soql.SoqlError` for bad queries."""
    return execute(soql, OrgCatalog(tenant), now=datetime.fromtimestamp(now, UTC),
                   include_deleted=include_deleted, instance_path=f"/services/data/v{version}")
