"""An exact restart: the book restored from the alerts' checkpoints and the replayed mentions equals the book
that published them, on a compacted topic, and both go on to raise the same alerts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.escalation.helpers import T0, hours, post, small
from veille_contracts.models import Alert, AlertFeedback, AlertKind, AlertStatus, Polarity, ScoredMention
from veille_escalation.app import alert_headers, restore
from veille_escalation.engine import Escalation
from veille_escalation.incidents import FeedbackError, StaleAlertError

BRAND = "Banque Aurore"


def _quiet(days: int, rng: random.Random, start: datetime = T0) -> Iterator[ScoredMention]:
    for hour in range(days * 24):
        for _ in range(rng.randint(1, 4)):
            negative = rng.random() < 0.3
            yield post(
                start + hours(hour + rng.random()),
                author=small(rng.randrange(500)),
                polarity=Polarity.NEGATIVE if negative else Polarity.NEUTRAL,
                aspects=(rng.choice(("price", "app", "support")),),
                text="Service client moyen, rien de neuf.",
            )


def _burst(start: datetime, minutes: int, first_author: int) -> Iterator[ScoredMention]:
    for minute in range(minutes):
        yield post(
            start + hours(minute / 60),
            author=small(first_author + minute),
            polarity=Polarity.NEGATIVE,
            aspects=("outage",),
            text="Panne générale, coupure internet depuis ce matin",
        )


def _leaving(at: datetime, author: int, churn: float = 0.9) -> ScoredMention:
    return post(at, author=small(author), churn=churn, polarity=Polarity.NEGATIVE, text="Je résilie demain.")


class Topic:
    """The `alerts` topic as compaction leaves it: the latest revision of each alert, with its headers."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[Alert, dict[str, bytes]]] = {}
        self.revisions: list[tuple[str, int]] = []

    def publish(self, engine: Escalation, alerts: list[Alert]) -> list[Alert]:
        for alert in alerts:
            headers = {name: value.encode() for name, value in alert_headers(engine, alert).items()}
            self.latest[alert.alert_id] = (alert, headers)
            self.revisions.append((alert.alert_id, alert.revision))
        return alerts


Run = tuple[Escalation, Topic, list[ScoredMention], dict[str, Alert]]


def _state(engine: Escalation) -> dict[str, object]:
    book = engine.book
    return {
        "incidents": {
            key: (i.alert.model_dump(), i.last_seen, i.emitted_evidence, i.seq, i.through)
            for key, i in book.incidents.items()
        },
        "scales": {key: round(v, 9) for key, v in book.scales.items() if v != 1.0},
        "verdicts": {key: n for key, n in book.verdicts.items() if n},
        "stats": book.stats(),
        "seq": book.seq,
    }


def _verdict(alert: Alert, status: AlertStatus, at: datetime) -> AlertFeedback:
    return AlertFeedback(alert_id=alert.alert_id, status=status, by="agent-0007", at=at)


def _first_run() -> Run:
    """Four quiet days, a burst judged a false alarm, churn customers acknowledged, resolved and left open,
    a second burst, and evidence folded in after the last published revision."""
    rng, engine, topic = random.Random(5), Escalation(), Topic()
    seen: list[ScoredMention] = []
    found: dict[str, Alert] = {}

    def run(mentions: Iterator[ScoredMention] | list[ScoredMention]) -> None:
        for mention in sorted(mentions, key=lambda m: (m.published_at, m.mention_id)):
            seen.append(mention)
            for alert in topic.publish(engine, engine.observe(mention)):
                found.setdefault(f"{alert.kind.value}:{alert.alert_id}", alert)

    def judge(kind: AlertKind, status: AlertStatus, at: datetime, index: int = -1) -> Alert:
        alert = [a for a in found.values() if a.kind is kind][index]
        current = engine.book.incidents[engine.book.by_id[alert.alert_id]].alert
        return topic.publish(engine, [engine.feedback(_verdict(current, status, at))])[0]

    run(_quiet(4, rng))
    day5 = T0 + hours(4 * 24)
    run([*_burst(day5 + hours(0.5), 90, 9000), *_quiet(1, rng, day5)])
    judge(AlertKind.SPIKE, AlertStatus.FALSE_ALARM, day5 + hours(3))
    day6 = day5 + hours(24)
    run([_leaving(day6 + hours(1), 1), _leaving(day6 + hours(1.2), 2), _leaving(day6 + hours(1.4), 3)])
    judge(AlertKind.CHURN_RISK, AlertStatus.ACKNOWLEDGED, day6 + hours(2), 0)
    judge(AlertKind.CHURN_RISK, AlertStatus.RESOLVED, day6 + hours(2), 1)
    judge(AlertKind.CHURN_RISK, AlertStatus.FALSE_ALARM, day6 + hours(2), 2)
    run([*_burst(day6 + hours(5), 120, 12000), *_quiet(1, rng, day6)])
    # customer 1 again, and customer 5 six times: the sixth post grows the evidence by less than a quarter,
    # so it is folded into the open alert without a revision, after the incident's checkpoint
    run([_leaving(day6 + hours(9), 1), *(_leaving(day6 + hours(9 + n / 10), 5) for n in range(6))])
    return engine, topic, seen, found


@pytest.fixture(scope="module")
def first_run() -> Run:
    return _first_run()


def _restarted(topic: Topic, mentions: list[ScoredMention]) -> Escalation:
    restarted = Escalation()
    restore(restarted, list(topic.latest.values()), mentions)
    return restarted


def test_the_story_has_what_a_restart_must_keep(first_run: Run) -> None:
    engine, topic, _, _ = first_run
    stats = engine.book.stats()
    assert stats["verdicts"] == {
        "churn_risk/acknowledged": 1,
        "churn_risk/false_alarm": 1,
        "churn_risk/resolved": 1,
        "spike/false_alarm": 1,
    }
    assert stats["threshold_scale"] == {f"{BRAND}/churn_risk": 1.15, f"{BRAND}/spike": 1.15}
    spikes = {a.alert_id for a, _ in topic.latest.values() if a.kind is AlertKind.SPIKE}
    assert len(spikes) == 2, "two bursts, two incidents under one scope"
    assert len(topic.latest) < len(topic.revisions), "compaction dropped earlier revisions"
    folded = [i for i in engine.book.incidents.values() if len(i.alert.evidence_mention_ids) > i.emitted_evidence]
    assert folded, "no evidence was folded in after a checkpoint: the replay of silent updates goes untested"


def test_a_restart_from_the_compacted_topic_gives_back_the_same_book(
    first_run: Run,
) -> None:
    engine, topic, mentions, _ = first_run
    assert _state(_restarted(topic, mentions)) == _state(engine)


def test_after_a_restart_the_same_mentions_and_verdicts_give_the_same_alerts() -> None:
    engine, topic, mentions, found = _first_run()
    restarted = _restarted(topic, mentions)
    day7 = T0 + hours(6 * 24)
    later = sorted(
        [*_burst(day7 + hours(3), 90, 20000), *_quiet(1, random.Random(9), day7), _leaving(day7 + hours(1), 1)],
        key=lambda m: (m.published_at, m.mention_id),
    )
    for mention in later:
        assert restarted.observe(mention) == engine.observe(mention)
    # the walkthrough: a false alarm stays one, acknowledging it is refused; feedback on the first burst's
    # alert names the second burst's, on both sides of the restart
    churn = [a for a in found.values() if a.kind is AlertKind.CHURN_RISK][2]
    spike = next(a for a in found.values() if a.kind is AlertKind.SPIKE)
    at = day7 + hours(12)
    for alert, error, says in (
        (churn, FeedbackError, "is false_alarm; it cannot become acknowledged"),
        (spike, StaleAlertError, "is no longer current: its incident's current alert is"),
    ):
        refusals = []
        for book in (engine.book, restarted.book):
            with pytest.raises(error, match=says) as refused:
                book.check(_verdict(alert, AlertStatus.ACKNOWLEDGED, at))
            refusals.append(str(refused.value))
        assert refusals[0] == refusals[1]
    assert _state(restarted) == _state(engine)


def test_replaying_the_mentions_twice_or_reading_every_revision_changes_nothing(
    first_run: Run,
) -> None:
    engine, topic, mentions, _ = first_run
    restarted = Escalation()
    everything = list(topic.latest.values())
    restore(restarted, everything + everything[::-1], mentions)
    restored = _state(restarted)
    for mention in mentions:  # already seen: counted once
        assert restarted.observe(mention, replay=True) == []
    assert _state(restarted) == restored == _state(engine)


def test_a_restart_between_two_mentions_of_one_burst_revises_the_same_alert() -> None:
    rng, engine, topic = random.Random(2), Escalation(), Topic()
    story = sorted(
        [*_quiet(4, rng), *_burst(T0 + hours(4 * 24 + 0.5), 90, 9000)], key=lambda m: (m.published_at, m.mention_id)
    )
    cut = next(i for i, m in enumerate(story) if engine.observe(m) and i > 0) + 10
    engine = Escalation()
    for mention in story[:cut]:
        topic.publish(engine, engine.observe(mention))
    restarted = _restarted(topic, story[:cut])
    after = [restarted.observe(m) for m in story[cut:]]
    assert after == [engine.observe(m) for m in story[cut:]]
    revisions = [(a.alert_id, a.revision) for alerts in after for a in alerts if a.kind is AlertKind.SPIKE]
    assert revisions and len({alert_id for alert_id, _ in revisions}) == 1
    assert revisions[0][1] == max(r for i, r in topic.revisions if i == revisions[0][0]) + 1
    assert timedelta(0) <= story[cut].published_at - story[cut - 1].published_at
