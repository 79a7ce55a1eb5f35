"""The sentiment service: mentions-raw → the model, in dynamic batches → mentions-scored.

decode (bad records → DLQ) → score the batch off the event loop → publish every
scored mention and wait for acks=all → return, which commits the batch's offsets.
A batch the model fails on is retried one mention at a time, so one bad mention
goes to the DLQ instead of stalling the partition.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind

from veille_contracts.codec import encode
from veille_contracts.models import Mention, ScoredMention
from veille_contracts.settings import VeilleSettings, load_settings
from veille_contracts.streams import (
    consumer_options,
    dead_letter,
    decode_batch_or_dead_letter,
    kafka_broker,
)
from veille_contracts.telemetry import context_of, setup_telemetry, span_attributes, trace_headers, tracer
from veille_contracts.web import serve as serve_http
from veille_contracts.web import service_app
from veille_sentiment.encoder import load_encoder
from veille_sentiment.heads import load_heads
from veille_sentiment.scoring import Scorer

SERVICE = "sentiment"
CONSUMED = "mentions-raw"
PRODUCED = "mentions-scored"
GROUP = "veille-sentiment"
LOGGER = logging.getLogger("veille.sentiment")
TRACER = tracer(SERVICE)
METER = metrics.get_meter("veille.sentiment")
SCORED = METER.create_counter("veille.sentiment.mentions", unit="1", description="Mentions scored, by status")
BATCH_SIZE = METER.create_histogram("veille.sentiment.batch_size", unit="1", description="Mentions per model batch")
MODEL_LATENCY = METER.create_histogram("veille.sentiment.model_latency", unit="s", description="Model time per batch")


def build_broker(settings: VeilleSettings, scorer: Scorer) -> KafkaBroker:
    """A broker with one batch subscriber on mentions-raw that publishes to mentions-scored."""
    broker = kafka_broker(settings, SERVICE)
    subscriber = broker.subscriber(
        CONSUMED,
        batch=True,
        max_records=settings.score_batch_size,
        batch_timeout_ms=settings.score_batch_timeout_ms,
        **consumer_options(settings, GROUP),
    )

    @subscriber
    async def score_mentions(message: KafkaMessage) -> None:
        decoded = await decode_batch_or_dead_letter(broker, message, CONSUMED, SERVICE)
        if not decoded:
            return
        started = time.time_ns()
        records = [record for record, _ in decoded]
        mentions: list[Mention] = [payload for _, payload in decoded]
        try:
            scored: list[ScoredMention | None] = list(
                await asyncio.to_thread(scorer.score, mentions, datetime.now(UTC))
            )
            BATCH_SIZE.record(len(mentions))
            MODEL_LATENCY.record((time.time_ns() - started) / 1e9)
        except Exception:
            LOGGER.exception("scoring a batch of %d failed; scoring its mentions one by one", len(mentions))
            scored = [await _score_alone(broker, scorer, record, mention) for record, mention in decoded]
        await publish_scored(broker, records, scored, started)
        for mention in scored:
            if mention is not None:
                SCORED.add(1, {"status": mention.status.value})

    return broker


async def _score_alone(broker: KafkaBroker, scorer: Scorer, record: Any, mention: Mention) -> ScoredMention | None:
    try:
        return (await asyncio.to_thread(scorer.score, [mention], datetime.now(UTC)))[0]
    except Exception as error:
        await dead_letter(broker, record, CONSUMED, f"scoring failed: {type(error).__name__}: {error}", SERVICE)
        return None


async def publish_scored(
    broker: KafkaBroker, records: Sequence[Any], scored: Sequence[ScoredMention | None], started: int | None = None
) -> None:
    """Publish each scored mention keyed by its id, in a span of the trace its raw mention carried."""
    spans, sends = [], []
    for record, mention in zip(records, scored, strict=True):
        if mention is None:
            continue
        span = TRACER.start_span(
            "score mention",
            context=context_of(record.headers),
            kind=SpanKind.CONSUMER,
            start_time=started,
            attributes=span_attributes(mention_id=mention.mention_id, status=mention.status.value),
        )
        with trace.use_span(span):
            headers = trace_headers()
        spans.append(span)
        sends.append(broker.publish(encode(mention), topic=PRODUCED, key=mention.mention_id.encode(), headers=headers))
    try:
        await asyncio.gather(*sends)
    finally:
        for span in spans:
            span.end()


def create_app(settings: VeilleSettings | None = None) -> AsgiFastStream:
    """The sentiment service as a faststream application; the model loads before it consumes."""
    settings = settings or load_settings()
    setup_telemetry(settings, SERVICE)
    scorer = Scorer(load_encoder(settings), load_heads())
    broker = build_broker(settings, scorer)
    app, _ = service_app(broker, settings)
    return app


async def serve(settings: VeilleSettings) -> None:
    """Run the service with /health and /ready until SIGTERM or Ctrl-C."""
    await serve_http(create_app(settings), settings, settings.sentiment_http_port)


if __name__ == "__main__":
    asyncio.run(serve(load_settings()))
