"""Write batches to ClickHouse: one insert per batch, deduplicated on replay, retried on outage.

Payloads go as the topic's own JSON lines into `<table>_incoming` (JSONEachRow,
parsed by ClickHouse; materialized views flatten them into `<table>`), so the
service does no row building or serialisation of its own. A transient failure
(server down, timeout) is retried with exponential backoff; if the budget runs
out the error propagates so the consumer does not commit and the batch comes
back. A batch the server refuses for its data is split until the offending lines
are found: the others are written, those are returned for the DLQ.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

log = logging.getLogger(__name__)


def batch_token(records: Iterable[Any]) -> str:
    """A deterministic insert_deduplication_token for a batch of consumed records."""
    where = ",".join(f"{r.topic}:{r.partition}:{r.offset}" for r in records)
    return hashlib.sha256(where.encode()).hexdigest()


INSERT_SETTINGS = {
    "async_insert": 0,
    "date_time_input_format": "best_effort",
    "deduplicate_blocks_in_dependent_materialized_views": 1,
    "input_format_skip_unknown_fields": 0,
}


def insert_json(client: Client, table: str, lines: Sequence[bytes], token: str) -> None:
    """One insert of JSON payloads into `<table>_incoming`, deduplicated by `token`."""
    client.raw_insert(
        f"{table}_incoming",
        insert_block=b"\n".join(lines),
        fmt="JSONEachRow",
        settings={**INSERT_SETTINGS, "insert_deduplication_token": token},
    )


def _transient(error: Exception) -> bool:
    if isinstance(error, OperationalError | OSError | TimeoutError):
        return True
    text = str(error)
    # Server-side conditions that pass: too many parts, memory, shutting down, timeouts.
    return any(code in text for code in ("Code: 252", "Code: 241", "Code: 159", "Code: 209", "Code: 394"))


class ClickHouseSink:
    """Inserts batches of JSON payloads into ClickHouse tables."""

    def __init__(
        self, client: Client | None, *, attempts: int = 8, backoff_s: float = 0.25, max_backoff_s: float = 8.0
    ) -> None:
        self.client = client  # None until the service has connected and migrated, before it consumes
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    async def write(self, table: str, lines: Sequence[bytes], token: str) -> list[tuple[int, str]]:
        """Insert JSON payloads; returns (index, error) of those the table cannot hold."""
        if not lines:
            return []
        if self.client is None:
            raise RuntimeError("the sink writes only once ClickHouse is connected")
        try:
            await self._insert_with_retry(self.client, table, lines, token)
            return []
        except Exception as error:  # any refusal, the server's or the client's, is either transient or the data's
            if _transient(error):
                raise
            if len(lines) == 1:
                return [(0, f"{type(error).__name__}: {str(error).splitlines()[0][:500]}")]
        middle = len(lines) // 2
        left = await self.write(table, lines[:middle], f"{token}:l")
        right = await self.write(table, lines[middle:], f"{token}:r")
        return left + [(index + middle, error) for index, error in right]

    async def _insert_with_retry(self, client: Client, table: str, lines: Sequence[bytes], token: str) -> None:
        delay = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            try:
                await asyncio.to_thread(insert_json, client, table, lines, token)
                return
            except Exception as error:
                if not _transient(error) or attempt == self.attempts:
                    raise
                log.warning("insert into %s failed (attempt %d/%d): %s", table, attempt, self.attempts, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
