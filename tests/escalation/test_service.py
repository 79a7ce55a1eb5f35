"""The escalation service on the real broker: alerts published once, feedback applied, state rebuilt on restart."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.conftest import Stack
from tests.escalation.helpers import post, small
from veille_contracts.codec import decode, encode
from veille_contracts.models import Alert, AlertFeedback, AlertStatus, Polarity, ScoredMention
from veille_escalation.app import SCOPE_HEADER, build_broker, rebuild
from veille_escalation.engine import Escalation

pytestmark = pytest.mark.integration


async def _produce(stack: Stack, topic: str, payloads: list[bytes]) -> None:
    producer = AIOKafkaProducer(acks="all", **stack.settings.kafka_client_options())
    await producer.start()
    try:
        for payload in payloads:
            await producer.send_and_wait(topic, payload)
    finally:
        await producer.stop()


async def _alerts_for(
    stack: Stack, brand: str, count: int, timeout_s: float = 60
) -> list[tuple[Alert, dict[str, Any]]]:
    consumer = AIOKafkaConsumer("alerts", auto_offset_reset="earliest", **stack.settings.kafka_client_options())
    await consumer.start()
    found: list[tuple[Alert, dict[str, Any]]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        alert = decode("alerts", record.value or b"")
                        if alert.brand == brand:
                            found.append((alert, dict(record.headers or ())))
        await asyncio.sleep(1.5)  # and nothing more arrives
        for records in (await consumer.getmany(timeout_ms=500)).values():
            found += [(a, {}) for a in (decode("alerts", r.value or b"") for r in records) if a.brand == brand]
    finally:
        await consumer.stop()
    return found


def _churn(brand: str, minutes: int, author: int) -> ScoredMention:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    return post(
        now + timedelta(minutes=minutes), brand=brand, author=small(author), churn=0.9, polarity=Polarity.NEGATIVE
    )


async def test_alerts_are_published_once_revised_by_feedback_and_not_duplicated_after_a_restart(stack: Stack) -> None:
    brand = f"Marque {uuid.uuid4().hex[:6]}"
    first = _churn(brand, 0, author=1)
    engine = Escalation()
    broker = build_broker(stack.settings, engine)
    await broker.start()
    try:
        await _produce(stack, "mentions-scored", [encode(first), b"{not a mention"])
        [(alert, headers)] = await _alerts_for(stack, brand, 1)
        assert alert.revision == 1 and alert.status is AlertStatus.OPEN
        assert headers[SCOPE_HEADER] == first.author.id.encode()
        verdict = AlertFeedback(
            alert_id=alert.alert_id, status=AlertStatus.ACKNOWLEDGED, by="agent-7", at=datetime.now(UTC)
        )
        await _produce(stack, "alert-feedback", [encode(verdict)])
        revisions = await _alerts_for(stack, brand, 2)
        assert [(a.revision, a.status) for a, _ in revisions] == [(1, AlertStatus.OPEN), (2, AlertStatus.ACKNOWLEDGED)]
    finally:
        await broker.stop()

    # a new instance: state comes back from the topics, the same mention again changes nothing,
    # a second post of the same customer is revision 3 of the same incident
    restarted = Escalation()
    counts = await rebuild(stack.settings, restarted)
    assert counts["alerts"] >= 2 and counts["mentions"] >= 1
    broker = build_broker(stack.settings, restarted)
    await broker.start()
    try:
        await _produce(stack, "mentions-scored", [encode(first), encode(_churn(brand, 20, author=1))])
        revisions = await _alerts_for(stack, brand, 3)
    finally:
        await broker.stop()
    assert [(a.revision, a.status) for a, _ in revisions] == [
        (1, AlertStatus.OPEN),
        (2, AlertStatus.ACKNOWLEDGED),
        (3, AlertStatus.ACKNOWLEDGED),
    ]
    assert len({a.alert_id for a, _ in revisions}) == 1
