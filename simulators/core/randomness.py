"""One seed, many independent random streams.

A fake never calls the `random` module directly: it asks `Seeds.stream(name)` for a named stream.
Streams are derived from the root seed with a hash, so adding draws to one stream (say, latency)
never shifts another (say, ids). Same seed and same requests give the same outcomes.
"""

from __future__ import annotations

import functools
import hashlib
import random
import string

BASE62 = string.digits + string.ascii_letters


class Seeds:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def stream(self, name: str) -> random.Random:
        rng = self._streams.get(name)
        if rng is None:
            digest = hashlib.sha256(f"{self.seed}:{name}".encode()).digest()
            rng = random.Random(int.from_bytes(digest[:8], "big"))
            self._streams[name] = rng
        return rng

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._streams.clear()

    def token(self, stream: str, length: int, alphabet: str = BASE62) -> str:
        """A random string, e.g. the body of an id like `cus_` + token: what `rng.choice(alphabet)`
        `length` times gives, so the same string for a seed. Ids are drawn on every request, so
        the draws are made in one call where the alphabet allows (see `_Draws`)."""
        if not alphabet:
            raise IndexError("Cannot choose from an empty sequence")
        rng = self.stream(stream)
        draws = _draws(alphabet)
        if draws is None:  # a wide or non-ASCII alphabet: one choice at a time
            return "".join(rng.choice(alphabet) for _ in range(length))
        chosen = b""
        while len(chosen) < length:  # draw only as many as are still missing: never more
            chosen += draws.pick(rng, length - len(chosen))
        return chosen.decode("ascii")


class _Draws:
    """`rng.choice(alphabet)` draws `getrandbits(width)` (the alphabet's size in bits) and tries
    again while it is past the end; `getrandbits(width)` is the top `width` bits of one 32-bit
    output of the generator. `getrandbits(32 * n)` returns n such outputs, the first in the
    lowest bits, so their top bytes, shifted, are the same n draws, at the cost of one call; the
    draws past the end are deleted and the rest mapped to letters by `bytes.translate`."""

    def __init__(self, alphabet: str) -> None:
        size, shift = len(alphabet), 8 - len(alphabet).bit_length()
        letters = alphabet.encode("ascii")
        self.table = bytes(letters[b >> shift] if b >> shift < size else 0 for b in range(256))
        self.past_end = bytes(b for b in range(256) if b >> shift >= size)

    def pick(self, rng: random.Random, n: int) -> bytes:
        top_bytes = rng.getrandbits(32 * n).to_bytes(4 * n, "little")[3::4]
        return top_bytes.translate(self.table, self.past_end)


@functools.cache
def _draws(alphabet: str) -> _Draws | None:
    if not alphabet.isascii() or len(alphabet).bit_length() > 8:
        return None
    return _Draws(alphabet)
