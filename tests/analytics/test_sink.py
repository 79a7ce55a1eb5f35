"""The analytics sink against the real broker and ClickHouse: batches, DLQ, replays, outages."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.conftest import Stack
from tests.integration.kafka_helpers import eventually
from veille_analytics.app import build_broker
from veille_analytics.clickhouse import clickhouse_client, connect
from veille_analytics.schema import migrate
from veille_analytics.sinks import ClickHouseSink
from veille_contracts.catalog import topic
from veille_contracts.ids import mention_id
from veille_contracts.settings import VeilleSettings

pytestmark = pytest.mark.integration


def _isolated(stack: Stack) -> VeilleSettings:
    """Settings with a database of its own, so counts are this test's alone."""
    return stack.settings.model_copy(
        update={"clickhouse_database": f"a_{uuid.uuid4().hex[:8]}", "sink_batch_timeout_ms": 100}
    )


def _scored(n: int, brand: str = "Banque Aurore") -> list[dict[str, Any]]:
    template = json.loads(topic("mentions-scored").examples()[0].read_bytes())
    out = []
    for i in range(n):
        item = {**template, "source_item_id": f"{uuid.uuid4().hex}-{i}", "brands": [brand]}
        item["mention_id"] = mention_id(item["source"], item["source_item_id"])
        out.append(item)
    return out


async def _produce(settings: VeilleSettings, topic_name: str, payloads: list[bytes], run: str) -> None:
    producer = AIOKafkaProducer(acks="all", **settings.kafka_client_options())
    await producer.start()
    try:
        for payload in payloads:
            await producer.send(topic_name, payload, headers=[("veille-run", run.encode())])
        await producer.flush()
    finally:
        await producer.stop()


def _count(settings: VeilleSettings, sql: str) -> Any:
    client = clickhouse_client(settings)
    try:
        return client.query(sql).result_rows[0]
    finally:
        client.close()


async def test_mentions_alerts_and_feedback_land_in_clickhouse_and_bad_rows_in_the_dlq(stack: Stack) -> None:
    settings, run = _isolated(stack), uuid.uuid4().hex[:12]
    client = connect(settings)
    migrate(client, settings.retention_days)
    mentions = _scored(300)
    bad = [b"{broken", json.dumps({**mentions[0], "voice": "robot"}).encode()]
    await _produce(settings, "mentions-scored", [json.dumps(m).encode() for m in mentions] + bad, run)
    await _produce(settings, "alerts", [p.read_bytes() for p in topic("alerts").examples()], run)
    await _produce(settings, "alert-feedback", [p.read_bytes() for p in topic("alert-feedback").examples()], run)

    broker = build_broker(settings, ClickHouseSink(client))
    async with broker:
        await broker.start()
        ids = ",".join(f"'{m['mention_id']}'" for m in mentions)
        await eventually(
            lambda: _count(settings, f"SELECT count() FROM mentions WHERE mention_id IN ({ids})") == (300,),
            what="300 mentions in ClickHouse",
        )
        await eventually(lambda: _count(settings, "SELECT count() FROM alerts_current") >= (3,), what="alerts")
        await eventually(lambda: _count(settings, "SELECT count() FROM alert_feedback") >= (2,), what="feedback")

    hourly = _count(
        settings,
        f"SELECT uniqCombined64Merge(mentions) FROM mentions_hourly WHERE brand = 'Banque Aurore'"
        f" AND hour = toStartOfHour(toDateTime64('{mentions[0]['published_at'][:19]}', 3, 'UTC'))",
    )
    assert hourly[0] >= 300
    rows = clickhouse_client(settings).query("SELECT kind, current_status FROM alerts_current").result_rows
    statuses: dict[str, str] = {str(kind): str(status) for kind, status in rows}
    assert statuses["churn_risk"] == "acknowledged"  # feedback after the alert's last update wins
    assert statuses["spike"] == "false_alarm"

    letters = await _dead_letters(settings, "mentions-scored-dlq", run, len(bad))
    assert sorted(letters) == sorted(bad)


async def _dead_letters(settings: VeilleSettings, dlq: str, run: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(dlq, auto_offset_reset="earliest", **settings.kafka_client_options())
    await consumer.start()
    found: list[bytes] = []
    try:
        for _ in range(40):
            for records in (await consumer.getmany(timeout_ms=250)).values():
                found += [r.value for r in records if ("veille-run", run.encode()) in r.headers and r.value]
            if len(found) >= expected:
                break
    finally:
        await consumer.stop()
    return found


async def test_clickhouse_outage_mid_stream_loses_and_duplicates_nothing(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    settings, run = _isolated(stack), uuid.uuid4().hex[:12]
    settings = settings.model_copy(update={"sink_batch_size": 200})
    client = connect(settings)
    migrate(client, settings.retention_days)
    mentions = _scored(3000, brand=f"Brand {run}")
    half = len(mentions) // 2
    await _produce(settings, "mentions-scored", [json.dumps(m).encode() for m in mentions[:half]], run)

    sink = ClickHouseSink(client, attempts=3, backoff_s=0.1, max_backoff_s=0.5)
    broker = build_broker(settings, sink)
    brand_filter = f"SELECT count(), uniqExact(mention_id) FROM mentions FINAL WHERE brand = 'Brand {run}'"
    async with broker:
        await broker.start()
        await eventually(lambda: _count(settings, brand_filter)[0] > 0, what="first batches")
        stack.infra.kill("clickhouse")
        await _produce(settings, "mentions-scored", [json.dumps(m).encode() for m in mentions[half:]], run)
        await asyncio.sleep(2)  # the sink fails, backs off, rewinds; nothing is committed meanwhile
        stack.infra.restart("clickhouse")
        stack.refresh()
        assert stack.settings.clickhouse_url == settings.clickhouse_url  # same address: the sink reconnects
        await eventually(lambda: _count(settings, brand_filter)[0] == len(mentions), timeout_s=90, what="all rows")

    assert any("insert into mentions failed" in r.getMessage() for r in caplog.records)
    count, unique = _count(settings, brand_filter)
    assert count == unique == len(mentions)
    raw_count = _count(settings, f"SELECT count() FROM mentions WHERE brand = 'Brand {run}'")[0]
    assert raw_count >= len(mentions)  # replays may write twice before merge; FINAL and uniqExact see one
