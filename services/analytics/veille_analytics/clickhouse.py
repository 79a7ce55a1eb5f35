"""ClickHouse clients built from settings: the one way veille connects to ClickHouse."""

from __future__ import annotations

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from veille_contracts.settings import VeilleSettings


def clickhouse_client(settings: VeilleSettings, database: str | None = None) -> Client:
    """A client for the configured server; `database=""` connects without selecting one."""
    return clickhouse_connect.get_client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        secure=settings.clickhouse_secure,
        username=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        database=settings.clickhouse_database if database is None else database,
        autogenerate_session_id=False,  # clients are shared across threads
    )


def ensure_database(settings: VeilleSettings) -> None:
    """Create the configured database if it does not exist."""
    admin = clickhouse_client(settings, database="")
    try:
        admin.command(f"CREATE DATABASE IF NOT EXISTS `{settings.clickhouse_database}`")
    finally:
        admin.close()


def connect(settings: VeilleSettings) -> Client:
    """A client on the configured database, created first if needed."""
    ensure_database(settings)
    return clickhouse_client(settings)
