"""ClickHouseSink on the real ClickHouse: one insert per batch, replays deduplicated, bad rows isolated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Stack
from veille_analytics.clickhouse import connect
from veille_analytics.schema import migrate
from veille_analytics.sinks import ClickHouseSink
from veille_analytics.synthetic import story
from veille_contracts.codec import encode

pytestmark = pytest.mark.integration
LAST_WEEK = datetime.now(UTC) - timedelta(days=8)


def _lines(count: int) -> list[bytes]:
    mentions = story(("Banque Aurore",), LAST_WEEK, weeks=1, per_week=count)
    return [encode(m) for m in mentions][:count]


async def test_a_replayed_batch_with_its_token_is_written_once(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"clickhouse_database": f"w_{uuid.uuid4().hex[:8]}"})
    client = connect(settings)
    migrate(client, settings.retention_days)
    sink, lines = ClickHouseSink(client), _lines(500)
    for _ in range(3):
        assert await sink.write("mentions", lines, token="mentions-scored:0:0-499") == []
    assert client.query("SELECT count() FROM mentions").result_rows == [(500,)]  # no FINAL: really written once


async def test_rows_that_do_not_fit_the_table_are_isolated_and_the_rest_is_written(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"clickhouse_database": f"w_{uuid.uuid4().hex[:8]}"})
    client = connect(settings)
    migrate(client, settings.retention_days)
    mentions = list(story(("Banque Aurore",), LAST_WEEK, weeks=1, per_week=64))[:64]
    for index in (5, 40):  # the contract accepts any date; the table refuses implausible ones
        mentions[index] = mentions[index].model_copy(update={"published_at": datetime(1999, 12, 31, tzinfo=UTC)})
    lines = [encode(m) for m in mentions]
    refused = await ClickHouseSink(client).write("mentions", lines, token=uuid.uuid4().hex)
    assert [index for index, _ in refused] == [5, 40]
    assert all(error for _, error in refused)
    assert client.query("SELECT count() FROM mentions").result_rows == [(62,)]
