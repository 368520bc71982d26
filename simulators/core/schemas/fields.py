"""One field definition of a schema file → a `FieldDef`: its type, the keys that type takes,
picklist values, reference target and default, each problem reported with its fix."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from simulators.core.schemas.checks import Checker, KeyPath
from simulators.core.schemas.errors import FieldValueError, show
from simulators.core.schemas.model import FieldDef
from simulators.core.schemas.rules import SchemaRules, suggest
from simulators.core.schemas.values import (
    DECIMAL_TYPES,
    FIELD_TYPES,
    KEY_TYPES,
    MAX_LENGTH,
    MAX_PRECISION,
    NUMBER_TYPES,
    PICKLIST_TYPES,
    TEXT_TYPES,
)

_COMMON_FIELD_KEYS = ("type", "label", "required", "default", "external_id", "unique",
                      "description")
# Keys that only make sense for some types.
_TYPE_KEYS: dict[str, frozenset[str]] = {
    "length": TEXT_TYPES | {"id"},
    "precision": NUMBER_TYPES,
    "scale": DECIMAL_TYPES,
    "values": PICKLIST_TYPES,
    "to": frozenset({"reference"}),
    "relationship": frozenset({"reference"}),
}
FIELD_KEYS: tuple[str, ...] = (*_COMMON_FIELD_KEYS, *_TYPE_KEYS)

# Names people reach for from other tools; only used to suggest the right type.
_TYPE_HINTS = {
    "text": "string", "str": "string", "varchar": "string", "longtext": "textarea",
    "integer": "int", "number": "double", "float": "double", "decimal": "double",
    "money": "currency", "bool": "boolean", "checkbox": "boolean", "timestamp": "datetime",
    "enum": "picklist", "select": "picklist", "dropdown": "picklist", "list": "picklist",
    "multiselect": "multipicklist", "lookup": "reference", "ref": "reference",
    "masterdetail": "reference", "foreignkey": "reference",
}


class FieldBuilder(Checker):
    """The field-level half of the builder (builder.py holds the file and its objects)."""

    def field(self, obj: str, obj_custom: bool, name: str, raw: Any, rules: SchemaRules,
              custom_names: dict[str, str]) -> FieldDef | None:
        path = ("objects", obj, "fields", name)
        if isinstance(raw, str):  # shorthand: `Renewal__c: date`
            raw = {"type": raw}
        if raw is None:
            self.error(path, "the field has no definition; give at least a type, e.g. "
                             "'{type: string}'")
            return None
        data = self.mapping(raw, path, "a field definition such as {type: string}")
        if data is None:
            return None
        ok = True
        problem = rules.check_field(obj, obj_custom, name)
        if problem:
            self.error(path, problem)
            ok = False
        self.known_keys(data, FIELD_KEYS, path)
        type_ = self.field_type(data, path)
        if type_ is None:
            return None
        for key, types in _TYPE_KEYS.items():
            if key in data and type_ not in types:
                self.error((*path, key), f"{key!r} does not apply to type {type_}; remove it "
                                         f"(it applies to: {', '.join(sorted(types))})")
                ok = False

        label = self.text(data, "label", path) or rules.field_label(name)
        description = self.text(data, "description", path)
        required = bool(self.flag(data, "required", path))
        external_id = bool(self.flag(data, "external_id", path))
        unique = bool(self.flag(data, "unique", path))
        for key, on in (("external_id", external_id), ("unique", unique)):
            if on and type_ not in KEY_TYPES:
                self.error((*path, key), f"{key!r} is only allowed on "
                                         f"{', '.join(sorted(KEY_TYPES))} fields; remove it or "
                                         f"change the type")
                ok = False

        length = self.count(data, "length", path, 1, MAX_LENGTH)
        precision = self.count(data, "precision", path, 1, MAX_PRECISION)
        scale = self.count(data, "scale", path, 0, MAX_PRECISION)
        if precision is not None and scale is not None and scale > precision:
            self.error((*path, "scale"), f"scale ({scale}) cannot exceed precision "
                                         f"({precision}); lower scale or raise precision")
            ok = False

        values: tuple[str, ...] = ()
        if type_ in PICKLIST_TYPES:
            values = self.picklist_values(data, path)
            ok = ok and bool(values)

        to = relationship = None
        if type_ == "reference":
            to, relationship = self.reference(data, path, name, rules, custom_names)
            ok = ok and to is not None
            if not rules.references:
                self.error((*path, "type"), f"{rules.title} custom fields cannot reference "
                                            f"other records; use type: string and store the id")
                ok = False

        if not ok:
            return None
        built = FieldDef(name=name, type=type_, label=label, required=required, values=values,
                         length=length, precision=precision, scale=scale,
                         external_id=external_id, unique=unique, to=to,
                         relationship=relationship, description=description)
        return self.with_default(built, data, path)

    def field_type(self, data: dict[str, Any], path: KeyPath) -> str | None:
        type_ = data.get("type")
        if type_ is None:
            self.error(path, f"missing required key 'type'; add e.g. 'type: string' (one of: "
                             f"{', '.join(FIELD_TYPES)})")
            return None
        if type_ not in FIELD_TYPES:
            hint = _TYPE_HINTS.get(str(type_).lower().replace("_", "").replace("-", ""))
            suggestion = (f"; did you mean {hint!r}?" if hint
                          else suggest(str(type_), FIELD_TYPES))
            self.error((*path, "type"), f"{show(type_)} is not a field type{suggestion} "
                                        f"(use one of: {', '.join(FIELD_TYPES)})")
            return None
        return str(type_)

    def with_default(self, built: FieldDef, data: dict[str, Any], path: KeyPath) -> FieldDef | None:
        raw = data.get("default")
        if raw is None:
            return built
        try:
            default = built.coerce(raw)
        except FieldValueError as exc:
            hint = ""
            if built.type in TEXT_TYPES | PICKLIST_TYPES and not isinstance(raw, str):
                hint = (" (YAML reads bare yes/no/on/off as booleans and bare numbers as "
                        "numbers; put text in quotes)")
            self.error((*path, "default"), f"the default is not a valid value: "
                                           f"{exc.reason}{hint}; fix it or remove 'default'")
            return None
        if isinstance(default, list):
            default = tuple(default)  # keep FieldDef immutable
        return replace(built, default=default)

    def picklist_values(self, data: dict[str, Any], path: KeyPath) -> tuple[str, ...]:
        raw = data.get("values")
        if raw is None:
            self.error(path, "a picklist needs its allowed values; add e.g. "
                             "'values: [active, past_due, cancelled]'")
            return ()
        if not isinstance(raw, list) or not raw:
            self.error((*path, "values"), f"'values' must be a non-empty list, e.g. "
                                          f"[active, cancelled], got {show(raw)}")
            return ()
        values: list[str] = []
        for i, value in enumerate(raw):
            if not isinstance(value, str):
                self.error((*path, "values", str(i)),
                           f"{show(value)} is not text (YAML reads bare yes/no/on/off/true/"
                           f"false as booleans and bare numbers as numbers); put it in quotes, "
                           f"e.g. '{_yaml_text(value)}'")
            elif value in values:
                self.error((*path, "values", str(i)), f"{value!r} is listed twice; remove one")
            elif not value.strip():
                self.error((*path, "values", str(i)), "empty picklist value; remove it")
            else:
                values.append(value)
        if len(values) != len(raw):
            return ()
        return tuple(values)

    def reference(self, data: dict[str, Any], path: KeyPath, name: str, rules: SchemaRules,
                  custom_names: dict[str, str]) -> tuple[str | None, str | None]:
        to = data.get("to")
        if to is None:
            self.error(path, "a reference needs the object it points to; add e.g. 'to: Account'")
            return None, None
        if not isinstance(to, str) or not to.strip():
            self.error((*path, "to"), f"'to' must be an object name, got {show(to)}")
            return None, None
        problem = rules.check_reference_target(to)
        if problem:
            self.error((*path, "to"), problem)
            return None, None
        if rules.is_custom_name(to):
            if to.casefold() not in custom_names:
                self.error((*path, "to"), f"{to!r} is a custom object that this schema does not "
                                          f"define{suggest(to, custom_names.values())} (define "
                                          f"it under 'objects' or fix the name)")
                return None, None
            to = custom_names[to.casefold()]
        relationship = data.get("relationship")
        if relationship is None:
            relationship = rules.default_relationship(name) if rules.relationships else None
        elif not isinstance(relationship, str) or not relationship.strip():
            self.error((*path, "relationship"), f"'relationship' must be text, got "
                                                f"{show(relationship)}")
            return None, None
        else:
            problem = (rules.check_relationship(relationship) if rules.relationships
                       else f"{rules.title} references have no relationship name; remove "
                            f"'relationship'")
            if problem:
                self.error((*path, "relationship"), problem)
                return None, None
        return to, relationship


def _yaml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
