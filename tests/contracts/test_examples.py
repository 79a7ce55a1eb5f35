"""Every example payload validates against its schema and its model, and encodes back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from veille_contracts import ids
from veille_contracts.catalog import topics
from veille_contracts.codec import DecodeError, decode, encode, validate
from veille_contracts.models import Mention

EXAMPLES = [
    pytest.param(name, path, id=f"{name}/{path.stem}")
    for name, declared in topics().items()
    if declared.schema_file
    for path in declared.examples()
]


@pytest.mark.parametrize(("topic_name", "path"), EXAMPLES)
def test_example_validates_against_schema_and_model(topic_name: str, path: Path) -> None:
    raw = path.read_bytes()
    validate(topic_name, json.loads(raw))
    model = decode(topic_name, raw)
    assert json.loads(encode(model)) == json.loads(encode(decode(topic_name, encode(model))))
    validate(topic_name, json.loads(encode(model)))


@pytest.mark.parametrize(("topic_name", "path"), EXAMPLES)
def test_example_ids_are_the_deterministic_ones(topic_name: str, path: Path) -> None:
    model = decode(topic_name, path.read_bytes())
    if isinstance(model, Mention):
        assert model.mention_id == ids.mention_id(model.source, model.source_item_id)


def test_examples_cover_both_languages_and_customer_and_employee_voice() -> None:
    mentions = [decode("mentions-scored", p.read_bytes()) for p in topics()["mentions-scored"].examples()]
    assert {"fr", "en"} <= {m.lang for m in mentions}
    assert {"customer", "employee"} <= {m.voice for m in mentions}
    raw = [decode("mentions-raw", p.read_bytes()) for p in topics()["mentions-raw"].examples()]
    assert any(m.employer_brand for m in raw) and any(not m.employer_brand for m in raw)


def test_the_same_post_always_gets_the_same_id_and_another_post_another() -> None:
    assert ids.mention_id("rss:a", "https://x.example/1") == ids.mention_id("rss:a", "https://x.example/1")
    assert ids.mention_id("rss:a", "https://x.example/1") != ids.mention_id("rss:b", "https://x.example/1")
    assert len(ids.mention_id("s", "1")) == 32


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b'{"mention_id": "trunc', "Invalid JSON"),
        (b"[]", "should be an object"),
        (b"{}", "mention_id: Field required"),
    ],
)
def test_a_malformed_payload_gives_a_clear_decode_error(raw: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode("mentions-raw", raw)


def test_unknown_fields_and_naive_timestamps_are_refused() -> None:
    example = json.loads(topics()["mentions-raw"].examples()[0].read_bytes())
    with pytest.raises(DecodeError, match="extra_field"):
        decode("mentions-raw", json.dumps({**example, "extra_field": 1}).encode())
    with pytest.raises(DecodeError, match="published_at"):
        decode("mentions-raw", json.dumps({**example, "published_at": "2026-11-02T07:41:12"}).encode())
    with pytest.raises(DecodeError, match="brands"):
        validate("mentions-raw", {**example, "brands": []})
