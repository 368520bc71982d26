"""Bracketed form bodies, as Stripe and Chargebee send them.

Stripe puts a list index first (`items[0][price]=p`), Chargebee last
(`subscription_items[item_price_id][0]=p`); both nest objects with brackets
(`metadata[order]=42`). Both decode to the same nested dicts and lists here; the vendor decides
what the shape means.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class FormError(ValueError):
    """A malformed key (the vendor renders this as its own 400)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        raise FormError(key, "malformed bracketed key")
    parts = [match.group(1)]
    parts += re.findall(r"\[([^\[\]]*)\]", match.group(2))
    return parts


def decode(body: bytes | str) -> dict[str, Any]:
    """Decode `a[b][0]=1&a[b][1]=2&c=3` into `{"a": {"b": ["1", "2"]}, "c": "3"}`.

    Numeric segments and `[]` make lists; values stay strings (the vendor coerces them).
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return decode_pairs(parse_qsl(body, keep_blank_values=True))


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = split_key(key)
        _assign(root, parts, value, key)
    # the top level holds parameter names: a dict even when every name is a number
    return {key: _listify(value) for key, value in root.items()}


def _assign(node: dict[str, Any], parts: list[str], value: str, key: str) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "":  # `expand[]=a` appends
            part = str(sum(1 for k in node if _is_index(k)))
        if last:
            existing = node.get(part)
            if isinstance(existing, dict):
                raise FormError(key, "a value and an object under the same key")
            node[part] = value
        else:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise FormError(key, "a value and an object under the same key")
            node = child


def _listify(node: Any) -> Any:
    """Dicts whose keys are all indices become lists, ordered by index."""
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(_is_index(k) for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


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
