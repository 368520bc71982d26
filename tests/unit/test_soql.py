"""Unit tests for the fake Salesforce's SOQL parser/evaluator (simulators/salesforce/soql.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.salesforce.soql import (
    Comparison,
    FieldInfo,
    Logical,
    Negation,
    QueryResult,
    SoqlError,
    execute,
    parse,
)

NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)  # a Friday


def _fields(*infos: FieldInfo) -> dict[str, FieldInfo]:
    return {info.name: info for info in infos}


SCHEMA: dict[str, dict[str, FieldInfo]] = {
    "User": _fields(FieldInfo("Id", "id"), FieldInfo("Name", "string")),
    "Account": _fields(
        FieldInfo("Id", "id"),
        FieldInfo("Name", "string"),
        FieldInfo("Industry", "picklist"),
        FieldInfo("AnnualRevenue", "currency"),
        FieldInfo("NumberOfEmployees", "int"),
        FieldInfo("IsPartner__c", "boolean"),
        FieldInfo("CreatedDate", "datetime"),
        FieldInfo("LastActivityDate", "date"),
        FieldInfo("OwnerId", "reference", "User", "Owner"),
        FieldInfo("IsDeleted", "boolean"),
    ),
    "Contact": _fields(
        FieldInfo("Id", "id"),
        FieldInfo("FirstName", "string"),
        FieldInfo("LastName", "string"),
        FieldInfo("Email", "email"),
        FieldInfo("AccountId", "reference", "Account", "Account"),
        FieldInfo("Birthdate", "date"),
        FieldInfo("IsDeleted", "boolean"),
    ),
    "SBQQ__Quote__c": _fields(
        FieldInfo("Id", "id"),
        FieldInfo("Name", "string"),
        FieldInfo("SBQQ__Account__c", "reference", "Account", "SBQQ__Account__r"),
        FieldInfo("SBQQ__NetAmount__c", "currency"),
        FieldInfo("SBQQ__Status__c", "picklist"),
        FieldInfo("IsDeleted", "boolean"),
    ),
}

DATA: dict[str, list[dict[str, Any]]] = {
    "User": [{"Id": "005000000000001AAA", "Name": "Olivia Owner"}],
    "Account": [
        {
            "Id": "001000000000001AAA",
            "Name": "Acme Corp",
            "Industry": "Manufacturing",
            "AnnualRevenue": 5000000.0,
            "NumberOfEmployees": 250,
            "IsPartner__c": True,
            "CreatedDate": "2024-03-15T09:30:00.000+0000",
            "LastActivityDate": "2024-03-14",
            "OwnerId": "005000000000001AAA",
            "IsDeleted": False,
        },
        {
            "Id": "001000000000002AAA",
            "Name": "globex",
            "Industry": None,
            "AnnualRevenue": 120000.5,
            "NumberOfEmployees": 12,
            "IsPartner__c": False,
            "CreatedDate": "2024-02-10T23:59:59.000+0000",
            "LastActivityDate": "2024-02-29",
            "OwnerId": None,
            "IsDeleted": False,
        },
        {
            "Id": "001000000000003AAA",
            "Name": "Initech 100% Ltd",
            "Industry": "Technology",
            "AnnualRevenue": None,
            "NumberOfEmployees": None,
            "IsPartner__c": None,
            "CreatedDate": "2023-12-31T10:00:00.000+0000",
            "LastActivityDate": None,
            "OwnerId": "005000000000001AAA",
            "IsDeleted": False,
        },
        {
            "Id": "001000000000004AAA",
            "Name": "Deleted Ltd",
            "Industry": "Technology",
            "AnnualRevenue": 1.0,
            "NumberOfEmployees": 1,
            "IsPartner__c": False,
            "CreatedDate": "2024-03-01T00:00:00.000+0000",
            "LastActivityDate": "2024-03-01",
            "OwnerId": None,
            "IsDeleted": True,
        },
    ],
    "Contact": [
        {
            "Id": "003000000000001AAA",
            "FirstName": "Ada",
            "LastName": "O'Brien",
            "Email": "ada@acme.example",
            "AccountId": "001000000000001AAA",
            "Birthdate": "1990-01-31",
            "IsDeleted": False,
        },
        {
            "Id": "003000000000002AAA",
            "FirstName": "bob",
            "LastName": "Smith",
            "Email": None,
            "AccountId": "001000000000002AAA",
            "Birthdate": None,
            "IsDeleted": False,
        },
        {
            "Id": "003000000000003AAA",
            "FirstName": None,
            "LastName": "Orphan",
            "Email": "orphan@example.com",
            "AccountId": None,
            "Birthdate": "1985-06-15",
            "IsDeleted": False,
        },
    ],
    "SBQQ__Quote__c": [
        {
            "Id": "a0x000000000001AAA",
            "Name": "Q-00001",
            "SBQQ__Account__c": "001000000000001AAA",
            "SBQQ__NetAmount__c": 1500.25,
            "SBQQ__Status__c": "Approved",
            "IsDeleted": False,
        },
        {
            "Id": "a0x000000000002AAA",
            "Name": "Q-00002",
            "SBQQ__Account__c": "001000000000003AAA",
            "SBQQ__NetAmount__c": 99,
            "SBQQ__Status__c": "Draft",
            "IsDeleted": False,
        },
    ],
}


class MemoryCatalog:
    """Minimal in-memory implementation of the soql.Catalog protocol."""

    def __init__(self) -> None:
        self.get_calls = 0

    def object_name(self, name: str) -> str | None:
        return next((obj for obj in SCHEMA if obj.lower() == name.lower()), None)

    def fields(self, sobject: str) -> dict[str, FieldInfo]:
        return SCHEMA[sobject]

    def records(self, sobject: str, include_deleted: bool) -> Iterable[dict[str, Any]]:
        return [r for r in DATA[sobject] if include_deleted or not r.get("IsDeleted")]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        self.get_calls += 1
        return next((r for r in DATA[sobject] if r["Id"] == record_id), None)


CATALOG = MemoryCatalog()


def run(soql: str, **kwargs: Any) -> QueryResult:
    kwargs.setdefault("now", NOW)
    return execute(soql, CATALOG, **kwargs)


def ids(soql: str, **kwargs: Any) -> list[str]:
    return [record["Id"] for record in run(soql, **kwargs).records]


def names(soql: str, **kwargs: Any) -> list[str]:
    return [record["Name"] for record in run(soql, **kwargs).records]


def error(soql: str, **kwargs: Any) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        run(soql, **kwargs)
    return info.value


ACME, GLOBEX, INITECH, DELETED = (f"00100000000000{n}AAA" for n in range(1, 5))


# --- SELECT / output shape -------------------------------------------------------------------


def test_record_shape_attributes_and_select_order() -> None:
    result = run(f"SELECT Name, Id, Industry FROM Account WHERE Id = '{ACME}'")
    assert result.total_size == 1
    assert result.records == [
        {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/v59.0/sobjects/Account/{ACME}",
            },
            "Name": "Acme Corp",
            "Id": ACME,
            "Industry": "Manufacturing",
        }
    ]
    assert list(result.records[0]) == ["attributes", "Name", "Id", "Industry"]


def test_keywords_objects_and_fields_are_case_insensitive_with_canonical_output() -> None:
    result = run("select NAME, annualrevenue from ACCOUNT where name = 'ACME CORP'")
    record = result.records[0]
    assert record["attributes"]["type"] == "Account"
    assert list(record) == ["attributes", "Name", "AnnualRevenue"]


def test_instance_path_is_used_for_urls() -> None:
    record = run("SELECT Id FROM Contact LIMIT 1", instance_path="/services/data/v62.0/").records[0]
    assert record["attributes"]["url"].startswith("/services/data/v62.0/sobjects/Contact/")


def test_parent_relationship_is_nested_and_merged() -> None:
    records = run(
        "SELECT Id, Account.Name, LastName, Account.Industry, Account.Owner.Name "
        "FROM Contact ORDER BY LastName"
    ).records
    ada = records[0]
    assert ada["LastName"] == "O'Brien"
    assert list(ada) == ["attributes", "Id", "Account", "LastName"]
    assert ada["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{ACME}"},
        "Name": "Acme Corp",
        "Industry": "Manufacturing",
        "Owner": {
            "attributes": {
                "type": "User",
                "url": "/services/data/v59.0/sobjects/User/005000000000001AAA",
            },
            "Name": "Olivia Owner",
        },
    }
    orphan = records[1]
    assert orphan["LastName"] == "Orphan"
    assert orphan["Account"] is None
    globex_contact = records[2]
    assert globex_contact["Account"]["Owner"] is None  # Globex has no owner


def test_custom_relationship_in_select_and_where() -> None:
    result = run(
        "SELECT Name, SBQQ__Account__r.Name FROM SBQQ__Quote__c "
        "WHERE sbqq__account__r.name LIKE 'acme%'"
    )
    assert result.records == [
        {
            "attributes": {
                "type": "SBQQ__Quote__c",
                "url": "/services/data/v59.0/sobjects/SBQQ__Quote__c/a0x000000000001AAA",
            },
            "Name": "Q-00001",
            "SBQQ__Account__r": {
                "attributes": {
                    "type": "Account",
                    "url": f"/services/data/v59.0/sobjects/Account/{ACME}",
                },
                "Name": "Acme Corp",
            },
        }
    ]


def test_object_name_may_prefix_its_own_fields() -> None:
    assert names(f"SELECT Account.Name FROM Account WHERE Account.Id = '{GLOBEX}'") == ["globex"]
    assert run(f"SELECT Account.Name FROM Account WHERE Id = '{GLOBEX}'").records[0]["Name"]


def test_parent_lookups_are_cached_within_a_query() -> None:
    catalog = MemoryCatalog()
    execute("SELECT Account.Name, Account.Industry FROM Contact", catalog, now=NOW)
    assert catalog.get_calls == 2  # two distinct parents, fetched once each


# --- COUNT() ---------------------------------------------------------------------------------


def test_count() -> None:
    result = run("SELECT COUNT() FROM Account")
    assert (result.total_size, result.records) == (3, [])
    assert run("select count() from Account where Industry = 'Technology'").total_size == 1
    assert run("SELECT COUNT() FROM Account", include_deleted=True).total_size == 4


def test_count_of_field_is_rejected() -> None:
    err = error("SELECT COUNT(Id) FROM Account")
    assert err.error_code == "MALFORMED_QUERY"


# --- WHERE -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'acme corp'", ["Acme Corp"]),
        ("Name != 'Acme Corp'", ["globex", "Initech 100% Ltd"]),
        ("Name <> 'Acme Corp'", ["globex", "Initech 100% Ltd"]),
        ("NumberOfEmployees > 12", ["Acme Corp"]),
        ("NumberOfEmployees >= 12", ["Acme Corp", "globex"]),
        ("NumberOfEmployees < 250", ["globex"]),
        ("NumberOfEmployees <= 250", ["Acme Corp", "globex"]),
        ("AnnualRevenue = 120000.5", ["globex"]),
        ("AnnualRevenue > 1e3", None),  # exponent notation is not SOQL
        ("AnnualRevenue < -1", []),
        ("Industry IN ('technology', 'Manufacturing')", ["Acme Corp", "Initech 100% Ltd"]),
        ("Industry NOT IN ('Technology')", ["Acme Corp", "globex"]),
        ("Industry IN (null)", ["globex"]),
        ("Industry = null", ["globex"]),
        ("Industry != null", ["Acme Corp", "Initech 100% Ltd"]),
        ("Name LIKE 'a%'", ["Acme Corp"]),
        ("Name LIKE '%CORP'", ["Acme Corp"]),
        ("Name LIKE 'glob_x'", ["globex"]),
        ("Name LIKE 'glob_'", []),
        ("Name LIKE '%100\\%%'", ["Initech 100% Ltd"]),
        ("Name LIKE '%0\\%'", []),
        ("IsPartner__c = true", ["Acme Corp"]),
        ("IsPartner__c = FALSE", ["globex", "Initech 100% Ltd"]),
        ("IsPartner__c = null", ["globex", "Initech 100% Ltd"]),  # boolean null means false
        ("IsPartner__c != null", ["Acme Corp"]),
        ("Name = 'Acme Corp' AND NumberOfEmployees > 100", ["Acme Corp"]),
        ("Name = 'Acme Corp' AND NumberOfEmployees < 100", []),
        ("Name = 'globex' OR Industry = 'Technology'", ["globex", "Initech 100% Ltd"]),
        ("NOT Name = 'globex'", ["Acme Corp", "Initech 100% Ltd"]),
        ("NOT (Name = 'globex' OR Name LIKE 'init%')", ["Acme Corp"]),
        (
            "(Industry = 'Technology' OR Industry = null) AND (NOT NumberOfEmployees = 12)",
            ["Initech 100% Ltd"],
        ),
        ("Owner.Name = 'Olivia Owner'", ["Acme Corp", "Initech 100% Ltd"]),
        ("Owner.Name = null", ["globex"]),  # missing parent behaves as null
    ],
)
def test_where_operators(where: str, expected: list[str] | None) -> None:
    soql = f"SELECT Name FROM Account WHERE {where} ORDER BY Name"
    if expected is None:
        assert error(soql).error_code == "MALFORMED_QUERY"
    else:
        assert names(soql) == expected


def test_not_equals_matches_nulls_like_salesforce_but_ordering_ops_do_not() -> None:
    # SOQL has no three-valued logic: "Industry != 'X'" also returns rows whose Industry is null.
    assert "globex" in names("SELECT Name FROM Account WHERE Industry != 'Technology'")
    assert "globex" in names("SELECT Name FROM Account WHERE Industry NOT IN ('Technology')")
    assert "globex" not in names("SELECT Name FROM Account WHERE Industry < 'zzz'")
    assert "globex" not in names("SELECT Name FROM Account WHERE Industry LIKE '%'")


def test_mixing_and_or_without_parentheses_is_malformed() -> None:
    err = error("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'")
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith("unexpected token: 'OR'")


def test_string_escapes() -> None:
    assert ids("SELECT Id FROM Contact WHERE LastName = 'O\\'Brien'") == ["003000000000001AAA"]
    query = parse(r"SELECT Id FROM Contact WHERE LastName IN ('a\\b', 'c\nd', '\u00e9', '\"')")
    assert isinstance(query.where, Comparison)
    assert [lit.value for lit in query.where.values] == ["a\\b", "c\nd", "é", '"']


def test_bad_escape_is_malformed() -> None:
    err = error(r"SELECT Id FROM Contact WHERE LastName = 'a\qb'")
    assert err.error_code == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\q' in string literal." in err.message


def test_id_comparisons_accept_15_and_18_character_forms() -> None:
    assert ids(f"SELECT Id FROM Account WHERE Id = '{ACME[:15]}'") == [ACME]
    assert ids(f"SELECT Id FROM Contact WHERE AccountId IN ('{GLOBEX}')") == ["003000000000002AAA"]


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("LastActivityDate = 2024-03-14", ["Acme Corp"]),
        ("LastActivityDate < 2024-03-14", ["globex"]),
        ("LastActivityDate >= 2024-02-29", ["Acme Corp", "globex"]),
        ("CreatedDate > 2024-03-15T09:00:00Z", ["Acme Corp"]),
        ("CreatedDate > 2024-03-15T09:30:00.000Z", []),
        ("CreatedDate = 2024-03-15T11:30:00+02:00", ["Acme Corp"]),
        ("CreatedDate < 2024-01-01T00:00:00-05:00", ["Initech 100% Ltd"]),
        ("CreatedDate = TODAY", ["Acme Corp"]),
        ("CreatedDate < TODAY", ["globex", "Initech 100% Ltd"]),
        ("CreatedDate > YESTERDAY", ["Acme Corp"]),
        ("LastActivityDate = YESTERDAY", ["Acme Corp"]),
        ("LastActivityDate = TOMORROW", []),
        ("LastActivityDate = LAST_N_DAYS:1", ["Acme Corp"]),
        ("LastActivityDate = LAST_N_DAYS:20", ["Acme Corp", "globex"]),
        ("CreatedDate = LAST_N_DAYS:90", ["Acme Corp", "globex", "Initech 100% Ltd"]),
        ("LastActivityDate = NEXT_N_DAYS:5", []),
        ("CreatedDate = THIS_MONTH", ["Acme Corp"]),
        ("LastActivityDate = LAST_MONTH", ["globex"]),
        ("CreatedDate >= LAST_MONTH", ["Acme Corp", "globex"]),
        ("CreatedDate <= LAST_MONTH", ["globex", "Initech 100% Ltd"]),
        ("CreatedDate = LAST_YEAR", ["Initech 100% Ltd"]),
        ("CreatedDate = THIS_WEEK", ["Acme Corp"]),
        ("CreatedDate != THIS_YEAR", ["Initech 100% Ltd"]),
        ("LastActivityDate IN (YESTERDAY, 2024-02-29)", ["Acme Corp", "globex"]),
        ("LastActivityDate = null", ["Initech 100% Ltd"]),
    ],
)
def test_date_and_datetime_filters(where: str, expected: list[str]) -> None:
    assert names(f"SELECT Name FROM Account WHERE {where} ORDER BY Name") == expected


def test_relative_dates_follow_the_injected_now() -> None:
    soql = "SELECT Name FROM Account WHERE CreatedDate = TODAY"
    assert names(soql, now=NOW) == ["Acme Corp"]
    assert names(soql, now=datetime(2024, 2, 10, 20, 0, tzinfo=UTC)) == ["globex"]
    soql = "SELECT Name FROM Account WHERE LastActivityDate = NEXT_N_DAYS:15"
    assert names(soql, now=datetime(2024, 2, 20, tzinfo=UTC)) == ["globex"]


def test_next_n_days_excludes_today() -> None:
    soql = "SELECT Name FROM Account WHERE LastActivityDate = NEXT_N_DAYS:1"
    assert names(soql, now=datetime(2024, 3, 13, tzinfo=UTC)) == ["Acme Corp"]
    assert names(soql, now=datetime(2024, 3, 14, tzinfo=UTC)) == []


def test_datetime_field_rejects_plain_date_literal() -> None:
    err = error("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01")
    assert err.error_code == "INVALID_FIELD"
    assert err.message.endswith(
        "value of filter criterion for field 'CreatedDate' must be of type dateTime "
        "and should not be enclosed in quotes"
    )


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ("CreatedDate > '2024-01-01T00:00:00Z'", "must be of type dateTime and should not"),
        ("LastActivityDate = '2024-01-01'", "must be of type date and should not"),
        ("NumberOfEmployees = '5'", "must be of type integer and should not"),
        ("IsPartner__c = 'true'", "must be of type boolean and should not"),
        ("Name = 5", "must be of type string and should be enclosed in quotes"),
        ("Id = 5", "must be of type id and should be enclosed in quotes"),
        ("Name = TODAY", "must be of type string and should be enclosed in quotes"),
    ],
)
def test_filter_value_type_mismatches(where: str, fragment: str) -> None:
    err = error(f"SELECT Id FROM Account WHERE {where}")
    assert err.error_code == "INVALID_FIELD"
    assert fragment in err.message


@pytest.mark.parametrize(
    "literal", ["2024-02-30", "2024-13-01T00:00:00Z", "2024-01-01T00:00:00+25:00"]
)
def test_invalid_date_literals_are_malformed(literal: str) -> None:
    err = error(f"SELECT Id FROM Account WHERE LastActivityDate = {literal}")
    assert err.error_code == "MALFORMED_QUERY"


def test_like_on_non_string_field_is_invalid() -> None:
    assert error("SELECT Id FROM Account WHERE NumberOfEmployees LIKE '1%'").error_code == (
        "INVALID_FIELD"
    )


# --- ORDER BY / LIMIT / OFFSET ---------------------------------------------------------------


def test_order_by_defaults_nulls_first_ascending_and_last_descending() -> None:
    assert names("SELECT Name FROM Account ORDER BY NumberOfEmployees") == [
        "Initech 100% Ltd",
        "globex",
        "Acme Corp",
    ]
    assert names("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC") == [
        "Acme Corp",
        "globex",
        "Initech 100% Ltd",
    ]
    assert names("SELECT Name FROM Account ORDER BY NumberOfEmployees ASC NULLS LAST") == [
        "globex",
        "Acme Corp",
        "Initech 100% Ltd",
    ]
    assert names("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC NULLS FIRST") == [
        "Initech 100% Ltd",
        "Acme Corp",
        "globex",
    ]


def test_order_by_strings_is_case_insensitive_and_multi_key_is_stable() -> None:
    assert names("SELECT Name FROM Account ORDER BY Name") == [
        "Acme Corp",
        "globex",
        "Initech 100% Ltd",
    ]
    assert names("SELECT Name FROM Account ORDER BY Industry DESC, Name DESC") == [
        "Initech 100% Ltd",
        "Acme Corp",
        "globex",
    ]


def test_order_by_dates_numbers_and_parent_fields() -> None:
    assert names("SELECT Name FROM Account ORDER BY CreatedDate DESC") == [
        "Acme Corp",
        "globex",
        "Initech 100% Ltd",
    ]
    assert names("SELECT Name FROM Account ORDER BY AnnualRevenue DESC NULLS LAST") == [
        "Acme Corp",
        "globex",
        "Initech 100% Ltd",
    ]
    contacts = run("SELECT LastName FROM Contact ORDER BY Account.Name DESC NULLS LAST").records
    assert [c["LastName"] for c in contacts] == ["Smith", "O'Brien", "Orphan"]


def test_limit_and_offset() -> None:
    soql = "SELECT Name FROM Account ORDER BY Name"
    assert names(soql + " LIMIT 2") == ["Acme Corp", "globex"]
    assert names(soql + " LIMIT 2 OFFSET 1") == ["globex", "Initech 100% Ltd"]
    assert names(soql + " OFFSET 2") == ["Initech 100% Ltd"]
    assert names(soql + " LIMIT 0") == []
    assert run(soql + " LIMIT 1").total_size == 1
    assert run("SELECT COUNT() FROM Account LIMIT 2").total_size == 2


def test_offset_above_2000_is_rejected() -> None:
    err = error("SELECT Id FROM Account OFFSET 2001")
    assert err.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert "Maximum SOQL offset allowed is 2000" in err.message


def test_limit_must_come_before_offset() -> None:
    assert error("SELECT Id FROM Account OFFSET 1 LIMIT 1").error_code == "MALFORMED_QUERY"


def test_include_deleted() -> None:
    assert DELETED not in ids("SELECT Id FROM Account")
    assert DELETED in ids("SELECT Id FROM Account", include_deleted=True)


# --- errors ----------------------------------------------------------------------------------


def test_unknown_object_is_invalid_type() -> None:
    err = error("SELECT Id FROM Foo__c")
    assert err.error_code == "INVALID_TYPE"
    assert err.message == (
        "\nSELECT Id FROM Foo__c\n"
        "               ^\n"
        "ERROR at Row:1:Column:16\n"
        "sObject type 'Foo__c' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )
    assert err.to_dict() == {"message": err.message, "errorCode": "INVALID_TYPE"}


def test_unknown_field_is_invalid_field_with_caret() -> None:
    err = error("SELECT Id, Foo FROM Account")
    assert err.error_code == "INVALID_FIELD"
    assert (err.row, err.column) == (1, 12)
    assert err.message == (
        "\nSELECT Id, Foo FROM Account\n"
        "           ^\n"
        "ERROR at Row:1:Column:12\n"
        "No such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
        "the describe call for the appropriate names."
    )


def test_unknown_field_in_where_order_by_and_parent() -> None:
    assert (
        "No such column 'Nope' on entity 'Account'"
        in error("SELECT Id FROM Account WHERE Nope = 1").message
    )
    assert (
        "No such column 'Nope' on entity 'Account'"
        in error("SELECT Id FROM Account ORDER BY Nope").message
    )
    assert (
        "No such column 'Nope' on entity 'Account'"
        in error("SELECT Account.Nope FROM Contact").message
    )


def test_unknown_relationship() -> None:
    err = error("SELECT Id, Acount.Name FROM Contact")
    assert err.error_code == "INVALID_FIELD"
    assert err.message.endswith(
        "Didn't understand relationship 'Acount' in field path. If you are attempting to use a "
        "custom relationship, be sure to append the '__r' after the custom relationship name. "
        "Please reference your WSDL or the describe call for the appropriate names."
    )
    # a reference field name is not a relationship name
    assert error("SELECT SBQQ__Account__c.Name FROM SBQQ__Quote__c").error_code == "INVALID_FIELD"


def test_error_position_on_multi_line_query() -> None:
    err = error("SELECT Id\nFROM Account\nWHERE Nope__c = 1")
    assert (err.row, err.column) == (3, 7)
    assert err.message.startswith("\nWHERE Nope__c = 1\n      ^\nERROR at Row:3:Column:7\n")


def test_long_query_error_snippet_is_windowed() -> None:
    padding = ", ".join(["Name"] * 30)
    err = error(f"SELECT {padding}, Bogus__c FROM Account")
    snippet, caret = err.message.split("\n")[1:3]
    assert len(snippet) < 100
    assert snippet[caret.index("^") :].startswith("Bogus__c")


def test_duplicate_field() -> None:
    err = error("SELECT Id, Name, name FROM Account")
    assert (err.error_code, err.message.splitlines()[-1]) == (
        "INVALID_FIELD",
        "duplicate field selected: name",
    )


@pytest.mark.parametrize(
    ("soql", "token", "column"),
    [
        ("SELECT Id, FROM Account", "FROM", 12),
        ("SELECT FROM Account", "FROM", 8),
        ("SELECT Id FROM Account WHERE", "<EOF>", 29),
        ("SELECT Id FROM Account WHERE Name = 'O'Brien'", "Brien", 40),
        ("SELECT Id FROM Account WHERE Name = ", "<EOF>", 37),
        ("SELECT Id FROM Account WHERE Name IN ()", ")", 39),
        ("SELECT Id FROM Account WHERE Name NOT LIKE 'a'", "LIKE", 39),
        ("SELECT Id FROM Account WHERE Name = bareword", "bareword", 37),
        ("SELECT Id FROM Account LIMIT -1", "-1", 30),
        ("SELECT Id FROM Account LIMIT 1.5", "1.5", 30),
        ("SELECT Id FROM Account a", "a", 24),
        ("SELECT Id FROM Account WHERE Name = 'x' ORDER Name", "ORDER", 41),
        ("SELECT Id FROM Account ORDER BY Name NULLS", "<EOF>", 43),
        ("SELECT Id FROM Account WHERE Name = 'x' #", "#", 41),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "'", 37),
        ("SELECT Id FROM Account WHERE (Name = 'x'", "<EOF>", 41),
        ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS", "<EOF>", 55),
        ("SELECT Id FROM Account WHERE CreatedDate = TODAY:3", ":", 49),
        ("DELETE FROM Account", "DELETE", 1),
        ("", "<EOF>", 1),
    ],
)
def test_syntax_errors(soql: str, token: str, column: int) -> None:
    err = error(soql)
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith(f"unexpected token: '{token}'")
    assert f"ERROR at Row:1:Column:{column}\n" in err.message


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
        "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
        "SELECT Id FROM Account GROUP BY Id",
        "SELECT Id FROM Account WITH SECURITY_ENFORCED",
        "SELECT Id FROM Account USING SCOPE mine",
        "SELECT Id FROM Account FOR UPDATE",
        "SELECT toLabel(Industry) FROM Account",
        "SELECT FIELDS(ALL) FROM Account LIMIT 200",
        "SELECT TYPEOF What WHEN Account THEN Name END FROM Event",
        "SELECT Id FROM Account WHERE Industry INCLUDES ('a')",
        "SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = 2024",
    ],
)
def test_unsupported_soql_is_malformed(soql: str) -> None:
    err = error(soql)
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.startswith("\n")


def test_parse_is_independent_of_catalog() -> None:
    query = parse(
        "SELECT Id, Account.Name FROM Contact WHERE NOT (A = 1 OR B IN ('x')) AND C LIKE 'y%' "
        "ORDER BY Account.Name DESC NULLS FIRST, Id LIMIT 10 OFFSET 5"
    )
    assert [p.text for p in query.fields] == ["Id", "Account.Name"]
    assert query.sobject == "Contact" and not query.is_count
    assert isinstance(query.where, Logical) and query.where.op == "AND"
    negation, like = query.where.items
    assert isinstance(negation, Negation) and isinstance(like, Comparison)
    assert like.op == "LIKE"
    assert isinstance(negation.item, Logical) and negation.item.op == "OR"
    first = negation.item.items[0]
    assert isinstance(first, Comparison) and first.values[0].value == Decimal("1")
    assert [(o.path.text, o.descending, o.nulls_first) for o in query.order_by] == [
        ("Account.Name", True, True),
        ("Id", False, True),
    ]
    assert (query.limit, query.offset) == (10, 5)
    assert parse("SELECT COUNT() FROM Account").is_count


def test_parse_literal_values() -> None:
    query = parse(
        "SELECT Id FROM X WHERE A IN (1, -2.5, true, null, 2024-01-31, 2024-01-31T10:00:00.000Z, "
        "2024-01-31T10:00:00+02:00, LAST_N_DAYS:7, 'txt')"
    )
    assert isinstance(query.where, Comparison)
    assert [(lit.kind, lit.value) for lit in query.where.values] == [
        ("number", Decimal("1")),
        ("number", Decimal("-2.5")),
        ("boolean", True),
        ("null", None),
        ("date", date(2024, 1, 31)),
        ("datetime", datetime(2024, 1, 31, 10, tzinfo=UTC)),
        ("datetime", datetime(2024, 1, 31, 8, tzinfo=UTC)),
        ("date_range", ("LAST_N_DAYS", 7)),
        ("string", "txt"),
    ]


def test_deep_nesting_is_a_soql_error_not_a_recursion_error() -> None:
    for soql in (
        "SELECT Id FROM Account WHERE " + "(" * 5000 + "Name = 'x'" + ")" * 5000,
        "SELECT Id FROM Account WHERE " + "NOT " * 5000 + "Name = 'x'",
    ):
        with pytest.raises(SoqlError) as info:
            parse(soql)
        assert info.value.error_code == "MALFORMED_QUERY"


def test_huge_numbers_do_not_crash() -> None:
    assert error("SELECT Id FROM Account LIMIT " + "9" * 5000).error_code == "MALFORMED_QUERY"
    assert names("SELECT Name FROM Account WHERE LastActivityDate = LAST_N_DAYS:999999999") == [
        "Acme Corp",
        "globex",
    ]
    assert names(
        "SELECT Name FROM Account WHERE NumberOfEmployees < " + "9" * 500 + " ORDER BY Name"
    ) == ["Acme Corp", "globex"]


# --- robustness ------------------------------------------------------------------------------

FUZZ_SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _only_soql_errors(soql: str) -> None:
    try:
        execute(soql, CATALOG, now=NOW, include_deleted=True)
    except SoqlError as exc:
        assert exc.error_code in {
            "MALFORMED_QUERY",
            "INVALID_FIELD",
            "INVALID_TYPE",
            "NUMBER_OUTSIDE_VALID_RANGE",
        }
        assert isinstance(exc.message, str) and exc.message


@FUZZ_SETTINGS
@given(st.text())
def test_arbitrary_text_only_raises_soql_error(soql: str) -> None:
    _only_soql_errors(soql)


_SOQL_CHARS = list("SELECT Id,Name FROMAccount WHERE='x%_\\()<>!:.0123-T")


@FUZZ_SETTINGS
@given(st.text(alphabet=st.sampled_from(_SOQL_CHARS)))
def test_soql_like_characters_only_raise_soql_error(soql: str) -> None:
    _only_soql_errors(soql)


_WORDS = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "COUNT", "(", ")", ",", ":", "=", "!=", "<>",
    "<", "<=", ">", ">=", "Id", "Name", "Account", "Contact", "SBQQ__Quote__c", "Account.Name",
    "Owner.Name", "SBQQ__Account__r.Name", "AccountId", "CreatedDate", "LastActivityDate",
    "NumberOfEmployees", "IsPartner__c", "Industry", "Bogus", "null", "true", "false", "TODAY",
    "LAST_N_DAYS", "THIS_MONTH", "LAST_MONTH", "'a%'", "'Acme Corp'", "'\\''", "'", "5", "-1.5",
    "2024-01-31", "2024-01-31T10:00:00Z", "2024-02-30", "99999999999",
]  # fmt: skip


@FUZZ_SETTINGS
@given(
    st.lists(st.sampled_from(_WORDS), max_size=25),
    st.sampled_from(["Account", "Contact", "SBQQ__Quote__c", "Nope"]),
)
def test_token_soup_only_raises_soql_error(words: list[str], sobject: str) -> None:
    _only_soql_errors(" ".join(words))
    _only_soql_errors(f"SELECT Id FROM {sobject} WHERE " + " ".join(words))
    _only_soql_errors(f"SELECT Id, Name FROM {sobject} " + " ".join(words))


_FIELDS = ["Id", "Name", "Industry", "NumberOfEmployees", "CreatedDate", "LastActivityDate",
           "IsPartner__c", "AnnualRevenue", "Owner.Name"]  # fmt: skip
_VALUES = ["null", "'x'", "'%e%'", "5", "0.5", "true", "TODAY", "LAST_N_DAYS:3", "2024-03-14",
           "2024-03-15T00:00:00Z"]  # fmt: skip


@FUZZ_SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_FIELDS),
            st.sampled_from(["=", "!=", "<", ">=", "LIKE", "IN", "NOT IN"]),
            st.sampled_from(_VALUES),
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["AND", "OR"]),
    st.sampled_from(_FIELDS),
    st.sampled_from(["ASC", "DESC NULLS FIRST", "DESC", "ASC NULLS LAST"]),
)
def test_well_formed_queries_evaluate_or_fail_cleanly(
    terms: list[tuple[str, str, str]], joiner: str, order: str, direction: str
) -> None:
    parts = [f"{f} {op} ({v})" if "IN" in op else f"{f} {op} {v}" for f, op, v in terms]
    soql = (
        f"SELECT Id, Name, Owner.Name FROM Account WHERE {f' {joiner} '.join(parts)} "
        f"ORDER BY {order} {direction} LIMIT 10"
    )
    try:
        result = run(soql, include_deleted=True)
    except SoqlError as exc:  # only literal/field type mismatches, or LIKE without a string
        assert exc.error_code == "INVALID_FIELD" or (
            exc.error_code == "MALFORMED_QUERY" and "LIKE" in soql
        )
    else:
        assert result.total_size == len(result.records) <= 4
