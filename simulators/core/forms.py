"""Bracketed form bodies, as Stripe and Chargebee send them.

Stripe puts a list index first (`items[0][price]=p`), Chargebee last
(`subscription_items[item_price_id][0]=p`); both nest objects with brackets
(`metadata[order]=42`). Both decode to the same nested dicts and lists here; the vendor decides
what the shape means.

Decoding is linear in the body and bounded: at most `MAX_PAIRS` pairs, `MAX_DEPTH` brackets in
a key, list indices up to `MAX_INDEX`. Anything past a bound is a `FormError`, which each vendor
answers with its own 400 for an invalid parameter. Neither vendor documents such limits [U]: they
sit far above any real request (Stripe's longest lists hold 250 items, its deepest keys ~6
brackets) and keep a hostile body from costing quadratic time or deep recursion.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

MAX_PAIRS = 10_000
MAX_DEPTH = 32  # brackets in one key
MAX_INDEX = MAX_PAIRS  # a denser list would need more pairs than a body may hold
_INDEX_DIGITS = len(str(MAX_INDEX))
_SHOWN = 200  # characters of a key an error repeats back

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """A malformed key (the vendor renders this as its own 400)."""

    def __init__(self, key: str, reason: str) -> None:
        key = key if len(key) <= _SHOWN else key[:_SHOWN] + "..."
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def split_key(key: str) -> list[str]:
    if key.count("[") > MAX_DEPTH:  # before the regex builds a list of them
        raise FormError(key, f"more than {MAX_DEPTH} levels of brackets")
    match = _KEY.match(key)
    if not match:
        raise FormError(key, "malformed bracketed key")
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def parse_pairs(text: str, errors: str = "replace") -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, errors=errors)`, reading at most one pair past
    `MAX_PAIRS`: enough for `decode_pairs` to refuse the body, without building millions of
    pairs first. `errors` is for percent-escaped bytes that are not UTF-8 (`"surrogateescape"`
    keeps them findable as lone surrogates). Names and values without `%` or `+` are taken as
    they are, which is what `unquote` would return for them."""
    pairs = []
    for pair in text.split("&", MAX_PAIRS + 1)[:MAX_PAIRS + 1]:
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "), errors=errors)
        if "%" in value or "+" in value:
            value = unquote(value.replace("+", " "), errors=errors)
        pairs.append((name, value))
    return pairs


def decode(body: bytes | str) -> dict[str, Any]:
    """Decode `a[b][0]=1&a[b][1]=2&c=3` into `{"a": {"b": ["1", "2"]}, "c": "3"}`.

    Numeric segments and `[]` make lists; values stay strings (the vendor coerces them).
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return decode_pairs(parse_pairs(body))


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    if len(pairs) > MAX_PAIRS:
        raise FormError(pairs[MAX_PAIRS][0], f"more than {MAX_PAIRS} parameters")
    root: dict[str, Any] = {}
    indices: dict[int, int] = {}  # id(node) -> index keys it holds, so `[]` appends in O(1)
    for key, value in pairs:
        if key and "[" not in key and "]" not in key:  # a plain name: most of them
            if isinstance(root.get(key), dict):
                raise FormError(key, "a value and an object under the same key")
            root[key] = value
            continue
        _assign(root, split_key(key), value, key, indices)
    # the top level holds parameter names: a dict even when every name is a number
    return {key: _listify(value, key) for key, value in root.items()}


def _assign(node: dict[str, Any], parts: list[str], value: str, key: str,
            indices: dict[int, int]) -> None:
    for i, part in enumerate(parts):
        if part == "":  # `expand[]=a` appends
            part = str(indices.get(id(node), 0))
        if part not in node and _is_index(part):
            indices[id(node)] = indices.get(id(node), 0) + 1
        if i == len(parts) - 1:
            if isinstance(node.get(part), dict):
                raise FormError(key, "a value and an object under the same key")
            node[part] = value
        else:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise FormError(key, "a value and an object under the same key")
            node = child


def _listify(node: Any, path: str) -> Any:
    """Dicts whose keys are all indices become lists, ordered by index."""
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v, f"{path}[{k}]") for k, v in node.items()}
    if not converted or not all(_is_index(k) for k in converted):
        return converted
    # bound the digits before int(): Python refuses more than 4,300 (ValueError), and an
    # index past MAX_INDEX is no list a client sends
    numbers = {k: int(k.lstrip("0") or "0") if len(k.lstrip("0")) <= _INDEX_DIGITS
               else MAX_INDEX + 1 for k in converted}
    too_large = next((k for k, n in numbers.items() if n > MAX_INDEX), None)
    if too_large is not None:
        raise FormError(f"{path}[{too_large}]", f"list index over {MAX_INDEX}")
    return [converted[k] for k in sorted(converted, key=numbers.__getitem__)]


def _is_index(key: str) -> bool:
    return key.isascii() and key.isdigit()  # not "³", which str.isdigit also accepts


def encode(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The inverse of `decode` in Stripe's style (index first); used by tests and clients."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        full = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs += encode(value, full)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    pairs += encode(item, f"{full}[{i}]")
                else:
                    pairs.append((f"{full}[{i}]", _scalar(item)))
        elif value is not None:
            pairs.append((full, _scalar(value)))
    return pairs


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
