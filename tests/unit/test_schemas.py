"""Per-merchant schema files: loading, actionable errors, and the shared value checks."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from simulators.core.schemas import (
    FIELD_TYPES,
    FieldDef,
    FieldValueError,
    Schema,
    SchemaError,
)
from simulators.registry import load_schema, schema_from_dict

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "schemas"
VARIANTS = sorted(SCHEMA_DIR.glob("*.yaml"))


# ----------------------------------------------------------------------------------------------
# Shipped variants


def test_the_six_variants_are_shipped() -> None:
    names = {p.name for p in VARIANTS}
    assert {
        "salesforce-cpq.yaml", "salesforce-plan-junction.yaml", "salesforce-account-fields.yaml",
        "netsuite-customrecord.yaml", "netsuite-recovery-fields.yaml",
        "chargebee-custom-fields.yaml",
    } <= names


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.name)
def test_every_variant_loads(path: Path) -> None:
    schema = load_schema(path)
    assert isinstance(schema, Schema)
    assert schema.source == str(path)
    assert schema.objects, "a shipped variant should add something"
    assert path.read_text().startswith("#"), "each variant starts with a comment header"
    for obj in schema.objects.values():
        for f in obj.fields.values():
            assert f.type in FIELD_TYPES
            if f.has_default:  # defaults are stored already coerced
                assert f.coerce(f.default_value()) == f.default_value()


def test_cpq_variant_model() -> None:
    schema = load_schema(SCHEMA_DIR / "salesforce-cpq.yaml")
    assert schema.vendor == "salesforce"
    sub = schema.object("sbqq__subscription__c")  # case-insensitive
    assert sub is not None and sub.custom and sub.key_prefix == "a0S"
    assert sub.label == "Subscription"
    assert [f.name for f in sub.required_fields()] == ["SBQQ__Account__c", "SBQQ__Quantity__c"]
    assert [f.name for f in sub.external_id_fields()] == ["External_Id__c"]
    account_ref = sub.field("sbqq__account__c")
    assert account_ref is not None
    assert (account_ref.to, account_ref.relationship) == ("Account", "SBQQ__Account__r")
    assert sub.missing_required({"sbqq__account__c": "001000000000001AAA"}) == []
    assert sub.missing_required({}) == ["SBQQ__Account__c"]  # Quantity has a default
    account = schema.object("Account")
    assert account is not None and not account.custom
    assert account.field("Recovery_Status__c").default == "none"  # type: ignore[union-attr]
    assert schema.object("Contact") is None


def test_junction_and_netsuite_references_resolve() -> None:
    junction = load_schema(SCHEMA_DIR / "salesforce-plan-junction.yaml").object("Plan__c")
    assert junction is not None
    targets = {f.name: f.to for f in junction.fields.values() if f.type == "reference"}
    assert targets == {"Account__c": "Account", "Subscription__c": "Subscription__c"}

    ns = load_schema(SCHEMA_DIR / "netsuite-customrecord.yaml")
    record = ns.object("customrecord_subscription")
    assert record is not None and record.custom and record.key_prefix is None
    assert record.field("custrecord_sub_customer").relationship is None  # type: ignore[union-attr]
    assert ns.object("CUSTOMER") is not None
    assert ns.custom_objects() == (record,)


def test_netsuite_standard_record_labels() -> None:
    ns = load_schema(SCHEMA_DIR / "netsuite-recovery-fields.yaml")
    assert ns.object("customerPayment").label == "Customer Payment"  # type: ignore[union-attr]
    field = ns.object("invoice").field("custbody_recovery_status")  # type: ignore[union-attr]
    assert field is not None and field.label == "Recovery Status"


# ----------------------------------------------------------------------------------------------
# Errors: each names the file, the key path, and what to do


def _write(tmp_path: Path, text: str, name: str = "merchant.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(SchemaError) as info:
        load_schema(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message


SF_HEAD = "vendor: salesforce\nname: m\nobjects:\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Foo__c: {type: strin}
            """,
            [":6: objects.Account.fields.Foo__c.type: 'strin' is not a field type; "
             "did you mean 'string'?", "use one of: string, textarea"],
            id="bad-type",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Foo__c: {type: checkbox}
            """,
            ["objects.Account.fields.Foo__c.type", "did you mean 'boolean'?"],
            id="type-from-another-tool",
        ),
        pytest.param(
            """
            name: m
            objects: {}
            """,
            ["merchant.yaml: missing required key 'vendor'; add it, e.g. 'vendor: stripe'"],
            id="missing-vendor",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Foo__c: {label: Foo}
            """,
            [":6: objects.Account.fields.Foo__c: missing required key 'type'; add e.g. "
             "'type: string'"],
            id="missing-type",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Foo__c: {type: string, requird: true}
            """,
            ["objects.Account.fields.Foo__c.requird: unknown key 'requird'; "
             "did you mean 'required'?"],
            id="unknown-field-key",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            object:
              Account: {}
            """,
            [":3: object: unknown key 'object'; did you mean 'objects'?"],
            id="unknown-top-key",
        ),
        pytest.param(
            """
            vendor: salesforse
            name: m
            """,
            [":1: vendor: 'salesforse' is not a vendor; did you mean 'salesforce'?"],
            id="unknown-vendor",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Tier__c: {type: picklist}
            """,
            ["objects.Account.fields.Tier__c: a picklist needs its allowed values; add e.g. "
             "'values: ["],
            id="picklist-without-values",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Opt_In__c: {type: picklist, values: [yes, no]}
            """,
            ["objects.Account.fields.Opt_In__c.values.0: True is not text",
             "put it in quotes, e.g. 'yes'"],
            id="picklist-yaml-booleans",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Parent_Sub__c: {type: reference}
            """,
            ["objects.Account.fields.Parent_Sub__c: a reference needs the object it points to; "
             "add e.g. 'to: Account'"],
            id="reference-without-to",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Sub__c: {type: reference, to: Subscriptoin__c}
              Subscription__c: {}
            """,
            ["objects.Account.fields.Sub__c.to: 'Subscriptoin__c' is a custom object that this "
             "schema does not define; did you mean 'Subscription__c'?"],
            id="reference-to-undefined-object",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Renewal_Date: {type: date}
            """,
            [":6: objects.Account.fields.Renewal_Date: Salesforce custom field names end in "
             "'__c'; rename it to 'Renewal_Date__c'"],
            id="sf-field-suffix",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Subscription:
                custom: true
            """,
            [":4: objects.Subscription: Salesforce custom object names end in '__c'; rename it "
             "to 'Subscription__c'"],
            id="sf-object-suffix",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Sub__c:
                fields:
                  Account__c: {type: reference, to: Account, relationship: Account_Rel}
            """,
            ["objects.Sub__c.fields.Account__c.relationship: Salesforce relationship names end "
             "in '__r'; use 'Account_Rel__r'"],
            id="sf-relationship-suffix",
        ),
        pytest.param(
            """
            vendor: netsuite
            name: m
            objects:
              invoice:
                fields:
                  custentity_retry_count: {type: int}
            """,
            ["objects.invoice.fields.custentity_retry_count: NetSuite custom fields on "
             "transaction records (invoice) start with 'custbody'; rename it to "
             "'custbody_retry_count'"],
            id="ns-transaction-prefix",
        ),
        pytest.param(
            """
            vendor: netsuite
            name: m
            objects:
              customer:
                fields:
                  stripe_id: {type: string}
            """,
            ["objects.customer.fields.stripe_id: NetSuite custom fields on entity records "
             "(customer) start with 'custentity'; rename it to 'custentity_stripe_id'"],
            id="ns-entity-prefix",
        ),
        pytest.param(
            """
            vendor: netsuite
            name: m
            objects:
              subscription_record:
                custom: true
            """,
            ["objects.subscription_record: NetSuite custom record types start with "
             "'customrecord'; rename it to 'customrecord_subscription_record'"],
            id="ns-customrecord-prefix",
        ),
        pytest.param(
            """
            vendor: netsuite
            name: m
            objects:
              customrecord_sub:
                fields:
                  custbody_status: {type: string}
            """,
            ["objects.customrecord_sub.fields.custbody_status: NetSuite custom fields on custom "
             "record types (customrecord_sub) start with 'custrecord'; rename it to "
             "'custrecord_status'"],
            id="ns-custrecord-prefix",
        ),
        pytest.param(
            """
            vendor: netsuite
            name: m
            objects:
              invoce:
                fields:
                  custbody_x: {type: string}
            """,
            ["objects.invoce: 'invoce' is not a NetSuite record type this format knows; "
             "did you mean 'invoice'?"],
            id="ns-unknown-record",
        ),
        pytest.param(
            """
            vendor: chargebee
            name: m
            objects:
              customer:
                fields:
                  salesforce_id: {type: string}
            """,
            ["objects.customer.fields.salesforce_id: Chargebee custom fields start with 'cf_'; "
             "rename it to 'cf_salesforce_id'"],
            id="cb-prefix",
        ),
        pytest.param(
            """
            vendor: chargebee
            name: m
            objects:
              contract:
                custom: true
            """,
            ["objects.contract: Chargebee has no custom objects; add 'cf_' fields to one of: "
             "customer, subscription"],
            id="cb-custom-object",
        ),
        pytest.param(
            """
            vendor: stripe
            name: m
            objects:
              customer:
                fields:
                  cf_x: {type: string}
            """,
            [":3: objects: Stripe has no custom fields or custom objects, only free-form "
             "metadata", "remove 'objects'"],
            id="stripe-objects",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Count__c: {type: int, length: 10}
            """,
            ["objects.Account.fields.Count__c.length: 'length' does not apply to type int; "
             "remove it"],
            id="key-not-for-type",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Tier__c: {type: picklist, values: [gold, silver], default: bronze}
            """,
            ["objects.Account.fields.Tier__c.default: the default is not a valid value: "
             "'bronze' is not an allowed value (allowed: gold, silver); fix it or remove "
             "'default'"],
            id="bad-default",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Renewal__c: {type: date, external_id: true}
            """,
            ["objects.Account.fields.Renewal__c.external_id: 'external_id' is only allowed on "
             "double, email, id, int, string fields"],
            id="external-id-type",
        ),
        pytest.param(
            """
            vendor: netsuite
            name: m
            objects:
              customrecord_sub:
                key_prefix: a0S
            """,
            ["objects.customrecord_sub.key_prefix: NetSuite objects have no key prefix; remove "
             "'key_prefix'"],
            id="key-prefix-not-salesforce",
        ),
        pytest.param(
            """
            vendor: salesforce
            name: m
            objects:
              Account:
                fields:
                  Price__c: {type: currency, precision: 4, scale: 6}
            """,
            ["objects.Account.fields.Price__c.scale: scale (6) cannot exceed precision (4)"],
            id="scale-over-precision",
        ),
    ],
)
def test_errors_name_file_path_and_fix(tmp_path: Path, body: str, expected: list[str]) -> None:
    message = _error(tmp_path, body)
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"


def test_yaml_syntax_error_has_line_number(tmp_path: Path) -> None:
    message = _error(tmp_path, """
        vendor: salesforce
        name: m
        objects:
          Account:
            fields:
              A__c: {type: string
              B__c: {type: date}
        """)
    assert "merchant.yaml:7: YAML syntax error at line 7" in message
    assert "check the indentation, colons and quotes" in message


def test_duplicate_keys_are_reported_not_silently_merged(tmp_path: Path) -> None:
    message = _error(tmp_path, """
        vendor: salesforce
        name: m
        objects:
          Account:
            fields:
              MRR__c: {type: currency}
              MRR__c: {type: double}
        """)
    assert ("merchant.yaml:7: objects.Account.fields.MRR__c: 'MRR__c' appears twice "
            "(lines 6 and 7); keep one of them") in message


def test_all_problems_are_listed_one_per_line(tmp_path: Path) -> None:
    message = _error(tmp_path, """
        vendor: salesforce
        name: m
        objects:
          Account:
            fields:
              A: {type: string}
              B__c: {type: strin}
        """)
    lines = message.splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{tmp_path / 'merchant.yaml'}:") for line in lines)


def test_empty_file_and_missing_file(tmp_path: Path) -> None:
    assert "the file is empty; start it with 'vendor:" in _error(tmp_path, "")
    with pytest.raises(SchemaError, match=r"nope\.yaml: no such file; check the schema path"):
        load_schema(tmp_path / "nope.yaml")


def test_schema_from_dict_names_its_source() -> None:
    with pytest.raises(SchemaError) as info:
        schema_from_dict({"vendor": "chargebee", "name": "m",
                          "objects": {"customer": {"fields": {"segment": "string"}}}},
                         source="topology.yaml#tenants.acme.schema")
    assert str(info.value).startswith(
        "topology.yaml#tenants.acme.schema: objects.customer.fields.segment: "
        "Chargebee custom fields start with 'cf_'")


def test_schema_from_dict_shorthand_and_stripe_without_objects() -> None:
    schema = schema_from_dict({"vendor": "salesforce", "name": "m",
                               "objects": {"Account": {"fields": {"Renewal__c": "date"}}}})
    field = schema.object("account").field("renewal__c")  # type: ignore[union-attr]
    assert field is not None and field.type == "date" and field.label == "Renewal"
    assert schema_from_dict({"vendor": "stripe", "name": "plain"}).objects == {}


# ----------------------------------------------------------------------------------------------
# FieldDef.coerce: the value check every fake shares


def _f(type_: str, **kw: object) -> FieldDef:
    return FieldDef(name="X__c", type=type_, label="X", **kw)  # type: ignore[arg-type]


ACCEPT = [
    (_f("string", length=5), "abcde", "abcde"),
    (_f("textarea"), "line 1\nline 2", "line 1\nline 2"),
    (_f("email"), "ap@example.com", "ap@example.com"),
    (_f("phone"), "+1 (415) 555-0100", "+1 (415) 555-0100"),
    (_f("url"), "https://example.com/a", "https://example.com/a"),
    (_f("int"), 42, 42),
    (_f("int"), "-7", -7),
    (_f("int"), 3.0, 3),
    (_f("int", precision=3), 999, 999),
    (_f("double"), "12.5", 12.5),
    (_f("double", precision=5, scale=2), 123.456, 123.46),
    (_f("currency", precision=18, scale=2), 19.99, 19.99),
    (_f("currency", precision=18, scale=2), "1e3", 1000.0),
    (_f("percent", precision=5, scale=2), 12, 12.0),
    (_f("boolean"), True, True),
    (_f("boolean"), "false", False),
    (_f("date"), "2024-02-29", "2024-02-29"),
    (_f("date"), date(2024, 5, 31), "2024-05-31"),
    (_f("datetime"), "2024-05-31T12:00:00Z", "2024-05-31T12:00:00Z"),
    (_f("datetime"), "2024-05-31T14:00:00.250+0200", "2024-05-31T12:00:00.250Z"),
    (_f("datetime"), datetime(2024, 5, 31, 12, tzinfo=UTC), "2024-05-31T12:00:00Z"),
    (_f("datetime"), 1717156800, "2024-05-31T12:00:00Z"),
    (_f("picklist", values=("active", "past_due")), "past_due", "past_due"),
    (_f("multipicklist", values=("SSO", "Sandbox")), "SSO;Sandbox", ["SSO", "Sandbox"]),
    (_f("multipicklist", values=("SSO", "Sandbox")), ["Sandbox", "Sandbox"], ["Sandbox"]),
    (_f("reference", to="Account"), "001000000000001AAA", "001000000000001AAA"),
    (_f("reference", to="customer"), {"id": "107"}, "107"),
    (_f("reference", to="customer"), 107, "107"),
    (_f("id"), "a0S000000000001", "a0S000000000001"),
    (_f("string"), None, None),
]


@pytest.mark.parametrize(("field", "value", "expected"), ACCEPT,
                         ids=[f"{f.type}-{v!r}" for f, v, _ in ACCEPT])
def test_coerce_accepts(field: FieldDef, value: object, expected: object) -> None:
    assert field.coerce(value) == expected


REJECT = [
    (_f("string"), 5, "expected text, got 5"),
    (_f("string", length=5), "abcdef", "longer than 5 characters (6)"),
    (_f("email"), "not-an-email", "not an email address"),
    (_f("phone"), "call me", "not a phone number"),
    (_f("url"), "http://a b", "not a URL"),
    (_f("int"), "12.5", "expected a whole number"),
    (_f("int"), 2.5, "expected a whole number"),
    (_f("int"), True, "expected a number"),
    (_f("int", precision=3), 1000, "more than 3 digits"),
    (_f("double"), "abc", "expected a number"),
    (_f("double"), float("nan"), "expected a finite number"),
    (_f("currency", precision=5, scale=2), 1234.5, "more than 3 digits before the decimal point"),
    (_f("boolean"), "yes", "expected true or false"),
    (_f("boolean"), 1, "expected true or false"),
    (_f("date"), "05/31/2024", "expected a date like 2024-05-31"),
    (_f("date"), "2024-02-30", "not a real date"),
    (_f("date"), datetime(2024, 5, 31, tzinfo=UTC), "expected a date without a time"),
    (_f("datetime"), "2024-05-31", "expected a datetime like 2024-05-31T12:00:00Z"),
    (_f("datetime"), "2024-05-31T12:00:00", "datetime needs a time zone"),
    (_f("datetime"), "2024-13-01T00:00:00Z", "not a real date/time"),
    (_f("picklist", values=("active", "past_due")), "Active",
     "'Active' is not an allowed value (allowed: active, past_due)"),
    (_f("picklist", values=("a",)), 1, "expected one of: a"),
    (_f("multipicklist", values=("SSO",)), "SSO;Audit", "'Audit' is not an allowed value"),
    (_f("reference", to="Account"), "", "expected the id of a Account"),
    (_f("id"), "has space", "expected an id without spaces"),
]


@pytest.mark.parametrize(("field", "value", "reason"), REJECT,
                         ids=[f"{f.type}-{v!r}" for f, v, _ in REJECT])
def test_coerce_rejects(field: FieldDef, value: object, reason: str) -> None:
    with pytest.raises(FieldValueError) as info:
        field.coerce(value)
    assert info.value.field == "X__c"
    assert reason in info.value.reason
    assert str(info.value) == f"X__c: {info.value.reason}"
    assert len(info.value.reason) < 120  # short enough for a vendor error body


def test_every_type_has_a_coercer() -> None:
    for type_ in FIELD_TYPES:
        kw: dict[str, object] = {"values": ("a",)} if "picklist" in type_ else {}
        with pytest.raises(FieldValueError):
            _f(type_, **kw).coerce(object())
