"""A clickhouse-connect client built from settings, for the CLI, the demo and the tests."""

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
    )


def ensure_database(settings: VeilleSettings) -> None:
    admin = clickhouse_client(settings, database="")
    try:
        admin.command(f"CREATE DATABASE IF NOT EXISTS `{settings.clickhouse_database}`")
    finally:
        admin.close()
