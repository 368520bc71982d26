"""The one LIKE matcher (simulators/core/patterns.py): SQL semantics, escapes, case folding,
agreement with a regular-expression reference on small inputs, and a step count that stays
small on the patterns that made the regex engines backtrack."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.core.patterns import LikeError, LikePattern, like


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("", "", True),
        ("", "a", False),
        ("%", "", True),
        ("%", "anything at all", True),
        ("%%", "", True),
        ("_", "", False),
        ("_", "a", True),
        ("_", "ab", False),
        ("a%", "abc", True),
        ("a%", "ba", False),
        ("%c", "abc", True),
        ("%c", "abcd", False),
        ("%b%", "abc", True),
        ("%b%", "ac", False),
        ("a_c", "abc", True),
        ("a_c", "ac", False),
        ("a%c", "ac", True),
        ("a%b%c", "aXbYc", True),
        ("a%b%c", "acb", False),
        ("%ab%ab%", "abab", True),
        ("%ab%ab%", "aba", False),
        ("ab%ba", "aba", False),  # the anchored ends may not share a character
        ("a%a", "a", False),
        ("%_%", "", False),
        ("%__", "a", False),
        ("%__", "ab", True),
        ("a\nb", "a\nb", True),
        ("a_b", "a\nb", True),  # `_` and `%` match line breaks too
        ("a%", "a\n\n", True),
        ("A", "a", False),  # case-sensitive unless asked
        (r"100\%", "100%", True),
        (r"100\%", "1000", False),
        (r"a\_b", "a_b", True),
        (r"a\_b", "axb", False),
        (r"a\\b", "a\\b", True),
        (r"%\%%", "50% off", True),
        (r"%\%%", "50 off", False),
    ],
)
def test_like_semantics(pattern: str, text: str, expected: bool) -> None:
    assert like(pattern, text) is expected


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("acme%", "ACME Corp", True),
        ("%CORP", "Acme corp", True),
        ("STRASSE", "strasse", True),
        ("stra_e", "STRAßE", True),  # ß stays one character, so `_` still matches it
        ("stra__e", "STRAßE", False),
        ("İ", "İ", True),  # a character whose fold grows keeps matching itself
    ],
)
def test_like_case_insensitive(pattern: str, text: str, expected: bool) -> None:
    assert like(pattern, text, case_insensitive=True) is expected


def test_another_escape_character_or_none() -> None:
    assert like("50!%", "50%", escape="!")
    assert not like("50!%", "50x", escape="!")
    assert like("a\\%", "a\\xyz", escape=None)  # no escape: the backslash is a plain character
    assert like("a!!b", "a!b", escape="!")


@pytest.mark.parametrize(
    ("pattern", "escape"), [("abc\\", "\\"), ("a\\b", "\\"), ("a!b", "!"), ("x", "!!")]
)
def test_a_misused_escape_is_a_like_error(pattern: str, escape: str) -> None:
    with pytest.raises(LikeError):
        like(pattern, "abc", escape=escape)


def _reference(pattern: str, text: str, *, case_insensitive: bool) -> bool:
    """The obvious translation to a regular expression; fine on the short strings used here."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars)))
        else:
            out.append({"%": ".*", "_": "."}.get(ch, re.escape(ch)))
    flags = re.DOTALL | (re.IGNORECASE if case_insensitive else 0)
    return re.fullmatch("".join(out), text, flags) is not None


_PATTERN_PARTS = st.sampled_from(["a", "b", "A", "%", "_", "\\%", "\\_", "\\\\", "\n"])


@given(
    pattern=st.lists(_PATTERN_PARTS, max_size=8).map("".join),
    text=st.text(alphabet="abAB%_\\\n", max_size=10),
    case_insensitive=st.booleans(),
)
def test_like_agrees_with_a_regex_reference(
    pattern: str, text: str, case_insensitive: bool
) -> None:
    compiled = LikePattern(pattern, case_insensitive=case_insensitive)
    matched, steps = compiled.search(text)
    assert matched is _reference(pattern, text, case_insensitive=case_insensitive)
    # never more string operations than (text + 1) x (pattern + 1): no blow-up to retry into
    assert steps <= (len(text) + 1) * (len(pattern) + 1)
    if "_" not in pattern.replace("\\_", ""):  # without `_`: one operation per %-piece at most
        assert steps <= pattern.count("%") + 2


def test_the_pathological_pattern_costs_a_handful_of_steps() -> None:
    text = "a" * 10_000
    # the shape that took 75 s through `re` on 255 characters: the anchored tail fails at once
    assert LikePattern("%a%a%a%a%b").search(text) == (False, 1)
    # unanchored: each piece is one leftward-greedy `find`, never retried
    matched, steps = LikePattern("%a%a%a%a%b%").search(text)
    assert (matched, steps) == (False, 5)
    assert like("%a%a%a%a%a", text)


def test_underscores_cost_at_most_text_times_pattern() -> None:
    text = "a" * 2_000
    pattern = "%" + "a_" * 20 + "b%"
    matched, steps = LikePattern(pattern).search(text)
    assert not matched
    assert steps <= (len(text) + 1) * (len(pattern) + 1)
