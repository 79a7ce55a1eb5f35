"""Encode, decode and validate topic payloads; build dead-letter headers.

A payload is compact UTF-8 JSON of the topic's pydantic model. Anything that
does not decode raises `DecodeError`, whose message is what goes into the
dead-letter headers.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from veille_contracts.catalog import topic as declared_topic
from veille_contracts.models import Alert, AlertFeedback, Mention, ScoredMention

PAYLOAD_MODELS: dict[str, type[BaseModel]] = {
    "mentions-raw": Mention,
    "mentions-scored": ScoredMention,
    "alerts": Alert,
    "alert-feedback": AlertFeedback,
}

HEADER_ORIGIN_TOPIC = "veille-origin-topic"
HEADER_ORIGIN_PARTITION = "veille-origin-partition"
HEADER_ORIGIN_OFFSET = "veille-origin-offset"
HEADER_ERROR = "veille-error"
HEADER_SERVICE = "veille-service"
HEADER_SCHEMA_VERSION = "veille-schema-version"
_MAX_ERROR_BYTES = 4000


class DecodeError(ValueError):
    """A payload that is not valid for its topic."""


def payload_model(topic: str) -> type[BaseModel]:
    """The pydantic model carried by a topic."""
    try:
        return PAYLOAD_MODELS[topic]
    except KeyError:
        raise KeyError(f"topic {topic!r} carries no typed payload") from None


def encode(payload: BaseModel) -> bytes:
    """Compact UTF-8 JSON of a payload."""
    return payload.model_dump_json(exclude_none=False).encode("utf-8")


def decode(topic: str, raw: bytes) -> Any:
    """Decode and validate one message of a topic into its model; `DecodeError` if it does not fit."""
    model = payload_model(topic)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DecodeError(f"{topic}: payload is not UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as error:
        raise DecodeError(f"{topic}: {_summarise(error)}") from None


def validate(topic: str, document: Any) -> None:
    """Check a decoded JSON document against the topic's committed JSON Schema."""
    try:
        jsonschema.validate(document, declared_topic(topic).load_schema())
    except jsonschema.ValidationError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise DecodeError(f"{topic}: {where}: {error.message}") from None


def dead_letter_headers(
    *, origin_topic: str, partition: int, offset: int, error: str, service: str
) -> list[tuple[str, bytes]]:
    """Kafka headers that say where a dead letter came from and why it was refused."""
    return [
        (HEADER_ORIGIN_TOPIC, origin_topic.encode()),
        (HEADER_ORIGIN_PARTITION, str(partition).encode()),
        (HEADER_ORIGIN_OFFSET, str(offset).encode()),
        (HEADER_ERROR, error.encode("utf-8", "replace")[:_MAX_ERROR_BYTES]),
        (HEADER_SERVICE, service.encode()),
    ]


def _summarise(error: ValidationError) -> str:
    parts = []
    for issue in error.errors()[:5]:
        where = ".".join(str(part) for part in issue["loc"]) or "(root)"
        parts.append(f"{where}: {issue['msg']}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
