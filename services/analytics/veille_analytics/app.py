"""The analytics service: mentions-scored, alerts and alert-feedback into ClickHouse, in batches.

validate against the contract (bad records → DLQ) → the batch's JSON in one insert → commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaMessage

from veille_analytics.clickhouse import connect
from veille_analytics.schema import migrate
from veille_analytics.sinks import ClickHouseSink, batch_token
from veille_contracts.settings import VeilleSettings, load_settings
from veille_contracts.streams import (
    consumer_options,
    dead_letter,
    decode_batch_or_dead_letter,
    kafka_broker,
    start_unread_partitions_at_the_beginning,
)

SERVICE = "analytics"


@dataclass(frozen=True)
class Route:
    """Where one consumed topic is written."""

    topic: str
    table: str


ROUTES = (
    Route("mentions-scored", "mentions"),
    Route("alerts", "alerts"),
    Route("alert-feedback", "alert_feedback"),
)


def build_broker(settings: VeilleSettings, sink: ClickHouseSink) -> KafkaBroker:
    """A broker with one batch subscriber per consumed topic, each writing to its table."""
    broker = kafka_broker(settings, SERVICE)
    for route in ROUTES:
        subscriber = broker.subscriber(
            route.topic,
            batch=True,
            max_records=settings.sink_batch_size,
            batch_timeout_ms=settings.sink_batch_timeout_ms,
            **consumer_options(settings, f"veille-analytics-{route.table.replace('_', '-')}"),
        )
        subscriber(_store(broker, sink, route))
    return broker


def _store(broker: KafkaBroker, sink: ClickHouseSink, route: Route) -> Callable[[KafkaMessage], Any]:
    async def store(message: KafkaMessage) -> None:
        # Validate with the contract first (what does not fit goes to the DLQ), then ship the JSON as it came.
        valid = [record for record, _ in await decode_batch_or_dead_letter(broker, message, route.topic, SERVICE)]
        lines = [record.value for record in valid]
        for index, error in await sink.write(route.table, lines, batch_token(message.raw_message)):
            await dead_letter(broker, valid[index], route.topic, f"{route.table}: {error}", SERVICE)

    store.__name__ = f"store_{route.table}"
    return store


def create_app(settings: VeilleSettings | None = None) -> FastStream:
    """The analytics service as a faststream application; migrations run before it consumes."""
    settings = settings or load_settings()
    client = connect(settings)
    migrate(client, settings.retention_days)
    broker = build_broker(settings, ClickHouseSink(client))
    return FastStream(broker, on_startup=[lambda: start_unread_partitions_at_the_beginning(broker, settings)])


if __name__ == "__main__":
    import asyncio

    asyncio.run(create_app().run())
