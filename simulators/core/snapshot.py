"""Copies of the JSON-like trees the fakes store (dicts, lists, strings, numbers, None).

`copy.deepcopy` handles any object: it keeps a memo of everything copied and dispatches on each
value's type through several calls, which made it the largest cost of creating an object that
emits an event (a copy of the object goes into the event). A stored object is a tree of plain
dicts and lists of immutable scalars, so copying it needs only new dicts and lists; any other
value (a dict subclass, a tuple, an object) is left to `copy.deepcopy`. One difference: a
container reachable twice inside the tree (never so in the fakes' objects) is copied twice
rather than shared.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

T = TypeVar("T")
_ATOMIC = frozenset({str, int, float, bool, type(None), bytes})


def copy_tree(value: T) -> T:
    """A deep copy of `value`, fast for dicts, lists and scalars (see the module's doc)."""
    return _copy(value)  # type: ignore[no-any-return]


def _copy(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _ATOMIC else _copy(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMIC else _copy(v) for v in value]
    if kind in _ATOMIC:
        return value
    return copy.deepcopy(value)
