"""Salesforce record ids: 15-char case-sensitive, 18-char case-insensitive, key prefixes.

An id is a 3-char key prefix (the sObject type: 001 Account, 003 Contact, ...), then 12 chars.
The 18-char form appends a 3-char checksum: for each 5-char block, a bit per uppercase letter
(bit i for position i), mapped to A-Z0-5. The API always returns 18-char ids; either form is
accepted on input, and an 18-char id typed in the wrong case is repaired from its suffix.

Real ids are unique across orgs (the 12 chars hold the instance and a counter), so ours are too:
after the key prefix come the pod (`5g`), a 4-char tag of the org (from its org id) and a 6-char
per-org, per-prefix counter. Ids given explicitly (provider states) are kept as they are.
"""

from __future__ import annotations

import hashlib
import re
import string
from functools import lru_cache

from simulators.core.tenancy import Tenant

SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
POD = "5g0"  # the three chars after the prefix (instance and reserved) of an org id
RECORD_POD = "5g"  # the instance of record ids; the org tag and the counter follow
TAG_CHARS, COUNTER_CHARS = 4, 6  # 62**4 tags, 62**6 (56 billion) ids per prefix and org
QUERY_LOCATOR_PREFIX = "01g"
ORG_PREFIX = "00D"
USER_PREFIX = "005"

_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-5]{3})?$")


def checksum(id15: str) -> str:
    suffix = ""
    for block in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[block * 5:block * 5 + 5]) if ch.isupper())
        suffix += SUFFIX_ALPHABET[bits]
    return suffix


def to18(id15: str) -> str:
    return id15 + checksum(id15)


def normalize(value: str) -> str | None:
    """The canonical 18-char form of a 15- or 18-char id, or None if `value` is no id."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    return _normalized(value)


@lru_cache(maxsize=8192)  # the same ids come back request after request (the org's, the user's)
def _normalized(value: str) -> str | None:
    if len(value) == 15:
        return to18(value)
    head, suffix = value[:15], value[15:].upper()
    chars = list(head.lower())
    for block, code in enumerate(suffix):
        bits = SUFFIX_ALPHABET.index(code)
        for i in range(5):
            pos = block * 5 + i
            if bits & (1 << i):
                if not chars[pos].isalpha():
                    return None  # the suffix claims an uppercase digit: not a real id
                chars[pos] = chars[pos].upper()
    return "".join(chars) + suffix


def prefix(record_id: str) -> str:
    return record_id[:3]


def _base62(number: int, width: int) -> str:
    out = ""
    while number:
        number, rem = divmod(number, 62)
        out = BASE62[rem] + out
    return out.rjust(width, "0")[-width:]


def org_of(tenant: Tenant) -> str:
    """The org's 18-char id: its `org_id` setting, the tenant id if it is one, or derived."""
    configured = tenant.settings.get("org_id") or tenant.id
    normal = normalize(configured)
    return normal if normal and normal.startswith(ORG_PREFIX) else org_id(tenant.id)


def org_tag(tenant: Tenant) -> str:
    """4 chars that tell orgs apart in their record ids: a hash of the 15-char org id, stable
    across runs (two given orgs share it with a chance of 1 in 62**4, about 15 million)."""
    return _tag(org_of(tenant)[:15])


@lru_cache(maxsize=256)
def _tag(org15: str) -> str:
    digest = hashlib.sha256(org15.encode()).digest()
    return _base62(int.from_bytes(digest[:8], "big"), TAG_CHARS)


def new_id(tenant: Tenant, key_prefix: str) -> str:
    """The next 18-char id for `key_prefix` in this org (a per-org, per-prefix sequence)."""
    number = tenant.next_number(f"id:{key_prefix}")
    return to18(key_prefix + RECORD_POD + org_tag(tenant) + _base62(number, COUNTER_CHARS))


def reserve(tenant: Tenant, record_id: str) -> None:
    """Move the org's sequence for the id's prefix past a chosen id of the shape `new_id`
    makes for this org, so that no later `new_id` produces it again."""
    head = RECORD_POD + org_tag(tenant)
    counter = record_id[3 + len(head):15]
    if record_id[3:3 + len(head)] != head or any(ch not in BASE62 for ch in counter):
        return  # not an id `new_id` can produce here
    number = 0
    for ch in counter:
        number = number * 62 + BASE62.index(ch)
    name = f"id:{prefix(record_id)}"
    tenant.counters[name] = max(tenant.counters.get(name, 0), number)


@lru_cache(maxsize=256)
def org_id(seed: str) -> str:
    """An 18-char organization id (00D…) derived from a short readable seed like "DEMO1"."""
    body = re.sub(r"[^A-Za-z0-9]", "", seed)[-9:].rjust(9, "0")
    return to18(ORG_PREFIX + POD + body)
