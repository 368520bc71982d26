"""A merchant's field mapping: canonical entities <-> its vendors' objects and fields.

`load_mapping` reads and checks the YAML file once; `MerchantMapping` then converts records both
ways. Every problem, at load time or while converting, is a MappingError that names the file
(and line, when known), the key path in the file and the fix.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import yaml

from components.mapping.canonical import ENTITIES, CanonicalField, FieldType
from components.mapping.formats import FORMATS

KeyPath = tuple[str, ...]
_ABSENT = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPES = ", ".join(FieldType)


class MappingError(Exception):
    """A mapping file (or a record converted with it) is wrong; str() is the whole story."""

    def __init__(self, source: str, path: str, message: str, line: int | None = None) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")
        self.source, self.path, self.line, self.message = source, path, line, message


@dataclass(frozen=True)
class FieldMap:
    canonical: CanonicalField
    vendor_field: str            # dotted path into the vendor record: metadata.retry_count
    wire: FieldType              # the type the vendor keeps it as
    values: Mapping[str, str]    # canonical value -> vendor picklist value; empty: no picklist
    path: str                    # where the mapping file says so, for errors
    line: int | None = None
    reverse: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reverse", {v: k for k, v in self.values.items()})


@dataclass(frozen=True)
class RecordMap:
    entity: str
    object: str                  # the vendor's object / record type
    key: str | None              # the vendor field that carries the canonical id
    fields: Mapping[str, FieldMap]  # by canonical field name
    path: str
    line: int | None = None


class MerchantMapping:
    def __init__(self, merchant: str, currency_exponent: int,
                 records: Mapping[str, Mapping[str, RecordMap]], source: str) -> None:
        self.merchant = merchant
        self.currency_exponent = currency_exponent
        self.source = source
        self._records = records

    def vendors(self) -> list[str]:
        return list(self._records)

    def entities(self, vendor: str) -> list[str]:
        return list(self._records.get(vendor, {}))

    def has(self, vendor: str, entity: str) -> bool:
        return entity in self._records.get(vendor, {})

    def record(self, vendor: str, entity: str) -> RecordMap:
        if vendor not in self._records:
            raise MappingError(self.source, f"vendors.{vendor}",
                               f"{self.merchant} maps no {vendor} objects; mapped vendors are: "
                               f"{', '.join(self._records)}")
        records = self._records[vendor]
        if entity not in records:
            raise MappingError(self.source, f"vendors.{vendor}.{entity}",
                               f"no {entity} mapping for {vendor}; add one or use one of: "
                               f"{', '.join(records)}")
        return records[entity]

    def object_name(self, vendor: str, entity: str) -> str:
        return self.record(vendor, entity).object

    def key_field(self, vendor: str, entity: str) -> str | None:
        return self.record(vendor, entity).key

    def to_vendor(self, vendor: str, entity: str, canonical: Mapping[str, Any]) -> dict[str, Any]:
        """The vendor fields for the canonical fields given; ones this vendor doesn't keep are
        skipped, names that aren't canonical fields are refused."""
        record = self.record(vendor, entity)
        out: dict[str, Any] = {}
        for name, value in canonical.items():
            fmap = record.fields.get(name)
            if fmap is None:
                if name not in ENTITIES[record.entity]:
                    raise MappingError(self.source, f"{record.path}.fields",
                                       _not_canonical(record.entity, name), record.line)
                continue
            wire = None if value is None else self._write(vendor, fmap, value)
            _put(out, fmap.vendor_field, wire)
        return out

    def from_vendor(self, vendor: str, entity: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """The canonical fields for the mapped vendor fields present in `record`."""
        out: dict[str, Any] = {}
        for name, fmap in self.record(vendor, entity).fields.items():
            raw = _get(record, fmap.vendor_field)
            if raw is not _ABSENT:
                out[name] = None if raw is None else self._read(vendor, fmap, raw)
        return out

    def _write(self, vendor: str, fmap: FieldMap, value: Any) -> Any:
        try:
            value = fmap.canonical.check(value)
        except ValueError as exc:
            raise MappingError(self.source, fmap.path, f"{exc}: pass a canonical value",
                               fmap.line) from None
        if fmap.values:
            if value not in fmap.values:
                raise MappingError(self.source, f"{fmap.path}.values",
                                   f"{value!r} has no {vendor} value (mapped: "
                                   f"{', '.join(fmap.values)}): add it to the map, or don't "
                                   f"send {fmap.canonical.name}={value!r} to {vendor}",
                                   fmap.line)
            value = fmap.values[value]
        elif fmap.canonical.type is FieldType.DATE and fmap.wire is FieldType.DATETIME:
            value = (value - date(1970, 1, 1)).days * 86400  # midnight UTC
        return FORMATS[vendor].codec(fmap.wire, fmap.vendor_field).write(
            value, self.currency_exponent)

    def _read(self, vendor: str, fmap: FieldMap, raw: Any) -> Any:
        codec = FORMATS[vendor].codec(fmap.wire, fmap.vendor_field)
        try:
            value = codec.read(raw, self.currency_exponent)
        except ValueError as exc:
            raise MappingError(self.source, fmap.path,
                               f"{vendor} field {fmap.vendor_field} holds {raw!r}: {exc}; fix "
                               f"the record, or map a field of type {fmap.wire}",
                               fmap.line) from None
        if fmap.values:
            if value not in fmap.reverse:
                raise MappingError(self.source, f"{fmap.path}.values",
                                   f"{vendor} value {value!r} has no canonical value (mapped: "
                                   f"{', '.join(fmap.reverse)}): add it to the map", fmap.line)
            return fmap.reverse[value]
        if fmap.canonical.type is FieldType.DATE and fmap.wire is FieldType.DATETIME:
            return (_EPOCH + timedelta(seconds=value)).date()
        return value


def _not_canonical(entity: str, name: str) -> str:
    return (f"{name} is not a canonical {entity} field; canonical fields are: "
            f"{', '.join(ENTITIES[entity])}")


def _get(record: Mapping[str, Any], path: str) -> Any:
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _put(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = record
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


# -- loading --------------------------------------------------------------------------------------
def load_mapping(path: str | Path) -> MerchantMapping:
    """Read and check a mapping file; raises MappingError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(source, "", f"no such mapping file ({Path(path).resolve()}): check "
                                       "the path; scenarios/mappings/ holds examples") from None
    except OSError as exc:
        raise MappingError(source, "", f"cannot read the file ({exc.strerror}): check the path "
                                       "and its permissions") from None
    return _parsed(source, text)


@functools.lru_cache(maxsize=64)
def _parsed(source: str, text: str) -> MerchantMapping:
    """A mapping is immutable, so one parse serves every service and run that reads the same
    file (parsing it costs tens of milliseconds; an in-process landscape reads it per service)."""
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        raise MappingError(source, "", f"not valid YAML ({exc.problem or exc.context}): fix "
                                       f"the YAML at line {line}{column}", line=line) from None
    except yaml.YAMLError as exc:
        raise MappingError(source, "", f"not valid YAML ({exc}): fix the YAML") from None
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _key_lines(source, node, (), lines)
    return _Reader(source, lines).mapping(data)


def mapping_from_dict(data: Mapping[str, Any], source: str = "<inline>") -> MerchantMapping:
    """Check and build a mapping from already-parsed data; raises MappingError."""
    return _Reader(source, {}).mapping(data)


def _key_lines(source: str, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    """The line of every key, for error messages; safe_load keeps duplicates silently, so
    they are refused here."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            line = key_node.start_mark.line + 1
            if key in lines:
                raise MappingError(source, ".".join(key), f"duplicate key (first at line "
                                   f"{lines[key]}): keep one", line=line)
            lines[key] = line
            _key_lines(source, value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _key_lines(source, item, path, lines)


class _Reader:
    """Checks parsed mapping data, failing at the first problem with its key path and fix."""

    def __init__(self, source: str, lines: Mapping[KeyPath, int]) -> None:
        self.source, self.lines = source, lines

    def line(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest parent the file names."""
        return next((self.lines[path[:n]] for n in range(len(path), 0, -1)
                     if path[:n] in self.lines), None)

    def fail(self, path: KeyPath, message: str) -> NoReturn:
        raise MappingError(self.source, ".".join(path), message, line=self.line(path))

    def table(self, value: Any, path: KeyPath, what: str, allowed: tuple[str, ...] | None = None,
              unknown: str = "unknown key") -> dict[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(path, f"expected {what}, got {value!r}")
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"key {key!r} is not text: quote it (YAML reads yes, no, on, "
                                "off and numbers as other types)")
            if allowed is not None and key not in allowed:
                self.fail((*path, key), f"{unknown} {key!r}; use one of: {', '.join(allowed)}")
        return dict(value)

    def mapping(self, data: Any) -> MerchantMapping:
        if data is None:
            self.fail((), "the mapping is empty: add merchant: and vendors: (see "
                          "scenarios/mappings/README.md)")
        top = self.table(data, (), "a mapping with merchant, currency_exponent and vendors",
                         ("merchant", "currency_exponent", "vendors"))
        merchant = top.get("merchant")
        if not isinstance(merchant, str) or not merchant:
            self.fail(("merchant",), f"expected the merchant's name, got {merchant!r}: add "
                                     "e.g. `merchant: acme`")
        exponent = top.get("currency_exponent", 2)
        if not isinstance(exponent, int) or isinstance(exponent, bool) or not 0 <= exponent <= 4:
            self.fail(("currency_exponent",), f"expected minor units per major unit as 0..4 "
                                              f"(2 for USD, 0 for JPY), got {exponent!r}")
        if "vendors" not in top:
            self.fail((), "no vendors: add `vendors:` with one entry per vendor")
        vendors = self.table(top["vendors"], ("vendors",), "one entry per vendor",
                             tuple(FORMATS), unknown="unknown vendor")
        records = {vendor: self.vendor(vendor, spec, ("vendors", vendor))
                   for vendor, spec in vendors.items()}
        return MerchantMapping(merchant, exponent, records, self.source)

    def vendor(self, vendor: str, data: Any, path: KeyPath) -> dict[str, RecordMap]:
        entries = self.table(data, path, "one entry per entity (customer, subscription, …)")
        return {name: self.record(vendor, name, spec, (*path, name))
                for name, spec in entries.items()}

    def record(self, vendor: str, name: str, data: Any, path: KeyPath) -> RecordMap:
        spec = self.table(data, path, "record/object, key and fields",
                          ("record", "object", "entity", "key", "fields"))
        entity = spec.get("entity", name)
        if name in ENTITIES and entity != name:
            self.fail((*path, "entity"), f"the {name} entry maps {name}: drop `entity:` or "
                                         f"rename the entry (e.g. {name}_{entity})")
        if entity not in ENTITIES:
            where = (*path, "entity") if "entity" in spec else path
            self.fail(where, f"{entity!r} is not a canonical entity; use one of: "
                             f"{', '.join(ENTITIES)} (or name the entity with `entity:`)")
        word = FORMATS[vendor].object_key
        names = [spec[k] for k in ("record", "object") if k in spec]
        if len(names) != 1 or not isinstance(names[0], str) or not names[0]:
            self.fail(path, f"give the {vendor} {word} type once: add `{word}: <name>`")
        fields = {cname: self.field(vendor, entity, cname, fspec, (*path, "fields", cname))
                  for cname, fspec in self.table(spec.get("fields"), (*path, "fields"),
                                                 "canonical field: vendor field pairs").items()}
        if not fields:
            self.fail((*path, "fields"), "no fields: map at least one canonical field")
        self.check_distinct(vendor, fields, path)
        key = spec.get("key")
        mapped = [f.vendor_field for f in fields.values()]
        if key is not None and key not in mapped:
            self.fail((*path, "key"), f"key {key!r} is not among the mapped fields: map the "
                                      f"canonical id to it, or use one of: {', '.join(mapped)}")
        return RecordMap(entity, names[0], key, fields, ".".join(path), self.line(path))

    def check_distinct(self, vendor: str, fields: Mapping[str, FieldMap], path: KeyPath) -> None:
        """Two canonical fields writing one vendor field (or one inside the other) would
        overwrite each other."""
        seen: dict[str, str] = {}  # folded vendor field -> canonical field
        for cname, fmap in fields.items():
            folded = fmap.vendor_field.casefold()
            for other, other_name in seen.items():
                if folded == other or f"{other}.".startswith(f"{folded}.") \
                        or f"{folded}.".startswith(f"{other}."):
                    self.fail((*path, "fields", cname),
                              f"{other_name} and {cname} both write {vendor} field "
                              f"{fmap.vendor_field!r}: map each vendor field once")
            seen[folded] = cname

    def field(self, vendor: str, entity: str, cname: str, data: Any, path: KeyPath) -> FieldMap:
        canonical = ENTITIES[entity].get(cname)
        if canonical is None:
            self.fail(path, _not_canonical(entity, cname))
        spec = self.table({"field": data} if isinstance(data, str) else data, path,
                          "a vendor field name or {field:, type:, values:}",
                          ("field", "type", "values"))
        vendor_field = spec.get("field")
        if not isinstance(vendor_field, str) or "" in vendor_field.split("."):
            self.fail((*path, "field"), f"expected the {vendor} field name, got "
                                        f"{vendor_field!r}: add `field: <name>`")
        declared = spec.get("type")
        if declared is not None and declared not in tuple(FieldType):
            self.fail((*path, "type"), f"unknown type {declared!r}; use one of: {_TYPES}")
        wire = self.wire_type(canonical, declared, "values" in spec, path)
        values = self.values(canonical, spec.get("values"), (*path, "values")) \
            if wire is FieldType.ENUM else {}
        return FieldMap(canonical, vendor_field, wire, values, ".".join(path), self.line(path))

    def wire_type(self, canonical: CanonicalField, declared: str | None, has_values: bool,
                  path: KeyPath) -> FieldType:
        """The vendor-side type: the canonical one, a picklist for a str, a timestamp for a
        date."""
        allowed = [canonical.type, *{FieldType.STR: [FieldType.ENUM],
                                     FieldType.DATE: [FieldType.DATETIME]}.get(canonical.type, [])]
        if declared is None:
            wire = FieldType.ENUM if has_values else canonical.type
        elif declared in allowed:
            wire = FieldType(declared)
        else:
            self.fail((*path, "type"), f"{canonical.name} is a canonical {canonical.type}, "
                                       f"which cannot be stored as {declared}; use type "
                                       f"{' or '.join(allowed)}, or leave type out")
        if has_values and wire is not FieldType.ENUM:
            self.fail((*path, "values"), "values: maps picklists only: drop it, or use type enum")
        if wire is FieldType.ENUM and canonical.type is FieldType.STR and not has_values:
            self.fail(path, "type enum needs values: map each canonical value to the vendor's "
                            "picklist value")
        return wire

    def values(self, canonical: CanonicalField, data: Any, path: KeyPath) -> dict[str, str]:
        if data is None and canonical.choices:
            return {v: v for v in canonical.choices}  # the vendor uses the canonical words
        pairs = self.table(data, path, "canonical value: vendor value pairs")
        if not pairs:
            self.fail(path, "no values: map at least one canonical value")
        owner: dict[str, str] = {}
        for value, vendor_value in pairs.items():
            if canonical.choices and value not in canonical.choices:
                self.fail((*path, value), f"{value!r} is not a value of "
                                          f"{canonical.entity}.{canonical.name}; use one of: "
                                          f"{', '.join(canonical.choices)}")
            if not isinstance(vendor_value, str):
                self.fail((*path, value), f"expected the vendor's picklist value as text, got "
                                          f"{vendor_value!r}: quote it (YAML reads yes, no, on, "
                                          "off, null and numbers as other types)")
            if vendor_value in owner:
                self.fail(path, f"two canonical values map to {vendor_value!r} "
                                f"({owner[vendor_value]} and {value}): make the map one-to-one")
            owner[vendor_value] = value
        return pairs
