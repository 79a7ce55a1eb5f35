"""clickhouse-connect against the real embedded ClickHouse server, restarts included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.conftest import Stack
from veille.infra.embedded import clickhouse_answers
from veille_analytics.clickhouse import clickhouse_client, connect

pytestmark = pytest.mark.integration


def _table_with_rows(stack: Stack, rows: int) -> str:
    client = connect(stack.settings)
    table = f"t_{uuid.uuid4().hex[:8]}"
    client.command(
        f"CREATE TABLE {table} (mention_id String, brand LowCardinality(String), at DateTime64(3, 'UTC'))"
        " ENGINE = ReplacingMergeTree ORDER BY (brand, mention_id)"
    )
    now = datetime.now(UTC)
    client.insert(
        table,
        [[f"m{n}", "Banque Aurore" if n % 2 else "Nimbus Mobile", now] for n in range(rows)],
        column_names=["mention_id", "brand", "at"],
    )
    client.close()
    return table


def test_clickhouse_connect_creates_inserts_and_selects(stack: Stack) -> None:
    table = _table_with_rows(stack, 1000)
    client = clickhouse_client(stack.settings)
    counts = client.query(
        f"SELECT brand, count() FROM {table} WHERE brand = {{brand:String}} GROUP BY brand",
        parameters={"brand": "Banque Aurore"},
    ).result_rows
    assert counts == [("Banque Aurore", 500)]
    assert client.query("SELECT version()").result_rows[0][0].startswith("26.9")


def test_a_replayed_batch_with_the_same_deduplication_token_is_written_once(stack: Stack) -> None:
    client = connect(stack.settings)
    table = f"d_{uuid.uuid4().hex[:8]}"
    client.command(
        f"CREATE TABLE {table} (mention_id String) ENGINE = MergeTree ORDER BY mention_id"
        " SETTINGS non_replicated_deduplication_window = 100"
    )
    token = uuid.uuid4().hex
    for _ in range(2):
        client.insert(
            table,
            [["a"], ["b"]],
            column_names=["mention_id"],
            settings={"insert_deduplication_token": token, "async_insert": 0},
        )
    assert client.query(f"SELECT count() FROM {table}").result_rows == [(2,)]


def test_data_survives_a_clean_restart_and_a_sigkill(stack: Stack) -> None:
    table = _table_with_rows(stack, 250)
    stack.infra.restart("clickhouse")
    stack.refresh()
    assert clickhouse_answers(str(stack.settings.clickhouse_url).rstrip("/"))
    client = clickhouse_client(stack.settings)
    assert client.query(f"SELECT count() FROM {table}").result_rows == [(250,)]
    client.close()

    stack.infra.kill("clickhouse")
    assert [s.state for s in stack.infra.status() if s.name == "clickhouse"] == ["dead"]
    stack.infra.restart("clickhouse")
    stack.refresh()
    client = clickhouse_client(stack.settings)
    assert client.query(f"SELECT count(), uniqExact(mention_id) FROM {table}").result_rows == [(250, 250)]
