"""Publishing what the pipeline makes: every mention acknowledged by the broker before it counts.

A batch of items goes through the pipeline, its mentions are published
together (acks=all), and any that the broker did not acknowledge are
forgotten by the de-duplication index and reported, so the source sends or
reads them again. On start the index is rebuilt from the recent `mentions-raw`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from opentelemetry import metrics
from opentelemetry.trace import SpanKind

from veille_contracts.codec import DecodeError, decode, encode
from veille_contracts.ids import mention_id
from veille_contracts.models import Mention
from veille_contracts.settings import VeilleSettings
from veille_contracts.streams import kafka_broker, read_topic
from veille_contracts.telemetry import span_attributes, trace_headers, tracer
from veille_ingest.dedup import Deduplicator
from veille_ingest.pipeline import ItemError, Outcome, Pipeline, RawItem
from veille_ingest.sources import Rejected
from veille_ingest.watchlist import WatchList, load_watchlist

LOGGER = logging.getLogger("veille.ingest")
METER = metrics.get_meter("veille.ingest")
ITEMS = METER.create_counter("veille.ingest.items", unit="1", description="Items by source and outcome")
TRACER = tracer("ingest")
LATENCY = METER.create_histogram("veille.ingest.latency", unit="s", description="Published → acknowledged")


class PublishError(RuntimeError):
    """The broker did not acknowledge every mention of a batch; none of them count as ingested."""


@dataclass
class Tally:
    """What became of a batch of items."""

    outcomes: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejected] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.outcomes.update(other.outcomes)
        self.rejected += other.rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            **{status: self.outcomes.get(status, 0) for status in ("emitted", "duplicate", "copy", "unmatched")},
            "rejected": [{"where": r.where, "error": r.error} for r in self.rejected],
        }


@dataclass
class CopyLog:
    """The ids of the copies counted, kept in the state directory: copies are never published, so a restart
    learns them here rather than from mentions-raw, and the same copy read again is not counted twice."""

    path: Path
    keep: int = 500_000

    def load(self) -> list[str]:
        if not self.path.is_file():
            return []
        lines = self.path.read_text(encoding="utf-8").split()
        if len(lines) > 2 * self.keep:  # compacted now and then, never on the hot path
            lines = lines[-self.keep :]
            self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return lines

    def append(self, mention_ids: list[str]) -> None:
        if mention_ids:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as log:
                log.write("".join(f"{m}\n" for m in mention_ids))


@dataclass
class Ingestor:
    """Runs items through the pipeline and publishes them, acknowledged, to mentions-raw."""

    pipeline: Pipeline
    broker: KafkaBroker
    copies: CopyLog
    lag: dict[str, datetime] = field(default_factory=dict)  # newest published_at per source

    async def ingest(self, items: Iterable[RawItem | Rejected]) -> Tally:
        tally = Tally()
        outcomes: list[Outcome] = []
        for item in items:
            if isinstance(item, Rejected):
                tally.rejected.append(item)
                continue
            try:
                outcome = self.pipeline.process(item)
            except ItemError as error:
                tally.rejected.append(Rejected(item.item_id[:200], str(error)))
                ITEMS.add(1, {"source": item.source, "outcome": "rejected"})
                continue
            self.pipeline.commit(outcome)  # at once, so copies within the batch are seen
            outcomes.append(outcome)
        published = [(o, m) for o in outcomes for m in o.to_publish]
        results = await asyncio.gather(*(self._publish(m) for _, m in published), return_exceptions=True)
        failed = {id(o) for (o, _), result in zip(published, results, strict=True) if isinstance(result, BaseException)}
        for outcome in outcomes:
            if id(outcome) in failed:
                self.pipeline.forget(outcome)
                continue
            tally.outcomes[outcome.status] += 1
            ITEMS.add(1, {"source": outcome.item.source, "outcome": outcome.status})
            if outcome.mention is not None:
                source, at = outcome.item.source, outcome.mention.published_at
                self.lag[source] = max(self.lag.get(source, at), at)
                LATENCY.record((datetime.now(UTC) - at).total_seconds(), {"source": source})
        self.copies.append([mention_id(o.item.source, o.item.item_id) for o in outcomes if o.status == "copy"])
        settle()
        if failed:
            first = next(r for r in results if isinstance(r, BaseException))
            raise PublishError(f"{len(failed)} mention(s) not acknowledged by the broker: {first}")
        return tally

    async def _publish(self, mention: Mention) -> None:
        """Publish one mention as the first span of its trace; the trace context travels in its headers."""
        attributes = span_attributes(mention_id=mention.mention_id, source=mention.source)
        with TRACER.start_as_current_span("ingest mention", kind=SpanKind.PRODUCER, attributes=attributes):
            await self.broker.publish(
                encode(mention), topic="mentions-raw", key=mention.mention_id.encode(), headers=trace_headers()
            )

    def stats(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        by_source: dict[str, dict[str, int]] = {}
        for (source, status), n in sorted(self.pipeline.counts.items()):
            by_source.setdefault(source, {})[status] = n
        return {
            "sources": by_source,
            "lag_s": {source: round((now - at).total_seconds(), 1) for source, at in sorted(self.lag.items())},
            "dedup_index": len(self.pipeline.dedup.ids),
        }


def settle() -> None:
    """Move what is alive now out of the cyclic collector's sight.

    The de-duplication index holds millions of small, acyclic, long-lived
    objects; left in the collector's generations they are scanned again and
    again, which measured 30 % of ingest time. Reference counting still frees
    them when they are evicted.
    """
    gc.freeze()


def copy_log(settings: VeilleSettings) -> CopyLog:
    return CopyLog(settings.state_dir / "ingest" / "copies.txt")


async def restore(settings: VeilleSettings, pipeline: Pipeline, now: datetime | None = None) -> int:
    """Read back the recent mentions-raw and the copies counted into the de-duplication index; returns how many."""
    for copy in copy_log(settings).load():
        pipeline.dedup.ids[copy] = 0
    since = (now or datetime.now(UTC)) - timedelta(days=settings.dedup_window_days)
    restored = 0
    for record in await read_topic(settings, "mentions-raw", start=since, stop_at_committed=None):
        try:
            pipeline.restore(decode("mentions-raw", record.value or b""))
        except DecodeError:
            continue
        restored += 1
    LOGGER.info("de-duplication index rebuilt from %d mention(s)", restored)
    return restored


def build_pipeline(settings: VeilleSettings, watchlist: WatchList | None = None) -> Pipeline:
    return Pipeline(
        watchlist or load_watchlist(settings.watchlist),
        settings.author_key.get_secret_value(),
        dedup=Deduplicator(settings.dedup_capacity),
        max_originals=max(1, settings.dedup_capacity // 10),
    )


async def replay(
    settings: VeilleSettings,
    items: Iterable[RawItem | Rejected],
    on_batch: Callable[[int], None] = lambda n: None,
    batch_size: int = 500,
) -> Tally:
    """Ingest a finite stream of items (a file, an export) after rebuilding the de-duplication index."""
    pipeline = build_pipeline(settings)
    broker = kafka_broker(settings, "ingest")
    await broker.start()
    try:
        await restore(settings, pipeline)
        ingestor = Ingestor(pipeline, broker, copy_log(settings))
        total = Tally()
        for batch in _chunks(items, batch_size):
            total.add(await ingestor.ingest(batch))
            on_batch(len(batch))
        return total
    finally:
        await broker.stop()


def _chunks(items: Iterable[RawItem | Rejected], size: int) -> Iterator[list[RawItem | Rejected]]:
    chunk: list[RawItem | Rejected] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
