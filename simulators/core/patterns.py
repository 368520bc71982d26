"""SQL `LIKE` without regular expressions, so no pattern can make a match backtrack.

`%` matches any run of characters (none included) and `_` exactly one; the escape character
makes the next `%`, `_` or escape literal. A pattern is cut at its `%`s into pieces: the first
piece is anchored at the start of the text, the last at its end, and each middle piece goes
to its leftmost place after the one before (greedy placement is never worse for the pieces
still to come, so nothing is ever retried). Each piece searches with `str.find` on its longest
literal run and checks its other runs in place, so a match examines at most
`len(text) × len(pattern)` characters, and about `len(text) + len(pattern)` when no piece holds
`_` (one `find` per piece, over a stretch of text no other piece searches).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = ["LikeError", "LikePattern", "compile_like", "like"]


class LikeError(ValueError):
    """A pattern that is not valid LIKE syntax (a dangling or misused escape)."""


def _fold(text: str) -> str:
    """Case-fold character by character, keeping one character per character (so `_` still
    counts characters): a character whose fold is longer (`ß` -> `ss`) stays as it is."""
    folded = text.casefold()
    if len(folded) == len(text):  # a fold never shrinks, so each character folded to one
        return folded
    return "".join(f if len(f := ch.casefold()) == 1 else ch for ch in text)


class _Steps:
    """Counts a search's string operations: one `find` over the text or one `startswith`."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


@dataclass(frozen=True)
class _Piece:
    """A `%`-free stretch of the pattern: literal runs at their offsets, `_` in the gaps."""

    size: int
    runs: tuple[tuple[int, str], ...]  # (offset, literal text), longest first

    def fits(self, text: str, at: int, steps: _Steps, runs: slice = slice(None)) -> bool:
        for offset, run in self.runs[runs]:
            steps.count += 1
            if not text.startswith(run, at + offset):
                return False
        return True

    def find(self, text: str, start: int, end: int, steps: _Steps) -> int:
        """The leftmost place in `text[start:end]` where the piece fits, or -1."""
        last = end - self.size  # the last place it could start
        if not self.runs:
            return start if start <= last else -1
        offset, anchor = self.runs[0]  # the longest run: the fewest false candidates
        while start <= last:
            steps.count += 1
            found = text.find(anchor, start + offset, last + offset + len(anchor))
            if found < 0:
                return -1
            at = found - offset
            if self.fits(text, at, steps, slice(1, None)):
                return at
            start = at + 1
        return -1


def _piece(chars: list[str | None]) -> _Piece:
    runs: list[tuple[int, str]] = []
    run_start = 0
    for index, ch in enumerate([*chars, None]):
        if ch is None:
            if index > run_start:
                runs.append((run_start, "".join(c or "" for c in chars[run_start:index])))
            run_start = index + 1
    runs.sort(key=lambda run: -len(run[1]))
    return _Piece(len(chars), tuple(runs))


class LikePattern:
    """A compiled LIKE pattern; `matches(text)` is linear in the text for each piece."""

    def __init__(
        self, pattern: str, *, escape: str | None = "\\", case_insensitive: bool = False
    ) -> None:
        if escape is not None and len(escape) != 1:
            raise LikeError("the LIKE escape must be one character")
        self.pattern = pattern
        self.case_insensitive = case_insensitive
        pieces: list[list[str | None]] = [[]]
        chars = iter(pattern)
        for ch in chars:
            if ch == escape:
                following = next(chars, None)
                if following not in ("%", "_", escape):
                    raise LikeError("the LIKE escape must precede %, _ or itself")
                pieces[-1].append(following)
            elif ch == "%":
                pieces.append([])
            else:
                pieces[-1].append(None if ch == "_" else ch)
        if case_insensitive:
            pieces = [[c if c is None else _fold(c) for c in piece] for piece in pieces]
        self._first = _piece(pieces[0])
        self._last = _piece(pieces[-1]) if len(pieces) > 1 else None
        self._middle = tuple(_piece(piece) for piece in pieces[1:-1] if piece)

    def matches(self, text: str) -> bool:
        return self.search(text)[0]

    def search(self, text: str) -> tuple[bool, int]:
        """(matched, steps): steps counts the string operations the search made, each a
        `find` over the text or a `startswith` of one literal run (C code, no backtracking)."""
        if self.case_insensitive:
            text = _fold(text)
        steps = _Steps()
        first, last, n = self._first, self._last, len(text)
        if last is None:  # no %: the text is exactly as long as the pattern
            return n == first.size and first.fits(text, 0, steps), steps.count
        end = n - last.size
        if first.size > end or not first.fits(text, 0, steps) or not last.fits(text, end, steps):
            return False, steps.count
        start = first.size
        for piece in self._middle:
            found = piece.find(text, start, end, steps)
            if found < 0:
                return False, steps.count
            start = found + piece.size
        return True, steps.count


@functools.lru_cache(maxsize=1024)
def compile_like(
    pattern: str, *, escape: str | None = "\\", case_insensitive: bool = False
) -> LikePattern:
    return LikePattern(pattern, escape=escape, case_insensitive=case_insensitive)


def like(
    pattern: str, text: str, *, escape: str | None = "\\", case_insensitive: bool = False
) -> bool:
    """Whether `text` matches the SQL LIKE `pattern`."""
    return compile_like(pattern, escape=escape, case_insensitive=case_insensitive).matches(text)
