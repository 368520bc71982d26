"""One seed, many independent random streams.

A fake never calls the `random` module directly: it asks `Seeds.stream(name)` for a named stream.
Streams are derived from the root seed with a hash, so adding draws to one stream (say, latency)
never shifts another (say, ids). Same seed and same requests give the same outcomes.
"""

from __future__ import annotations

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
        """A random string, e.g. the body of an id like `cus_` + token."""
        # `rng.choice(alphabet)` `length` times, inlined (ids are drawn on every request): the
        # same draws of `getrandbits` as `Random._randbelow`, so the same string for a seed
        if not alphabet:
            raise IndexError("Cannot choose from an empty sequence")
        bits, size = self.stream(stream).getrandbits, len(alphabet)
        width = size.bit_length()
        chosen: list[str] = []
        while len(chosen) < length:  # draw only as many as are still missing: never more
            chosen += [alphabet[r] for r in [bits(width) for _ in range(length - len(chosen))]
                       if r < size]
        return "".join(chosen)
