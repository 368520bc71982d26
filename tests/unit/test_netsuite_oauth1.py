"""NetSuite TBA (OAuth 1.0a, HMAC-SHA256) verification against a real client (requests-oauthlib)."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client
from requests_oauthlib import OAuth1

from simulators.netsuite.oauth1 import (
    NonceCache,
    OAuth1Error,
    OAuth1Params,
    parse_authorization,
    sign,
    signature_base_string,
    verify,
)

REALM = "1234567_SB1"
CONSUMER_KEY = "ck_3f0c1e7a"
CONSUMER_SECRET = "cs_9b2d&secret/with+odd=chars"
TOKEN = "tk_77aa01"
TOKEN_SECRET = "ts_5e5e~5e5e"
URL = "http://127.0.0.1:8080/services/rest/record/v1/customer?limit=5&q=email%20IS%20%22a%40b.c%22"
NOW = 1_732_000_000


def consumers(key: str) -> str | None:
    return {CONSUMER_KEY: CONSUMER_SECRET}.get(key)


def tokens(consumer_key: str, token: str) -> str | None:
    return {(CONSUMER_KEY, TOKEN): TOKEN_SECRET}.get((consumer_key, token))


def signed(
    method: str = "GET",
    url: str = URL,
    *,
    timestamp: int | None = NOW,
    nonce: str | None = "a1b2c3d4e5f6",
    consumer_secret: str = CONSUMER_SECRET,
    token_secret: str = TOKEN_SECRET,
    signature_method: str = SIGNATURE_HMAC_SHA256,
    **request: object,
) -> requests.PreparedRequest:
    """Sign a request with requests-oauthlib exactly as an integration would."""
    auth = OAuth1(
        CONSUMER_KEY,
        consumer_secret,
        TOKEN,
        token_secret,
        signature_method=signature_method,
        realm=REALM,
        timestamp=None if timestamp is None else str(timestamp),
        nonce=nonce,
    )
    return requests.Request(method, url, auth=auth, **request).prepare()  # type: ignore[arg-type]


def header_of(prepared: requests.PreparedRequest) -> str:
    value = prepared.headers["Authorization"]
    return value.decode() if isinstance(value, bytes) else value


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def check(
    prepared: requests.PreparedRequest,
    *,
    now: float = NOW,
    nonce_seen: Callable[[str, str, float], bool] | None = None,
    form_body: list[tuple[str, str]] | None = None,
    **kwargs: object,
) -> OAuth1Params:
    assert prepared.url is not None and prepared.method is not None
    return verify(
        prepared.method,
        prepared.url,
        header_of(prepared),
        query_of(prepared.url),
        lookup_consumer_secret=consumers,
        lookup_token_secret=tokens,
        now=now,
        nonce_seen=nonce_seen if nonce_seen is not None else NonceCache(),
        form_body=form_body or [],
        **kwargs,  # type: ignore[arg-type]
    )


# --- the real client's header verifies -----------------------------------------------------------


def test_requests_oauthlib_header_with_query_string_verifies() -> None:
    prepared = signed(timestamp=None, nonce=None)  # the client's own clock and nonce
    params = parse_authorization(header_of(prepared))
    result = check(prepared, now=float(params.timestamp), expected_realm=REALM)
    assert result.realm == REALM
    assert result.consumer_key == CONSUMER_KEY
    assert result.token == TOKEN
    assert result.signature_method == "HMAC-SHA256"
    assert result.version == "1.0"
    assert len(result.nonce) >= 6


def test_header_is_parsed_field_by_field() -> None:
    params = parse_authorization(header_of(signed()))
    assert params == OAuth1Params(
        realm=REALM,
        consumer_key=CONSUMER_KEY,
        token=TOKEN,
        signature_method="HMAC-SHA256",
        timestamp=str(NOW),
        nonce="a1b2c3d4e5f6",
        version="1.0",
        signature=params.signature,
    )


def test_our_signature_equals_the_clients() -> None:
    prepared = signed()
    params = parse_authorization(header_of(prepared))
    base = signature_base_string("GET", URL, params, query_of(URL))
    assert base.startswith("GET&http%3A%2F%2F127.0.0.1%3A8080%2Fservices%2Frest%2Frecord%2Fv1%2F")
    assert "q%3Demail%2520IS%2520%2522a%2540b.c%2522" in base  # query param, double-encoded
    assert "realm" not in base and "oauth_signature%3D" not in base
    assert sign(base, CONSUMER_SECRET, TOKEN_SECRET) == params.signature


def test_post_with_json_body_and_suiteql_path_verifies() -> None:
    url = "https://1234567-sb1.suitetalk.api.netsuite.com:443/services/rest/query/v1/suiteql?limit=10&offset=0"
    prepared = signed(
        "POST",
        url,
        data=b'{"q": "SELECT id FROM customer"}',
        headers={"Content-Type": "application/json", "Prefer": "transient"},
    )
    check(prepared)


def test_form_encoded_body_parameters_are_signed() -> None:
    url = "https://EXAMPLE.com/path%20with%20space/"
    prepared = signed("POST", url, data={"a": "1", "b": "x y"})
    check(prepared, form_body=[("a", "1"), ("b", "x y")])
    with pytest.raises(OAuth1Error, match="signature"):
        check(prepared, form_body=[("a", "2"), ("b", "x y")])


def test_url_normalization_host_case_and_default_port() -> None:
    prepared = signed(url="HTTPS://Acme.Example.COM:443/services/rest/record/v1/customer?x=1")
    params = parse_authorization(header_of(prepared))
    assert signature_base_string(
        "get", "https://acme.example.com/services/rest/record/v1/customer", params, [("x", "1")]
    ).startswith("GET&https%3A%2F%2Facme.example.com%2Fservices%2Frest%2Frecord%2Fv1%2Fcustomer&")
    check(prepared)


# --- rejections ------------------------------------------------------------------------------


def test_tampered_signature_is_rejected() -> None:
    prepared = signed()
    header = header_of(prepared)
    sig = re.search(r'oauth_signature="([^"]+)"', header)
    assert sig is not None
    flipped = ("B" if sig.group(1)[0] != "B" else "C") + sig.group(1)[1:]
    prepared.headers["Authorization"] = header.replace(sig.group(1), flipped)
    with pytest.raises(OAuth1Error, match="oauth_signature does not match"):
        check(prepared)


def test_tampered_query_is_rejected() -> None:
    prepared = signed()
    with pytest.raises(OAuth1Error, match="oauth_signature does not match"):
        verify(
            "GET",
            URL,
            header_of(prepared),
            [("limit", "1000"), ("q", 'email IS "a@b.c"')],
            lookup_consumer_secret=consumers,
            lookup_token_secret=tokens,
            now=NOW,
            nonce_seen=NonceCache(),
        )


def test_other_method_or_path_is_rejected() -> None:
    prepared = signed()
    for method, url in (("POST", URL), ("GET", URL.replace("customer", "invoice"))):
        with pytest.raises(OAuth1Error, match="signature"):
            verify(
                method,
                url,
                header_of(prepared),
                query_of(URL),
                lookup_consumer_secret=consumers,
                lookup_token_secret=tokens,
                now=NOW,
                nonce_seen=NonceCache(),
            )


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_stale_or_future_timestamp_is_rejected(skew: int) -> None:
    with pytest.raises(OAuth1Error, match="oauth_timestamp"):
        check(signed(), now=NOW + skew)


@pytest.mark.parametrize("skew", [300, -300, 0])
def test_timestamp_within_window_is_accepted(skew: int) -> None:
    check(signed(), now=NOW + skew)


def test_reused_nonce_is_rejected() -> None:
    cache = NonceCache()
    check(signed(), nonce_seen=cache)
    with pytest.raises(OAuth1Error, match="oauth_nonce was already used"):
        check(signed(), nonce_seen=cache)
    # a different nonce is fine
    check(signed(nonce="zzzzzzzzzz"), nonce_seen=cache)


def test_nonce_is_recorded_only_after_the_signature_checks_out() -> None:
    calls: list[tuple[str, str, float]] = []

    def seen(scope: str, nonce: str, timestamp: float) -> bool:
        calls.append((scope, nonce, timestamp))
        return False

    with pytest.raises(OAuth1Error):
        check(signed(token_secret="wrong"), nonce_seen=seen)
    assert calls == []
    check(signed(), nonce_seen=seen)
    assert calls == [(f"{CONSUMER_KEY}&{TOKEN}", "a1b2c3d4e5f6", float(NOW))]


def test_nonce_cache_forgets_entries_that_can_no_longer_be_replayed() -> None:
    cache = NonceCache(max_skew=300)
    assert cache("s", "nonce-1", 1000) is False
    assert cache("s", "nonce-1", 1000) is True
    assert cache("s", "nonce-1", 1500) is True  # still inside the replay window
    assert cache("other", "nonce-1", 1500) is False  # the scope is part of the key
    assert cache("s", "nonce-2", 2000) is False  # entries older than 2000 - 600 are dropped
    assert cache("s", "nonce-1", 2000) is False


def test_short_nonce_is_rejected() -> None:
    with pytest.raises(OAuth1Error, match="shorter than 6"):
        check(signed(nonce="abc12"))
    check(signed(nonce="abc123"))


@pytest.mark.parametrize(
    ("consumer_secret", "token_secret"),
    [("not-the-secret", TOKEN_SECRET), (CONSUMER_SECRET, "not-the-secret")],
)
def test_wrong_secret_is_rejected(consumer_secret: str, token_secret: str) -> None:
    prepared = signed(consumer_secret=consumer_secret, token_secret=token_secret)
    with pytest.raises(OAuth1Error, match="oauth_signature does not match"):
        check(prepared)


def test_unknown_consumer_or_token_is_rejected() -> None:
    prepared = signed()
    for lookup_consumer, lookup_token, reason in (
        (lambda key: None, tokens, "unknown oauth_consumer_key"),
        (consumers, lambda key, token: None, "unknown oauth_token"),
    ):
        with pytest.raises(OAuth1Error, match=reason):
            verify(
                "GET",
                URL,
                header_of(prepared),
                query_of(URL),
                lookup_consumer_secret=lookup_consumer,
                lookup_token_secret=lookup_token,
                now=NOW,
                nonce_seen=NonceCache(),
            )


def test_hmac_sha1_is_rejected() -> None:
    with pytest.raises(OAuth1Error, match="only HMAC-SHA256"):
        check(signed(signature_method="HMAC-SHA1"))


def test_wrong_realm_is_rejected_when_the_account_is_given() -> None:
    check(signed(), expected_realm="1234567_sb1")
    with pytest.raises(OAuth1Error, match="realm"):
        check(signed(), expected_realm="7654321")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer abc",
        "OAuth",
        'OAuth oauth_consumer_key="a"',
        'OAuth realm="x" oauth_consumer_key="a"',  # no comma
        'OAuth oauth_consumer_key="a", oauth_consumer_key="b", oauth_token="t", '
        'oauth_signature_method="HMAC-SHA256", oauth_timestamp="1", oauth_nonce="123456", '
        'oauth_signature="s"',
        'OAuth oauth_consumer_key=a, oauth_token="t"',  # unquoted value
        'OAuth foo="bar", oauth_consumer_key="a", oauth_token="t", '
        'oauth_signature_method="HMAC-SHA256", oauth_timestamp="1", oauth_nonce="123456", '
        'oauth_signature="s"',
    ],
)
def test_malformed_headers_are_rejected(header: str) -> None:
    with pytest.raises(OAuth1Error, match="malformed"):
        parse_authorization(header)


def test_non_numeric_timestamp_and_bad_version_are_rejected() -> None:
    prepared = signed()
    header = header_of(prepared)
    for old, new, reason in (
        (f'oauth_timestamp="{NOW}"', 'oauth_timestamp="17e8"', "whole number"),
        (f'oauth_timestamp="{NOW}"', f'oauth_timestamp="{"9" * 5000}"', "whole number"),
        (f'oauth_timestamp="{NOW}"', 'oauth_timestamp="\u0661\u0662"', "whole number"),
        ('oauth_nonce="a1b2c3d4e5f6"', 'oauth_nonce="a1b2c3\ud800"', "UTF-8"),
        ('oauth_version="1.0"', 'oauth_version="2.0"', "oauth_version"),
    ):
        prepared.headers["Authorization"] = header.replace(old, new)
        with pytest.raises(OAuth1Error, match=reason):
            check(prepared)


def test_error_renders_netsuite_401_body() -> None:
    assert OAuth1Error("x").problem() == {
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
        "title": "Unauthorized",
        "status": 401,
        "o:errorDetails": [
            {
                "detail": "Invalid login attempt. For more details, see the Login Audit Trail "
                "in the NetSuite UI at Setup > Users/Roles > User Management > "
                "View Login Audit Trail.",
                "o:errorCode": "INVALID_LOGIN",
            }
        ],
    }


# --- properties ------------------------------------------------------------------------------

safe_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20
)


@settings(max_examples=300, deadline=None)
@given(
    # query keys named like protocol parameters (oauth_signature=…) are not a real request
    query=st.lists(st.tuples(safe_text.filter(lambda k: not k.startswith("oauth_")), safe_text),
                   max_size=5),
    consumer_secret=safe_text,
    token_secret=safe_text,
    path=st.text(alphabet=string.ascii_letters + string.digits + "-._~", max_size=12),
    method=st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"]),
)
def test_any_oauthlib_signature_verifies(
    query: list[tuple[str, str]], consumer_secret: str, token_secret: str, path: str, method: str
) -> None:
    url = f"https://1234567-SB1.suitetalk.api.netsuite.com/services/rest/{quote(path)}"
    if query:
        url += "?" + urlencode(query)
    client = Client(
        CONSUMER_KEY,
        client_secret=consumer_secret,
        resource_owner_key=TOKEN,
        resource_owner_secret=token_secret,
        signature_method=SIGNATURE_HMAC_SHA256,
        realm=REALM,
        timestamp=str(NOW),
        nonce="n0nce-123",
    )
    signed_url, headers, _ = client.sign(url, http_method=method)
    params = verify(
        method,
        signed_url,
        headers["Authorization"],
        query_of(signed_url),
        lookup_consumer_secret=lambda key: consumer_secret,
        lookup_token_secret=lambda key, token: token_secret,
        now=NOW,
        nonce_seen=NonceCache(),
    )
    assert params.nonce == "n0nce-123"


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=300))
def test_fuzzed_headers_only_raise_oauth1_errors(header: str) -> None:
    try:
        verify(
            "GET",
            URL,
            header,
            query_of(URL),
            lookup_consumer_secret=consumers,
            lookup_token_secret=tokens,
            now=NOW,
            nonce_seen=NonceCache(),
        )
    except OAuth1Error as err:
        assert err.reason


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "realm",
                "oauth_consumer_key",
                "oauth_token",
                "oauth_signature_method",
                "oauth_timestamp",
                "oauth_nonce",
                "oauth_version",
                "oauth_signature",
            ]
        ),  # fmt: skip
        st.text(max_size=15),
    )
)
def test_fuzzed_parameter_sets_only_raise_oauth1_errors(fields: dict[str, str]) -> None:
    header = "OAuth " + ", ".join(f'{k}="{quote(v, safe="")}"' for k, v in fields.items())
    with pytest.raises(OAuth1Error):
        verify(
            "GET",
            URL,
            header,
            query_of(URL),
            lookup_consumer_secret=consumers,
            lookup_token_secret=tokens,
            now=NOW,
            nonce_seen=NonceCache(),
        )
