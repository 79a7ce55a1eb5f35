"""One alert per incident, revised as evidence grows; the lifecycle and the feedback loop; replays."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.escalation.helpers import T0, connector, post, small
from veille_contracts.codec import encode, validate
from veille_contracts.models import AlertFeedback, AlertKind, AlertStatus, Polarity, ScoredMention
from veille_escalation.detectors.single import churn_risk
from veille_escalation.engine import Escalation
from veille_escalation.incidents import SCALE_MAX, FeedbackError, IncidentBook, StaleAlertError, UnknownAlertError


def _churn(minutes: int, author: int = 1, churn: float = 0.9) -> ScoredMention:
    return post(T0 + timedelta(minutes=minutes), author=small(author), churn=churn, polarity=Polarity.NEGATIVE)


def _verdict(alert_id: str, status: AlertStatus, minutes: int = 90) -> AlertFeedback:
    return AlertFeedback(alert_id=alert_id, status=status, by="agent-0001", at=T0 + timedelta(minutes=minutes))


def test_the_same_author_the_same_day_is_one_incident_revised_as_evidence_grows() -> None:
    engine = Escalation()
    first = engine.observe(_churn(0))
    second = engine.observe(_churn(30))
    other = engine.observe(_churn(35, author=2))
    assert [a.revision for a in first] == [1] and [a.revision for a in second] == [2]
    assert first[0].alert_id == second[0].alert_id != other[0].alert_id
    assert len(second[0].evidence_mention_ids) == 2
    validate("alerts", json.loads(encode(second[0])))


def test_every_alert_explains_itself_in_english_and_french_with_numbers() -> None:
    alert = Escalation().observe(post(author=connector(), polarity=Polarity.NEGATIVE, disappointment=0.8))[0]
    assert alert.kind is AlertKind.INFLUENTIAL_AUTHOR
    assert "250,000 followers" in alert.explanation.text_en and "250,000 abonnés" in alert.explanation.text_fr
    assert alert.explanation.numbers["reach_followers"] == 250_000
    assert alert.deadline > alert.created_at


def test_a_replay_gives_the_same_alerts() -> None:
    mentions = [_churn(m, author=m % 3) for m in range(0, 200, 7)]
    first = [a for m in mentions for a in Escalation().observe(m)]
    engine = Escalation()
    again = [a for m in mentions for a in engine.observe(m)]
    engine_two = Escalation()
    third = [a for m in mentions for a in engine_two.observe(m)]
    assert [(a.alert_id, a.revision) for a in again] == [(a.alert_id, a.revision) for a in third]
    assert {a.alert_id for a in first} == {a.alert_id for a in again}


def test_lifecycle_open_acknowledged_resolved_and_no_way_back() -> None:
    engine = Escalation()
    first = _churn(0)
    alert = engine.observe(first)[0]
    acknowledged = engine.feedback(_verdict(alert.alert_id, AlertStatus.ACKNOWLEDGED))
    resolved = engine.feedback(_verdict(alert.alert_id, AlertStatus.RESOLVED, 120))
    assert (acknowledged.status, acknowledged.revision) == (AlertStatus.ACKNOWLEDGED, 2)
    assert (resolved.status, resolved.revision) == (AlertStatus.RESOLVED, 3)
    with pytest.raises(FeedbackError, match="cannot become open"):
        engine.feedback(_verdict(alert.alert_id, AlertStatus.OPEN))
    with pytest.raises(FeedbackError, match="unknown alert"):
        engine.feedback(_verdict("0" * 32, AlertStatus.RESOLVED))
    # the same post replayed changes nothing; a new post of the same customer that day reopens the incident
    assert engine.observe(first) == []
    reopened = engine.observe(_churn(200))[0]
    assert (reopened.alert_id, reopened.revision, reopened.status) == (alert.alert_id, 4, AlertStatus.OPEN)


def test_false_alarms_raise_the_detectors_threshold_for_that_brand_within_bounds() -> None:
    engine = Escalation()
    for author in range(12):
        alert = engine.observe(_churn(author, author=author, churn=0.97))[0]
        engine.feedback(_verdict(alert.alert_id, AlertStatus.FALSE_ALARM))
    assert engine.book.scale("Banque Aurore", AlertKind.CHURN_RISK) == SCALE_MAX
    assert engine.book.scale("Fibrelia", AlertKind.CHURN_RISK) == 1.0
    assert engine.book.false_alarm_rate()["churn_risk"] == 1.0
    # at twice the threshold a churn intent of 0.9 is no longer enough; 0.96 still is (capped at 0.95)
    quiet = post(T0 + timedelta(hours=5), author=small(99), churn=0.9)
    assert engine.observe(quiet) == []
    assert engine.observe(post(T0 + timedelta(hours=6), author=small(98), churn=0.96))


def test_an_alert_restored_from_the_topic_is_revised_not_duplicated() -> None:
    engine = Escalation()
    alert = engine.observe(_churn(0))[0]
    scope = engine.scope_of(alert)
    restarted = Escalation()
    restarted.book.restore(alert, scope)
    update = restarted.observe(_churn(20))
    assert [(a.alert_id, a.revision) for a in update] == [(alert.alert_id, 2)]


def test_verdicts_read_back_from_the_topic_restore_the_tuned_thresholds_and_the_false_alarm_rate() -> None:
    engine = Escalation()
    published = []  # every revision, in topic order
    for author in range(3):
        alert = engine.observe(_churn(author, author=author, churn=0.97))[0]
        published.append((alert, engine.scope_of(alert)))
        status = AlertStatus.FALSE_ALARM if author < 2 else AlertStatus.ACKNOWLEDGED
        published.append((engine.feedback(_verdict(alert.alert_id, status)), engine.scope_of(alert)))
    restarted = Escalation()
    for alert, scope in published + published:  # a second read of the same revisions counts nothing more
        restarted.book.restore(alert, scope)
    assert restarted.book.false_alarm_rate() == engine.book.false_alarm_rate() == {"churn_risk": 2 / 3}
    assert restarted.book.scales == engine.book.scales
    assert restarted.book.stats()["verdicts"] == {"churn_risk/acknowledged": 1, "churn_risk/false_alarm": 2}


def test_a_verdict_is_checked_before_it_is_applied() -> None:
    engine = Escalation()
    alert = engine.observe(_churn(0))[0]
    engine.feedback(_verdict(alert.alert_id, AlertStatus.RESOLVED))
    with pytest.raises(FeedbackError, match="cannot become acknowledged"):
        engine.book.check(_verdict(alert.alert_id, AlertStatus.ACKNOWLEDGED))
    with pytest.raises(UnknownAlertError):
        engine.book.check(_verdict("0" * 32, AlertStatus.ACKNOWLEDGED))


def test_a_mention_seen_again_with_more_copies_counts_once() -> None:
    engine = Escalation()
    first = _churn(0)
    assert engine.observe(first)
    assert engine.observe(first.model_copy(update={"duplicates": 4})) == []
    assert engine.observe(_churn(30))  # another post of the same customer still revises the incident


def test_feedback_on_an_alert_that_is_no_longer_current_is_refused_naming_the_current_one() -> None:
    engine = Escalation()
    old = engine.observe(_churn(0))[0]
    engine.feedback(_verdict(old.alert_id, AlertStatus.RESOLVED, 30))
    # the same customer a day later: a new incident, a new alert, under the same key
    new = engine.observe(_churn(60 * 26))[0]
    assert new.alert_id != old.alert_id
    with pytest.raises(StaleAlertError, match=f"current alert is {new.alert_id}"):
        engine.book.check(_verdict(old.alert_id, AlertStatus.ACKNOWLEDGED, 60 * 27))
    assert engine.book.check(_verdict(new.alert_id, AlertStatus.ACKNOWLEDGED, 60 * 27)).alert_id == new.alert_id


def test_an_acknowledgement_dated_before_the_alert_was_raised_is_refused() -> None:
    engine = Escalation()
    alert = engine.observe(_churn(60))[0]
    with pytest.raises(FeedbackError, match="before alert"):
        engine.feedback(_verdict(alert.alert_id, AlertStatus.ACKNOWLEDGED, 30))
    assert engine.feedback(_verdict(alert.alert_id, AlertStatus.ACKNOWLEDGED, 61)).status is AlertStatus.ACKNOWLEDGED


def test_the_book_lets_go_of_silent_incidents_and_keeps_at_most_its_capacity() -> None:
    engine = Escalation(book=IncidentBook(retention=timedelta(days=2), capacity=3))
    first = engine.observe(_churn(0, author=1))[0]
    for day in range(1, 6):
        engine.observe(_churn(day * 24 * 60, author=day + 1))
    assert len(engine.book.incidents) <= 3
    assert first.alert_id not in engine.book.by_id
    with pytest.raises(UnknownAlertError):
        engine.book.check(_verdict(first.alert_id, AlertStatus.ACKNOWLEDGED, 6 * 24 * 60))
    crowded = IncidentBook(capacity=2)
    for author in range(5):
        crowded.record(churn_risk(_churn(author, author=author))[0])
    crowded.forget_before(T0 - timedelta(days=1))
    assert len(crowded.incidents) == 2 and len(crowded.by_id) == 2
