"""Churn risk, influential unhappy authors and advocates: one post is enough, for the right post."""

from __future__ import annotations

from tests.escalation.helpers import T0, connector, post, small
from veille_contracts.models import AlertKind, Audience, Polarity, Voice
from veille_escalation.detectors.single import advocate, churn_risk, influential_author
from veille_escalation.engine import Escalation


def test_a_customer_stating_the_intent_to_leave_is_always_a_churn_risk() -> None:
    findings = churn_risk(post(polarity=Polarity.NEGATIVE, churn=0.8, author=small(followers=3)))
    assert [f.kind for f in findings] == [AlertKind.CHURN_RISK]
    assert findings[0].audience is Audience.CUSTOMER_SERVICE
    assert findings[0].numbers["churn_intent"] == 0.8


def test_churn_needs_a_customer_and_the_decision_point() -> None:
    assert churn_risk(post(churn=0.45)) == []
    assert churn_risk(post(churn=0.9, voice=Voice.EMPLOYEE)) == []
    # a brand that marked churn alerts false alarms asks for more certainty
    assert churn_risk(post(churn=0.55), scale=1.3) == []


def test_an_unhappy_connector_is_influential_and_an_unhappy_small_account_is_not() -> None:
    loud = post(author=connector(), polarity=Polarity.NEGATIVE, disappointment=0.7)
    quiet = post(author=small(followers=900), polarity=Polarity.NEGATIVE, disappointment=0.7)
    assert [f.kind for f in influential_author(loud)] == [AlertKind.INFLUENTIAL_AUTHOR]
    assert influential_author(quiet) == []
    assert influential_author(post(author=connector(), polarity=Polarity.NEUTRAL)) == []


def test_an_enthusiastic_customer_with_reach_is_an_advocate_for_communications() -> None:
    findings = advocate(post(author=connector(), polarity=Polarity.POSITIVE, strength=0.92))
    assert findings and findings[0].audience is Audience.COMMUNICATIONS
    assert advocate(post(author=small(), polarity=Polarity.POSITIVE, strength=0.92)) == []
    assert advocate(post(author=connector(), polarity=Polarity.POSITIVE, strength=0.6)) == []


def test_findings_of_one_author_on_one_day_share_a_window() -> None:
    morning = churn_risk(post(churn=0.9))[0]
    evening = churn_risk(post(morning.detected_at.replace(hour=21), churn=0.9))[0]
    assert (morning.window_start, morning.scope) == (evening.window_start, evening.scope)


def test_a_mention_naming_two_brands_is_escalated_for_each_of_them() -> None:
    mention = post(T0, churn=0.95, polarity=Polarity.NEGATIVE, text="Je quitte Banque Aurore pour Fibrelia Banque.")
    both = mention.model_copy(update={"brands": ["Banque Aurore", "Fibrelia"]})
    alerts = Escalation().observe(both)
    churn = [a for a in alerts if a.kind is AlertKind.CHURN_RISK]
    assert sorted(a.brand for a in churn) == ["Banque Aurore", "Fibrelia"]
    assert len({a.alert_id for a in churn}) == 2


def test_a_positive_post_with_churn_words_is_not_a_churn_risk() -> None:
    joined = post(polarity=Polarity.POSITIVE, churn=0.8, text="Left my old bank for Banque Aurore, best move ever.")
    assert churn_risk(joined) == []
