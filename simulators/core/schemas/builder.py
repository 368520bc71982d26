"""Parsed schema data → a `Schema`, checked against the file format and the vendor's rules.

The rules come from the caller: one vendor's `SchemaRules` (a fake loading its tenants'
schemas: a file for another vendor is refused), or a mapping of vendor name → rules (the
registry, for tools that load any vendor's schema by what its `vendor:` key says).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulators.core.schemas.checks import KeyPath
from simulators.core.schemas.errors import SchemaError, SchemaIssue, show
from simulators.core.schemas.fields import FieldBuilder
from simulators.core.schemas.model import FieldDef, ObjectDef, Schema
from simulators.core.schemas.rules import SchemaRules, suggest

RulesSource = SchemaRules | Mapping[str, SchemaRules]

OBJECT_KEYS: tuple[str, ...] = ("custom", "label", "key_prefix", "description", "fields")
TOP_KEYS: tuple[str, ...] = ("vendor", "name", "description", "objects")


def build(data: Any, source: str, lines: dict[KeyPath, int], rules: RulesSource) -> Schema:
    """The schema `data` describes; raises `SchemaError` listing every problem."""
    if not isinstance(rules, SchemaRules | Mapping):
        raise TypeError(f"schema rules must be a SchemaRules (a fake's `vendor.schema_rules`) "
                        f"or a mapping of vendor name to SchemaRules, got {show(rules)}")
    builder = _Builder(source, lines, rules)
    schema = builder.schema(data)
    if builder.issues or schema is None:
        raise SchemaError(source, builder.issues or [SchemaIssue("", "invalid schema")])
    return schema


class _Builder(FieldBuilder):
    def __init__(self, source: str, lines: dict[KeyPath, int], rules: RulesSource) -> None:
        super().__init__(source, lines)
        self.rules = rules

    # -- the vendor -------------------------------------------------------------------------------

    def vendors(self) -> list[str]:
        return [self.rules.vendor] if isinstance(self.rules, SchemaRules) else list(self.rules)

    def rules_for(self, vendor: str) -> SchemaRules | None:
        if isinstance(self.rules, SchemaRules):
            expected = self.rules.vendor
            if vendor == expected:
                return self.rules
            self.error(("vendor",), f"the schema is for {vendor!r}, but it is loaded for "
                                    f"{self.rules.title or expected}{suggest(vendor, [expected])}"
                                    f"; use a schema with 'vendor: {expected}' here (or fix "
                                    f"'vendor' if this file is one)")
            return None
        found = self.rules.get(vendor)
        if found is None:
            names = self.vendors()
            self.error(("vendor",), f"{vendor!r} is not a vendor{suggest(vendor, names)} "
                                    f"(use one of: {', '.join(names)})")
        return found

    # -- the schema -------------------------------------------------------------------------------

    def schema(self, raw: Any) -> Schema | None:
        if raw is None:
            names = self.vendors()
            choice = names[0] if len(names) == 1 else f"<one of {', '.join(names)}>"
            self.error((), f"the file is empty; start it with 'vendor: {choice}' and "
                           f"'name: <schema name>'")
            return None
        data = self.mapping(raw, (), "a schema")
        if data is None:
            return None
        self.known_keys(data, TOP_KEYS, ())
        name = self.text(data, "name", (), required=True, example="my-merchant")
        description = self.text(data, "description", ())
        # listing a registry's vendors imports them all: only for the error that shows them
        example = next(iter(self.vendors()), "") if data.get("vendor") is None else ""
        vendor = self.text(data, "vendor", (), required=True, example=example)
        rules = self.rules_for(vendor) if vendor is not None else None
        raw_objects = data.get("objects")
        objects: dict[str, ObjectDef] = {}
        if raw_objects is not None and rules is not None and not rules.custom_fields:
            if raw_objects:
                instead = (f", only {rules.instead_of_custom_fields}"
                           if rules.instead_of_custom_fields else "")
                self.error(("objects",), f"{rules.title} has no custom fields or custom "
                                         f"objects{instead}; remove 'objects'")
        elif raw_objects is not None:
            found = self.mapping(raw_objects, ("objects",), "objects keyed by name")
            if found is not None and rules is not None:
                objects = self.objects(found, rules)
        if rules is None or name is None:
            return None
        return Schema(vendor=rules.vendor, name=name, description=description, objects=objects,
                      source=self.source)

    def objects(self, raw: dict[str, Any], rules: SchemaRules) -> dict[str, ObjectDef]:
        seen: dict[str, str] = {}
        for name in raw:
            other = seen.setdefault(name.casefold(), name)
            if other != name:
                self.error(("objects", name), f"{name!r} and {other!r} are the same object "
                                              f"(names ignore case); merge them")
        custom_names = {n.casefold(): n for n, body in raw.items()
                        if rules.is_custom_name(n)
                        or (isinstance(body, dict) and body.get("custom") is True)}
        objects: dict[str, ObjectDef] = {}
        prefixes: dict[str, str] = {}
        for name, body in raw.items():
            obj = self.object(name, body, rules, custom_names)
            if obj is None:
                continue
            objects[name] = obj
            if obj.key_prefix:
                other = prefixes.setdefault(obj.key_prefix, name)  # ids are case-sensitive
                if other != name:
                    self.error(("objects", name, "key_prefix"),
                               f"key prefix {obj.key_prefix!r} is already used by {other}; "
                               f"pick another")
        return objects

    def object(self, name: str, raw: Any, rules: SchemaRules,
               custom_names: dict[str, str]) -> ObjectDef | None:
        path = ("objects", name)
        data = self.mapping({} if raw is None else raw, path, "an object definition")
        if data is None:
            return None
        self.known_keys(data, OBJECT_KEYS, path)
        problem = rules.check_object(name, self.flag(data, "custom", path))
        if problem:
            self.error(path, problem)
            return None
        custom = rules.is_custom_name(name)
        label = self.text(data, "label", path) or rules.object_label(name, custom)
        description = self.text(data, "description", path)
        key_prefix = self.text(data, "key_prefix", path)
        if key_prefix is not None:
            problem = (rules.check_key_prefix(key_prefix, custom) if rules.key_prefixes
                       else f"{rules.title} objects have no key prefix; remove 'key_prefix'")
            if problem:
                self.error((*path, "key_prefix"), problem)
                key_prefix = None
        fields: dict[str, FieldDef] = {}
        raw_fields = data.get("fields")
        if raw_fields is not None:
            found = self.mapping(raw_fields, (*path, "fields"), "fields keyed by name")
            seen: dict[str, str] = {}
            for field_name, spec in (found or {}).items():
                other = seen.setdefault(field_name.casefold(), field_name)
                if other != field_name:
                    self.error((*path, "fields", field_name),
                               f"{field_name!r} and {other!r} are the same field (names ignore "
                               f"case); keep one")
                    continue
                built = self.field(name, custom, field_name, spec, rules, custom_names)
                if built is not None:
                    fields[field_name] = built
        return ObjectDef(name=name, custom=custom, label=label, fields=fields,
                         key_prefix=key_prefix, description=description)
