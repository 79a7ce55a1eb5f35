"""ClickHouseSink on the real ClickHouse: one insert per batch, replays deduplicated, bad rows isolated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.conftest import Stack
from veille_analytics.clickhouse import connect
from veille_analytics.rows import MENTION_COLUMNS, mention_row
from veille_analytics.schema import migrate
from veille_analytics.sinks import ClickHouseSink
from veille_analytics.synthetic import story

pytestmark = pytest.mark.integration
FOLLOWERS = MENTION_COLUMNS.index("author_followers")


def _rows(count: int) -> list[list[object]]:
    mentions = story(("Banque Aurore",), datetime.now(UTC), weeks=1, per_week=count)
    return [mention_row(m) for m in mentions][:count]


async def test_a_replayed_batch_with_its_token_is_written_once(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"clickhouse_database": f"w_{uuid.uuid4().hex[:8]}"})
    client = connect(settings)
    migrate(client, settings.retention_days)
    sink, rows = ClickHouseSink(client), _rows(500)
    for _ in range(3):
        assert await sink.write("mentions", MENTION_COLUMNS, rows, token="mentions-scored:0:0-499") == []
    assert client.query("SELECT count() FROM mentions").result_rows == [(500,)]  # no FINAL: really written once


async def test_rows_that_do_not_fit_the_table_are_isolated_and_the_rest_is_written(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"clickhouse_database": f"w_{uuid.uuid4().hex[:8]}"})
    client = connect(settings)
    migrate(client, settings.retention_days)
    rows = _rows(64)
    rows[5][FOLLOWERS] = -5  # does not fit UInt64
    rows[40][FOLLOWERS] = 2**70
    refused = await ClickHouseSink(client).write("mentions", MENTION_COLUMNS, rows, token=uuid.uuid4().hex)
    assert [index for index, _ in refused] == [5, 40]
    assert all(error for _, error in refused)
    assert client.query("SELECT count() FROM mentions").result_rows == [(62,)]
