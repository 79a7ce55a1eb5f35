"""Embedded broker throughput: aiokafka (what the services use) against kafka-python (baseline).

Produces and consumes N messages of 500 bytes with acks=all through the real
embedded broker; reports messages/s for each client and the ratio.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from rich.console import Console
from rich.table import Table

from bench.harness import embedded_stack, write_results
from veille_contracts.settings import VeilleSettings

MESSAGES = int(os.environ.get("BENCH_BROKER_MESSAGES", "20000"))
PAYLOAD = b"x" * 500


def _topic(settings: VeilleSettings) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**settings.kafka_client_options())
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    admin.close()
    return name


async def _aiokafka(settings: VeilleSettings) -> tuple[float, float]:
    topic = _topic(settings)
    producer = AIOKafkaProducer(acks="all", linger_ms=5, max_batch_size=256 * 1024, **settings.kafka_client_options())
    await producer.start()
    started = time.perf_counter()
    pending = [await producer.send(topic, PAYLOAD) for _ in range(MESSAGES)]
    await asyncio.gather(*pending)
    produce_s = time.perf_counter() - started
    await producer.stop()
    consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **settings.kafka_client_options())
    await consumer.start()
    started, seen = time.perf_counter(), 0
    while seen < MESSAGES:
        seen += sum(len(r) for r in (await consumer.getmany(timeout_ms=1000, max_records=10_000)).values())
    consume_s = time.perf_counter() - started
    await consumer.stop()
    return MESSAGES / produce_s, MESSAGES / consume_s


def _kafka_python(settings: VeilleSettings) -> tuple[float, float]:
    topic = _topic(settings)
    producer = KafkaProducer(acks="all", linger_ms=5, batch_size=256 * 1024, **settings.kafka_client_options())
    started = time.perf_counter()
    for _ in range(MESSAGES):
        producer.send(topic, PAYLOAD)
    producer.flush()
    produce_s = time.perf_counter() - started
    producer.close()
    consumer = KafkaConsumer(topic, auto_offset_reset="earliest", **settings.kafka_client_options())
    started, seen = time.perf_counter(), 0
    while seen < MESSAGES:
        seen += sum(len(r) for r in consumer.poll(timeout_ms=1000, max_records=10_000).values())
    consume_s = time.perf_counter() - started
    consumer.close()
    return MESSAGES / produce_s, MESSAGES / consume_s


def main() -> None:
    with embedded_stack() as settings:
        fast_produce, fast_consume = asyncio.run(_aiokafka(settings))
        base_produce, base_consume = _kafka_python(settings)
    results = {
        "messages": MESSAGES,
        "payload_bytes": len(PAYLOAD),
        "aiokafka": {"produce_per_s": round(fast_produce), "consume_per_s": round(fast_consume)},
        "baseline_kafka_python": {"produce_per_s": round(base_produce), "consume_per_s": round(base_consume)},
        "speedup": {
            "produce": round(fast_produce / base_produce, 2),
            "consume": round(fast_consume / base_consume, 2),
        },
    }
    path = write_results("broker", results)
    table = Table("client", "produce msg/s (acks=all)", "consume msg/s", title=f"embedded broker, {MESSAGES} × 500 B")
    table.add_row("aiokafka", f"{fast_produce:,.0f}", f"{fast_consume:,.0f}")
    table.add_row("kafka-python (baseline)", f"{base_produce:,.0f}", f"{base_consume:,.0f}")
    Console().print(table)
    Console().print(f"results: {path}")


if __name__ == "__main__":
    main()
