"""core/randomness.py: ids drawn in one call are the strings `rng.choice` would give for the seed
(so a seed's ids do not change with how they are drawn), and the stream goes on the same."""

from __future__ import annotations

import string

import pytest

from simulators.core.randomness import BASE62, Seeds

ALPHABETS = [BASE62, string.digits, "0123456789abcdef", "ab", "a", string.ascii_uppercase,
             BASE62 + "-_", string.printable[:95], "äöü", "".join(map(chr, range(40, 340)))]


@pytest.mark.parametrize("alphabet", ALPHABETS)
@pytest.mark.parametrize("length", [0, 1, 8, 14, 24, 60])
def test_a_token_is_what_choice_would_draw(alphabet: str, length: int) -> None:
    drawn, oracle = Seeds(3), Seeds(3)
    tokens = [drawn.token("ids", length, alphabet) for _ in range(5)]
    rng = oracle.stream("ids")
    assert tokens == ["".join(rng.choice(alphabet) for _ in range(length)) for _ in range(5)]
    assert drawn.stream("ids").random() == rng.random()


def test_an_empty_alphabet_is_refused() -> None:
    with pytest.raises(IndexError):
        Seeds(1).token("ids", 4, "")
