"""Oracle date format models, for `TO_CHAR` and `TO_DATE`."""

from __future__ import annotations

import functools
from datetime import datetime

from simulators.netsuite.suiteql.errors import short, unsupported

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_FORMAT_ELEMENTS = (
    "YYYY", "HH24", "HH12", "A.M.", "P.M.", "MON", "YY", "MM", "DD", "HH", "MI", "SS", "AM", "PM",
)  # fmt: skip
_FORMAT_PUNCTUATION = frozenset(" -/,.;:")


@functools.lru_cache(maxsize=256)
def parse_format(fmt: str) -> tuple[tuple[str, str], ...]:
    """Split an Oracle datetime format model into ("el", element) / ("lit", text) parts."""
    parts: list[tuple[str, str]] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == '"':
            end = fmt.find('"', i + 1)
            if end < 0:
                raise unsupported(f"unterminated quoted text in format {short(fmt)}")
            parts.append(("lit", fmt[i + 1 : end]))
            i = end + 1
            continue
        if ch in _FORMAT_PUNCTUATION:
            parts.append(("lit", ch))
            i += 1
            continue
        for element in _FORMAT_ELEMENTS:
            if fmt[i : i + len(element)].upper() == element:
                parts.append(("el", element))
                i += len(element)
                break
        else:
            raise unsupported(f"date format {short(fmt)} is not supported")
    if not any(kind == "el" for kind, _ in parts):
        raise unsupported(f"date format {short(fmt)} has no date elements")
    return tuple(parts)


def format_datetime(value: datetime, fmt: str) -> str:
    out: list[str] = []
    hour12 = value.hour % 12 or 12
    for kind, text in parse_format(fmt):
        if kind == "lit":
            out.append(text)
        elif text == "YYYY":
            out.append(f"{value.year:04d}")
        elif text == "YY":
            out.append(f"{value.year % 100:02d}")
        elif text == "MM":
            out.append(f"{value.month:02d}")
        elif text == "MON":
            out.append(MONTHS[value.month - 1])
        elif text == "DD":
            out.append(f"{value.day:02d}")
        elif text == "HH24":
            out.append(f"{value.hour:02d}")
        elif text in ("HH", "HH12"):
            out.append(f"{hour12:02d}")
        elif text == "MI":
            out.append(f"{value.minute:02d}")
        elif text == "SS":
            out.append(f"{value.second:02d}")
        elif text in ("AM", "PM"):
            out.append("PM" if value.hour >= 12 else "AM")
        else:  # A.M. / P.M.
            out.append("P.M." if value.hour >= 12 else "A.M.")
    return "".join(out)


_DIGITS = {"YYYY": 4, "YY": 2}  # the most digits an element reads; the others read 2
_MERIDIEMS = ("AM", "PM", "A.M.", "P.M.")


def _read_element(part: str, text: str, pos: int) -> int:
    """Where element `part` of `text` at `pos` ends, or -1. Each element reads greedily and
    never gives back (as Oracle reads), so a format model cannot make parsing backtrack."""
    if part == "MON":
        name = text[pos : pos + 3]
        return pos + 3 if len(name) == 3 and name.isascii() and name.isalpha() else -1
    if part in _MERIDIEMS:  # AM, A.M., am, p.m., ...
        end = pos
        for wanted in ("AaPp", "Mm"):
            if text[end : end + 1] == "" or text[end] not in wanted:
                return -1
            end += 2 if text[end + 1 : end + 2] == "." else 1
        return end
    end = pos
    while end < len(text) and end - pos < _DIGITS.get(part, 2) and "0" <= text[end] <= "9":
        end += 1
    return end if end > pos else -1


def _read(parts: tuple[tuple[str, str], ...], text: str) -> list[str] | None:
    """Each part's text in `text` (a literal's as written), or None if `text` does not fit."""
    pos, out = 0, []
    for kind, part in parts:
        if kind == "lit":
            end = pos + len(part) if text.startswith(part, pos) else -1
        else:
            end = _read_element(part, text, pos)
        if end < 0:
            return None
        out.append(text[pos:end])
        pos = end
    return out if pos == len(text) else None


def parse_datetime(text: str, fmt: str) -> datetime:
    """TO_DATE: read `text` with an Oracle format model (YY means 20YY)."""
    parts = parse_format(fmt)
    read = _read(parts, text.strip())
    if read is None:
        raise unsupported(f"{short(text)} does not match date format {short(fmt)}")
    fields: dict[str, int] = {}
    pm: bool | None = None
    for index, (kind, part) in enumerate(parts):
        if kind == "lit":
            continue
        raw = read[index]
        if part == "MON":
            if raw.upper() not in MONTHS:
                raise unsupported(f"bad month {short(raw)}")
            fields["month"] = MONTHS.index(raw.upper()) + 1
        elif part in ("AM", "PM", "A.M.", "P.M."):
            pm = raw[0] in "Pp"
        elif part == "YY":
            fields["year"] = 2000 + int(raw)
        else:
            key = {"YYYY": "year", "MM": "month", "DD": "day", "HH24": "hour24", "MI": "minute",
                   "SS": "second"}.get(part, "hour12")  # fmt: skip
            fields[key] = int(raw)
    if "year" not in fields or "month" not in fields:
        raise unsupported(f"date format {short(fmt)} needs a year and a month")
    hour = fields.get("hour24", 0)
    if "hour12" in fields:
        if not 1 <= fields["hour12"] <= 12:
            raise unsupported(f"hour {fields['hour12']} is not between 1 and 12")
        hour = fields["hour12"] % 12 + (12 if pm else 0)
    try:
        return datetime(
            fields["year"], fields["month"], fields.get("day", 1),
            hour, fields.get("minute", 0), fields.get("second", 0),
        )  # fmt: skip
    except ValueError as exc:
        raise unsupported(f"{short(text)} is not a valid date ({exc})") from None
