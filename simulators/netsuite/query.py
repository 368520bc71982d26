"""Reading records back: the SuiteQL catalog over a tenant, and the record-collection `q=` filter.

SuiteQL tables (names as in NetSuite's Records Catalog): `customer`, `transaction` (invoices
`type = 'CustInvc'`, customer payments `type = 'CustPymt'`; NetSuite has no `invoice` table),
`currency` (`name`, `symbol`: the ISO code, `isbasecurrency`, …) and
each custom record type of the tenant's schema (`customrecord_*`, with `created`/`lastmodified`
as NetSuite names them there). Columns are the lower-cased REST field names plus NetSuite's own
names for the few that differ; references and list values are ids.

The transaction link tables `NextTransactionLineLink` and `PreviousTransactionLineLink` (the same
rows in NetSuite, one meant to be read from the parent's side, one from the child's) join a
transaction line to the line of a later transaction made from it. Columns, as listed by
https://timdietrich.me/blog/netsuite-suiteql-related-transactions and CData's SuiteQL table
reference (https://cdn.cdata.com/help/DNM/ado/pg_SuiteQLtable-nexttransactionlinelink.htm,
https://cdn.cdata.com/help/DNK/ado/pg_SuiteQLtable-previoustransactionlinelink.htm):
`previousdoc`, `previoustype`, `previousline`, `nextdoc`, `nexttype`, `nextline`, `linktype`,
`foreignamount` (the amount in the transaction's currency) and `lastmodifieddate` (in Tim
Dietrich's list, not in CData's). The fake has one kind of link, a customer payment applied to
an invoice: one row per applied line of a payment's `apply` sublist (`apply: false` lines are not
applied, so they have none), `previousdoc` the invoice, `previoustype` `CustInvc`, `nextdoc` the
payment, `nexttype` `CustPymt`, `linktype` `Payment`, `foreignamount` the amount applied,
`lastmodifieddate` the payment's. Line numbers are the fake's choice [U]: `previousline` 0 (the
invoice's main line, the one that carries the receivable), `nextline` the applied line's
position among the payment's applied lines, from 1. The rows are made from the payments at query
time (no stored state of their own), ordered by payment and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from simulators.core.tenancy import Tenant
from simulators.netsuite import errors
from simulators.netsuite.models import (
    INVOICE_STATUS,
    PAYMENT_STATUS,
    RecordType,
    plain,
    plain_value,
    record_type,
    records,
    value_kind,
)
from simulators.netsuite.suiteql.values import normalize_value

TRANSACTION_TYPES = {"invoice": "CustInvc", "customerpayment": "CustPymt"}
RENAMES = {
    "transaction": {"dateCreated": "createddate", "total": "foreigntotal",
                    "amountPaid": "foreignamountpaid", "amountRemaining": "foreignamountunpaid",
                    "customer": "entity"},
    "custom": {"dateCreated": "created", "lastModifiedDate": "lastmodified"},
}
STATUS_CODES = {k: v[1] for k, v in {**INVOICE_STATUS, **PAYMENT_STATUS}.items()}
# the transaction link tables (the same rows under both names) and their columns
LINK_TABLES = ("nexttransactionlinelink", "previoustransactionlinelink")
LINK_COLUMNS = frozenset({"previousdoc", "previoustype", "previousline", "nextdoc", "nexttype",
                          "nextline", "linktype", "foreignamount", "lastmodifieddate"})


_COLUMNS: dict[tuple[str, int], tuple[Any, frozenset[str]]] = {}  # (table, schema) -> columns
_COLUMNS_KEEP = 256


class TenantCatalog:
    """suiteql.Catalog over one account's records."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    @property
    def row_budget(self) -> int | None:
        """The account's `suiteql_row_budget` setting: the row visits plus LIKE steps a query
        may spend (None: the evaluator's default)."""
        value = self.tenant.settings.get("suiteql_row_budget")
        return None if value is None else int(value)

    def table(self, name: str) -> str | None:
        key = name.lower()
        if key in ("customer", "transaction", "currency") or key in LINK_TABLES:
            return key
        rtype = record_type(self.tenant, key)
        return key if rtype is not None and rtype.is_custom_record else None

    def _sources(self, table: str) -> list[RecordType]:
        names = list(TRANSACTION_TYPES) if table == "transaction" else [table]
        return [rt for n in names if (rt := record_type(self.tenant, n)) is not None]

    def columns(self, table: str) -> set[str]:
        if table in LINK_TABLES:
            return set(LINK_COLUMNS)
        schema = self.tenant.schema  # the columns follow from the schema alone
        key = (table, id(schema))
        found = _COLUMNS.get(key)
        if found is None or found[0] is not schema:
            found = _COLUMNS[key] = (schema, frozenset(self._columns(table)))
            while len(_COLUMNS) > _COLUMNS_KEEP:
                _COLUMNS.pop(next(iter(_COLUMNS)))
        return set(found[1])

    def _columns(self, table: str) -> set[str]:
        cols = {"id"}
        if table == "transaction":
            cols |= {"type", "recordtype"}
        for rtype in self._sources(table):
            renames = self._renames(rtype)
            cols |= {renames.get(n, n.lower()) for n, f in rtype.fields.items()
                     if f.kind != "sublist"}
            if rtype.custom is not None:
                cols |= {f.name.lower() for f in rtype.custom.fields.values()}
        return cols

    def rows(self, table: str) -> Iterable[Mapping[str, Any]]:
        return self._rows(table, _same)

    def normalized_rows(self, table: str,
                        columns: Collection[str] | None = None) -> list[dict[str, Any]]:
        """`rows`, each value already as the evaluator normalizes it (`normalize_value`), so
        that a query converts each stored value once, not twice; with `columns`, only those
        columns (and `id`): the ones a query reads."""
        return self._rows(table, normalize_value, columns)

    def _rows(self, table: str, finish: Callable[[Any], Any],
              columns: Collection[str] | None = None) -> list[dict[str, Any]]:
        if table in LINK_TABLES:
            return self._link_rows(finish, columns)
        out: list[tuple[int, dict[str, Any]]] = []
        for rtype in self._sources(table):
            renames = self._renames(rtype)
            # per field name: its column and how a value of it converts (looked up once)
            fields: dict[str, tuple[str, Any, str | None] | None] = {}
            # per set of field names (in order; records of a type mostly share one): the
            # wanted fields, each with its column and conversion
            plans: dict[tuple[str, ...], list[tuple[str, str, Any, str | None]]] = {}
            for record in records(self.tenant, rtype).values():
                record_id = int(record["id"])
                row: dict[str, Any] = {"id": finish(record_id)}
                names = tuple(record)
                plan = plans.get(names)
                if plan is None:
                    plan = plans[names] = []
                    for name in names:
                        if name == "id":
                            continue
                        if name not in fields:
                            column = renames.get(name, name.lower())
                            fields[name] = ((column, *value_kind(rtype, name))
                                            if columns is None or column in columns else None)
                        spec = fields[name]
                        if spec is not None:
                            plan.append((name, *spec))
                for name, column, fdef, kind in plan:
                    value = record[name]
                    if isinstance(value, list) and name in ("item", "apply"):
                        continue
                    if name == "status" and isinstance(value, dict):
                        row[column] = finish(STATUS_CODES.get(value.get("id"), value.get("id")))
                    else:
                        row[column] = finish(plain(fdef, kind, value))
                if table == "transaction":
                    row["type"] = finish(TRANSACTION_TYPES[rtype.name])
                    row["recordtype"] = finish(rtype.name)
                out.append((record_id, row))
        out.sort(key=lambda pair: pair[0])
        return [row for _, row in out]

    def _link_rows(self, finish: Callable[[Any], Any],
                   columns: Collection[str] | None) -> list[dict[str, Any]]:
        """The link tables' rows: one per applied line of each customer payment (module
        docstring), made from the payments as they are now."""
        wanted = LINK_COLUMNS if columns is None else LINK_COLUMNS & set(columns)
        invoices = records(self.tenant, "invoice")
        out: list[tuple[int, dict[str, Any]]] = []
        for payment in records(self.tenant, "customerpayment").values():
            lines = [line for line in payment.get("apply") or []
                     if isinstance(line, dict) and line.get("apply", True) is not False]
            if not lines:
                continue
            payment_id = int(payment["id"])
            changed = plain(None, "datetime", payment.get("lastModifiedDate"))
            for number, line in enumerate(lines, start=1):
                doc = str((line.get("doc") or {}).get("id"))
                row = {"previousdoc": int(doc) if doc.isdigit() else doc,
                       "previoustype": TRANSACTION_TYPES["invoice"] if doc in invoices else None,
                       "previousline": 0, "nextdoc": payment_id,
                       "nexttype": TRANSACTION_TYPES["customerpayment"], "nextline": number,
                       "linktype": "Payment", "foreignamount": line.get("amount"),
                       "lastmodifieddate": changed}
                out.append((payment_id, {k: finish(v) for k, v in row.items() if k in wanted}))
        out.sort(key=lambda pair: pair[0])  # stable: each payment's lines stay in their order
        return [row for _, row in out]

    @staticmethod
    def _renames(rtype: RecordType) -> dict[str, str]:
        if rtype.is_custom_record:
            return RENAMES["custom"]
        return RENAMES["transaction"] if rtype.name in TRANSACTION_TYPES else {}


def _same(value: Any) -> Any:
    return value


# -- record collection filter: q=companyName START_WITH "Acme" AND isInactive IS false -------
_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\[)|(\])|(,)|([^\s,\[\]"]+))')
UNARY = {"EMPTY", "EMPTY_NOT"}
LIST_OPS = {"ANY_OF", "BETWEEN", "WITHIN"}
OPS = {"IS", "EQUAL", "GREATER", "GREATER_OR_EQUAL", "LESS", "LESS_OR_EQUAL", "START_WITH",
       "END_WITH", "CONTAIN", "AFTER", "BEFORE", "ON", "ON_OR_AFTER", "ON_OR_BEFORE",
       *LIST_OPS, *UNARY}


def _bad(reason: str) -> errors.VendorError:
    return errors.invalid_parameter(f"Invalid query parameter value q. {reason}", "q")


def _tokens(q: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(q):
        m = _TOKEN.match(q, pos)
        if m is None or m.end() == pos:
            if q[pos:].strip():
                raise _bad(f"Unexpected character at position {pos}.")
            break
        quoted, opening, closing, comma, word = m.groups()
        if quoted is not None:
            out.append(("str", quoted.replace('\\"', '"')))
        elif opening or closing or comma:
            out.append(("op", opening or closing or comma))
        elif word is not None:
            out.append(("word", word))
        pos = m.end()
    return out


def record_filter(tenant: Tenant, rtype: RecordType, q: str) -> Callable[[dict], bool]:
    """A predicate over stored records; AND binds tighter than OR."""
    tokens, i = _tokens(q), 0
    groups: list[list[Callable[[dict], bool]]] = [[]]
    while i < len(tokens):
        if len(tokens) - i < 2 or tokens[i][0] != "word":
            raise _bad("Expected: <field> <operator> <value>.")
        name, op = tokens[i][1], tokens[i + 1][1].upper()
        base = op.removesuffix("_NOT")
        if base not in OPS and op not in UNARY:
            raise _bad(f"Unknown operator {op}.")
        i += 2
        values: list[str] = []
        if op not in UNARY:
            if i < len(tokens) and tokens[i] == ("op", "["):
                i += 1
                while i < len(tokens) and tokens[i] != ("op", "]"):
                    if tokens[i] != ("op", ","):
                        values.append(tokens[i][1])
                    i += 1
                i += 1
            elif i < len(tokens):
                values.append(tokens[i][1])
                i += 1
            if not values:
                raise _bad(f"Missing value for {name} {op}.")
        groups[-1].append(_condition(tenant, rtype, name, op, values))
        if i < len(tokens):
            joiner = tokens[i][1].upper()
            if joiner not in ("AND", "OR"):
                raise _bad(f"Expected AND or OR, found {tokens[i][1]}.")
            if joiner == "OR":
                groups.append([])
            i += 1
    return lambda rec: any(all(c(rec) for c in group) for group in groups if group)


def _condition(tenant: Tenant, rtype: RecordType, name: str, op: str,
               values: list[str]) -> Callable[[dict], bool]:
    found = rtype.std(name)
    field = found[0] if found else None
    if field is None and rtype.custom is not None and (fdef := rtype.custom.field(name)):
        field = fdef.name
    if field is None and name.lower() in ("id", "internalid"):
        field = "id"
    if field is None:
        raise _bad(f"Unknown field {name}.")
    negate = op.endswith("_NOT") and op != "EMPTY_NOT"
    base = op.removesuffix("_NOT") if op != "EMPTY_NOT" else op

    def test(record: dict) -> bool:
        value = plain_value(tenant, rtype, field, record.get(field))
        if field == "status" and isinstance(record.get(field), dict):
            value = record[field].get("id")
        result = _compare(base, value, values)
        return not result if negate else result
    return test


def _coerce(sample: Any, text: str) -> Any:
    if isinstance(sample, bool):
        return text.lower() in ("true", "t")
    if isinstance(sample, int | float) or (isinstance(sample, str) and sample.isdigit()
                                           and text.lstrip("-").replace(".", "", 1).isdigit()):
        try:
            return float(text)
        except ValueError:
            return text
    if isinstance(sample, date):
        # stored datetimes are timezone-aware (UTC, the fake account's zone): a date given
        # without a zone means that zone, or every comparison would fail
        zone = sample.tzinfo if isinstance(sample, datetime) else None
        for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
            try:
                moment = datetime.strptime(text, fmt)
                return moment.date() if not isinstance(sample, datetime) else \
                    moment.replace(tzinfo=zone)
            except ValueError:
                continue
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(f"Invalid date {text}.") from None
        return parsed if parsed.tzinfo or zone is None else parsed.replace(tzinfo=zone)
    return text.lower()


def _normal(value: Any) -> Any:
    if isinstance(value, str):
        return float(value) if value.isdigit() else value.lower()
    return value


def _compare(op: str, value: Any, raw: list[str]) -> bool:
    if op == "EMPTY":
        return value in (None, "", [])
    if op == "EMPTY_NOT":
        return value not in (None, "", [])
    if value is None:
        return False
    wanted = [_coerce(value, r) for r in raw]
    if isinstance(value, datetime) and wanted and not isinstance(wanted[0], datetime):
        value = value.date()  # ON "1/5/2024" compares days
    mine = _normal(value)
    try:
        if op in ("IS", "EQUAL", "ON"):
            return mine == wanted[0]
        if op == "ANY_OF":
            return mine in wanted
        if op in ("BETWEEN", "WITHIN"):
            return len(wanted) == 2 and wanted[0] <= mine <= wanted[1]
        if op in ("GREATER", "AFTER"):
            return mine > wanted[0]
        if op in ("GREATER_OR_EQUAL", "ON_OR_AFTER"):
            return mine >= wanted[0]
        if op in ("LESS", "BEFORE"):
            return mine < wanted[0]
        if op in ("LESS_OR_EQUAL", "ON_OR_BEFORE"):
            return mine <= wanted[0]
        text = str(mine)
        needle = str(wanted[0])
        return {"START_WITH": text.startswith, "END_WITH": text.endswith,
                "CONTAIN": text.__contains__}[op](needle)
    except TypeError:
        return False
