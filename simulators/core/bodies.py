"""Request bodies within bounds a hostile body cannot get past.

`read_body` reads at most the fake's body limit (the pipeline answers a larger body with the
vendor's 413). `decode_json` decodes a JSON body: `json.loads` alone recurses once per nesting
level (a body 1,000 deep raises RecursionError, a 500) and refuses integers over 4,300 digits
with a bare ValueError. `decode_json` scans the body first, in linear passes that run in C and
never recurse, and refuses a body too deep, with a too-long number (or too large, if asked) as a
`json.JSONDecodeError` (a ValueError): what each vendor already answers with its own 400 for
unreadable JSON.

Neither Salesforce nor NetSuite documents such bounds [U]. The depth is far past any real
payload (a few levels) and well inside Python's recursion limit, so whatever later walks the
decoded value (canonical JSON, deep copies) cannot overflow either. The number length is
Jackson's default (`StreamReadConstraints`), the parser whose messages Salesforce's JSON errors
carry.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from starlette.types import Receive, Scope

MAX_JSON_DEPTH = 128
MAX_NUMBER_DIGITS = 1000

# strings are replaced by "" before counting (brackets and digits in them do not count); an
# unterminated one runs to the end instead of failing, so no position is matched twice
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_LONG_NUMBER = re.compile(rb"(?<![0-9])[0-9]{%d}" % (MAX_NUMBER_DIGITS + 1))
_DIGITS_AS_ZERO = bytes(b"0"[0] if b in b"0123456789" else b" "[0] for b in range(256))
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))


def decode_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH,
                max_bytes: int | None = None, **options: Any) -> Any:
    """`json.loads(raw, **options)` within the bounds; `json.JSONDecodeError` beyond them.
    `max_bytes` bounds JSON that did not come in through the pipeline's body limit."""
    if isinstance(raw, bytes):
        _check_size(len(raw), max_bytes)  # before decoding it
        # as json.loads reads bytes (a UnicodeDecodeError is a ValueError too)
        raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
    data = raw.encode("utf-8", "surrogatepass")  # scanned as bytes: ASCII tokens, C speed
    _check_size(len(data), max_bytes)
    problem = _scan(data, max_depth)
    if problem is not None:
        at, reason = problem
        position = len(data[:at].decode("utf-8", "surrogatepass"))  # bytes -> characters
        raise json.JSONDecodeError(reason, raw, position)
    try:
        return json.loads(raw, **options)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # Python's own integer digit limit, should the scan miss one
        raise json.JSONDecodeError(str(exc), raw, 0) from None


def _check_size(size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise json.JSONDecodeError(f"larger than {max_bytes} bytes", "", 0)


def _scan(data: bytes, max_depth: int) -> tuple[int, str] | None:
    """Whether the body nests deeper than `max_depth` or holds a too-long number: where (best
    effort, for the message) and which. Every step runs in C, one linear pass each."""
    structure = _STRING.sub(b'""', data)
    if b"0" * (MAX_NUMBER_DIGITS + 1) in structure.translate(_DIGITS_AS_ZERO):
        found = _LONG_NUMBER.search(data)
        return (found.start() if found else 0), f"a number longer than {MAX_NUMBER_DIGITS} digits"
    brackets = structure.translate(None, _NOT_BRACKETS)
    # closers before their openers only lower the count: json.loads refuses those itself
    if len(brackets) > max_depth and max(accumulate(map(_STEP.__getitem__, brackets))) > max_depth:
        found = re.search(rb"[\[{](?:\s*[\[{]){%d}" % max_depth, data)
        return (found.end() - 1 if found else 0), f"nested deeper than {max_depth} levels"
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None as soon as it proves larger than `limit` bytes (by its
    Content-Length, or while it streams in): the rest is never read, so never held."""
    declared = b""
    for name, value in scope.get("headers", ()):  # the last one, as dict() of them would keep
        if name == b"content-length":
            declared = value
    if declared.isdigit() and (len(declared) > len(str(limit)) or int(declared) > limit):
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)
