"""Reading a schema file: YAML with a line number for every key, and errors that name them.

The caller says whose rules apply (see builder.py): a fake passes its vendor's `SchemaRules`;
`simulators.registry.load_schema` passes every registered vendor's, chosen by the file's
`vendor:` key. The core itself knows no vendor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simulators.core.schemas.builder import RulesSource, build
from simulators.core.schemas.checks import KeyPath
from simulators.core.schemas.errors import SchemaError, SchemaIssue
from simulators.core.schemas.model import Schema


def load_schema(path: str | Path, rules: RulesSource) -> Schema:
    """Read and validate one schema file; raises `SchemaError` listing every problem found."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(source, [SchemaIssue(
            "", "no such file; check the schema path where it is given (a config file's "
                "paths are relative to that file, --schema to the directory you run from)")]) \
            from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(source, [SchemaIssue("", f"cannot read the file: {exc}")]) from None
    data, lines = _parse(text, source)
    return build(data, source, lines, rules)


def schema_from_dict(data: Any, rules: RulesSource, source: str = "<schema>") -> Schema:
    """Validate already-parsed data (e.g. inline in a config); `source` names it in errors."""
    return build(data, source, {}, rules)


def _parse(text: str, source: str) -> tuple[Any, dict[KeyPath, int]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines, duplicates = _walk_keys(node)
        if duplicates:
            raise SchemaError(source, duplicates)
        return (loader.construct_document(node) if node is not None else None), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise SchemaError(source, [SchemaIssue(
            "", f"YAML syntax error at line {line}{column}: {problem}{context}; check the "
                f"indentation, colons and quotes around that line", line)]) from None
    except yaml.YAMLError as exc:
        raise SchemaError(source, [SchemaIssue("", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()


def _walk_keys(node: yaml.Node | None) -> tuple[dict[KeyPath, int], list[SchemaIssue]]:
    """From the composed YAML tree: key path → 1-based line, and duplicate-key issues.

    PyYAML silently keeps the last of two equal keys; a duplicated field name is an easy
    copy-paste slip, so it is reported instead.
    """
    lines: dict[KeyPath, int] = {}
    duplicates: list[SchemaIssue] = []

    def walk(n: yaml.Node, path: KeyPath) -> None:
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                sub = (*path, str(key_node.value))
                line = key_node.start_mark.line + 1
                if sub in lines:
                    duplicates.append(SchemaIssue(
                        ".".join(sub), f"{key_node.value!r} appears twice (lines {lines[sub]} "
                                       f"and {line}); keep one of them", line))
                    continue
                lines[sub] = line
                walk(value_node, sub)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                sub = (*path, str(i))
                lines.setdefault(sub, item.start_mark.line + 1)
                walk(item, sub)

    if node is not None:
        walk(node, ())
    return lines, duplicates
