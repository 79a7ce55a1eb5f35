"""Versioned ClickHouse migrations, applied at start and idempotently.

Each `migrations/NNNN_name.sql` runs once per database, in order; what ran is
recorded in `schema_migrations`. Statements use `IF NOT EXISTS`, so a migration
interrupted half-way is safe to run again. The retention TTL follows settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from clickhouse_connect.driver.client import Client

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_COMMENT = re.compile(r"^\s*--.*$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: list[str]


def migrations() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files("veille_analytics.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            body = _COMMENT.sub("", entry.read_text(encoding="utf-8"))
            statements = [s.strip() for s in body.split(";") if s.strip()]
            found.append(Migration(int(match["version"]), match["name"], statements))
    return sorted(found, key=lambda m: m.version)


def migrate(client: Client, retention_days: int) -> list[int]:
    """Apply pending migrations on the client's database and set the TTL; returns the versions applied."""
    client.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))"
        " ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = {row[0] for row in client.query("SELECT version FROM schema_migrations FINAL").result_rows}
    applied = []
    for migration in migrations():
        if migration.version in done:
            continue
        for statement in migration.statements:
            client.command(statement)
        client.insert("schema_migrations", [[migration.version, migration.name]], column_names=["version", "name"])
        applied.append(migration.version)
    set_retention(client, retention_days)
    return applied


def set_retention(client: Client, retention_days: int) -> None:
    """Make the mentions TTL match the configured retention (a no-op when it already does)."""
    days = int(retention_days)
    if f"toIntervalDay({days})" not in str(client.command("SHOW CREATE TABLE mentions")):
        client.command(
            f"ALTER TABLE mentions MODIFY TTL toDateTime(published_at) + INTERVAL {days} DAY",
            settings={"mutations_sync": 2},
        )
