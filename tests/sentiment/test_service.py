"""The sentiment service on the real broker: scores batches, keeps the unscorable, dead-letters the malformed."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.conftest import Stack
from tests.integration.kafka_helpers import committed_offsets, eventually
from veille_contracts.catalog import topic
from veille_contracts.codec import decode, encode
from veille_contracts.models import Mention, ScoredMention, ScoreStatus
from veille_sentiment.app import GROUP, build_broker
from veille_sentiment.scoring import Scorer

pytestmark = pytest.mark.integration


def _fresh_examples() -> list[Mention]:
    """The contract's mentions-raw examples under ids no other test uses."""
    mentions = [decode("mentions-raw", path.read_bytes()) for path in topic("mentions-raw").examples()]
    return [Mention.model_validate({**m.model_dump(), "mention_id": uuid.uuid4().hex}) for m in mentions]


async def _read(stack: Stack, topic_name: str, want: set[str], key_of: Any, timeout_s: float = 60) -> dict[str, Any]:
    """Records of `topic_name` whose key_of(record) is in `want`, read from the beginning."""
    consumer = AIOKafkaConsumer(topic_name, auto_offset_reset="earliest", **stack.settings.kafka_client_options())
    await consumer.start()
    found: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout_s):
            while not want <= set(found):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        key = key_of(record)
                        if key in want:
                            found.setdefault(key, []).append(record)
    finally:
        await consumer.stop()
    return found


async def test_the_service_scores_a_batch_and_commits_after_publishing(stack: Stack, scorer: Scorer) -> None:
    mentions = _fresh_examples()
    empty = Mention.model_validate(
        {**mentions[0].model_dump(), "mention_id": uuid.uuid4().hex, "text": " ", "title": None}
    )
    marker = uuid.uuid4().hex
    malformed = json.dumps({"mention_id": marker, "text": "no other field"}).encode()
    producer = AIOKafkaProducer(acks="all", **stack.settings.kafka_client_options())
    await producer.start()
    try:
        last = None
        for mention in [*mentions, empty]:
            last = await producer.send_and_wait(
                "mentions-raw",
                encode(mention),
                key=mention.mention_id.encode(),
                headers=[("traceparent", f"00-{uuid.uuid4().hex}-{marker[:16]}-01".encode())],
            )
        bad = await producer.send_and_wait("mentions-raw", malformed, key=marker.encode())
    finally:
        await producer.stop()

    broker = build_broker(stack.settings, scorer)
    await broker.start()
    try:
        want = {m.mention_id for m in [*mentions, empty]}
        found = await _read(stack, "mentions-scored", want, lambda r: (r.key or b"").decode())
        dead = await _read(stack, "mentions-raw-dlq", {marker}, lambda r: (r.key or b"").decode())
        assert last is not None
        await eventually(
            lambda: (
                committed_offsets(stack.settings, GROUP).get(bad.partition, -1) > bad.offset
                and committed_offsets(stack.settings, GROUP).get(last.partition, -1) > last.offset
            ),
            what="the group's commit past the batch",
        )
    finally:
        await broker.stop()

    assert all(len(records) == 1 for records in found.values()), "each mention is scored once"
    scored = {key: decode("mentions-scored", records[0].value) for key, records in found.items()}
    assert all(isinstance(s, ScoredMention) for s in scored.values())
    assert scored[empty.mention_id].status is ScoreStatus.UNSCORABLE
    assert all(scored[m.mention_id].status is ScoreStatus.SCORED for m in mentions)
    headers = dict(found[mentions[0].mention_id][0].headers)
    assert headers["traceparent"].endswith(f"{marker[:16]}-01".encode())
    dead_headers = {name: value.decode() for name, value in dead[marker][0].headers}
    assert dead[marker][0].value == malformed
    assert dead_headers["veille-origin-topic"] == "mentions-raw"
    assert dead_headers["veille-service"] == "sentiment"
