"""The one way a veille service talks to Kafka: a faststream broker set for at-least-once delivery.

Producers wait for every in-sync replica (acks=all). Consumers commit only after
their handler returns (`NACK_ON_ERROR`: an exception rewinds to the message, a
return commits it), so output is produced or written before the offset moves.
faststream's own default acknowledges first; it is never used here.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from opentelemetry import metrics

from veille_contracts.catalog import topic as declared_topic
from veille_contracts.codec import DecodeError, dead_letter_headers, decode
from veille_contracts.settings import VeilleSettings

AT_LEAST_ONCE = AckPolicy.NACK_ON_ERROR
LOGGER = logging.getLogger("veille.streams")
LAG = metrics.get_meter("veille.streams").create_gauge(
    "veille.consumer.lag", unit="1", description="Records behind the end of the partition after a batch"
)


def _security(settings: VeilleSettings) -> BaseSecurity | None:
    use_ssl = settings.kafka_security_protocol in ("SSL", "SASL_SSL")
    if not settings.kafka_sasl_mechanism:
        return BaseSecurity(use_ssl=True) if use_ssl else None
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    kinds: dict[str, type[BaseSecurity]] = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }
    security_class: Any = kinds[settings.kafka_sasl_mechanism]
    security: BaseSecurity = security_class(
        username=settings.kafka_sasl_username or "", password=password, use_ssl=use_ssl
    )
    return security


def kafka_broker(settings: VeilleSettings, service: str) -> KafkaBroker:
    """A faststream broker for one service, with explicit acks and idempotence from settings."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"veille-{service}",
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        compression_type=None if settings.kafka_compression == "none" else settings.kafka_compression,
        security=_security(settings),
        allow_auto_create_topics=False,
        ack_policy=AT_LEAST_ONCE,
        log_level=logging.DEBUG,  # one line per message is for debugging, not for operations
        logger=_client_logger(settings, service),
    )


def _client_logger(settings: VeilleSettings, service: str) -> logging.Logger:
    """faststream's chatter (assignments, task callbacks) shows at DEBUG only; its warnings always."""
    logger = logging.getLogger(f"veille.{service}.kafka")
    logger.setLevel(logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING)
    if not any(isinstance(f, _ExpectedNotices) for f in logger.filters):
        logger.addFilter(_ExpectedNotices())
    return logger


class _ExpectedNotices(logging.Filter):
    """Drops faststream's reminder that auto-creation is off: veille creates topics from contracts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Auto create topics is disabled")


async def keep_raw_body(message: StreamMessage[Any]) -> Any:
    """faststream decoder that leaves bodies as bytes: veille decodes with its own codec, once."""
    return message.body


def consumer_options(settings: VeilleSettings, group_id: str) -> dict[str, Any]:
    """Subscriber options shared by every consumer group."""
    return {
        "group_id": group_id,
        "decoder": keep_raw_body,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms,
        "ack_policy": AT_LEAST_ONCE,
    }


async def dead_letter(broker: KafkaBroker, record: Any, topic_name: str, error: str, service: str) -> None:
    """Publish one consumed record, byte for byte, to its topic's DLQ with where it came from and why.

    `record` is an aiokafka ConsumerRecord. Publishing waits for acks=all, so the
    caller's offset is committed only once the dead letter is safe.
    """
    dlq = declared_topic(topic_name).dlq
    if dlq is None:
        raise LookupError(f"topic {topic_name} declares no DLQ")
    origin = dead_letter_headers(
        origin_topic=topic_name, partition=record.partition, offset=record.offset, error=error, service=service
    )
    headers = {name: value.decode("utf-8", "replace") for name, value in (record.headers or ())}
    headers.update({name: value.decode("utf-8", "replace") for name, value in origin})
    await broker.publish(record.value or b"", topic=dlq, key=record.key, headers=headers)


async def decode_or_dead_letter(
    broker: KafkaBroker, message: KafkaMessage, topic_name: str, service: str
) -> Any | None:
    """Decode a consumed message; a payload that does not fit goes to the topic's DLQ and None is returned."""
    try:
        return decode(topic_name, message.body)
    except DecodeError as error:
        await dead_letter(broker, message.raw_message, topic_name, str(error), service)
        return None


async def decode_batch_or_dead_letter(
    broker: KafkaBroker, message: KafkaMessage, topic_name: str, service: str
) -> list[tuple[Any, Any]]:
    """Decode a consumed batch into (record, payload) pairs; records that do not fit go to the DLQ."""
    decoded = []
    bad: list[tuple[Any, str]] = []
    with _cyclic_gc_paused():
        for record in message.raw_message:
            try:
                decoded.append((record, decode(topic_name, record.value or b"")))
            except DecodeError as error:
                bad.append((record, str(error)))
    for record, reason in bad:
        await dead_letter(broker, record, topic_name, reason, service)
    record_lag(message, service)
    return decoded


def record_lag(message: KafkaMessage, service: str) -> None:
    """Consumer lag after this batch, per partition: the broker's high watermark minus the next offset to read."""
    consumer: Any = getattr(message, "consumer", None)
    highwater = getattr(consumer, "highwater", None)
    if highwater is None:
        return
    last: dict[tuple[str, int], int] = {}
    for record in message.raw_message:
        last[(record.topic, record.partition)] = max(last.get((record.topic, record.partition), -1), record.offset)
    for (topic_name, partition), offset in last.items():
        end = highwater(TopicPartition(topic_name, partition))
        if end is not None:
            LAG.set(max(0, end - offset - 1), {"service": service, "topic": topic_name, "partition": partition})


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while a batch is decoded.

    Thousands of payload models stay alive until the batch is written, so the
    collector would otherwise run full passes again and again mid-batch (measured:
    ~35 µs per message instead of ~12). Payloads hold no cycles; reference
    counting frees them, and the collector runs again once the batch is decoded.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer without letting the stop hide what happened before it.

    After the broker went away, aiokafka's `stop()` can raise the cancellation of
    its own fetch task. That is not ours, unless this task is being cancelled.
    """
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        LOGGER.info("a consumer's fetcher was cancelled while it stopped")
    except KafkaError as error:
        LOGGER.info("a consumer stopped with an error: %s", error)


async def start_unread_partitions_at_the_beginning(broker: KafkaBroker, settings: VeilleSettings) -> None:
    """Commit offset 0 for every partition the broker's consumer groups have never committed.

    Call before the broker starts. A partition a group never read would start
    wherever the broker answers "earliest", and the embedded broker sometimes
    answers with the end of the log, which skips what is already there (a
    service restarted after a crash, a group new to a topic). Where retention
    has removed offset 0, `auto_offset_reset=earliest` takes the first offset
    kept. A group that already has live members refuses the commit; they have
    positions of their own, so that is left as it is.
    """
    groups: dict[str, set[str]] = {}
    for subscriber in broker.subscribers:
        group = getattr(subscriber, "group_id", None)
        if group:
            groups.setdefault(group, set()).update(topic.name for topic in getattr(subscriber, "topics", ()))
    for group, topics in groups.items():
        consumer = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **settings.kafka_client_options())
        await consumer.start()
        try:
            await consumer.topics()  # fetches the cluster metadata
            partitions = [
                TopicPartition(name, p)
                for name in sorted(topics)
                for p in sorted(consumer.partitions_for_topic(name) or ())
            ]
            consumer.assign(partitions)
            unread = {tp: 0 for tp in partitions if await consumer.committed(tp) is None}
            if unread:
                await consumer.commit(unread)
        except KafkaError as error:
            LOGGER.info("group %s keeps its positions: %s", group, error)
        finally:
            await stop_consumer(consumer)


async def read_topic(
    settings: VeilleSettings, topic: str, start: datetime | None, stop_at_committed: str | None
) -> list[Any]:
    """Every record of `topic` from `start` (or the beginning) up to a group's committed offsets (or the end).

    Services rebuild their memory this way on start: escalation its windows, ingest its de-duplication index.
    """
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False, auto_offset_reset="earliest", **settings.kafka_client_options()
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster metadata
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        if stop_at_committed:
            ends = await committed_offsets(settings, stop_at_committed, partitions)
        if start is None:
            # offset 0, not seek_to_beginning: the embedded broker sometimes answers "earliest" with the end;
            # an offset already deleted by retention falls back to the earliest kept (auto_offset_reset)
            for tp in partitions:
                consumer.seek(tp, 0)
        else:
            found = await consumer.offsets_for_times({tp: int(start.timestamp() * 1000) for tp in partitions})
            for tp in partitions:
                consumer.seek(tp, found[tp].offset if found.get(tp) else ends[tp])
        # Up to committed offsets: exact. Up to the end: on until a fetch comes back empty, because the
        # embedded broker's end offset can leave out the last records of a compressed batch.
        bounded = stop_at_committed is not None
        records: list[Any] = []
        while True:
            fetched = await consumer.getmany(timeout_ms=500)
            for tp, batch in fetched.items():
                records += [r for r in batch if not bounded or r.offset < ends[tp]]
            behind = [tp for tp in partitions if await consumer.position(tp) < ends[tp]]
            if not behind and (bounded or not fetched):
                return records
    finally:
        await stop_consumer(consumer)


async def committed_offsets(
    settings: VeilleSettings, group: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The group's committed offset per partition; nothing committed yet means nothing to replay."""
    probe = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **settings.kafka_client_options())
    await probe.start()
    try:
        committed = {}
        for tp in partitions:
            offset = await probe.committed(tp)
            committed[tp] = offset if offset is not None and offset >= 0 else 0
        return committed
    finally:
        await stop_consumer(probe)
