"""The escalation service: mentions-scored → the engine → alerts; alert-feedback → new revisions.

On start it rebuilds its state before consuming: the latest revision of every
alert from the compacted `alerts` topic, then the windows, by replaying
`mentions-scored` from `REPLAY` ago up to the group's committed offsets,
without emitting. Live: decode (bad records → DLQ) → engine → publish every
alert with acks=all (key alert_id, incident scope and trace context in the
headers) → return, which commits. A restart replays what was not committed;
the incident book recognises the evidence, so nothing is emitted twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaMessage

from veille_contracts.codec import DecodeError, decode, encode
from veille_contracts.models import Alert, AlertFeedback, ScoredMention
from veille_contracts.settings import VeilleSettings, load_settings
from veille_contracts.streams import consumer_options, dead_letter, decode_batch_or_dead_letter, kafka_broker
from veille_escalation.engine import Escalation
from veille_escalation.incidents import FeedbackError

SERVICE = "escalation"
GROUP = "veille-escalation"
FEEDBACK_GROUP = "veille-escalation-feedback"
SCOPE_HEADER = "veille-incident-scope"
REPLAY = timedelta(days=35)  # the longest window: four weeks before the last week of employee voice
LOGGER = logging.getLogger("veille.escalation")


def build_broker(settings: VeilleSettings, engine: Escalation) -> KafkaBroker:
    broker = kafka_broker(settings, SERVICE)
    mentions = broker.subscriber(
        "mentions-scored", batch=True, max_records=500, batch_timeout_ms=100, **consumer_options(settings, GROUP)
    )
    feedback = broker.subscriber("alert-feedback", **consumer_options(settings, FEEDBACK_GROUP))

    @mentions
    async def escalate(message: KafkaMessage) -> None:
        decoded = await decode_batch_or_dead_letter(broker, message, "mentions-scored", SERVICE)
        ordered = sorted(decoded, key=lambda pair: (pair[1].published_at, pair[1].mention_id))
        for record, mention in ordered:
            await publish_alerts(broker, engine, engine.observe(mention), record.headers or ())

    @feedback
    async def apply_feedback(message: KafkaMessage) -> None:
        record: Any = message.raw_message
        try:
            verdict: AlertFeedback = decode("alert-feedback", record.value or b"")
            alert = engine.feedback(verdict)
        except (DecodeError, FeedbackError) as error:
            await dead_letter(broker, record, "alert-feedback", str(error), SERVICE)
            return
        await publish_alerts(broker, engine, [alert], record.headers or ())

    return broker


async def publish_alerts(broker: KafkaBroker, engine: Escalation, alerts: Sequence[Alert], headers: Any) -> None:
    """Publish alerts keyed by alert_id, waiting for acks=all, with the incident scope and trace context."""
    passed = {name: value.decode("utf-8", "replace") for name, value in headers if name == "traceparent"}
    await asyncio.gather(
        *[
            broker.publish(
                encode(alert),
                topic="alerts",
                key=alert.alert_id.encode(),
                headers={**passed, SCOPE_HEADER: engine.scope_of(alert)},
            )
            for alert in alerts
        ]
    )


async def rebuild(settings: VeilleSettings, engine: Escalation, now: datetime | None = None) -> dict[str, int]:
    """Restore alerts from the topic, then replay the already-committed mentions into the windows."""
    restored = 0
    for record in await _read_all(settings, "alerts", start=None, stop_at_committed=None):
        try:
            alert: Alert = decode("alerts", record.value or b"")
        except DecodeError:
            continue
        scope = dict(record.headers or ()).get(SCOPE_HEADER, b"").decode()
        engine.book.restore(alert, scope)
        restored += 1
    since = (now or datetime.now(UTC)) - REPLAY
    mentions: list[ScoredMention] = []
    for record in await _read_all(settings, "mentions-scored", start=since, stop_at_committed=GROUP):
        try:
            mentions.append(decode("mentions-scored", record.value or b""))
        except DecodeError:
            continue
    for mention in sorted(mentions, key=lambda m: (m.published_at, m.mention_id)):
        engine.observe(mention)
    LOGGER.info("rebuilt: %d alert revisions, %d mentions replayed", restored, len(mentions))
    return {"alerts": restored, "mentions": len(mentions)}


async def _read_all(
    settings: VeilleSettings, topic: str, start: datetime | None, stop_at_committed: str | None
) -> list[Any]:
    """Every record of `topic` from `start` (or the beginning) up to the group's committed offsets (or the end)."""
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False, auto_offset_reset="earliest", **settings.kafka_client_options()
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster metadata
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        if stop_at_committed:
            ends = await _committed(settings, stop_at_committed, partitions, ends)
        if start is None:
            # offset 0, not seek_to_beginning: the embedded broker sometimes answers "earliest" with the end;
            # an offset already deleted by retention falls back to the earliest kept (auto_offset_reset)
            for tp in partitions:
                consumer.seek(tp, 0)
        else:
            found = await consumer.offsets_for_times({tp: int(start.timestamp() * 1000) for tp in partitions})
            for tp in partitions:
                consumer.seek(tp, found[tp].offset if found.get(tp) else ends[tp])
        records: list[Any] = []
        remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        while remaining:
            for tp, batch in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                records += [r for r in batch if r.offset < ends[tp]]
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


async def _committed(
    settings: VeilleSettings, group: str, partitions: list[TopicPartition], ends: dict[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The group's committed offset per partition; nothing committed yet means nothing to replay."""
    probe = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **settings.kafka_client_options())
    await probe.start()
    try:
        committed = {}
        for tp in partitions:
            offset = await probe.committed(tp)
            committed[tp] = min(offset if offset is not None and offset >= 0 else 0, ends[tp])
        return committed
    finally:
        await probe.stop()


def create_app(settings: VeilleSettings | None = None) -> FastStream:
    """The escalation service; its state is rebuilt from the topics before it consumes."""
    settings = settings or load_settings()
    engine = Escalation()
    broker = build_broker(settings, engine)
    app = FastStream(broker)

    @app.on_startup
    async def restore_state() -> None:
        await rebuild(settings, engine)

    return app


if __name__ == "__main__":
    asyncio.run(create_app().run())
