"""kafka-python, aiokafka and faststream against the real embedded broker."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from faststream.kafka import KafkaMessage
from kafka import KafkaProducer

from tests.integration.kafka_helpers import committed_offsets, eventually, fresh_topic
from veille_contracts.catalog import topic
from veille_contracts.codec import HEADER_ERROR, HEADER_ORIGIN_TOPIC, HEADER_SERVICE, decode
from veille_contracts.models import Mention
from veille_contracts.settings import VeilleSettings
from veille_contracts.streams import consumer_options, decode_or_dead_letter, kafka_broker

pytestmark = pytest.mark.integration
EXAMPLES = [path.read_bytes() for path in topic("mentions-raw").examples()]


def _produce_with_kafka_python(settings: VeilleSettings, name: str, payloads: list[bytes], run: str) -> None:
    producer = KafkaProducer(acks="all", **settings.kafka_client_options())
    try:
        for index, payload in enumerate(payloads):
            headers = [("traceparent", f"00-{run:0>32}-{index:016x}-01".encode()), ("veille-run", run.encode())]
            producer.send(name, payload, key=str(index).encode(), headers=headers).get(timeout=10)
    finally:
        producer.close()


async def test_faststream_group_consumes_kafka_python_examples_and_commits_only_after_processing(
    settings: VeilleSettings,
) -> None:
    name, group, run = fresh_topic(settings), f"g-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:12]
    _produce_with_kafka_python(settings, name, EXAMPLES, run)
    broker = kafka_broker(settings, "test")
    processed: list[Mention] = []
    committed_while_processing: list[int] = []
    headers_seen: list[dict[str, str]] = []

    @broker.subscriber(name, **consumer_options(settings, group))
    async def handle(message: KafkaMessage) -> None:
        offset = message.raw_message.offset  # type: ignore[union-attr]
        committed = await asyncio.to_thread(committed_offsets, settings, group)
        committed_while_processing.append(committed.get(0, -1) - offset)
        headers_seen.append({k: str(v) for k, v in message.headers.items()})
        processed.append(decode("mentions-raw", message.body))

    async with broker:
        await broker.start()
        await eventually(lambda: len(processed) == len(EXAMPLES), what="every example processed")
        await eventually(lambda: committed_offsets(settings, group).get(0) == len(EXAMPLES), what="final commit")

    # While a message is processed, the group's committed offset never points past it.
    assert all(gap <= 0 for gap in committed_while_processing), committed_while_processing
    assert [m.mention_id for m in processed] == [json.loads(raw)["mention_id"] for raw in EXAMPLES]
    assert [h["traceparent"] for h in headers_seen] == [f"00-{run:0>32}-{i:016x}-01" for i in range(len(EXAMPLES))]
    assert {h["veille-run"] for h in headers_seen} == {run}


async def test_a_restarted_consumer_resumes_after_the_last_committed_offset(settings: VeilleSettings) -> None:
    name, group, run = fresh_topic(settings), f"g-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:12]
    payloads = [json.dumps({"n": n}).encode() for n in range(6)]
    _produce_with_kafka_python(settings, name, payloads, run)

    first_run: list[int] = []
    broker = kafka_broker(settings, "test")

    @broker.subscriber(name, **consumer_options(settings, group))
    async def crash_after_three(message: KafkaMessage) -> None:
        n = json.loads(message.body)["n"]
        if n >= 3:
            raise RuntimeError("downstream unavailable")  # no output, so no commit
        first_run.append(n)

    async with broker:
        await broker.start()
        await eventually(lambda: committed_offsets(settings, group).get(0) == 3, what="commit of the first three")
    assert first_run == [0, 1, 2]

    second_run: list[int] = []
    restarted = kafka_broker(settings, "test")

    @restarted.subscriber(name, **consumer_options(settings, group))
    async def process(message: KafkaMessage) -> None:
        second_run.append(json.loads(message.body)["n"])

    async with restarted:
        await restarted.start()
        await eventually(lambda: len(second_run) >= 3, what="the rest of the stream")
        await eventually(lambda: committed_offsets(settings, group).get(0) == 6, what="final commit")
    assert second_run == [3, 4, 5]


@pytest.mark.parametrize("compression", ["gzip", "lz4", "zstd", None])
async def test_aiokafka_produces_with_acks_all_and_reads_back_keys_headers_and_values(
    settings: VeilleSettings, compression: str | None
) -> None:
    name = fresh_topic(settings, partitions=3)
    producer = AIOKafkaProducer(acks="all", compression_type=compression, **settings.kafka_client_options())
    await producer.start()
    try:
        sent = []
        for index, payload in enumerate(EXAMPLES):
            key = json.loads(payload)["mention_id"].encode()
            metadata = await producer.send_and_wait(name, payload, key=key, headers=[("n", str(index).encode())])
            sent.append((metadata.partition, metadata.offset, key))
    finally:
        await producer.stop()
    assert all(offset >= 0 for _, offset, _ in sent)

    consumer = AIOKafkaConsumer(name, auto_offset_reset="earliest", **settings.kafka_client_options())
    await consumer.start()
    received: list[ConsumerRecord[bytes, bytes]] = []
    try:
        while len(received) < len(EXAMPLES):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                received.extend(records)
    finally:
        await consumer.stop()
    by_index = {int(dict(r.headers)["n"]): r for r in received}
    for index, payload in enumerate(EXAMPLES):
        record = by_index[index]
        assert record.value == payload
        assert (record.partition, record.offset, record.key) == sent[index]


async def test_a_malformed_message_goes_to_the_dlq_with_its_origin_and_the_consumer_goes_on(
    settings: VeilleSettings,
) -> None:
    run, group = uuid.uuid4().hex[:12], f"g-{uuid.uuid4().hex[:8]}"
    bad = [b"\xff\xfe", b'{"mention_id": "x"}', b"not json at all"]
    stream = [EXAMPLES[0], *bad, EXAMPLES[1]]  # one key: one partition, so order holds
    broker = kafka_broker(settings, "test")
    good: list[str] = []
    handled: list[int] = []

    @broker.subscriber("mentions-raw", **consumer_options(settings, group))
    async def handle(message: KafkaMessage) -> None:
        if message.headers.get("veille-run") != run:
            return
        mention = await decode_or_dead_letter(broker, message, "mentions-raw", "test-service")
        if mention is not None:
            good.append(mention.mention_id)
        handled.append(1)

    async with broker:
        await broker.start()
        for payload in stream:
            await broker.publish(payload, topic="mentions-raw", key=run.encode(), headers={"veille-run": run})
        await eventually(lambda: len(handled) == len(stream), what="the whole stream handled")

    assert good == [json.loads(EXAMPLES[0])["mention_id"], json.loads(EXAMPLES[1])["mention_id"]]
    dead = AIOKafkaConsumer("mentions-raw-dlq", auto_offset_reset="earliest", **settings.kafka_client_options())
    await dead.start()
    letters = []
    try:
        for _ in range(20):
            for records in (await dead.getmany(timeout_ms=500)).values():
                letters += [r for r in records if ("veille-run", run.encode()) in r.headers]
            if len(letters) >= len(bad):
                break
    finally:
        await dead.stop()
    assert [r.value for r in letters] == bad
    for record in letters:
        headers = dict(record.headers)
        assert headers[HEADER_ORIGIN_TOPIC] == b"mentions-raw"
        assert headers[HEADER_SERVICE] == b"test-service"
        assert headers[HEADER_ERROR].startswith(b"mentions-raw:")
