"""`veille run analytics` as its own process: consumes, writes, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.conftest import Stack
from tests.processes import service_env
from veille_analytics.clickhouse import clickhouse_client
from veille_contracts.catalog import topic

pytestmark = pytest.mark.integration


async def _publish(stack: Stack, topic_name: str, payloads: list[bytes]) -> None:
    producer = AIOKafkaProducer(acks="all", **stack.settings.kafka_client_options())
    await producer.start()
    try:
        for payload in payloads:
            await producer.send_and_wait(topic_name, payload)
    finally:
        await producer.stop()


def test_the_analytics_process_writes_the_examples_and_stops_on_sigterm(stack: Stack, tmp_path: Path) -> None:
    database = f"svc_{uuid.uuid4().hex[:8]}"
    env = service_env(stack, tmp_path, clickhouse_database=database)
    service = subprocess.Popen(
        [sys.executable, "-m", "veille.cli", "run", "analytics"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        examples = [p.read_bytes() for p in topic("mentions-scored").examples()]
        asyncio.run(_publish(stack, "mentions-scored", examples))
        client = clickhouse_client(stack.settings, database="")
        ids = [json.loads(e)["mention_id"] for e in examples]
        deadline, found = time.monotonic() + 60, 0
        while time.monotonic() < deadline and found < len(examples):
            time.sleep(0.5)
            try:
                found = client.query(
                    f"SELECT uniqExact(mention_id) FROM `{database}`.mentions"
                    " WHERE mention_id IN {ids:Array(String)}",
                    parameters={"ids": ids},
                ).result_rows[0][0]
            except DatabaseError:  # the database appears once the service has run its migrations
                found = 0
        assert found == len(examples)
    finally:
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=30)
    # uvicorn re-raises the SIGTERM it handled once the service has stopped, so the exit status says so
    assert service.returncode in (0, -signal.SIGTERM), output.decode()[-2000:]
    assert b"shut down gracefully" in output
