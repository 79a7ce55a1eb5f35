"""Small helpers for broker tests: throwaway topics and committed offsets."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic

from veille_contracts.settings import VeilleSettings


def fresh_topic(settings: VeilleSettings, partitions: int = 1) -> str:
    """Create a topic no other test uses."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(**settings.kafka_client_options())
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()
    return name


def committed_offsets(settings: VeilleSettings, group: str) -> dict[int, int]:
    """Committed offset per partition of a consumer group."""
    admin = KafkaAdminClient(**settings.kafka_client_options())
    try:
        offsets: dict[TopicPartition, object] = admin.list_group_offsets(group).get(group, {})
        return {tp.partition: int(getattr(meta, "offset", -1)) for tp, meta in offsets.items()}
    finally:
        admin.close()


async def eventually(check: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(check):  # checks may block (admin calls): keep the loop free
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)
