"""Slow slides: a loyal customer drifting away, employees turning sour."""

from __future__ import annotations

from datetime import timedelta

from tests.escalation.helpers import T0, post, small
from veille_contracts.models import AlertKind, Audience, Polarity, Voice
from veille_escalation.detectors.trend import DriftDetector, EmployerBrandDetector


def test_a_customer_whose_tone_slides_from_warm_to_sour_is_a_drift_for_customer_service() -> None:
    detector = DriftDetector()
    author = small(42)
    found = []
    for day in range(0, 30, 2):
        sour = day >= 24
        found += detector.observe(
            post(T0 + timedelta(days=day), author=author, polarity=Polarity.NEGATIVE if sour else Polarity.POSITIVE)
        )
    drift = [f for f in found if f.scope == f"author:{author.id}"]
    assert drift and drift[0].audience is Audience.CUSTOMER_SERVICE
    assert drift[0].numbers["tone_before"] > 0.5 > drift[0].numbers["tone_now"]
    assert drift[0].detected_at >= T0 + timedelta(days=24)


def test_a_steady_customer_does_not_drift() -> None:
    detector = DriftDetector()
    found = []
    for day in range(0, 40, 2):
        polarity = Polarity.POSITIVE if day % 4 else Polarity.NEUTRAL
        found += detector.observe(post(T0 + timedelta(days=day), author=small(7), polarity=polarity))
    assert found == []


def test_employees_turning_sour_reach_hr_with_the_themes_that_grew() -> None:
    detector = EmployerBrandDetector()
    found = []
    for day in range(35):
        for slot in range(2):
            negative = day >= 28 or (day % 5 == 0 and slot == 0)
            found += detector.observe(
                post(
                    T0 + timedelta(days=day, hours=9 + slot * 5),
                    author=small(100 + slot),
                    voice=Voice.EMPLOYEE,
                    polarity=Polarity.NEGATIVE if negative else Polarity.NEUTRAL,
                    aspects=("workload",) if negative and day >= 28 else ("culture",),
                )
            )
    assert found, "the slide went unnoticed"
    first = found[0]
    assert first.kind is AlertKind.EMPLOYER_BRAND and first.audience is Audience.HR
    assert first.origin["aspects"][0] == "workload"
    assert first.numbers["negative_share_now"] > first.numbers["negative_share_before"]
