"""The escalation service on the real broker: alerts published once, feedback applied, state rebuilt on restart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Stack
from tests.escalation.helpers import post, small
from tests.escalation.topics import alerts_for, produce
from veille_contracts.codec import encode
from veille_contracts.models import AlertFeedback, AlertStatus, Polarity, ScoredMention
from veille_escalation import app as app_module
from veille_escalation.app import SCOPE_HEADER, build_broker, rebuild
from veille_escalation.engine import Escalation

pytestmark = pytest.mark.integration


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
        await produce(stack, "mentions-scored", [encode(first), b"{not a mention"])
        [(alert, headers)] = await alerts_for(stack, brand, 1)
        assert alert.revision == 1 and alert.status is AlertStatus.OPEN
        assert headers[SCOPE_HEADER] == first.author.id.encode()
        verdict = AlertFeedback(
            alert_id=alert.alert_id, status=AlertStatus.ACKNOWLEDGED, by="agent-7", at=datetime.now(UTC)
        )
        await produce(stack, "alert-feedback", [encode(verdict)])
        revisions = await alerts_for(stack, brand, 2)
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
        await produce(stack, "mentions-scored", [encode(first), encode(_churn(brand, 20, author=1))])
        revisions = await alerts_for(stack, brand, 3)
    finally:
        await broker.stop()
    assert [(a.revision, a.status) for a, _ in revisions] == [
        (1, AlertStatus.OPEN),
        (2, AlertStatus.ACKNOWLEDGED),
        (3, AlertStatus.ACKNOWLEDGED),
    ]
    assert len({a.alert_id for a, _ in revisions}) == 1


async def test_a_publish_that_fails_mid_batch_loses_no_alert_and_repeats_none(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    brand = f"Marque {uuid.uuid4().hex[:6]}"
    mentions = [_churn(brand, minutes, author) for minutes, author in ((0, 11), (1, 12), (2, 13), (3, 11))]
    real = app_module.publish_alerts
    calls = {"n": 0}

    async def fails_once_after_the_first_alert(broker: object, engine: Escalation, alerts: list[object]) -> None:
        calls["n"] += 1
        if calls["n"] == 2 and alerts:  # the second alert of the batch: the broker "goes away"
            raise ConnectionError("broker went away mid-batch")
        await real(broker, engine, alerts)  # type: ignore[arg-type]

    monkeypatch.setattr(app_module, "publish_alerts", fails_once_after_the_first_alert)
    engine = Escalation()
    broker = build_broker(stack.settings, engine)
    await broker.start()
    try:
        await produce(stack, "mentions-scored", [encode(m) for m in mentions])
        found = await alerts_for(stack, brand, 4)
    finally:
        await broker.stop()
    assert calls["n"] > 2  # the failure happened and the batch came back
    revisions = sorted((alert.alert_id, alert.revision) for alert, _ in found)
    # three customers, three incidents; the fourth post (customer 11 again) is revision 2 of the first
    assert len({alert_id for alert_id, _ in revisions}) == 3
    assert len(revisions) == len(set(revisions)), "an alert revision was published twice"
    for alert_id in {alert_id for alert_id, _ in revisions}:
        numbers = [revision for other, revision in revisions if other == alert_id]
        assert numbers == list(range(1, len(numbers) + 1)), "a revision is missing"
    assert sum(revision == 2 for _, revision in revisions) == 1
