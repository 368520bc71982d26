"""Per-merchant field mapping: the shipped files, round trips both ways, and every error kind."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from components.mapping import (
    FORMATS,
    FieldMap,
    FieldType,
    MappingError,
    MerchantMapping,
    load_mapping,
    mapping_from_dict,
)

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "scenarios" / "mappings"
SCHEMAS = ROOT / "scenarios" / "schemas"
ACME = MAPPINGS / "acme-stripe-netsuite-salesforce.yaml"
GLOBEX = MAPPINGS / "globex-chargebee-netsuite-salesforce.yaml"
INITECH = MAPPINGS / "initech-chargebee-salesforce-cpq.yaml"

# The tenant schema each shipped mapping targets, per vendor (Stripe has no custom schema).
TENANT_SCHEMAS = {
    ACME: {"netsuite": "netsuite-recovery-fields.yaml", "salesforce": "salesforce-cpq.yaml"},
    GLOBEX: {"chargebee": "chargebee-custom-fields.yaml",
             "netsuite": "netsuite-customrecord.yaml",
             "salesforce": "salesforce-plan-junction.yaml"},
    INITECH: {"chargebee": "chargebee-custom-fields.yaml",
              "salesforce": "salesforce-cpq-chargebee.yaml"},
}
# Standard (non-custom) fields the shipped mappings use, per vendor object.
STANDARD = {
    ("stripe", "customer"): {"id", "email", "name"},
    ("stripe", "subscription"): {"id", "customer", "status", "current_period_end"},
    ("stripe", "invoice"): {"id", "customer", "amount_due", "amount_remaining", "currency",
                            "status"},
    ("stripe", "payment_intent"): {"id", "invoice", "amount", "currency", "latest_charge"},
    ("chargebee", "customer"): {"id", "company"},
    ("chargebee", "subscription"): {"id", "customer_id", "status", "next_billing_at"},
    ("chargebee", "invoice"): {"id", "customer_id", "total", "amount_due", "currency_code",
                               "status", "next_retry_at"},
    ("chargebee", "transaction"): {"id", "amount", "currency_code", "id_at_gateway", "date"},
    ("netsuite", "customer"): {"id", "externalId", "companyName", "email"},
    ("netsuite", "invoice"): {"id", "externalId", "total", "amountRemaining"},
    ("netsuite", "customerpayment"): {"id", "externalId", "payment"},
    ("salesforce", "Account"): {"Id", "Name"},
}
# Schema field types each mapped type may land in.
SCHEMA_TYPES = {
    FieldType.MONEY: {"currency", "double"}, FieldType.INT: {"int"},
    FieldType.BOOL: {"boolean"}, FieldType.DATE: {"date"}, FieldType.DATETIME: {"datetime"},
    FieldType.STR: {"string", "email", "id"}, FieldType.ENUM: {"picklist"},
}


LOADED = {path: load_mapping(path) for path in TENANT_SCHEMAS}
ENTRIES = [(path, vendor, entity) for path, m in LOADED.items()
           for vendor in m.vendors() for entity in m.entities(vendor)]
IDS = [f"{p.name.split('-')[0]}-{v}-{e}" for p, v, e in ENTRIES]


# -- the shipped files ----------------------------------------------------------------------------
def test_every_shipped_mapping_is_tested() -> None:
    assert set(MAPPINGS.glob("*.yaml")) == set(TENANT_SCHEMAS)


@pytest.mark.parametrize("path", [ACME, GLOBEX, INITECH], ids=["acme", "globex", "initech"])
def test_shipped_mapping_loads(path: Path) -> None:
    mapping = load_mapping(path)
    assert mapping.vendors() and mapping.currency_exponent == 2
    for vendor in mapping.vendors():
        for entity in mapping.entities(vendor):
            record = mapping.record(vendor, entity)
            assert mapping.has(vendor, entity) and mapping.object_name(vendor, entity)
            assert record.key is None or record.key in {
                f.vendor_field for f in record.fields.values()}


def _schema_objects(path: Path, vendor: str) -> dict[str, dict[str, Any]]:
    name = TENANT_SCHEMAS[path].get(vendor)
    if name is None:
        return {}
    objects = yaml.safe_load((SCHEMAS / name).read_text())["objects"]
    return {obj.casefold(): spec.get("fields", {}) for obj, spec in objects.items()}


def _schema_field(objects: dict[str, dict[str, Any]], vendor: str, obj: str,
                  field: str) -> dict[str, Any] | None:
    """The schema's definition of `field` ({} for a standard field); None if it has none."""
    if vendor == "stripe" and field.startswith("metadata."):
        return {}
    head, _, rest = field.partition(".")
    fields = objects.get(obj.casefold(), {})
    if rest:  # Salesforce relationship: SBQQ__Account__r.Stripe_Customer_Id__c
        target = next((f["to"] for f in fields.values() if f.get("relationship") == head), None)
        return None if target is None else _schema_field(objects, vendor, target, rest)
    if field in fields:
        return dict(fields[field])
    return {} if field in STANDARD.get((vendor, obj), set()) else None


@pytest.mark.parametrize(("path", "vendor", "entity"), ENTRIES, ids=IDS)
def test_vendor_fields_exist_in_tenant_schema(path: Path, vendor: str, entity: str) -> None:
    mapping = load_mapping(path)
    objects = _schema_objects(path, vendor)
    record = mapping.record(vendor, entity)
    for fmap in record.fields.values():
        spec = _schema_field(objects, vendor, record.object, fmap.vendor_field)
        assert spec is not None, f"{fmap.path}: {record.object}.{fmap.vendor_field} is unknown"
        if "type" in spec:
            assert spec["type"] in SCHEMA_TYPES[fmap.wire], fmap.path
        if fmap.values and "values" in spec:
            assert set(fmap.values.values()) <= set(spec["values"]), fmap.path


# -- round trips ----------------------------------------------------------------------------------
def _value(fmap: FieldMap, vendor: str) -> st.SearchStrategy[Any]:
    if fmap.values:
        return st.sampled_from(sorted(fmap.values))
    kind = fmap.canonical.type
    if kind is FieldType.DATETIME:
        if vendor == "salesforce":  # milliseconds on the wire
            return st.integers(0, 4_102_444_800_000).map(lambda ms: ms / 1000)
        return st.integers(0, 4_102_444_800).map(float)
    return {
        FieldType.MONEY: st.integers(-10**11, 10**11),
        FieldType.INT: st.integers(-10**6, 10**6),
        FieldType.BOOL: st.booleans(),
        FieldType.DATE: st.dates(date(1970, 1, 1), date(2099, 12, 31)),
        FieldType.STR: st.text(min_size=1, max_size=20),
    }[kind]


def _canonical(mapping: MerchantMapping, vendor: str, entity: str) -> st.SearchStrategy[Any]:
    fields = mapping.record(vendor, entity).fields
    return st.fixed_dictionaries({}, optional={n: _value(f, vendor) for n, f in fields.items()})


CANONICAL = {(p, v, e): _canonical(LOADED[p], v, e) for p, v, e in ENTRIES}


def _vendor_variant(mapping: MerchantMapping, vendor: str, entity: str,
                    record: dict[str, Any]) -> dict[str, Any]:
    """`record` as the vendor may also send it back: NetSuite lists as {id, refName}, ISO
    offsets as +00:00, Salesforce numbers as 3.0 or 12."""
    variant = dict(record)
    for fmap in mapping.record(vendor, entity).fields.values():
        name = fmap.vendor_field
        if name not in variant:
            continue
        value = variant[name]
        if vendor == "netsuite" and fmap.wire is FieldType.ENUM:
            variant[name] = {"links": [], "id": "7", "refName": value}
        elif vendor == "netsuite" and fmap.wire is FieldType.DATETIME:
            variant[name] = value.replace("Z", "+00:00")
        elif vendor == "salesforce" and fmap.wire is FieldType.INT:
            variant[name] = float(value)
        elif vendor == "salesforce" and fmap.wire is FieldType.MONEY and value.is_integer():
            variant[name] = int(value)
    return variant


@pytest.mark.parametrize(("path", "vendor", "entity"), ENTRIES, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_canonical_to_vendor_and_back(path: Path, vendor: str, entity: str,
                                      data: st.DataObject) -> None:
    mapping = LOADED[path]
    canonical = data.draw(CANONICAL[path, vendor, entity])
    assert mapping.from_vendor(vendor, entity, mapping.to_vendor(vendor, entity, canonical)) \
        == canonical


@pytest.mark.parametrize(("path", "vendor", "entity"), ENTRIES, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_vendor_to_canonical_and_back(path: Path, vendor: str, entity: str,
                                      data: st.DataObject) -> None:
    mapping = LOADED[path]
    normal = mapping.to_vendor(vendor, entity, data.draw(CANONICAL[path, vendor, entity]))
    for sent in (normal, _vendor_variant(mapping, vendor, entity, normal)):
        assert mapping.to_vendor(vendor, entity, mapping.from_vendor(vendor, entity, sent)) \
            == normal


def test_wire_formats() -> None:
    acme, globex = load_mapping(ACME), load_mapping(GLOBEX)
    assert acme.to_vendor("netsuite", "invoice", {
        "amount_remaining": 1234, "next_retry_at": 1767225600, "recovery_status": "retrying",
    }) == {"amountRemaining": 12.34, "custbody_next_retry_at": "2026-01-01T00:00:00Z",
           "custbody_recovery_status": "retrying"}
    assert acme.to_vendor("salesforce", "subscription_recovery", {
        "last_attempt_at": 1767225600.5, "recovered_amount": 1000, "recovery_status": "not_started",
    }) == {"Last_Recovery_Attempt__c": "2026-01-01T00:00:00.500+0000",
           "Recovered_Amount__c": 10.0, "Recovery_Status__c": "none"}
    assert acme.to_vendor("stripe", "subscription", {
        "retry_count": 2, "next_charge_date": date(2026, 1, 1), "recovered_amount": 500,
    }) == {"metadata": {"retry_count": "2", "recovered_amount": "500"},
           "current_period_end": 1767225600}
    assert acme.to_vendor("salesforce", "subscription", {"customer_id": "cus_1"}) \
        == {"SBQQ__Account__r": {"Stripe_Customer_Id__c": "cus_1"}}
    assert globex.to_vendor("chargebee", "subscription", {
        "recovery_status": "not_started", "next_charge_date": date(2026, 1, 2),
    }) == {"cf_recovery_status": "None", "next_billing_at": 1767312000}
    assert globex.from_vendor("chargebee", "invoice", {
        "total": 1500, "amount_due": 500, "status": "payment_due", "unmapped": 1,
    }) == {"amount_due": 1500, "amount_remaining": 500, "status": "open"}


def test_none_clears_and_unmapped_canonical_fields_are_skipped() -> None:
    acme = load_mapping(ACME)
    sent = acme.to_vendor("netsuite", "invoice", {"last_decline_code": None, "currency": "usd"})
    assert sent == {"custbody_last_decline_code": None}
    assert acme.from_vendor("netsuite", "invoice", sent) == {"last_decline_code": None}


# -- errors ---------------------------------------------------------------------------------------
GOOD = """\
merchant: acme
vendors:
  netsuite:
    invoice:
      record: invoice
      key: custbody_stripe_invoice_id
      fields:
        invoice_id: custbody_stripe_invoice_id
        recovery_status:
          field: custbody_recovery_status
          values: {not_started: none, retrying: Retrying}
"""


def _load(tmp_path: Path, text: str) -> MerchantMapping:
    path = tmp_path / "merchant.yaml"
    path.write_text(textwrap.dedent(text))
    return load_mapping(path)


def _refused(tmp_path: Path, old: str, new: str) -> str:
    assert old in GOOD
    with pytest.raises(MappingError) as caught:
        _load(tmp_path, GOOD.replace(old, new))
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "merchant.yaml")), message
    return message


def test_good_base_loads(tmp_path: Path) -> None:
    assert _load(tmp_path, GOOD).has("netsuite", "invoice")


@pytest.mark.parametrize(("old", "new", "line", "path", "fix"), [
    ("  netsuite:", "  netsuit:", 3, "vendors.netsuit",
     "unknown vendor 'netsuit'; use one of: stripe, chargebee, netsuite, salesforce"),
    ("      fields:", "      feilds:", 7, "vendors.netsuite.invoice.feilds",
     "use one of: record, object, entity, key, fields"),
    ("    invoice:", "    invoices:", 4, "vendors.netsuite.invoices",
     "'invoices' is not a canonical entity; use one of: customer, subscription, invoice, payment"),
    ("        invoice_id:", "        invoice_ref:", 8,
     "vendors.netsuite.invoice.fields.invoice_ref",
     "invoice_ref is not a canonical invoice field; canonical fields are: invoice_id, "),
    ("field: custbody_recovery_status", "field: custbody_recovery_status\n          type: picklist",
     11, "vendors.netsuite.invoice.fields.recovery_status.type",
     "use one of: money, date, datetime, int, bool, str, enum"),
    ("field: custbody_recovery_status", "field: custbody_recovery_status\n          type: int", 11,
     "vendors.netsuite.invoice.fields.recovery_status.type",
     "recovery_status is a canonical enum, which cannot be stored as int; use type enum"),
    ("field: custbody_recovery_status", "field: custbody_stripe_invoice_id", 9,
     "vendors.netsuite.invoice.fields.recovery_status",
     "invoice_id and recovery_status both write netsuite field 'custbody_stripe_invoice_id': "
     "map each vendor field once"),
    ("not_started: none", "not_started: Retrying", 11,
     "vendors.netsuite.invoice.fields.recovery_status.values",
     "two canonical values map to 'Retrying' (not_started and retrying): make the map "
     "one-to-one"),
    ("not_started: none", "paused: none", 11,
     "vendors.netsuite.invoice.fields.recovery_status.values.paused",
     "'paused' is not a value of invoice.recovery_status; use one of: not_started, retrying"),
    ("      record: invoice\n", "", 4, "vendors.netsuite.invoice",
     "give the netsuite record type once: add `record: <name>`"),
    ("key: custbody_stripe_invoice_id", "key: externalId", 6, "vendors.netsuite.invoice.key",
     "key 'externalId' is not among the mapped fields: map the canonical id to it, or use one "
     "of: custbody_stripe_invoice_id, custbody_recovery_status"),
    ("        invoice_id: custbody_stripe_invoice_id\n",
     "        invoice_id: custbody_stripe_invoice_id\n        invoice_id: externalId\n", 9,
     "vendors.netsuite.invoice.fields.invoice_id", "duplicate key (first at line 8): keep one"),
])
def test_bad_mapping_is_refused(tmp_path: Path, old: str, new: str, line: int, path: str,
                                fix: str) -> None:
    message = _refused(tmp_path, old, new)
    assert f"merchant.yaml:{line}: {path}: " in message, message
    assert fix in message, message


def test_wrong_yaml_names_the_line(tmp_path: Path) -> None:
    message = _refused(tmp_path, "values: {not_started: none, retrying: Retrying}",
                       "values: {not_started: none, retrying: Retrying")
    assert "merchant.yaml:12: not valid YAML" in message, message
    assert "fix the YAML at line 12" in message, message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping(tmp_path / "nowhere.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'nowhere.yaml'}: no such mapping file")
    assert "check the path" in str(caught.value)


def test_inline_mapping_names_its_source() -> None:
    data = yaml.safe_load(GOOD)
    data["vendors"]["netsuite"]["invoice"]["fields"]["retry_count"] = {
        "field": "custbody_retry_count", "type": "cents"}
    with pytest.raises(MappingError, match=r"^<inline>: vendors\.netsuite\.invoice\.fields\."
                                           r"retry_count\.type: unknown type 'cents'; use one"):
        mapping_from_dict(data)


def test_unmapped_canonical_value_is_refused_on_write() -> None:
    globex = load_mapping(GLOBEX)
    with pytest.raises(MappingError) as caught:
        globex.to_vendor("chargebee", "subscription", {"recovery_status": "written_off"})
    message = str(caught.value)
    assert message.startswith(f"{GLOBEX}:")
    assert "vendors.chargebee.subscription.fields.recovery_status.values: 'written_off' has " \
           "no chargebee value (mapped: not_started, retrying, recovered, failed): add it to " \
           "the map" in message, message


def test_unknown_vendor_value_is_refused_on_read() -> None:
    acme = load_mapping(ACME)
    with pytest.raises(MappingError, match=r"salesforce value 'escalated' has no canonical "
                                           r"value .*: add it to the map"):
        acme.from_vendor("salesforce", "subscription_recovery",
                         {"Recovery_Status__c": "escalated"})
    with pytest.raises(MappingError, match=r"custbody_retry_count holds 'two': expected a whole "
                                           r"number, got 'two'; fix the record"):
        acme.from_vendor("netsuite", "invoice", {"custbody_retry_count": "two"})


def test_bad_canonical_input_is_refused() -> None:
    acme = load_mapping(ACME)
    with pytest.raises(MappingError, match=r"vendors\.netsuite\.invoice\.fields: "
                                           r"amount_paid is not a canonical invoice field"):
        acme.to_vendor("netsuite", "invoice", {"amount_paid": 1})
    with pytest.raises(MappingError, match=r"invoice\.amount_remaining takes int minor units; "
                                           r"got 12\.34: pass a canonical value"):
        acme.to_vendor("netsuite", "invoice", {"amount_remaining": 12.34})
    with pytest.raises(MappingError, match=r"vendors\.chargebee: acme maps no chargebee"):
        acme.to_vendor("chargebee", "invoice", {})


def test_vendor_table_has_every_type() -> None:
    for vendor in FORMATS.values():
        assert set(vendor.codecs) == set(FieldType)
