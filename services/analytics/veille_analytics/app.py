"""The analytics service: mentions-scored, alerts and alert-feedback into ClickHouse, in batches.

validate against the contract (bad records → DLQ) → the batch's JSON in one insert → commit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.exceptions import OperationalError
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import metrics

from veille_analytics.clickhouse import connect
from veille_analytics.schema import migrate
from veille_analytics.sinks import ClickHouseSink, batch_token
from veille_contracts.settings import VeilleSettings, load_settings
from veille_contracts.streams import (
    consumer_options,
    dead_letter,
    decode_batch_or_dead_letter,
    kafka_broker,
)
from veille_contracts.telemetry import context_of, setup_telemetry, tracer
from veille_contracts.web import serve as serve_http
from veille_contracts.web import service_app

SERVICE = "analytics"
TRACER = tracer(SERVICE)
METER = metrics.get_meter("veille.analytics")
ROWS = METER.create_counter("veille.analytics.rows", unit="1", description="Rows written, by table")
BATCH_SIZE = METER.create_histogram("veille.analytics.batch_size", unit="1", description="Rows per insert")


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
        started = time.time_ns()
        valid = [record for record, _ in await decode_batch_or_dead_letter(broker, message, route.topic, SERVICE)]
        lines = [record.value for record in valid]
        refused = await sink.write(route.table, lines, batch_token(message.raw_message))
        for index, error in refused:
            await dead_letter(broker, valid[index], route.topic, f"{route.table}: {error}", SERVICE)
        written = set(range(len(valid))) - {index for index, _ in refused}
        ROWS.add(len(written), {"table": route.table})
        BATCH_SIZE.record(len(valid), {"table": route.table})
        for index in sorted(written):  # the last span of each record's trace: its row is in ClickHouse
            TRACER.start_span(
                f"store {route.table}", context=context_of(valid[index].headers), start_time=started
            ).end()

    store.__name__ = f"store_{route.table}"
    return store


def create_app(settings: VeilleSettings | None = None) -> AsgiFastStream:
    """The analytics service as a faststream application; migrations run before it consumes."""
    settings = settings or load_settings()
    setup_telemetry(settings, SERVICE)
    sink = ClickHouseSink(None)
    broker = build_broker(settings, sink)

    async def prepare_tables() -> None:
        client = await asyncio.to_thread(connect, settings)
        await asyncio.to_thread(migrate, client, settings.retention_days)
        sink.client = client

    app, _ = service_app(broker, settings, on_startup=[prepare_tables], transient=(OperationalError,))
    return app


async def serve(settings: VeilleSettings) -> None:
    """Run the service with /health and /ready until SIGTERM or Ctrl-C."""
    await serve_http(create_app(settings), settings, settings.analytics_http_port)


if __name__ == "__main__":
    import asyncio

    asyncio.run(serve(load_settings()))
