"""The topic catalog: names, DLQs, retention and schema files are consistent."""

from __future__ import annotations

import pytest

from veille_contracts.catalog import TOPIC_NAME, Topic, catalog_root, duration_ms, topic, topics
from veille_contracts.codec import PAYLOAD_MODELS


def test_every_topic_name_is_kebab_case_without_dots() -> None:
    for name in topics():
        assert TOPIC_NAME.match(name), name
        assert "." not in name


def test_a_dotted_or_snake_case_topic_name_is_refused() -> None:
    base = topic("alerts").model_dump(by_alias=True)
    for bad in ("mentions.raw", "mentions_raw", "Mentions-Raw", "-alerts"):
        with pytest.raises(ValueError, match="kebab-case"):
            Topic.model_validate({**base, "name": bad})


def test_every_consumed_topic_declares_an_existing_dlq() -> None:
    for declared in topics().values():
        if declared.is_dead_letter or not declared.consumers:
            continue
        assert declared.dlq == f"{declared.name}-dlq", declared.name
        assert declared.dlq in topics(), f"{declared.name}: DLQ {declared.dlq} is not declared"


def test_dead_letter_topics_carry_raw_payloads_and_are_produced_by_the_consumers() -> None:
    for declared in topics().values():
        if declared.is_dead_letter:
            origin = topic(declared.name.removesuffix("-dlq"))
            assert declared.schema_file is None
            assert set(declared.producers) == set(origin.consumers)


def test_every_typed_topic_has_a_model_a_schema_file_and_examples() -> None:
    typed = {name for name, declared in topics().items() if declared.schema_file}
    assert typed == set(PAYLOAD_MODELS)
    for name in typed:
        declared = topic(name)
        assert declared.schema_file == f"{name}.v1.schema.json"
        assert (catalog_root() / "schemas" / declared.schema_file).is_file()
        assert declared.examples(), f"{name} has no examples"


def test_retention_durations_parse() -> None:
    assert duration_ms("7d") == 7 * 86_400_000
    assert duration_ms("500ms") == 500
    assert duration_ms("-1") == -1
    with pytest.raises(ValueError, match="7d"):
        duration_ms("7 days")
    assert topic("mentions-raw").retention_ms == 7 * 86_400_000


def test_unknown_topic_lists_the_declared_ones() -> None:
    with pytest.raises(KeyError, match="mentions-raw"):
        topic("mentions")
