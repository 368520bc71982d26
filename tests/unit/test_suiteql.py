"""SuiteQL parser/evaluator: results, rendering, NetSuite's error texts, and fuzzing."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.netsuite.suiteql import (
    MappingCatalog,
    Query,
    SuiteQLError,
    execute,
    parse,
)

PREFIX = "Invalid search query. Detailed unprocessed description follows. "

CUSTOMERS = [
    {
        "id": 1,
        "entityid": "ACME",
        "email": "ap@acme.com",
        "isinactive": False,
        "datecreated": datetime(2024, 1, 5, 15, 4),
        "balance": Decimal("10.50"),
    },
    {
        "id": 2,
        "entityid": "Globex",
        "email": None,
        "isinactive": True,
        "datecreated": datetime(2024, 2, 1, 0, 0),
    },
    {
        "id": 3,
        "entityid": "initech",
        "email": "Bill@Initech.com",
        "isinactive": False,
        "datecreated": datetime(2023, 12, 31, 23, 59, 30),
        "balance": 0,
    },
    {"id": 4, "entityid": "O'Brien & Sons", "email": "", "isinactive": False},
]
TRANSACTIONS = [
    {
        "id": 10,
        "entity": "1",
        "type": "CustInvc",
        "foreigntotal": 100.0,
        "trandate": date(2024, 1, 31),
    },
    {
        "id": 11,
        "entity": "1",
        "type": "CustInvc",
        "foreigntotal": 25.5,
        "trandate": date(2024, 2, 1),
    },
    {"id": 12, "entity": "3", "type": "CustPymt", "foreigntotal": -7, "trandate": date(2024, 2, 2)},
    {"id": 13, "entity": "99", "type": "CustInvc", "foreigntotal": 1, "trandate": None},
]
CUSTOM = [{"id": 1, "custrecord_ref": {"id": "10", "refName": "INV10"}, "name": "first"}]


@pytest.fixture()
def catalog() -> MappingCatalog:
    return MappingCatalog(
        {
            "customer": CUSTOMERS,
            "transaction": TRANSACTIONS,
            "customrecord_retry_log": CUSTOM,
            "emptytable": [],
        },
        columns={
            "customer": ["id", "entityid", "email", "isinactive", "datecreated", "balance"],
            "transaction": ["id", "entity", "type", "foreigntotal", "trandate"],
            "emptytable": ["id", "name"],
        },
    )


def ids(rows: list[dict]) -> list[str]:
    return [row["id"] for row in rows]


def error(q: str, catalog: MappingCatalog) -> SuiteQLError:
    with pytest.raises(SuiteQLError) as info:
        execute(q, catalog)
    return info.value


# --- results and rendering ----------------------------------------------------------------------


def test_items_have_links_first_string_values_and_omit_nulls(catalog: MappingCatalog) -> None:
    rows = execute("SELECT id, email, isinactive, balance FROM customer ORDER BY id", catalog)
    assert rows == [
        {"links": [], "id": "1", "email": "ap@acme.com", "isinactive": "F", "balance": "10.5"},
        {"links": [], "id": "2", "isinactive": "T"},
        {"links": [], "id": "3", "email": "Bill@Initech.com", "isinactive": "F", "balance": "0"},
        {"links": [], "id": "4", "isinactive": "F"},  # '' is NULL, as in Oracle
    ]
    assert list(rows[0]) == ["links", "id", "email", "isinactive", "balance"]


def test_identifiers_are_case_insensitive_and_keys_lower_case(catalog: MappingCatalog) -> None:
    rows = execute("SeLeCt C.EntityId AS Name, ID From CUSTOMER c WHERE c.Id = 1", catalog)
    assert rows == [{"links": [], "name": "ACME", "id": "1"}]


def test_dates_and_datetimes_use_netsuite_default_formats(catalog: MappingCatalog) -> None:
    rows = execute("SELECT datecreated FROM customer WHERE id IN (1, 2)", catalog)
    assert [r["datecreated"] for r in rows] == ["1/5/2024 3:04 pm", "2/1/2024 12:00 am"]
    rows = execute("SELECT trandate, foreigntotal FROM transaction WHERE id = 10", catalog)
    assert rows == [{"links": [], "trandate": "1/31/2024", "foreigntotal": "100"}]


def test_select_star_and_qualified_star(catalog: MappingCatalog) -> None:
    rows = execute("SELECT * FROM customer WHERE id = 2", catalog)
    assert rows == [
        {
            "links": [],
            "datecreated": "2/1/2024 12:00 am",
            "entityid": "Globex",
            "id": "2",
            "isinactive": "T",
        }
    ]
    rows = execute(
        "SELECT t.*, c.entityid FROM transaction t JOIN customer c ON c.id = t.entity "
        "WHERE t.id = 12",
        catalog,
    )
    assert rows == [
        {
            "links": [],
            "entity": "3",
            "foreigntotal": "-7",
            "id": "12",
            "trandate": "2/2/2024",
            "type": "CustPymt",
            "entityid": "initech",
        }
    ]


def test_reference_values_render_as_their_internal_id(catalog: MappingCatalog) -> None:
    rows = execute("SELECT custrecord_ref FROM customrecord_retry_log", catalog)
    assert rows == [{"links": [], "custrecord_ref": "10"}]


def test_count_star_alone(catalog: MappingCatalog) -> None:
    assert execute("SELECT COUNT(*) FROM customer", catalog) == [{"links": [], "expr1": "4"}]
    assert execute("select count(*) as total from customer where isinactive = 'F'", catalog) == [
        {"links": [], "total": "3"}
    ]
    assert execute("SELECT COUNT(*) AS n FROM emptytable", catalog) == [{"links": [], "n": "0"}]
    assert execute(
        "SELECT COUNT(email) AS e, COUNT(DISTINCT type) AS t FROM customer, transaction "
        "WHERE customer.id = 1",
        catalog,
    ) == [{"links": [], "e": "4", "t": "2"}]


def test_unaliased_expressions_are_named_exprn(catalog: MappingCatalog) -> None:
    rows = execute(
        "SELECT id, UPPER(entityid), LOWER(entityid) FROM customer WHERE id = 1", catalog
    )
    assert rows == [{"links": [], "id": "1", "expr1": "ACME", "expr2": "acme"}]


# --- WHERE ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("id = 1", ["1"]),
        ("id = '1'", ["1"]),  # text converted to a number
        ("id != 1", ["2", "3", "4"]),
        ("id <> 1", ["2", "3", "4"]),
        ("id < 2", ["1"]),
        ("id <= 2", ["1", "2"]),
        ("id > 3", ["4"]),
        ("id >= 3", ["3", "4"]),
        ("id = -1 OR id = 2", ["2"]),
        ("id IN (1, 3, 99)", ["1", "3"]),
        ("id NOT IN (1, 3)", ["2", "4"]),
        ("id BETWEEN 2 AND 3", ["2", "3"]),
        ("id NOT BETWEEN 2 AND 3", ["1", "4"]),
        ("email IS NULL", ["2", "4"]),
        ("email IS NOT NULL", ["1", "3"]),
        ("email = ''", []),  # '' is NULL: never equal
        ("email != 'ap@acme.com'", ["3"]),  # NULL never compares
        ("NOT (email = 'ap@acme.com')", ["3"]),
        ("isinactive = 'F' AND (id = 1 OR id = 4)", ["1", "4"]),
        ("NOT isinactive = 'T' AND NOT id IN (1)", ["3", "4"]),
        ("entityid = 'O''Brien & Sons'", ["4"]),
        ("entityid = 'acme'", []),  # case-sensitive, like Oracle
        ("LOWER(entityid) = 'acme'", ["1"]),
        ("UPPER(email) LIKE '%INITECH%'", ["3"]),
        ("email LIKE '%@initech.com'", []),  # LIKE is case-sensitive
        ("email LIKE '%@Initech.com'", ["3"]),
        ("email NOT LIKE 'ap%'", ["3"]),
        ("entityid LIKE 'A_ME'", ["1"]),
        ("entityid LIKE 'A_E'", []),
        ("balance > 5", ["1"]),
        ("balance = 10.5", ["1"]),
        ("NVL(balance, -1) < 0", ["2", "4"]),
        ("COALESCE(email, entityid) = 'Globex'", ["2"]),
        ("datecreated >= TO_DATE('2024-01-01', 'YYYY-MM-DD')", ["1", "2"]),
        ("datecreated < TO_DATE('01/01/2024 00:00:00', 'MM/DD/YYYY HH24:MI:SS')", ["3"]),
        ("datecreated > '1/5/2024'", ["1", "2"]),  # text read as a date
        ("datecreated >= DATE '2024-02-01'", ["2"]),
        ("TO_CHAR(datecreated, 'YYYY-MM') = '2024-01'", ["1"]),
        ("TO_CHAR(datecreated, 'YYYY-MM-DD HH24:MI:SS') > '2023-12-31 23:59:30'", ["1", "2"]),
        ("entityid || '!' = 'ACME!'", ["1"]),
        ("id * 2 + 1 = 7", ["3"]),
        ("id / 2 = 2", ["4"]),
        ("ROWNUM <= 2", ["1", "2"]),
        ("ROWNUM > 1", []),  # Oracle: ROWNUM > 1 is never true
        ("id IN ('2', 3)", ["2", "3"]),
        ("id = 'abc'", []),  # not a number: the comparison is unknown
    ],
)
def test_where(where: str, expected: list[str], catalog: MappingCatalog) -> None:
    assert ids(execute(f"SELECT id FROM customer WHERE {where} ORDER BY id", catalog)) == expected


def test_like_escape(catalog: MappingCatalog) -> None:
    cat = MappingCatalog({"t": [{"id": 1, "code": "50%_off"}, {"id": 2, "code": "50 off"}]})
    assert ids(execute(r"SELECT id FROM t WHERE code LIKE '50\%\_%' ESCAPE '\'", cat)) == ["1"]
    assert ids(execute("SELECT id FROM t WHERE code LIKE '50%'", cat)) == ["1", "2"]


def test_null_in_not_in_list_is_unknown(catalog: MappingCatalog) -> None:
    assert execute("SELECT id FROM customer WHERE id NOT IN (1, NULL)", catalog) == []
    assert ids(execute("SELECT id FROM customer WHERE id IN (1, NULL)", catalog)) == ["1"]


def test_comments_and_trailing_semicolon(catalog: MappingCatalog) -> None:
    q = """
        SELECT id -- the internal id
        FROM customer /* all of them */
        WHERE id = 1;
    """
    assert ids(execute(q, catalog)) == ["1"]


# --- joins ---------------------------------------------------------------------------------------


def test_inner_join(catalog: MappingCatalog) -> None:
    rows = execute(
        "SELECT t.id, c.entityid FROM transaction t INNER JOIN customer c ON t.entity = c.id "
        "ORDER BY t.id",
        catalog,
    )
    assert rows == [
        {"links": [], "id": "10", "entityid": "ACME"},
        {"links": [], "id": "11", "entityid": "ACME"},
        {"links": [], "id": "12", "entityid": "initech"},
    ]


def test_left_outer_join_keeps_unmatched_rows(catalog: MappingCatalog) -> None:
    rows = execute(
        "SELECT c.id AS cid, t.id AS tid FROM customer AS c LEFT OUTER JOIN transaction AS t "
        "ON t.entity = c.id AND t.type = 'CustInvc' ORDER BY cid, tid",
        catalog,
    )
    assert [(r["cid"], r.get("tid")) for r in rows] == [
        ("1", "10"),
        ("1", "11"),
        ("2", None),
        ("3", None),
        ("4", None),
    ]
    rows = execute(
        "SELECT c.id FROM customer c LEFT JOIN transaction t ON t.entity = c.id WHERE t.id IS NULL",
        catalog,
    )
    assert ids(rows) == ["2", "4"]


def test_right_and_full_joins(catalog: MappingCatalog) -> None:
    q = "SELECT c.id AS cid, t.id AS tid FROM customer c {} JOIN transaction t ON t.entity = c.id"
    right = execute(q.format("RIGHT") + " ORDER BY tid", catalog)
    assert [(r.get("cid"), r["tid"]) for r in right] == [
        ("1", "10"),
        ("1", "11"),
        ("3", "12"),
        (None, "13"),
    ]
    full = execute(q.format("FULL OUTER"), catalog)
    assert len(full) == 6  # 3 matches + customers 2 and 4 + transaction 13


def test_three_way_join(catalog: MappingCatalog) -> None:
    rows = execute(
        "SELECT c.entityid, t.id, r.name FROM customer c "
        "JOIN transaction t ON t.entity = c.id "
        "JOIN customrecord_retry_log r ON r.custrecord_ref = t.id",
        catalog,
    )
    assert rows == [{"links": [], "entityid": "ACME", "id": "10", "name": "first"}]


# --- ORDER BY, DISTINCT, TOP --------------------------------------------------------------------


def test_order_by_nulls_last_ascending_first_descending(catalog: MappingCatalog) -> None:
    asc = execute("SELECT id, email FROM customer ORDER BY email", catalog)
    assert ids(asc) == ["3", "1", "2", "4"]  # binary order: 'Bill@' < 'ap@'
    desc = execute("SELECT id, email FROM customer ORDER BY email DESC, id", catalog)
    assert ids(desc) == ["2", "4", "1", "3"]
    first = execute("SELECT id FROM customer ORDER BY email ASC NULLS FIRST, id DESC", catalog)
    assert ids(first) == ["4", "2", "3", "1"]


def test_order_by_alias_position_and_unselected_column(catalog: MappingCatalog) -> None:
    by_alias = execute("SELECT id, entityid AS name FROM customer ORDER BY name DESC", catalog)
    assert ids(by_alias) == ["3", "4", "2", "1"]  # codepoint order: lower case sorts last
    by_position = execute("SELECT entityid, id FROM customer ORDER BY 2 DESC", catalog)
    assert ids(by_position) == ["4", "3", "2", "1"]
    by_hidden = execute("SELECT id FROM transaction ORDER BY foreigntotal", catalog)
    assert ids(by_hidden) == ["12", "13", "11", "10"]  # numeric, not text, order


def test_distinct_and_top(catalog: MappingCatalog) -> None:
    rows = execute("SELECT DISTINCT type FROM transaction ORDER BY type", catalog)
    assert rows == [{"links": [], "type": "CustInvc"}, {"links": [], "type": "CustPymt"}]
    assert ids(execute("SELECT TOP 2 id FROM customer ORDER BY id DESC", catalog)) == ["4", "3"]


def test_parse_returns_a_reusable_query(catalog: MappingCatalog) -> None:
    query = parse("SELECT id FROM customer WHERE id = 2")
    assert isinstance(query, Query)
    assert ids(execute(query, catalog)) == ["2"]


# --- errors --------------------------------------------------------------------------------------


def test_unknown_table(catalog: MappingCatalog) -> None:
    err = error("select id from transactiontablethatdoesnotexist", catalog)
    assert err.code == "INVALID_PARAMETER"
    assert err.detail == PREFIX + "Invalid search type: transactiontablethatdoesnotexist."


def test_unknown_column(catalog: MappingCatalog) -> None:
    err = error("select not_existing_field from customer", catalog)
    assert err.detail == (
        PREFIX + "Search error occurred: Unknown identifier 'not_existing_field'. "
        "Available identifiers are: {customer=customer}."
    )
    err = error("SELECT t.id FROM transaction t WHERE t.subsidiary = 1", catalog)
    assert err.detail == (
        PREFIX + "Search error occurred: Field 'subsidiary' for record 'transaction' was not found."
    )
    err = error("SELECT x.id FROM customer c JOIN transaction t ON t.entity = c.id", catalog)
    assert err.detail.endswith(
        "Unknown identifier 'x'. Available identifiers are: {c=customer, t=transaction}."
    )


def test_unknown_column_is_reported_even_on_an_empty_table(catalog: MappingCatalog) -> None:
    assert "Unknown identifier 'nope'" in error("SELECT nope FROM emptytable", catalog).detail


def test_ambiguous_column(catalog: MappingCatalog) -> None:
    err = error("SELECT id FROM customer c JOIN transaction t ON t.entity = c.id", catalog)
    assert "Ambiguous identifier 'id'" in err.detail


@pytest.mark.parametrize(
    "q",
    [
        "",
        "SELECT",
        "SELECT id",
        "SELECT id FROM",
        "SELECT id FROM customer WHERE",
        "SELECT id FROM customer WHERE id =",
        "SELECT id, FROM customer",
        "SELECT id FROM customer ORDER id",
        "SELECT id FROM customer LIMIT 5",
        "SELECT type, COUNT(*) FROM transaction GROUP BY type",
        "SELECT id FROM customer UNION SELECT id FROM transaction",
        "SELECT id FROM customer WHERE id IN (SELECT entity FROM transaction)",
        "SELECT BUILTIN.DF(entity) FROM transaction",
        "SELECT CASE WHEN id = 1 THEN 'a' END FROM customer",
        "SELECT SYSDATE() FROM customer",
        "SELECT id FROM customer WHERE id = 1 AND",
        "SELECT id FROM customer WHERE email",
        "SELECT id FROM customer WHERE (id = 1",
        "SELECT 'unterminated FROM customer",
        'SELECT id FROM customer WHERE entityid = "ACME"',
        "SELECT id, COUNT(*) FROM customer",
        "SELECT id FROM customer WHERE COUNT(*) > 1",
        "SELECT id FROM customer c, transaction t WHERE c.id = t.entity(+)",
        "SELECT id FROM customer c JOIN customer c ON c.id = c.id",
        "SELECT id FROM customer WHERE TO_DATE('2024-13-01', 'YYYY-MM-DD') IS NULL",
        "SELECT TO_CHAR(datecreated, 'YYYY-MM-DDTHH24:MI:SS') FROM customer",
        "SELECT id FROM customer ORDER BY 7",
        "SELECT id FROM customer WHERE TO_NUMBER(entityid) = 1",
        "SELECT id FROM customer WHERE id / 0 = 1",
        "UPDATE customer SET email = 'x'",
        "DELETE FROM customer",
        "SELECT id FROM customer; DROP TABLE customer",
        "SELECT id FROM customer WHERE " + "(" * 200 + "id = 1" + ")" * 200,
        "SELECT id FROM customer WHERE " + "NOT " * 500 + "id = 1",
        "SELECT TOP " + "9" * 5000 + " id FROM customer",
        "SELECT id FROM customer WHERE id = 1e999999999",
    ],
)
def test_unsupported_or_invalid_syntax(q: str, catalog: MappingCatalog) -> None:
    err = error(q, catalog)
    assert err.code == "INVALID_PARAMETER"
    assert err.detail == PREFIX + "Search error occurred: Invalid or unsupported search."
    assert err.status == 400


def test_problem_body_matches_netsuite(catalog: MappingCatalog) -> None:
    err = error("select not_existing_field from customer", catalog)
    assert err.problem() == {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
        "title": "Bad Request",
        "status": 400,
        "o:errorDetails": [
            {"detail": err.detail, "o:errorQueryParam": "q", "o:errorCode": "INVALID_PARAMETER"}
        ],
    }


def test_odd_catalog_values_are_normalized() -> None:
    odd = MappingCatalog(
        {
            "t": [
                {"id": 1, "v": float("nan")},
                {"id": 2, "v": float("inf")},
                {"id": 3, "v": datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))},
                {"id": 4, "v": ["a", "b"]},
                {"id": 5, "v": {"refName": "no id"}},
                {"id": 6, "v": Decimal("NaN")},
                {"ID": 7, "V": True},
            ]
        }
    )
    rows = execute("SELECT id, v FROM t ORDER BY v, id", odd)
    assert rows == [
        {"links": [], "id": "3", "v": "12/31/2023 11:00 pm"},  # shown in UTC
        {"links": [], "id": "7", "v": "T"},
        {"links": [], "id": "4", "v": "['a', 'b']"},
        {"links": [], "id": "5", "v": "{'refName': 'no id'}"},
        {"links": [], "id": "1"},
        {"links": [], "id": "2"},
        {"links": [], "id": "6"},
    ]


def test_long_and_chains_do_not_hit_the_recursion_limit(catalog: MappingCatalog) -> None:
    q = "SELECT id FROM customer WHERE " + " AND ".join(["id > 0"] * 3000)
    assert len(execute(q, catalog)) == 4


# --- fuzzing -------------------------------------------------------------------------------------

FUZZ_CATALOG = MappingCatalog(
    {"customer": CUSTOMERS, "transaction": TRANSACTIONS, "emptytable": []},
    columns={
        "customer": ["id", "entityid", "email", "isinactive", "datecreated", "balance"],
        "transaction": ["id", "entity", "type", "foreigntotal", "trandate"],
        "emptytable": ["id", "name"],
    },
)
WORDS = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "BETWEEN",
    "ORDER", "BY", "ASC", "DESC", "AS", "JOIN", "LEFT", "OUTER", "RIGHT", "FULL", "INNER", "ON",
    "COUNT", "DISTINCT", "TOP", "ROWNUM", "ESCAPE", "NULLS", "FIRST", "LAST", "GROUP", "DATE",
    "customer", "transaction", "emptytable", "c", "t", "id", "email", "entityid", "entity",
    "type", "balance", "datecreated", "trandate", "foreigntotal", "nope", "LOWER", "UPPER",
    "TRIM", "NVL", "COALESCE", "TO_CHAR", "TO_DATE", "TO_NUMBER", "BUILTIN", "DF",
    "(", ")", ",", ".", "*", "=", "<>", "!=", "<", "<=", ">", ">=", "||", "+", "-", "/", ";",
    "'x'", "''", "'%a_'", "'2024-01-31'", "'YYYY-MM-DD'", "'YYYY-MM-DD HH24:MI:SS'", "'1/5/2024'",
    "0", "1", "2.5", "-3", "1e130", ".5", "'\\'", "\"q\"", "--", "/*", "*/",
]  # fmt: skip


def run_fuzz(q: str) -> None:
    try:
        rows = execute(q, FUZZ_CATALOG)
    except SuiteQLError as err:
        assert err.detail.startswith(PREFIX)
        assert err.code == "INVALID_PARAMETER"
    else:
        assert isinstance(rows, list)
        for row in rows:
            assert row["links"] == []
            assert all(isinstance(v, str) for k, v in row.items() if k != "links")


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_fuzz_random_text_only_raises_suiteql_errors(q: str) -> None:
    run_fuzz(q)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS), max_size=40))
def test_fuzz_token_soup_only_raises_suiteql_errors(words: list[str]) -> None:
    run_fuzz(" ".join(words))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(WORDS), max_size=25).map(
        lambda words: "SELECT id FROM customer c WHERE " + " ".join(words)
    )
)
def test_fuzz_where_clauses_only_raise_suiteql_errors(q: str) -> None:
    run_fuzz(q)


# --- differential test against SQLite (same three-valued logic for this subset) ----------------

DIFF_ROWS = [
    {"id": i, "n": n, "s": s}
    for i, (n, s) in enumerate(
        [(1, "a"), (2, "b"), (None, "ab"), (3, None), (2, "B"), (None, None), (0, "a_c"), (5, "%")]
    )
]
DIFF_CATALOG = MappingCatalog({"t": DIFF_ROWS}, columns={"t": ["id", "n", "s"]})

numbers = st.sampled_from(["0", "1", "2", "3", "-1", "NULL", "n", "id"])
texts = st.sampled_from(["'a'", "'b'", "'B'", "'ab'", "NULL", "s", "'%'", "'a%'", "'_'", "'%b'"])


def comparisons() -> st.SearchStrategy[str]:
    ops = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])
    return st.one_of(
        st.builds(lambda a, o, b: f"{a} {o} {b}", numbers, ops, numbers),
        st.builds(lambda a, o, b: f"{a} {o} {b}", texts, ops, texts),
        st.builds(
            lambda a, n, b: f"{a} {n}IN ({b})",
            numbers,
            st.sampled_from(["", "NOT "]),
            st.lists(numbers, min_size=1, max_size=3).map(", ".join),
        ),
        st.builds(
            lambda a, n, lo, hi: f"{a} {n}BETWEEN {lo} AND {hi}",
            numbers,
            st.sampled_from(["", "NOT "]),
            numbers,
            numbers,
        ),
        st.builds(lambda a, n, p: f"{a} {n}LIKE {p}", texts, st.sampled_from(["", "NOT "]), texts),
        st.builds(
            lambda a, n: f"{a} IS {n}NULL",
            st.sampled_from(["n", "s", "id"]),
            st.sampled_from(["", "NOT "]),
        ),
    )


conditions = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a} AND {b})", inner, inner),
        st.builds(lambda a, b: f"({a} OR {b})", inner, inner),
        st.builds(lambda a: f"NOT ({a})", inner),
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def sqlite_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA case_sensitive_like = ON")
    db.execute("CREATE TABLE t (id INTEGER, n INTEGER, s TEXT)")
    db.executemany("INSERT INTO t VALUES (:id, :n, :s)", DIFF_ROWS)
    return db


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(conditions, st.sampled_from(["n", "s", "id"]), st.booleans())
def test_where_and_order_agree_with_sqlite(
    sqlite_db: sqlite3.Connection, condition: str, key: str, descending: bool
) -> None:
    direction = "DESC NULLS FIRST" if descending else "ASC NULLS LAST"  # Oracle's defaults
    order = f"ORDER BY {key} {direction}, id"
    expected = [
        str(row[0]) for row in sqlite_db.execute(f"SELECT id FROM t WHERE {condition} {order}")
    ]
    ours = execute(  # no NULLS clause: the simulator's defaults must be Oracle's
        f"SELECT id FROM t WHERE {condition} ORDER BY {key} {'DESC' if descending else ''}, id",
        DIFF_CATALOG,
    )
    assert ids(ours) == expected, condition
