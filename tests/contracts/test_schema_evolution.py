"""The committed schemas match the models, and breaking edits are refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from veille_contracts.catalog import topic, topics
from veille_contracts.schemas import breaking_changes, generate, render

TYPED = [name for name, declared in topics().items() if declared.schema_file]


@pytest.mark.parametrize("name", TYPED)
def test_models_make_no_breaking_change_to_the_committed_schema(name: str) -> None:
    assert breaking_changes(topic(name).load_schema(), generate(name)) == []


@pytest.mark.parametrize("name", TYPED)
def test_committed_schema_is_exactly_what_the_model_generates(name: str) -> None:
    committed = render(topic(name).load_schema())
    assert committed == render(generate(name)), f"run `veille contracts schemas` to regenerate {name}"


def _mention_schema() -> dict[str, Any]:
    return copy.deepcopy(topic("mentions-raw").load_schema())


def test_removing_a_required_field_is_breaking() -> None:
    new = _mention_schema()
    del new["properties"]["text"]
    new["required"].remove("text")
    assert "$.text: removed or renamed" in breaking_changes(_mention_schema(), new)


def test_renaming_a_field_is_breaking() -> None:
    new = _mention_schema()
    new["properties"]["body"] = new["properties"].pop("text")
    new["required"] = [("body" if f == "text" else f) for f in new["required"]]
    problems = breaking_changes(_mention_schema(), new)
    assert "$.text: removed or renamed" in problems
    assert "$.body: new required field" in problems


def test_narrowing_a_type_is_breaking() -> None:
    new = _mention_schema()
    new["$defs"]["Author"]["properties"]["followers"] = {"type": "integer", "minimum": 0}
    problems = breaking_changes(_mention_schema(), new)
    assert any(p.startswith("$.author.followers: type narrowed") for p in problems)


def test_dropping_an_enum_value_or_tightening_a_bound_is_breaking() -> None:
    new = _mention_schema()
    new["$defs"]["SourceKind"]["enum"].remove("mastodon")
    new["properties"]["text"]["maxLength"] = 280
    problems = breaking_changes(_mention_schema(), new)
    assert any("source_kind: enum values removed" in p and "mastodon" in p for p in problems)
    assert "$.text: maxLength lowered to 280" in problems


def test_adding_an_optional_field_or_loosening_a_bound_is_compatible() -> None:
    new = _mention_schema()
    new["properties"]["sentiment_hint"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    new["properties"]["text"]["maxLength"] = 200_000
    new["$defs"]["SourceKind"]["enum"].append("bluesky")
    assert breaking_changes(_mention_schema(), new) == []
