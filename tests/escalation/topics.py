"""Reading and writing the escalation topics in tests, on the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.conftest import Stack
from veille_contracts.codec import decode
from veille_contracts.models import Alert


async def produce(stack: Stack, topic: str, payloads: list[bytes]) -> None:
    producer = AIOKafkaProducer(acks="all", **stack.settings.kafka_client_options())
    await producer.start()
    try:
        for payload in payloads:
            await producer.send_and_wait(topic, payload)
    finally:
        await producer.stop()


async def alerts_for(
    stack: Stack, brand: str, count: int | Callable[[list[Alert]], bool], timeout_s: float = 60
) -> list[tuple[Alert, dict[str, Any]]]:
    """The brand's alerts, with their headers, once `count` arrived (or `count(alerts)` holds) and no more follow."""
    done = count if callable(count) else (lambda alerts: len(alerts) >= count)
    consumer = AIOKafkaConsumer("alerts", auto_offset_reset="earliest", **stack.settings.kafka_client_options())
    await consumer.start()
    found: list[tuple[Alert, dict[str, Any]]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while not done([alert for alert, _ in found]):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        alert = decode("alerts", record.value or b"")
                        if alert.brand == brand:
                            found.append((alert, dict(record.headers or ())))
        await asyncio.sleep(1.5)  # and nothing more arrives
        for records in (await consumer.getmany(timeout_ms=500)).values():
            found += [(a, {}) for a in (decode("alerts", r.value or b"") for r in records) if a.brand == brand]
    finally:
        await consumer.stop()
    return found


async def records_of(stack: Stack, topic: str) -> list[Any]:
    """Every record of a topic, up to its end as it is now."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **stack.settings.kafka_client_options())
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, 0)
        records: list[Any] = []
        async with asyncio.timeout(30):
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records += batch
        return records
    finally:
        await consumer.stop()
