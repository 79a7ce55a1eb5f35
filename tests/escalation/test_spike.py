"""Spikes: quiet noise stays quiet, a burst fires once warm, and the spike names its origin."""

from __future__ import annotations

import random

from tests.escalation.helpers import T0, hours, post, small
from veille_contracts.models import AlertKind, Polarity
from veille_escalation.detectors.spike import SpikeDetector, robust_baseline, terms_of
from veille_escalation.findings import Finding


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
    assert {f.scope for f in findings} >= {"negative", "aspect:outage"}


def test_no_spike_before_a_day_of_history() -> None:
    detector = SpikeDetector()
    findings = []
    for minute in range(0, 60, 2):
        findings += detector.observe(post(T0 + hours(minute / 60), polarity=Polarity.NEGATIVE))
    assert findings == []


def test_terms_drop_stopwords_and_the_brand() -> None:
    assert terms_of("Banque Aurore : encore une panne avec la carte", "Banque Aurore") == ("carte", "panne")
