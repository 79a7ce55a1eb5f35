"""Migrations on the real ClickHouse: applied once, in order, idempotent, retention from settings."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import Stack
from veille_analytics.clickhouse import connect
from veille_analytics.schema import migrate, migrations

pytestmark = pytest.mark.integration


def test_migrations_apply_once_and_the_retention_follows_settings(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"clickhouse_database": f"m_{uuid.uuid4().hex[:8]}"})
    client = connect(settings)
    versions = [m.version for m in migrations()]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)

    assert migrate(client, retention_days=730) == versions
    assert migrate(client, retention_days=730) == []
    assert "toIntervalDay(730)" in str(client.command("SHOW CREATE TABLE mentions"))

    migrate(client, retention_days=30)
    assert "toIntervalDay(30)" in str(client.command("SHOW CREATE TABLE mentions"))
    tables = {row[0] for row in client.query("SHOW TABLES").result_rows}
    assert {"mentions", "alerts", "alert_feedback", "alerts_current", "mentions_hourly", "aspects_daily"} <= tables
    rows = client.query("SELECT name, engine FROM system.tables WHERE database = currentDatabase()").result_rows
    engines = {str(name): str(engine) for name, engine in rows}
    assert engines["mentions"] == "ReplacingMergeTree"
    assert engines["mentions_hourly"] == "AggregatingMergeTree"
