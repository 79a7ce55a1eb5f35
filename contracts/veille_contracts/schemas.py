"""Generate the committed JSON Schemas from the models, and tell breaking edits from safe ones.

A schema version, once committed, only grows compatibly: optional fields may be
added, constraints may be loosened. Removing or renaming a field, making a field
required or no longer required, or narrowing a type needs a new version file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from veille_contracts.catalog import catalog_root, topics
from veille_contracts.codec import payload_model

Schema = dict[str, Any]
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


def generate(topic_name: str) -> Schema:
    """The JSON Schema the topic's pydantic model produces, with id and title set."""
    declared = topics()[topic_name]
    schema = payload_model(topic_name).model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://veille.dev/schemas/{declared.schema_file}",
        **schema,
    }


def render(schema: Schema) -> str:
    """Deterministic text of a schema, as committed."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(root: Path | None = None) -> list[Path]:
    """Regenerate every committed schema file from the models; returns the files written."""
    target = (root or catalog_root()) / "schemas"
    written = []
    for name, declared in topics().items():
        if declared.schema_file is None:
            continue
        path = target / declared.schema_file
        path.write_text(render(generate(name)))
        written.append(path)
    return written


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Every way in which `new` would break readers or writers of `old`; empty when compatible."""
    before, after = _flatten(old), _flatten(new)
    problems: list[str] = []
    for path, was in before.items():
        now = after.get(path)
        if now is None:
            problems.append(f"{path}: removed or renamed")
            continue
        if was["required"] and not now["required"]:
            problems.append(f"{path}: no longer required")
        if not was["types"] <= now["types"]:
            problems.append(f"{path}: type narrowed from {sorted(was['types'])} to {sorted(now['types'])}")
        if was["enum"] is not None and (now["enum"] is None or not was["enum"] <= now["enum"]):
            dropped = sorted(was["enum"] - (now["enum"] or set()))
            problems.append(f"{path}: enum values removed {dropped}" if dropped else f"{path}: enum changed")
        if was["enum"] is None and now["enum"] is not None:
            problems.append(f"{path}: restricted to an enum")
        problems.extend(_tightened(path, was["bounds"], now["bounds"]))
        if was["pattern"] != now["pattern"] and now["pattern"] is not None:
            problems.append(f"{path}: pattern changed to {now['pattern']!r}")
    for path, now in after.items():
        if path not in before and now["required"] and _parent(path) in before:
            problems.append(f"{path}: new required field")
    return problems


def _tightened(path: str, was: dict[str, float], now: dict[str, float]) -> list[str]:
    found = []
    for key in _LOWER_BOUNDS:
        if key in now and (key not in was or now[key] > was[key]):
            found.append(f"{path}: {key} raised to {now[key]}")
    for key in _UPPER_BOUNDS:
        if key in now and (key not in was or now[key] < was[key]):
            found.append(f"{path}: {key} lowered to {now[key]}")
    return found


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else "$"


def _flatten(schema: Schema) -> dict[str, dict[str, Any]]:
    """Every field path of a schema with its types, enum, bounds, pattern and whether it is required."""
    definitions = schema.get("$defs", {})
    fields: dict[str, dict[str, Any]] = {}

    def resolve(node: Schema) -> Schema:
        while "$ref" in node:
            node = {**definitions[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def alternatives(node: Schema) -> list[Schema]:
        node = resolve(node)
        if "anyOf" in node or "oneOf" in node:
            branches: list[Schema] = node.get("anyOf") or node.get("oneOf") or []
            return [alt for branch in branches for alt in alternatives(branch)]
        return [node]

    def visit(path: str, node: Schema, required: bool) -> None:
        options = alternatives(node)
        types: set[str] = set()
        values: set[str] = set()
        restricted = True
        bounds: dict[str, float] = {}
        pattern = None
        for option in options:
            kind = option.get("type")
            types.update(kind if isinstance(kind, list) else [kind] if kind else ["any"])
            if "enum" in option or "const" in option:
                values |= {json.dumps(value) for value in option.get("enum", [option.get("const")])}
            elif kind != "null":
                restricted = False
            bounds.update({key: option[key] for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS) if key in option})
            pattern = option.get("pattern", pattern)
        enum = values if restricted and values else None
        fields[path] = {"types": types, "enum": enum, "bounds": bounds, "pattern": pattern, "required": required}
        for option in options:
            needed = set(option.get("required", []))
            for name, child in option.get("properties", {}).items():
                visit(f"{path}.{name}", child, name in needed)
            if isinstance(option.get("items"), dict):
                visit(f"{path}[]", option["items"], True)
            if isinstance(option.get("additionalProperties"), dict):
                visit(f"{path}{{}}", option["additionalProperties"], True)

    visit("$", schema, True)
    return fields
