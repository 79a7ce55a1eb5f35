"""Spikes: quiet noise stays quiet, a burst fires once warm, and the spike names its origin."""

from __future__ import annotations

import random

from tests.escalation.helpers import T0, hours, post, small
from veille_contracts.models import AlertKind, Polarity, ScoredMention
from veille_escalation.detectors.spike import BURST, SpikeDetector, robust_baseline, terms_of
from veille_escalation.engine import Escalation
from veille_escalation.findings import Finding


def _quiet_mentions(days: int, seed: int = 3) -> list[ScoredMention]:
    rng = random.Random(seed)
    mentions = []
    for hour in range(days * 24):
        for _ in range(rng.randint(1, 4)):
            at = T0 + hours(hour) + hours(rng.random())
            negative = rng.random() < 0.3
            mentions.append(
                post(
                    at,
                    author=small(rng.randrange(500)),
                    polarity=Polarity.NEGATIVE if negative else Polarity.NEUTRAL,
                    aspects=(rng.choice(("price", "app", "support")),),
                    text="Service client moyen, rien de neuf.",
                )
            )
    return sorted(mentions, key=lambda m: m.published_at)


def _quiet(detector: SpikeDetector, days: int, seed: int = 3) -> list[Finding]:
    rng = random.Random(seed)
    found: list[Finding] = []
    for hour in range(days * 24):
        for _ in range(rng.randint(1, 4)):
            at = T0 + hours(hour) + hours(rng.random())
            negative = rng.random() < 0.3
            mention = post(
                at,
                author=small(rng.randrange(500)),
                polarity=Polarity.NEGATIVE if negative else Polarity.NEUTRAL,
                aspects=(rng.choice(("price", "app", "support")),),
                text="Service client moyen, rien de neuf.",
            )
            found += detector.observe(mention)
    return found


def test_the_baseline_is_robust_to_one_outlier_and_has_a_poisson_floor() -> None:
    median, sigma = robust_baseline([3, 4, 3, 5, 4, 60, 3])
    assert median == 4 and sigma < 3
    assert robust_baseline([0, 0, 0]) == (0.0, 1.0)


def test_quiet_noise_raises_no_spike() -> None:
    assert _quiet(SpikeDetector(), days=4) == []


def test_a_burst_of_outage_complaints_fires_and_names_its_origin() -> None:
    detector = SpikeDetector()
    _quiet(detector, days=4)
    burst_start = T0 + hours(4 * 24 + 0.5)
    findings = []
    for minute in range(0, 50, 2):
        findings += detector.observe(
            post(
                burst_start + hours(minute / 60),
                author=small(9000 + minute, followers=300 + minute),
                polarity=Polarity.NEGATIVE,
                aspects=("outage",),
                text="Panne générale, coupure internet depuis ce matin",
            )
        )
    assert findings, "the burst went unnoticed"
    spike = findings[0]
    assert spike.kind is AlertKind.SPIKE
    assert spike.numbers["current"] >= 8 and spike.numbers["ratio"] >= 3
    assert "outage" in spike.origin["aspects"]
    assert {"panne", "coupure"} & set(spike.origin["terms"])
    assert spike.origin["flag_bearers"]
    assert {f.scope for f in findings} == {BURST}
    assert {f.subject for f in findings} <= {"negative", "aspect:outage", "volume"}


def test_one_burst_is_one_incident_revised_as_it_grows() -> None:
    engine = Escalation()
    for mention in _quiet_mentions(days=4):
        engine.observe(mention)
    burst_start = T0 + hours(4 * 24 + 0.5)
    alerts = []
    for minute in range(0, 90):
        alerts += engine.observe(
            post(
                burst_start + hours(minute / 60),
                author=small(9000 + minute),
                polarity=Polarity.NEGATIVE,
                aspects=("outage", "support") if minute % 2 else ("outage",),
                text="Panne générale, coupure internet depuis ce matin",
            )
        )
    spikes = [a for a in alerts if a.kind is AlertKind.SPIKE]
    assert spikes, "the burst went unnoticed"
    assert len({a.alert_id for a in spikes}) == 1
    assert [a.revision for a in spikes] == list(range(1, len(spikes) + 1))
    # a revision only when the evidence grows by a quarter: 10 posts to the 50 kept is at most eight
    assert len(spikes) <= 8


def test_a_cold_brand_raises_a_negative_burst_but_not_a_busy_first_hour() -> None:
    detector = SpikeDetector()
    findings = []
    for minute in range(0, 30):  # 42 negative posts in half an hour, no history at all
        for n in range(2 if minute % 3 else 1):
            at = T0 + hours(minute / 60)
            findings += detector.observe(post(at, author=small(minute * 2 + n), polarity=Polarity.NEGATIVE))
    assert findings and findings[0].numbers["cold_start"] == 1.0
    quiet = SpikeDetector()
    busy = []
    for minute in range(0, 60):  # a big brand's ordinary first hour: a third negative
        polarity = Polarity.NEGATIVE if minute % 3 == 0 else Polarity.NEUTRAL
        busy += quiet.observe(post(T0 + hours(minute / 60), author=small(minute), polarity=polarity))
    assert busy == []


def test_a_positive_burst_is_not_a_spike() -> None:
    detector = SpikeDetector()
    _quiet(detector, days=4)
    campaign = T0 + hours(4 * 24 + 0.5)
    found = []
    for minute in range(0, 60):
        found += detector.observe(
            post(campaign + hours(minute / 60), author=small(7000 + minute), polarity=Polarity.POSITIVE)
        )
    assert found == []


def test_terms_drop_stopwords_and_the_brand() -> None:
    assert terms_of("Banque Aurore : encore une panne avec la carte", "Banque Aurore") == ("carte", "panne")
