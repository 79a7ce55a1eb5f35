"""The escalation service: mentions-scored → the engine → alerts; alert-feedback → new revisions.

On start it rebuilds its state before consuming: the incident book from the
checkpoints carried by the latest revisions on the compacted `alerts` topic,
then the windows, by replaying `mentions-scored` from `REPLAY` ago up to the
group's committed offsets, without emitting. Live: decode (bad records → DLQ) → engine → publish every
alert with acks=all (key alert_id, incident scope and trace context in the
headers) → return, which commits. A restart replays what was not committed;
the incident book recognises the evidence, so nothing is emitted twice.
A batch whose publishing fails leaves the engine marked dirty and is redelivered;
before it is observed again the engine is rebuilt from the topics exactly as on a
restart, so its state holds only committed batches and the alerts already
published: nothing is lost, repeated or skipped.
Each configured notifier (webhook, Slack, e-mail) reads `alerts` in its own
group; HTTP serves /feedback, /health, /ready and /stats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import metrics
from opentelemetry.trace import SpanKind

from veille_contracts.codec import DecodeError, decode, encode
from veille_contracts.models import Alert, AlertFeedback, ScoredMention
from veille_contracts.settings import VeilleSettings, load_settings
from veille_contracts.streams import (
    consumer_options,
    dead_letter,
    decode_batch_or_dead_letter,
    kafka_broker,
    read_topic,
)
from veille_contracts.telemetry import context_of, setup_telemetry, span_attributes, trace_headers, tracer
from veille_contracts.web import serve as serve_http
from veille_contracts.web import service_app
from veille_escalation.engine import Escalation
from veille_escalation.http import http_routes
from veille_escalation.incidents import Checkpoint, FeedbackError, IncidentBook, position_of
from veille_escalation.notifiers import Gate, Notifier, NotifyPolicy, RetryPolicy, deliver, notifiers_from_settings

SERVICE = "escalation"
GROUP = "veille-escalation"
FEEDBACK_GROUP = "veille-escalation-feedback"
SCOPE_HEADER = "veille-incident-scope"
CHECKPOINT_HEADER = "veille-incident-checkpoint"
NOTIFY_GROUP = "veille-notify-{}"
REPLAY = timedelta(days=35)  # the longest window: four weeks before the last week of employee voice
LOGGER = logging.getLogger("veille.escalation")
TRACER = tracer(SERVICE)
SKIPPED = metrics.get_meter("veille.escalation").create_counter(
    "veille.notify.skipped", description="Alerts a channel did not send, by channel and reason"
)
LATE = metrics.get_meter("veille.escalation").create_counter(
    "veille.notify.late", description="Alerts sent after the catch-up age, marked late"
)
INGEST_TO_ALERT = metrics.get_meter("veille.escalation").create_histogram(
    "veille.ingest_to_alert", unit="s", description="From a mention's ingestion to the alert it raised"
)


def build_broker(settings: VeilleSettings, engine: Escalation, notifiers: Sequence[Notifier] = ()) -> KafkaBroker:
    broker = kafka_broker(settings, SERVICE)
    mentions = broker.subscriber(
        "mentions-scored", batch=True, max_records=500, batch_timeout_ms=100, **consumer_options(settings, GROUP)
    )
    feedback = broker.subscriber("alert-feedback", **consumer_options(settings, FEEDBACK_GROUP))
    state = StateGuard(settings, engine)

    @mentions
    async def escalate(message: KafkaMessage) -> None:
        await state.clean()
        async with state.transaction():
            await _escalate(message)

    async def _escalate(message: KafkaMessage) -> None:
        decoded = await decode_batch_or_dead_letter(broker, message, "mentions-scored", SERVICE)
        ordered = sorted(decoded, key=lambda pair: position_of(pair[1]))
        for record, mention in ordered:
            attributes = span_attributes(mention_id=mention.mention_id)
            with TRACER.start_as_current_span(
                "escalate mention", context=context_of(record.headers), kind=SpanKind.CONSUMER, attributes=attributes
            ) as span:
                alerts = engine.observe(mention)
                for alert in alerts:
                    span.add_event("alert", span_attributes(alert_id=alert.alert_id, revision=alert.revision))
                    INGEST_TO_ALERT.record(
                        (datetime.now(UTC) - mention.ingested_at).total_seconds(), {"kind": alert.kind.value}
                    )
                await publish_alerts(broker, engine, alerts)

    @feedback
    async def apply_feedback(message: KafkaMessage) -> None:
        record: Any = message.raw_message
        try:
            verdict: AlertFeedback = decode("alert-feedback", record.value or b"")
            alert = engine.feedback(verdict)
        except (DecodeError, FeedbackError) as error:
            await dead_letter(broker, record, "alert-feedback", str(error), SERVICE)
            return
        with TRACER.start_as_current_span("apply feedback", context=context_of(record.headers)):
            async with state.transaction():
                await publish_alerts(broker, engine, [alert])

    policy = RetryPolicy(attempts=settings.notify_attempts, backoff_s=settings.notify_backoff_s)
    for notifier in notifiers:
        subscriber = broker.subscriber("alerts", **consumer_options(settings, NOTIFY_GROUP.format(notifier.name)))
        subscriber(_notify_through(broker, Gate(notifier, NotifyPolicy.from_settings(settings)), policy))
    return broker


class StateGuard:
    """Keeps the engine's state to what was committed: after a failed publish, rebuild before going on."""

    def __init__(self, settings: VeilleSettings, engine: Escalation) -> None:
        self.settings, self.engine = settings, engine
        self.dirty = False

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        try:
            yield
        except BaseException:
            self.dirty = True
            raise

    async def clean(self) -> None:
        """Rebuild from the topics if a publish failed; raises (and the batch is redelivered) while it cannot."""
        if not self.dirty:
            return
        LOGGER.warning("a publish failed: rebuilding the state from the topics before going on")
        self.engine.reset()
        await rebuild(self.settings, self.engine)
        self.dirty = False


def _notify_through(broker: KafkaBroker, gate: Gate, policy: RetryPolicy) -> Any:
    """The consumer of `alerts` for one channel: deliver, or dead-letter what cannot be delivered."""
    notifier: Notifier = gate.notifier

    async def notify(message: KafkaMessage) -> None:
        record: Any = message.raw_message
        try:
            alert: Alert = decode("alerts", record.value or b"")
        except DecodeError as error:  # analytics, the topic's main reader, dead-letters it
            LOGGER.warning("%s: skipped an undecodable alert at offset %s: %s", notifier.name, record.offset, error)
            return
        now = datetime.now(UTC)
        decision = gate.decide(alert, datetime.fromtimestamp(record.timestamp / 1000, UTC), now)
        if not decision.send:
            LOGGER.info(
                "%s: alert %s rev %d not sent: %s", notifier.name, alert.alert_id, alert.revision, decision.skipped
            )
            SKIPPED.add(1, {"channel": notifier.name, "reason": (decision.skipped or "").split(":")[0].split(" (")[0]})
            return
        if decision.late:
            LATE.add(1, {"channel": notifier.name})
        outcome = await deliver(notifier, alert, policy, late=decision.late)
        if outcome.delivered:
            gate.sent(alert, now)
        else:
            reason = f"not delivered by {notifier.name} after {outcome.attempts} attempt(s): {outcome.error}"
            await dead_letter(broker, record, "alerts", reason, f"{SERVICE}-notify-{notifier.name}")

    notify.__name__ = f"notify_{notifier.name}"
    return notify


async def publish_alerts(broker: KafkaBroker, engine: Escalation, alerts: Sequence[Alert]) -> None:
    """Publish alerts keyed by alert_id, waiting for acks=all, with the book's checkpoint and the current trace."""
    headers = trace_headers()
    await asyncio.gather(
        *[
            broker.publish(
                encode(alert),
                topic="alerts",
                key=alert.alert_id.encode(),
                headers={**headers, **alert_headers(engine, alert)},
            )
            for alert in alerts
        ]
    )


def alert_headers(engine: Escalation, alert: Alert) -> dict[str, str]:
    """What travels with an alert revision so that a restart restores the book exactly."""
    return {SCOPE_HEADER: engine.scope_of(alert), CHECKPOINT_HEADER: engine.checkpoint(alert).encode()}


def restore(
    engine: Escalation, revisions: Iterable[tuple[Alert, Mapping[str, bytes]]], mentions: Iterable[ScoredMention]
) -> None:
    """The book from the alerts' checkpoints, then the detectors' windows from the committed mentions."""
    checkpointed = []
    for alert, headers in revisions:
        try:
            checkpointed.append((alert, Checkpoint.decode(headers[CHECKPOINT_HEADER])))
        except (KeyError, ValueError):  # a revision published before checkpoints: scope only
            engine.book.restore(alert, headers.get(SCOPE_HEADER, b"").decode())
    engine.book.restore_checkpoints(checkpointed)
    for mention in sorted(mentions, key=position_of):
        engine.observe(mention, replay=True)


async def rebuild(settings: VeilleSettings, engine: Escalation, now: datetime | None = None) -> dict[str, int]:
    """Restore the book from the `alerts` topic, then replay the already-committed mentions into the windows."""
    revisions: list[tuple[Alert, Mapping[str, bytes]]] = []
    for record in await read_topic(settings, "alerts", start=None, stop_at_committed=None):
        try:
            revisions.append((decode("alerts", record.value or b""), dict(record.headers or ())))
        except DecodeError:
            continue
    since = (now or datetime.now(UTC)) - REPLAY
    mentions: list[ScoredMention] = []
    for record in await read_topic(settings, "mentions-scored", start=since, stop_at_committed=GROUP):
        try:
            mentions.append(decode("mentions-scored", record.value or b""))
        except DecodeError:
            continue
    restore(engine, revisions, mentions)
    LOGGER.info("rebuilt: %d alert revisions, %d mentions replayed", len(revisions), len(mentions))
    return {"alerts": len(revisions), "mentions": len(mentions)}


def create_app(settings: VeilleSettings | None = None) -> AsgiFastStream:
    """The escalation service; its state is rebuilt from the topics before it consumes."""
    settings = settings or load_settings()
    setup_telemetry(settings, SERVICE)
    engine = Escalation(
        book=IncidentBook(timedelta(days=settings.escalation_incident_days), settings.escalation_max_incidents)
    )
    client = httpx.AsyncClient(timeout=10.0)
    broker = build_broker(settings, engine, notifiers_from_settings(settings, client))
    observe_false_alarms(engine)

    async def restore_state() -> None:
        await rebuild(settings, engine)

    ready = {"ready": False}
    app, _ = service_app(broker, settings, http_routes(settings, broker, engine, ready), [restore_state], ready)

    @app.after_shutdown
    async def close_client() -> None:
        await client.aclose()

    return app


def observe_false_alarms(engine: Escalation, meter: metrics.Meter | None = None) -> None:
    """The false-alarm rate per alert kind as an OpenTelemetry gauge (read at each export)."""

    def rates(_options: metrics.CallbackOptions) -> list[metrics.Observation]:
        return [metrics.Observation(rate, {"kind": kind}) for kind, rate in engine.book.false_alarm_rate().items()]

    (meter or metrics.get_meter("veille.escalation")).create_observable_gauge(
        "veille.escalation.false_alarm_rate", callbacks=[rates], unit="1", description="False alarms over verdicts"
    )


async def serve(settings: VeilleSettings) -> None:
    """Run the service with its HTTP endpoints until SIGTERM or Ctrl-C."""
    await serve_http(create_app(settings), settings, settings.escalation_http_port)


if __name__ == "__main__":
    asyncio.run(serve(load_settings()))
