"""Bracketed form bodies round-trip: what the official stripe SDK encodes, the fakes decode to
the same nested params (values as strings, the vendor coerces them); `encode` inverts `decode`.
Empty dicts and lists send nothing (Stripe's own encoding drops them), so they are left out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from stripe._encode import _api_encode

from simulators.core.forms import decode, encode

KEYS = st.text(st.characters(blacklist_characters="[]&=", blacklist_categories=("Cs", "Cc")),
               min_size=1, max_size=8)
SCALARS = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
                    st.integers(-10**12, 10**12))
PARAMS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=4),
                            st.dictionaries(KEYS, inner, min_size=1, max_size=4)),
    max_leaves=12)
# a list's items are all scalars or all objects: Stripe never mixes them, and its index-first
# encoding cannot tell a list of lists from an object keyed by numbers
LISTS_OF_ONE_KIND = st.dictionaries(KEYS, PARAMS, min_size=1, max_size=4).filter(
    lambda p: _one_kind(p))


def _one_kind(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not k.isdigit() for k in value) and all(map(_one_kind, value.values()))
    if isinstance(value, list):
        return (all(isinstance(v, str | int) for v in value)
                or all(isinstance(v, dict) and _one_kind(v) for v in value))
    return True


def _as_strings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_strings(v) for v in value]
    return str(value)


@settings(max_examples=100)
@given(LISTS_OF_ONE_KIND)
def test_what_the_stripe_sdk_encodes_decodes_to_the_same_params(params: dict[str, Any]) -> None:
    body = urlencode(list(_api_encode(params)))
    assert decode(body) == _as_strings(params)


@settings(max_examples=100)
@given(LISTS_OF_ONE_KIND)
def test_encode_is_the_inverse_of_decode(params: dict[str, Any]) -> None:
    expected = _as_strings(params)
    assert decode(urlencode(encode(params))) == expected
    assert decode(urlencode(encode(expected))) == expected
