"""Hostile input, generated (issue 11): Hypothesis strategies for hostile form bodies, JSON
bodies, query text and headers, sent to each fake's main write and read endpoints in-process.

Every answer is under 500 (no faults are injected here), a 4xx is the vendor's own JSON error,
and after each example the tenant still reads back: a list, a query, `/_sim/tenants/{id}/state`
and every tenant's snapshot all render and encode as UTF-8 JSON. Targeted cases at the end cover
what the property leaves to chance.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.chargebee.vendor import DEMO_KEY as CB_KEY
from simulators.chargebee.vendor import DEMO_SITE as CB_SITE
from simulators.core.virtual_time import VirtualTimeLoop
from simulators.landscape import Landscape
from simulators.netsuite.vendor import DEMO_ACCOUNT
from simulators.netsuite.vendor import DEMO_SETTINGS as NS_SETTINGS
from simulators.salesforce.vendor import DEMO_ORG
from simulators.salesforce.vendor import DEMO_SETTINGS as SF_SETTINGS

STRIPE_KEY = "sk_test_hostile_property"
V = "/services/data/v59.0"
NS_RECORDS = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
PROPERTY = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- one landscape per vendor, on one virtual loop for the module ----------------------------------
@dataclass
class World:
    """One fake in a landscape, its client and the demo tenant's credentials."""

    vendor: str
    tenant: str
    loop: VirtualTimeLoop
    landscape: Landscape
    http: httpx.AsyncClient
    auth: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.landscape.url(self.vendor)

    def send(self, method: str, path: str, *, content: bytes | None = None,
             headers: dict[str, Any] | None = None) -> httpx.Response:
        request = self.http.request(method, self.url + path, content=content,
                                    headers={**(headers or {}), **self.auth})
        return self.loop.run_until_complete(request)


@pytest.fixture(scope="module")
def worlds() -> Iterator[Callable[[str], World]]:
    loop = VirtualTimeLoop()
    opened: dict[str, World] = {}

    def world(vendor: str) -> World:
        if vendor not in opened:
            landscape = Landscape((vendor,), seed=11)
            loop.run_until_complete(landscape.__aenter__())
            made = World(vendor, "", loop, landscape, landscape.client())
            made.tenant, made.auth = loop.run_until_complete(_credentials(made))
            _setup(made)
            opened[vendor] = made
        return opened[vendor]

    yield world
    for made in opened.values():
        loop.run_until_complete(made.http.aclose())
        loop.run_until_complete(made.landscape.__aexit__(None, None, None))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


async def _credentials(world: World) -> tuple[str, dict[str, str]]:
    """The demo tenant's id and Authorization header (tokens fetched in-process)."""
    if world.vendor == "stripe":
        return STRIPE_KEY, {"authorization": f"Bearer {STRIPE_KEY}"}
    if world.vendor == "chargebee":
        basic = base64.b64encode(f"{CB_KEY}:".encode()).decode()
        return CB_SITE, {"authorization": f"Basic {basic}"}
    if world.vendor == "netsuite":
        token = await world.http.post(world.url + "/services/rest/auth/oauth2/v1/token",
                                      data={"grant_type": "client_credentials"},
                                      auth=(NS_SETTINGS["client_id"],
                                            NS_SETTINGS["client_secret"]))
        tenant = DEMO_ACCOUNT
    else:
        token = await world.http.post(world.url + "/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": SF_SETTINGS["client_id"],
            "client_secret": SF_SETTINGS["client_secret"]})
        tenant = DEMO_ORG
    assert token.status_code == 200, token.text
    return tenant, {"authorization": f"Bearer {token.json()['access_token']}"}


# -- what every answer must be ------------------------------------------------------------------
def assert_native(vendor: str, response: httpx.Response) -> None:
    """Under 500; a 4xx is the vendor's own JSON error; a 2xx with a body is JSON."""
    status = response.status_code
    assert status < 500, f"{status}: {response.text[:500]}"
    if status == 204 or not response.content:
        assert status < 400, f"an empty {status}"
        return
    assert "json" in response.headers.get("content-type", ""), response.headers
    body = response.json()
    if status < 400:
        return
    if vendor == "stripe":
        assert isinstance(body["error"]["type"], str) and body["error"]["message"], body
    elif vendor == "chargebee":
        assert body["http_status_code"] == status and body["api_error_code"], body
        assert isinstance(body["message"], str), body
    elif vendor == "netsuite":
        assert body["status"] == status, body
        assert body["o:errorDetails"][0]["o:errorCode"], body
    else:
        assert isinstance(body, list) and body, body
        assert all(e["errorCode"] and isinstance(e["message"], str) for e in body), body


def assert_reads(world: World, *paths: str) -> None:
    """Nothing stored breaks a later read: the vendor's reads, the tenant's state, and every
    tenant's snapshot (as written to a file: JSON, UTF-8)."""
    for path in paths:
        response = world.send("GET", path)
        assert response.status_code == 200, f"{path}: {response.text[:500]}"
        json.dumps(response.json(), ensure_ascii=False).encode("utf-8")
    state = world.send("GET", f"/_sim/tenants/{quote(world.tenant)}/state")
    assert state.status_code == 200, state.text[:500]
    json.dumps(state.json(), ensure_ascii=False).encode("utf-8")
    sim = world.landscape.fakes[world.vendor]
    json.dumps([t.snapshot() for t in sim.tenants.all()], ensure_ascii=False).encode("utf-8")


def _read_after(world: World) -> None:
    assert_reads(world, *READS[world.vendor])


def _suiteql(q: str) -> str:
    return json.dumps({"q": q})


READS = {
    "stripe": ("/v1/customers?limit=100", "/v1/payment_intents?limit=100",
               "/v1/prices?limit=100"),
    "chargebee": ("/api/v2/customers?limit=100", "/api/v2/item_prices?limit=100"),
    "netsuite": (f"{NS_RECORDS}/customer?limit=1000",),
    "salesforce": (f"{V}/query?q=" + quote("SELECT Id, Name, Description, AnnualRevenue, "
                                            "BillingStreet FROM Account"),),
}


# -- strategies: text and numbers ---------------------------------------------------------------
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ODD_CHARS = st.sampled_from(["\0", "\x7f", "\ufeff", "\u202e", "\U0010ffff", "😀", "³", "é",
                             "\r", "\n", "'", '"', "\\", "%", "_", "&", "=", "[", "]", "+", ";"])
STORABLE = st.text(st.one_of(st.characters(codec="utf-8"), ODD_CHARS), max_size=20)
TEXT = st.text(st.one_of(st.characters(codec="utf-8"), ODD_CHARS, SURROGATES), max_size=20)
LONG = st.one_of(
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "9", "\0", "😀"]),
              st.sampled_from([256, 257, 5001, 40_000])),
    st.builds(lambda: "x" * 300_000))  # built lazily: Hypothesis reprs its strategies
# what fits in a URL (httpx refuses one over 64 KiB)
SHORT_LONG = st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\0", "😀"]),
                       st.sampled_from([255, 256, 4000]))
DIGITS = st.builds(lambda n, sign: sign + "9" * n, st.sampled_from([19, 20, 309, 1001, 4301, 6000]),
                   st.sampled_from(["", "-"]))
NUMBERISH = st.sampled_from(["NaN", "nan", "Infinity", "-Infinity", "inf", "1e400", "-1e400",
                             "1e-400", "-0", "0x10", "1_000", "9223372036854775808",
                             "-9223372036854775809", "18446744073709551616", "٣", "３",
                             "1.5", ".5", "5.", "", " 7 "])
HOSTILE_TEXT = st.one_of(TEXT, LONG, DIGITS, NUMBERISH)


def _form_bytes(text: str) -> str:
    """Percent-encoded UTF-8, lone surrogates as the (invalid) bytes they would be."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="[]")


# -- strategies: forms --------------------------------------------------------------------------
INDEX = st.one_of(st.integers(0, 12).map(str), st.integers(0, 10**40).map(str), DIGITS,
                  st.sampled_from(["", "00", "007", "-1", "³", "1e3", " 1"]))
SEGMENT = st.one_of(INDEX.map(lambda i: f"[{i}]"), TEXT.map(lambda t: f"[{t}]"),
                    st.sampled_from(["[", "]", "[[", "]]", "[]]", "[[]"]))
DEEP = st.integers(1, 60).map(lambda n: "[a]" * n)


def form_key(names: list[str]) -> st.SearchStrategy[str]:
    name = st.one_of(st.sampled_from(names), TEXT, st.just(""))
    return st.builds(lambda n, parts: n + "".join(parts), name,
                     st.one_of(st.lists(SEGMENT, max_size=5), DEEP.map(lambda d: [d])))


def form_body(valid: list[tuple[str, str]], names: list[str], *, query: bool = False,
              ) -> st.SearchStrategy[bytes]:
    """Some valid pairs (so things get stored) and hostile ones, sometimes repeated by the
    thousand; percent-encoded, or left raw. A `query` stays within a URL's length."""
    values = (st.one_of(TEXT, SHORT_LONG, DIGITS, NUMBERISH) if query
              else st.one_of(HOSTILE_TEXT, json_value(names)))  # JSON text: `meta_data=...`
    pair = st.tuples(form_key(names), values)
    field_pair = st.tuples(st.sampled_from(names), values)
    short = st.tuples(st.one_of(st.sampled_from(names), form_key(names)), TEXT)
    repeated = st.builds(lambda p, n: [p] * n, short,
                         st.sampled_from([2, 200] if query else [2, 500, 10_001]))

    def encode(keep: list[bool], hostile: list[tuple[str, str]], raw: bool) -> bytes:
        pairs = [p for p, k in zip(valid, keep, strict=False) if k] + hostile
        if query:  # within what a URL may hold
            encoded = [f"{_form_bytes(k)}={_form_bytes(v)}" for k, v in pairs]
            while sum(map(len, encoded)) > 50_000:
                encoded.pop()
            return "&".join(encoded).encode()
        if raw:  # not percent-encoded: `&`, `=` and bytes as they come
            return "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
        return "&".join(f"{_form_bytes(k)}={_form_bytes(v)}" for k, v in pairs).encode()

    # odd text on known fields (often stored), or anything at all
    storable = st.tuples(st.sampled_from(names), st.one_of(STORABLE, NUMBERISH))
    nasty = st.lists(st.tuples(st.sampled_from(names), NASTY_FORM), min_size=1, max_size=2)
    kinds = {"odd": st.lists(storable, max_size=2), "repeated": repeated, "nasty": nasty,
             "hostile": st.lists(st.one_of(pair, field_pair), min_size=1, max_size=6)}
    hostile = st.sampled_from(["odd", "odd", "nasty", "nasty", "nasty", "hostile", "hostile",
                               "repeated"]).flatmap(kinds.__getitem__)
    return st.builds(encode, st.lists(st.booleans(), min_size=len(valid), max_size=len(valid)),
                     hostile, st.just(False) if query else st.booleans())


# -- strategies: JSON (as text, so it can say what json.dumps never would) ----------------------
def _json_string(text: str) -> str:
    return json.dumps(text)  # ensure_ascii: a lone surrogate becomes its `\\udXXX` escape


JSON_NUMBER = st.one_of(st.integers(-(2**70), 2**70).map(str), DIGITS,
                        st.floats(allow_nan=False).map(repr).filter(lambda r: "inf" not in r),
                        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400",
                                         "1e-400", "-0", "0.0", "1E+308", "123456789.123456789"]))
JSON_STRING = st.one_of(TEXT.map(_json_string), LONG.map(_json_string),
                        st.sampled_from(['"\\ud800"', '"\\udfff"', '"a\\ud800b"',
                                         '"\\udc00\\ud800"', '"\\u0000"', '"\\ud83d\\ude00"']))
JSON_SCALAR = st.one_of(st.sampled_from(["null", "true", "false"]), JSON_NUMBER, JSON_STRING)


# values known to have broken fakes, one per field: non-finite numbers, lone surrogates, and
# the same inside objects and inside JSON text (a string a fake parses again)
NASTY_JSON = st.sampled_from([
    "NaN", "-Infinity", "1e400", "-1e400", "1e308", "9" * 1001, '"\\ud800"', '"x\\udfff"',
    '{"x": NaN}', '{"x": "\\ud800"}', '{"x": {"y": [Infinity]}}', "[1e400]", '{"\\udc00": 1}',
    *map(json.dumps, ['{"a": NaN}', '{"a": 1e400}', '{"a": "\\ud800"}', '{"\\ud800": 1}',
                      "[" * 5000, '{"a": ' * 200 + "1" + "}" * 200, "9" * 5000, "NaN"])])
NASTY_FORM = st.sampled_from(["NaN", "Infinity", "1e400", "-0", "9" * 1001, "\ud800",
                              '{"a": NaN}', '{"a": 1e400}', '{"a": "\\ud800"}', "[" * 5000,
                              '{"\\ud800": 1}', "\0", "%00", "%ED%A0%80"])


def json_value(names: list[str]) -> st.SearchStrategy[str]:
    key = st.one_of(st.sampled_from(names).map(_json_string), JSON_STRING)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        array = st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
        obj = st.lists(st.tuples(key, inner), max_size=4).map(
            lambda kvs: "{" + ", ".join(f"{k}: {v}" for k, v in kvs) + "}")
        return st.one_of(array, obj)

    return st.recursive(JSON_SCALAR, extend, max_leaves=12)


DEEP_JSON = st.builds(lambda n, opener, inner: opener * n + inner + {"[": "]", '{"a": ': "}"}[
    opener] * n, st.sampled_from([127, 128, 129, 1000, 100_000]),
    st.sampled_from(["[", '{"a": ']), st.sampled_from(["1", '"\\ud800"', "NaN", "[]"]))
BROKEN_JSON = st.sampled_from([
    "", "{", "}", "[", '{"a": }', '{"a" 1}', "{'a': 1}", '{"a": 1,}', '{"a": 1} x', "nul",
    '{"a": "unterminated', '"\\ud800', '{"\\ud800": 1}', "\ufeff{}", "[1, 2", "\0", "1e99999"])


def json_body(valid: dict[str, str], names: list[str]) -> st.SearchStrategy[bytes]:
    """An object of the endpoint's fields (valid ones, odd text that may well be stored, or
    hostile values of any type), any JSON value, deep nesting, or broken JSON; in UTF-8,
    sometimes UTF-16 or with raw bytes."""
    value = json_value(names)
    storable = st.one_of(STORABLE.map(_json_string), st.integers(-(10**6), 10**6).map(str),
                         st.floats(-1e6, 1e6).map(repr))
    odd = st.dictionaries(st.sampled_from(names), storable, max_size=2)
    # values of any type, and JSON text inside a string (Chargebee's `meta_data`)
    hostile = st.dictionaries(st.sampled_from(names), st.one_of(value, value.map(_json_string)),
                              min_size=1, max_size=5)

    valid_keys = {_json_string(k): v for k, v in valid.items()}

    def as_object(keep: list[bool], extra: dict[str, str]) -> str:
        chosen = {k: v for (k, v), on in zip(valid_keys.items(), keep, strict=False) if on}
        chosen.update({_json_string(k): v for k, v in extra.items()})
        return "{" + ", ".join(f"{k}: {v}" for k, v in chosen.items()) + "}"

    keep = st.lists(st.booleans(), min_size=len(valid_keys), max_size=len(valid_keys))
    every = st.just([True] * len(valid_keys))
    nasty = st.dictionaries(st.sampled_from(names), NASTY_JSON, min_size=1, max_size=2)
    kinds = {"odd": st.builds(as_object, every, odd), "nasty": st.builds(as_object, every, nasty),
             "hostile": st.builds(as_object, keep, hostile), "value": value,
             "deep": DEEP_JSON, "broken": BROKEN_JSON}
    text = st.sampled_from(["odd", "odd", "nasty", "nasty", "nasty", "hostile", "hostile", "value",
                            "deep", "broken"]
                           ).flatmap(kinds.__getitem__)
    encoding = st.sampled_from(["utf-8"] * 8 + ["utf-16", "raw-surrogate", "latin-1-ish"])

    def encode(body: str, how: str) -> bytes:
        if how == "utf-16":
            return body.encode("utf-16", "surrogatepass")
        if how == "raw-surrogate":  # the three bytes a lone surrogate would be, unescaped
            return body.replace("\\ud800", "\ud800").encode("utf-8", "surrogatepass")
        if how == "latin-1-ish":
            return body.encode("utf-8", "surrogatepass").replace(b"a", b"\xff")
        return body.encode("utf-8", "surrogatepass")

    return st.builds(encode, text, encoding)


# -- strategies: headers ------------------------------------------------------------------------
CONTENT_TYPES = st.sampled_from([
    "application/json", "application/x-www-form-urlencoded", "application/json; charset=utf-16",
    "application/x-www-form-urlencoded; charset=latin-1", "text/plain", "multipart/form-data",
    "multipart/form-data; boundary=x", "application/xml", "", "*/*", "json", "application/jsonx",
    "application/json; charset=\xff"])
IDEMPOTENCY_KEYS = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), min_size=1, max_size=30),
    st.sampled_from([255, 256, 10_000]).map(lambda n: "k" * n),
    st.sampled_from([" ", "\t", "key\xff", "é", "k,k", "fixed-key"]))


def headers(main_type: str, extra: dict[str, st.SearchStrategy[str]] | None = None,
            ) -> st.SearchStrategy[dict[str, bytes]]:
    """The endpoint's content type (mostly) or an odd one, and the vendor's odd headers."""
    content_type = st.one_of(st.just(main_type), st.just(main_type), CONTENT_TYPES)
    optional = {name: strategy for name, strategy in (extra or {}).items()}
    return st.builds(
        lambda ct, more: {"content-type": ct.encode("latin-1"),
                          **{k: v.encode("latin-1", "replace") for k, v in more.items()}},
        content_type, st.fixed_dictionaries({}, optional=optional))


# -- strategies: query text ---------------------------------------------------------------------
LIKE_PATTERN = st.lists(st.sampled_from(["%", "_", "a", "b", "\\%", "\\_", "''", "%%%%%%%%"]),
                        max_size=200).map("".join)
LITERAL = st.one_of(LIKE_PATTERN, SHORT_LONG, TEXT)


def _mostly(main: st.SearchStrategy[str], *others: st.SearchStrategy[str],
            ) -> st.SearchStrategy[str]:
    """`main` about half the time, else one of `others`."""
    return st.integers(0, 2 * len(others) - 1).flatmap(
        lambda i: others[i] if i < len(others) else main)


def soql() -> st.SearchStrategy[str]:
    field_name = st.sampled_from(["Id", "Name", "Description", "AnnualRevenue", "Nope__c", "x"])
    where = st.one_of(
        st.builds(lambda f, p: f"{f} LIKE '{p}'", field_name, LIKE_PATTERN),
        st.builds(lambda f, p: f"{f} = '{p}'", field_name, LITERAL),
        st.builds(lambda f, n: f"{f} > {n}", field_name, JSON_NUMBER),
        st.builds(lambda f, p: f"{f} IN ('{p}', '{p}')", field_name, LITERAL))
    tail = st.sampled_from(["", " ORDER BY Name", " LIMIT 1", " LIMIT 99999999999999999999999",
                            " OFFSET 2001", " LIMIT -1", " ORDER BY Name NULLS", " GROUP BY"])
    well_formed = st.builds(
        lambda fs, w, t: f"SELECT {', '.join(fs)} FROM Account WHERE {w}{t}",
        st.lists(field_name, min_size=1, max_size=3), where, tail)
    return _mostly(well_formed, TEXT, st.builds(lambda t: "SELECT Id FROM " + t, TEXT),
                   st.sampled_from(["SELECT", "SELECT Id FROM Account WHERE (" * 40,
                                      "SELECT COUNT() FROM Account", "SELECT Id FROM Account " +
                                      "WHERE Name = 'a' AND " * 300 + "Name = 'b'"]))


def suiteql() -> st.SearchStrategy[str]:
    field_name = st.sampled_from(["id", "companyname", "comments", "email", "balance", "nope"])
    where = st.one_of(
        st.builds(lambda f, p: f"{f} LIKE '{p}'", field_name, LIKE_PATTERN),
        st.builds(lambda f, p: f"{f} = '{p}'", field_name, LITERAL),
        st.builds(lambda f, n: f"{f} > {n}", field_name, JSON_NUMBER),
        st.builds(lambda f, p: f"UPPER({f}) LIKE UPPER('{p}')", field_name, LIKE_PATTERN))
    well_formed = st.builds(
        lambda fs, w: f"SELECT {', '.join(fs)} FROM customer WHERE {w}",
        st.lists(field_name, min_size=1, max_size=3), where)
    return _mostly(well_formed, TEXT, st.sampled_from([
        "SELECT", "SELECT id FROM customer WHERE (" * 40,
        "SELECT a.id FROM customer a, customer b, customer c",
        "SELECT id FROM customer ORDER BY " + ", ".join(["id"] * 500),
        "SELECT id FROM customer WHERE id IN (" + ", ".join(["1"] * 2000) + ")"]))


# -- the requests each fake is sent -------------------------------------------------------------
@dataclass(frozen=True)
class Hostile:
    method: str
    path: str
    body: bytes | None
    headers: dict[str, bytes]

    def send(self, world: World) -> httpx.Response:
        return world.send(self.method, self.path, content=self.body, headers=self.headers)


def _post(path: str, bodies: st.SearchStrategy[bytes],
          head: st.SearchStrategy[dict[str, bytes]]) -> st.SearchStrategy[Hostile]:
    return st.builds(lambda b, h: Hostile("POST", path, b, h), bodies, head)


def _get(paths: st.SearchStrategy[str]) -> st.SearchStrategy[Hostile]:
    return paths.map(lambda p: Hostile("GET", p, None, {}))


def _query_string(pairs: st.SearchStrategy[bytes]) -> st.SearchStrategy[str]:
    return pairs.map(lambda b: "?" + b.decode("latin-1"))


STRIPE_CUSTOMER = ["name", "email", "description", "phone", "balance", "metadata",
                   "address", "address[line1]", "preferred_locales", "invoice_prefix",
                   "tax_exempt", "next_invoice_sequence", "expand", "shipping[name]"]
STRIPE_INTENT = ["amount", "currency", "customer", "description", "metadata",
                 "payment_method_types", "capture_method", "statement_descriptor", "expand"]
STRIPE_PRICE = ["currency", "unit_amount", "unit_amount_decimal", "product",
                "product_data[name]", "recurring[interval]", "recurring[interval_count]",
                "nickname", "lookup_key", "metadata", "tiers", "billing_scheme",
                "transform_quantity[divide_by]"]
STRIPE_HEADERS = {"idempotency-key": IDEMPOTENCY_KEYS,
                  "stripe-version": st.sampled_from(["2099-99-99", "x" * 300, "", "2024-06-20"]),
                  "stripe-account": st.sampled_from(["acct_x", "", "é"])}
FORM = "application/x-www-form-urlencoded"


def stripe_requests() -> st.SearchStrategy[Hostile]:
    head = headers(FORM, STRIPE_HEADERS)
    customer = form_body([("name", "Ada"), ("email", "ada@example.com")], STRIPE_CUSTOMER)
    intent = form_body([("amount", "1000"), ("currency", "usd")], STRIPE_INTENT)
    price = form_body([("currency", "usd"), ("unit_amount", "500"),
                       ("product_data[name]", "Plan")], STRIPE_PRICE)
    listed = _query_string(form_body([("limit", "3")], ["limit", "starting_after", "email",
                                                        "created[gte]", "expand", "ending_before"],
                                     query=True))
    return st.one_of(_post("/v1/customers", customer, head),
                     _post("/v1/payment_intents", intent, head),
                     _post("/v1/prices", price, head),
                     _post("/v1/prices", json_body({"currency": '"usd"'}, STRIPE_PRICE),
                           headers("application/json", STRIPE_HEADERS)),
                     _get(listed.map(lambda q: "/v1/customers" + q)),
                     _get(listed.map(lambda q: "/v1/prices" + q)))


CB_CUSTOMER = ["id", "first_name", "last_name", "email", "company", "phone", "net_term_days",
               "auto_collection", "billing_address[city]", "billing_address[line1]",
               "meta_data", "locale", "preferred_currency_code", "cf_extra"]
CB_PRICE = ["id", "name", "item_id", "price", "pricing_model", "currency_code", "period",
            "period_unit", "tiers[starting_unit][0]", "tiers[price][0]", "description",
            "free_quantity", "metadata"]
CB_HEADERS = {"chargebee-event-webhook": st.sampled_from(["all-disabled", "", "é"]),
              "chargebee-request-origin-ip": st.sampled_from(["1.2.3.4", "x" * 500])}


def chargebee_requests() -> st.SearchStrategy[Hostile]:
    head = headers(FORM, CB_HEADERS)
    customer = form_body([("first_name", "Ada"), ("email", "ada@example.com")], CB_CUSTOMER)
    price = form_body([("id", "plan-usd"), ("name", "Plan USD"), ("item_id", "plan"),
                       ("price", "500")], CB_PRICE)
    cb_json = _post("/api/v2/customers", json_body({"first_name": '"Ada"'}, CB_CUSTOMER),
                    headers("application/json", CB_HEADERS))
    listed = _query_string(form_body(
        [("limit", "3")], ["limit", "offset", "sort_by[asc]", "sort_by[desc]", "id[is]",
                           "first_name[starts_with]", "created_at[after]", "net_term_days[in]",
                           "email[is_present]", "include_deleted", "price[between]"], query=True))
    return st.one_of(_post("/api/v2/customers", customer, head),
                     _post("/api/v2/item_prices", price, head),
                     cb_json, cb_json,
                     _get(listed.map(lambda q: "/api/v2/customers" + q)),
                     _get(listed.map(lambda q: "/api/v2/item_prices" + q)))


NS_CUSTOMER = ["companyName", "email", "comments", "phone", "balance", "creditLimit",
               "isPerson", "firstName", "lastName", "subsidiary", "entityId", "custentity_x",
               "addressBook", "currency", "externalId"]
NS_HEADERS = {"prefer": st.sampled_from(["transient", "respond-async", "", "transient" * 50]),
              "x-netsuite-propertynamevalidation": st.sampled_from(["error", "warning", "x"])}


def netsuite_requests() -> st.SearchStrategy[Hostile]:
    create = json_body({"companyName": '"Acme"'}, NS_CUSTOMER)
    query = st.one_of(suiteql().map(_suiteql).map(str.encode),
                      json_body({"q": '"SELECT id FROM customer"'}, ["q"]))
    paging = st.one_of(st.just(""), st.builds(lambda n: f"?limit={n}&offset={n}", st.one_of(
        INDEX, NUMBERISH).map(lambda t: quote(t.encode("utf-8", "surrogatepass")))))
    listed = st.one_of(paging, soql_free_filter()).map(lambda q: f"{NS_RECORDS}/customer" + q)
    return st.one_of(
        _post(f"{NS_RECORDS}/customer", create, headers("application/json", NS_HEADERS)),
        st.builds(lambda b, h, p: Hostile("POST", SUITEQL + p, b, h), query,
                  headers("application/json", {**NS_HEADERS, "prefer": st.just("transient")}),
                  paging),
        _get(listed))


def soql_free_filter() -> st.SearchStrategy[str]:
    """NetSuite's record-collection `q` filter (`companyName CONTAIN "x"`)."""
    op = st.sampled_from(["IS", "CONTAIN", "START_WITH", "EMPTY", "ANY_OF", "GREATER", "BETWEEN"])
    return st.builds(lambda f, o, v: "?q=" + quote(f'{f} {o} "{v}"'.encode("utf-8",
                                                                            "surrogatepass")),
                     st.sampled_from(["companyName", "balance", "id", "x"]), op, LITERAL)


SF_ACCOUNT = ["Name", "Description", "AnnualRevenue", "NumberOfEmployees", "BillingStreet",
              "Type", "Industry", "ParentId", "OwnerId", "Website", "CreatedDate", "Custom__c",
              "attributes"]
SF_HEADERS = {"sforce-auto-assign": st.sampled_from(["FALSE", "x"]),
              "sforce-query-options": st.sampled_from(["batchSize=200", "batchSize=-1",
                                                       "batchSize=" + "9" * 30, "x"])}


def salesforce_requests() -> st.SearchStrategy[Hostile]:
    create = json_body({"Name": '"Acme"'}, SF_ACCOUNT)
    query = soql().map(lambda q: f"{V}/query?q=" + quote(q.encode("utf-8", "surrogatepass")))
    return st.one_of(
        _post(f"{V}/sobjects/Account", create, headers("application/json", SF_HEADERS)),
        st.builds(lambda p, h: Hostile("GET", p, None, h), query,
                  st.fixed_dictionaries({}, optional={"sforce-query-options": st.sampled_from(
                      ["batchSize=200", "batchSize=1", "batchSize=" + "9" * 30])}).map(
                      lambda d: {k: v.encode() for k, v in d.items()})))


REQUESTS = {"stripe": stripe_requests(), "chargebee": chargebee_requests(),
            "netsuite": netsuite_requests(), "salesforce": salesforce_requests()}


def _setup(world: World) -> None:
    """What the create endpoints refer to: Chargebee's item for item prices."""
    if world.vendor == "chargebee":
        form = {"content-type": FORM}
        for path, body in (("/api/v2/item_families", "id=fam&name=Family"),
                           ("/api/v2/items", "id=plan&name=Plan&type=plan&item_family_id=fam")):
            assert world.send("POST", path, content=body.encode(), headers=form).status_code \
                == 200


# -- the property, per fake ---------------------------------------------------------------------
def _check(worlds: Callable[[str], World], vendor: str, data: st.DataObject) -> None:
    world = worlds(vendor)
    for hostile in data.draw(st.lists(REQUESTS[vendor], min_size=1, max_size=4)):
        assert_native(vendor, hostile.send(world))
    _read_after(world)


@PROPERTY
@given(data=st.data())
def test_stripe_survives_hostile_requests(worlds: Callable[[str], World],
                                          data: st.DataObject) -> None:
    _check(worlds, "stripe", data)


@PROPERTY
@given(data=st.data())
def test_chargebee_survives_hostile_requests(worlds: Callable[[str], World],
                                             data: st.DataObject) -> None:
    _check(worlds, "chargebee", data)


@PROPERTY
@given(data=st.data())
def test_netsuite_survives_hostile_requests(worlds: Callable[[str], World],
                                            data: st.DataObject) -> None:
    _check(worlds, "netsuite", data)


@PROPERTY
@given(data=st.data())
def test_salesforce_survives_hostile_requests(worlds: Callable[[str], World],
                                              data: st.DataObject) -> None:
    _check(worlds, "salesforce", data)


# -- targeted cases, one per class, where the property leaves gaps ------------------------------
JSON = {"content-type": "application/json"}
CREATE = {"stripe": "/v1/customers", "chargebee": "/api/v2/customers",
          "netsuite": f"{NS_RECORDS}/customer", "salesforce": f"{V}/sobjects/Account"}
ODD = "nul\0 bom\ufeff rtl\u202e max\U0010ffff nonchar\uffff 😀 ³ é"


def _create(world: World, name: str) -> str:
    """A record named `name` on the vendor's create endpoint; its id."""
    vendor = world.vendor
    if vendor in ("stripe", "chargebee"):
        field_name = "name" if vendor == "stripe" else "first_name"
        body = f"{field_name}={_form_bytes(name)}".encode()
        response = world.send("POST", CREATE[vendor], content=body, headers={"content-type": FORM})
        assert response.status_code == 200, response.text
        found = response.json()
        return str(found["id"] if vendor == "stripe" else found["customer"]["id"])
    field_name = "companyName" if vendor == "netsuite" else "Name"
    response = world.send("POST", CREATE[vendor], content=json.dumps({field_name: name}).encode(),
                          headers=JSON)
    assert response.status_code in (201, 204), response.text
    if vendor == "netsuite":
        return response.headers["location"].rsplit("/", 1)[1]
    return str(response.json()["id"])


def _name_of(world: World, record: str) -> str:
    path = {"stripe": f"/v1/customers/{record}", "chargebee": f"/api/v2/customers/{record}",
            "netsuite": f"{NS_RECORDS}/customer/{record}",
            "salesforce": f"{V}/sobjects/Account/{record}"}[world.vendor]
    response = world.send("GET", path)
    assert response.status_code == 200, response.text
    body = response.json()
    return str({"stripe": lambda: body["name"], "chargebee": lambda: body["customer"]["first_name"],
                "netsuite": lambda: body["companyName"], "salesforce": lambda: body["Name"]}[
        world.vendor]())


VENDORS = ("stripe", "chargebee", "netsuite", "salesforce")


@pytest.mark.parametrize("vendor", VENDORS)
def test_odd_but_valid_text_is_stored_and_read_back_whole(worlds: Callable[[str], World],
                                                          vendor: str) -> None:
    """Stored text: NUL, BOM, bidi override, U+10FFFF, a noncharacter round-trip exactly."""
    world = worlds(vendor)
    assert _name_of(world, _create(world, ODD)) == ODD
    _read_after(world)


def test_an_empty_created_bound_is_no_bound(worlds: Callable[[str], World]) -> None:
    """Forms: `created[gte]=` (empty) once compared None with every object's date (500)."""
    world = worlds("stripe")
    record = _create(world, "Bound")
    for query in ("created[gte]=", "created=", "created[lt]=&created[gt]=1"):
        response = world.send("GET", f"/v1/customers?limit=100&{query}")
        assert_native("stripe", response)
        assert response.status_code == 200
        assert record in [c["id"] for c in response.json()["data"]]


@pytest.mark.parametrize("body", [
    '{"meta_data": {"x": NaN}}', '{"meta_data": {"x": [1e400]}}', '{"net_term_days": 1e400}',
    '{"meta_data": "{\\"x\\": NaN}"}', '{"meta_data": "{\\"x\\": \\"\\\\ud800\\"}"}',
    '{"meta_data": "' + "[" * 5000 + '"}',
], ids=["nan", "overflow-in-list", "overflow-int", "nan-in-text", "surrogate-in-text",
        "deep-text"])
def test_chargebee_refuses_what_it_could_not_answer(worlds: Callable[[str], World],
                                                    body: str) -> None:
    """JSON: non-finite numbers and JSON text holding them (or a lone surrogate, or nesting
    5,000 deep) were stored as meta_data, and every later list of customers was a 500."""
    world = worlds("chargebee")
    response = world.send("POST", "/api/v2/customers",
                          content=('{"id": "refused", ' + body[1:]).encode(), headers=JSON)
    assert_native("chargebee", response)
    assert response.status_code == 400
    assert world.send("GET", "/api/v2/customers/refused").status_code == 404
    form = world.send("POST", "/api/v2/customers", headers={"content-type": FORM},
                      content=b"id=refused&meta_data=" + quote('{"x": NaN}').encode())
    assert form.status_code == 400 and form.json()["param"] == "meta_data"
    _read_after(world)


@pytest.mark.parametrize("vendor", ["netsuite", "salesforce"])
def test_non_finite_numbers_nested_anywhere_are_refused_or_stored_readably(
        worlds: Callable[[str], World], vendor: str) -> None:
    world = worlds(vendor)
    name = "companyName" if vendor == "netsuite" else "Name"
    for value in ("NaN", "-Infinity", "1e400", '{"x": NaN}', "[1e400]", '"\\ud800"'):
        for field_name in (name, "comments" if vendor == "netsuite" else "Description"):
            body = f'{{"{name}": "Acme", "{field_name}": {value}}}'
            assert_native(vendor, world.send("POST", CREATE[vendor], content=body.encode(),
                                             headers=JSON))
    _read_after(world)


@pytest.mark.parametrize("vendor", ["salesforce", "netsuite"])
def test_like_of_hundreds_of_wildcards_over_long_values_answers_promptly(
        worlds: Callable[[str], World], vendor: str) -> None:
    """Queries: 400 wildcards against values at the field's bound (the property's are short)."""
    world = worlds(vendor)
    longest = 255 if vendor == "salesforce" else 83  # Name; companyName
    for n in range(5):
        _create(world, ("a_%" * 85)[: longest - n])
    pattern = "%_" * 200
    started = time.perf_counter()
    if vendor == "salesforce":
        q = f"SELECT Id FROM Account WHERE Name LIKE '{pattern}b' OR Name LIKE '{pattern}'"
        response = world.send("GET", f"{V}/query?q=" + quote(q))
    else:
        q = f"SELECT id FROM customer WHERE companyname LIKE '{pattern}b'"
        response = world.send("POST", SUITEQL, content=_suiteql(q).encode(),
                              headers={**JSON, "prefer": "transient"})
    assert time.perf_counter() - started < 2.0
    assert_native(vendor, response)
    _read_after(world)


def test_an_odd_idempotency_key_reused_with_another_body_gets_stripes_error(
        worlds: Callable[[str], World]) -> None:
    """Headers: one key across bodies (the property mostly draws a fresh key per request)."""
    world = worlds("stripe")
    key = {"idempotency-key": "\t odd key é".encode("latin-1")}
    first = world.send("POST", "/v1/customers", content=b"name=A",
                       headers={"content-type": FORM, **key})
    assert first.status_code == 200, first.text
    for body in (b"name=B", b"name=%ED%A0%80", b"[" * 10_000):
        again = world.send("POST", "/v1/customers", content=body,
                           headers={"content-type": FORM, **key})
        assert_native("stripe", again)
        assert again.status_code == 400
    replay = world.send("POST", "/v1/customers", content=b"name=A",
                        headers={"content-type": FORM, **key})
    assert replay.json()["id"] == first.json()["id"]
    too_long = world.send("POST", "/v1/customers", content=b"name=A",
                          headers={"content-type": FORM, "idempotency-key": "k" * 10_000})
    assert_native("stripe", too_long)
    assert too_long.status_code == 400
    _read_after(world)


@pytest.mark.parametrize("vendor", ["chargebee", "netsuite", "salesforce"])
def test_utf16_json_with_a_lone_surrogate_is_refused_natively(worlds: Callable[[str], World],
                                                              vendor: str) -> None:
    """Content types: a UTF-16 body (BOM), declared as such, holding a lone surrogate."""
    world = worlds(vendor)
    name = {"chargebee": "first_name", "netsuite": "companyName", "salesforce": "Name"}[vendor]
    body = ('{"' + name + '": "\\ud800"}').encode("utf-16")
    response = world.send("POST", CREATE[vendor], content=body,
                          headers={"content-type": "application/json; charset=utf-16"})
    assert_native(vendor, response)
    assert response.status_code == 400
    _read_after(world)
