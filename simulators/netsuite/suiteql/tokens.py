"""The SuiteQL tokenizer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulators.netsuite.suiteql.errors import unsupported


@dataclass(frozen=True)
class Token:
    kind: str  # ident | qident | string | number | op | eof
    value: str  # identifiers lower-cased; strings unescaped
    text: str  # as written
    pos: int


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
    |(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_$\#]*)
    |(?P<qident>"(?:[^"]|"")*")
    |(?P<string>'(?:[^']|'')*')
    |(?P<op><>|!=|<=|>=|\|\||[=<>(),.*;+\-/])
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize(q: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(q):
        m = _TOKEN.match(q, pos)
        if m is None:
            raise unsupported(f"unexpected character {q[pos]!r} at position {pos}")
        kind, text = m.lastgroup or "", m.group()
        if kind == "ident":
            tokens.append(Token(kind, text.lower(), text, pos))
        elif kind == "string":
            tokens.append(Token(kind, text[1:-1].replace("''", "'"), text, pos))
        elif kind == "qident":
            tokens.append(Token(kind, text[1:-1].replace('""', '"'), text, pos))
        elif kind != "ws":
            tokens.append(Token(kind, text, text, pos))
        pos = m.end()
    tokens.append(Token("eof", "", "", len(q)))
    return tokens
