"""Values a fake can store and render again: text UTF-8 can encode, finite numbers, int64.

A request can carry a string no response can hold: JSON's `"\\ud800"` escape decodes to a lone
surrogate, which `str.encode("utf-8")` refuses, so once stored every later read, query and
snapshot of the tenant fails. Vendors refuse such values where requests enter, each with its own
400; the generic checks live here. A vendor's own bounds (lengths, amounts) stay in its package.
"""

from __future__ import annotations

import math
import re
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# CPython's UTF-8 codec refuses exactly the surrogate code points, paired or not.
_SURROGATE = re.compile("[\ud800-\udfff]")

Path = tuple[str | int, ...]


def valid_text(value: str) -> bool:
    """True when `value.encode("utf-8")` succeeds; scans once, copies nothing."""
    return value.isascii() or _SURROGATE.search(value) is None


def find_unencodable(value: Any) -> Path | None:
    """The path (keys and list indices) to the first string, dict key or value, that UTF-8
    cannot encode in nested dicts, lists and tuples; None when there is none.

    Iterative, each node visited and each string scanned once: linear in the size of the value,
    whatever its depth. A bad key ends the path (the key itself)."""
    parents: list[tuple[int, str | int]] = []  # node -> (parent node, key in parent)
    stack: list[tuple[Any, int]] = [(value, -1)]
    while stack:
        node, here = stack.pop()
        if isinstance(node, str):
            if not valid_text(node):
                return _path(parents, here)
        elif isinstance(node, dict):
            for key in reversed(list(node)):
                parents.append((here, key))
                if isinstance(key, str) and not valid_text(key):
                    return _path(parents, len(parents) - 1)
                stack.append((node[key], len(parents) - 1))
        elif isinstance(node, list | tuple):
            for i in range(len(node) - 1, -1, -1):
                parents.append((here, i))
                stack.append((node[i], len(parents) - 1))
    return None


def _path(parents: list[tuple[int, str | int]], at: int) -> Path:
    keys: list[str | int] = []
    while at >= 0:
        at, key = parents[at]
        keys.append(key)
    return tuple(reversed(keys))


def printable(text: str) -> str:
    """`text` with unencodable code points as `\\udXXX` escapes, safe to echo in an error."""
    return text if valid_text(text) else text.encode("utf-8", "backslashreplace").decode()


def finite(value: float) -> bool:
    return math.isfinite(value)


def in_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX
