"""The bounds on decoding request bodies: bracketed forms (core/forms.py) and JSON
(core/bodies.py). Past a bound is a FormError / JSONDecodeError, which each vendor answers
with its own 400; never a RecursionError, a quadratic decode or a bare int() ValueError."""

from __future__ import annotations

import json

import pytest

from simulators.core import forms
from simulators.core.bodies import MAX_JSON_DEPTH, MAX_NUMBER_DIGITS, decode_json

LONG = "9" * 5000  # past Python's 4,300-digit int() limit


# -- forms ----------------------------------------------------------------------------------------
def test_appending_pairs_up_to_the_bound_decodes_them_all_in_order() -> None:
    body = "&".join(f"expand[]=p{i}" for i in range(forms.MAX_PAIRS))
    assert forms.decode(body)["expand"] == [f"p{i}" for i in range(forms.MAX_PAIRS)]
    # appends count the indices already given, as before
    assert forms.decode("a[0]=x&a[]=y&a[]=z") == {"a": ["x", "y", "z"]}


def test_more_pairs_than_the_bound_are_refused_without_reading_them_all() -> None:
    body = "&".join(["expand[]=customer"] * 20_000)
    assert len(forms.parse_pairs(body)) == forms.MAX_PAIRS + 1
    with pytest.raises(forms.FormError) as refused:
        forms.decode(body)
    assert (refused.value.key, refused.value.reason) == (
        "expand[]", f"more than {forms.MAX_PAIRS} parameters")
    with pytest.raises(forms.FormError):  # Chargebee parses pairs itself
        forms.decode_pairs([("a", "1")] * (forms.MAX_PAIRS + 1))


def test_keys_nested_past_the_bound_are_refused() -> None:
    ok = "a" + "[b]" * forms.MAX_DEPTH
    assert len(forms.split_key(ok)) == forms.MAX_DEPTH + 1
    for key in (ok + "[c]", "metadata" + "[a]" * 500):
        with pytest.raises(forms.FormError, match="levels of brackets"):
            forms.decode(f"{key}=1")


@pytest.mark.parametrize("body", [
    f"expand[{LONG}]=x", f"items[{LONG}][price]=p", f"a[x][{LONG}]=x",
    f"a[{forms.MAX_INDEX + 1}]=x", f"a[0]=x&a[{'0' * 30}{forms.MAX_INDEX + 1}]=y",
])
def test_list_indices_past_the_bound_are_refused_before_int(body: str) -> None:
    with pytest.raises(forms.FormError, match="list index over") as refused:
        forms.decode(body)
    assert len(refused.value.key) <= 203  # a 5,000-digit key is not echoed back whole


def test_indices_within_the_bound_and_numeric_names_still_decode() -> None:
    assert forms.decode(f"a[{forms.MAX_INDEX}]=y&a[0]=x") == {"a": ["x", "y"]}
    assert forms.decode(f"a[{'0' * 5000}1]=y&a[0]=x") == {"a": ["x", "y"]}  # zeros, not digits
    # a number beside names is a key, whatever its length: no list, no int()
    assert forms.decode(f"metadata[{LONG}]=x&metadata[k]=y") == {
        "metadata": {LONG: "x", "k": "y"}}
    assert forms.decode(f"{LONG}=x") == {LONG: "x"}  # top-level names stay a dict
    assert forms.decode(f"amount={LONG}") == {"amount": LONG}  # the vendor judges the value


# -- JSON -----------------------------------------------------------------------------------------
def test_json_nested_past_the_bound_is_refused_where_it_goes_too_deep() -> None:
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert decode_json(ok) is not None
    for body in ("[" * 100_000 + "]" * 100_000, '{"a": ' + "[" * (MAX_JSON_DEPTH + 1)):
        with pytest.raises(json.JSONDecodeError, match="nested deeper") as refused:
            decode_json(body.encode())
        assert body[refused.value.pos] == "["


def test_brackets_in_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 1000, "t": 'a\\"]]' + "{" * 500, "n": [[1]]})
    assert decode_json(text) == json.loads(text)


def test_numbers_past_the_bound_are_refused_but_long_strings_of_digits_are_not() -> None:
    for body in (f'{{"n": {LONG}}}', f'[1.{LONG}]', f"[1e{LONG}]"):
        with pytest.raises(json.JSONDecodeError, match="number longer"):
            decode_json(body)
    assert decode_json(f'{{"n": "{LONG}"}}') == {"n": LONG}
    assert decode_json("9" * MAX_NUMBER_DIGITS) == int("9" * MAX_NUMBER_DIGITS)


def test_json_bodies_over_the_size_bound_and_options_pass_through() -> None:
    with pytest.raises(json.JSONDecodeError, match="larger than 10 bytes"):
        decode_json(b'{"a": "0123456789"}', max_bytes=10)

    def no_constants(name: str) -> None:
        raise ValueError(name)

    with pytest.raises(ValueError):
        decode_json(b'{"a": NaN}', parse_constant=no_constants)
    assert decode_json('{"a": "\u00e9"}'.encode("utf-16")) == {"a": "\u00e9"}
