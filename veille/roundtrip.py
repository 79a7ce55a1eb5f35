"""A round trip through the real broker and ClickHouse, shown by `veille demo`.

Every `mentions-raw` contract example is produced (acks=all), consumed by a
faststream consumer group that writes it to ClickHouse before committing, and
read back from ClickHouse. A malformed message rides along and must land in
the dead-letter topic, not in ClickHouse.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer
from clickhouse_connect.driver.client import Client
from faststream.kafka import KafkaMessage
from rich.console import Console
from rich.table import Table

from veille_analytics.clickhouse import connect
from veille_contracts.catalog import topic
from veille_contracts.codec import HEADER_ERROR, decode
from veille_contracts.models import Mention
from veille_contracts.settings import VeilleSettings
from veille_contracts.streams import consumer_options, decode_or_dead_letter, kafka_broker

RUN_HEADER = "veille-run"
TABLE = "roundtrip_mentions"
COLUMNS = ["run_id", "mention_id", "brand", "lang", "text", "partition", "offset", "latency_ms"]


def _create_table(client: Client) -> None:
    client.command(
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        " run_id String, mention_id String, brand String, lang LowCardinality(String), text String,"
        " partition UInt16, offset UInt64, latency_ms Float64, written_at DateTime64(3, 'UTC') DEFAULT now64(3)"
        ") ENGINE = ReplacingMergeTree ORDER BY (run_id, mention_id)"
    )


async def run_round_trip(settings: VeilleSettings, console: Console, timeout_s: float = 60.0) -> bool:
    """Produce, consume into ClickHouse, read back; True when every example made it and the bad one was refused."""
    examples = [decode("mentions-raw", path.read_bytes()) for path in topic("mentions-raw").examples()]
    run_id = uuid.uuid4().hex[:12]
    client = connect(settings)
    _create_table(client)
    broker = kafka_broker(settings, "roundtrip")
    written: set[str] = set()
    refused: list[int] = []
    all_handled = asyncio.Event()
    sent_at: dict[str, float] = {}

    @broker.subscriber("mentions-raw", **consumer_options(settings, f"veille-roundtrip-{run_id}"))
    async def write_to_clickhouse(message: KafkaMessage) -> None:
        if message.headers.get(RUN_HEADER) != run_id:
            return  # an earlier run's message
        mention = await decode_or_dead_letter(broker, message, "mentions-raw", "roundtrip")
        if not isinstance(mention, Mention):
            refused.append(1)
            _check_done()
            return
        record = message.raw_message
        latency = (time.monotonic() - sent_at[mention.mention_id]) * 1000
        row: list[object] = [run_id, mention.mention_id, mention.brands[0], mention.lang, mention.text[:80]]
        row += [getattr(record, "partition", 0), getattr(record, "offset", 0), latency]
        await asyncio.to_thread(client.insert, TABLE, [row], column_names=COLUMNS)
        written.add(mention.mention_id)
        _check_done()

    def _check_done() -> None:
        if len(written) == len(examples) and refused:
            all_handled.set()

    console.print(f"round trip [bold]{run_id}[/bold]: {len(examples)} contract examples + 1 malformed message")
    async with broker:
        await broker.start()
        for mention in examples:
            sent_at[mention.mention_id] = time.monotonic()
            await broker.publish(
                mention.model_dump_json().encode(),
                topic="mentions-raw",
                key=mention.mention_id.encode(),
                headers={RUN_HEADER: run_id},
            )
        await broker.publish(b'{"mention_id": "truncated', topic="mentions-raw", headers={RUN_HEADER: run_id})
        try:
            await asyncio.wait_for(all_handled.wait(), timeout_s)
        except TimeoutError:
            console.print(
                f"[red]{len(written)}/{len(examples)} mentions reached ClickHouse, {len(refused)} refused[/red]"
            )
            return False

    rows = client.query(
        f"SELECT mention_id, brand, lang, partition, offset, latency_ms, text FROM {TABLE} FINAL"
        " WHERE run_id = {run:String} ORDER BY latency_ms",
        parameters={"run": run_id},
    ).result_rows
    client.close()
    table = Table("mention", "brand", "lang", "p/offset", "ms", "text", title="read back from ClickHouse")
    for mention_id, brand, lang, partition, offset, latency, text in rows:
        table.add_row(mention_id[:8], brand, lang, f"{partition}/{offset}", f"{latency:.0f}", text[:32] + "…")
    console.print(table)
    dead = await _dead_letters(settings, run_id)
    for error in dead:
        console.print(f"dead letter in mentions-raw-dlq: [yellow]{error}[/yellow]")
    ok = len(rows) == len(examples) and len(dead) == 1
    console.print("[green]round trip complete[/green]" if ok else "[red]round trip incomplete[/red]")
    return ok


async def _dead_letters(settings: VeilleSettings, run_id: str, timeout_s: float = 10.0) -> list[str]:
    """Errors of this run's messages in mentions-raw-dlq."""
    consumer = AIOKafkaConsumer(
        "mentions-raw-dlq", auto_offset_reset="earliest", enable_auto_commit=False, **settings.kafka_client_options()
    )
    await consumer.start()
    found: list[str] = []
    try:
        deadline = time.monotonic() + timeout_s
        while not found and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    headers = {name: value.decode() for name, value in record.headers}
                    if headers.get(RUN_HEADER) == run_id:
                        found.append(headers.get(HEADER_ERROR, "?"))
    finally:
        await consumer.stop()
    return found
