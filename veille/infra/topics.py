"""Create every topic declared in contracts/topics/ with its partitions and retention."""

from __future__ import annotations

import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from veille_contracts.catalog import Topic, topics
from veille_contracts.settings import VeilleSettings


def topic_configs(declared: Topic) -> dict[str, str]:
    return {"retention.ms": str(declared.retention_ms), "cleanup.policy": declared.cleanup_policy}


def ensure_topics(settings: VeilleSettings, timeout_s: float = 30.0) -> list[str]:
    """Create the declared topics that do not exist yet; returns the names created."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(client_id=f"{settings.service_name}-admin", **settings.kafka_client_options())
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(
                name=declared.name,
                num_partitions=declared.partitions,
                replication_factor=settings.kafka_replication_factor,
                topic_configs=topic_configs(declared),
            )
            for declared in topics().values()
            if declared.name not in existing
        ]
        created = []
        for new_topic in wanted:
            try:
                admin.create_topics([new_topic])
                created.append(new_topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
