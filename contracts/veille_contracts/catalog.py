"""The topic catalog: one YAML file per topic under contracts/topics/, the single source of truth."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

TOPIC_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_DURATION = re.compile(r"^(?P<n>\d+)(?P<unit>ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def catalog_root() -> Path:
    """The folder holding topics/, schemas/ and examples/ (in a wheel or in the source tree)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_catalog", here.parent):
        if (candidate / "topics").is_dir():
            return candidate
    raise FileNotFoundError(f"no contracts catalog next to {here}")


def duration_ms(value: str) -> int:
    """Parse `7d`, `12h`, `30m`, `10s`, `500ms` into milliseconds; `-1` means forever."""
    if value == "-1":
        return -1
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"duration {value!r} is not like 7d, 12h, 30m, 10s or 500ms")
    return int(match["n"]) * _UNIT_MS[match["unit"]]


class Topic(BaseModel):
    """One topic as declared in contracts/topics/<name>.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = Field(min_length=1)
    key: str = Field(description="What the message key is, e.g. `mention_id`.")
    partitions: int = Field(ge=1, le=256)
    retention: str
    cleanup_policy: str = "delete"
    schema_file: str | None = Field(
        alias="schema", description="Schema path under contracts/schemas/, null for raw dead letters."
    )
    producers: list[str]
    consumers: list[str]
    dlq: str | None = None

    @field_validator("name")
    @classmethod
    def _kebab_case(cls, value: str) -> str:
        if not TOPIC_NAME.match(value):
            raise ValueError(f"topic name {value!r} must be kebab-case with no dots")
        return value

    @field_validator("retention")
    @classmethod
    def _retention_parses(cls, value: str) -> str:
        duration_ms(value)
        return value

    @property
    def retention_ms(self) -> int:
        return duration_ms(self.retention)

    @property
    def is_dead_letter(self) -> bool:
        return self.name.endswith("-dlq")

    def load_schema(self) -> dict[str, Any]:
        """The committed JSON Schema of this topic's payload."""
        if self.schema_file is None:
            raise LookupError(f"topic {self.name} carries raw payloads and has no schema")
        loaded: dict[str, Any] = json.loads((catalog_root() / "schemas" / self.schema_file).read_text())
        return loaded

    def examples(self) -> list[Path]:
        """Example payload files for this topic, sorted by name."""
        return sorted((catalog_root() / "examples" / self.name).glob("*.json"))


@cache
def topics() -> dict[str, Topic]:
    """Every declared topic, by name."""
    declared: dict[str, Topic] = {}
    for path in sorted((catalog_root() / "topics").glob("*.yaml")):
        topic = Topic.model_validate(yaml.safe_load(path.read_text()))
        if path.stem != topic.name:
            raise ValueError(f"{path.name} declares topic {topic.name!r}; the file must be named after it")
        declared[topic.name] = topic
    return declared


def topic(name: str) -> Topic:
    """One declared topic; a clear error for an unknown name."""
    try:
        return topics()[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}; declared: {', '.join(sorted(topics()))}") from None
