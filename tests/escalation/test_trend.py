"""Slow slides: a loyal customer drifting away, employees turning sour."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.escalation.helpers import T0, post, small
from veille_contracts.models import AlertKind, Audience, Polarity, Voice
from veille_escalation.detectors import trend
from veille_escalation.detectors.trend import DriftDetector, EmployerBrandDetector, _Point, _TwoPeriods
from veille_escalation.findings import Evidence


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


def test_authors_silent_for_longer_than_the_history_are_let_go_and_the_active_ones_kept() -> None:
    detector = DriftDetector()
    for index in range(1_000):  # a thousand one-off authors over a day
        detector.observe(post(T0 + timedelta(seconds=80 * index), author=small(index)))
    regular = small(5_000)
    for day in range(0, 70, 5):
        detector.observe(post(T0 + timedelta(days=day), author=regular))
    assert detector.authors_followed == 1  # only the regular remains, 70 days on

    later = T0 + timedelta(days=70)
    found = []
    for day in range(0, 30, 2):  # and the regular's drift is still seen
        polarity = Polarity.NEGATIVE if day >= 24 else Polarity.POSITIVE
        found += detector.observe(post(later + timedelta(days=day), author=regular, polarity=polarity))
    assert [f for f in found if f.scope == f"author:{regular.id}"]


def test_past_the_cap_the_least_recently_active_authors_are_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trend, "MAX_AUTHORS", 10)
    detector = DriftDetector()
    for index in range(50):
        detector.observe(post(T0 + timedelta(minutes=index), author=small(index)))
    detector.observe(post(T0 + timedelta(hours=2), author=small(45)))  # an author seen again stays
    assert detector.authors_followed == 10
    followed = {author for _, author in detector._authors}
    assert small(45).id in followed and small(0).id not in followed


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


def test_late_posts_count_in_their_own_hour_and_posts_too_old_for_either_period_are_ignored() -> None:
    periods = _TwoPeriods(recent=timedelta(days=1), before=timedelta(days=2))
    mention = post(T0)
    evidence = Evidence.of(mention)

    def at(hours: float, tone: float) -> _Point:
        return _Point(T0 + timedelta(hours=hours), tone, tone < 0, evidence, ())

    for hours, tone_value in [(0, 1.0), (30, 0.5), (50, -1.0), (10, 0.0), (26, 0.2), (-30, 0.9)]:
        periods.add(at(hours, tone_value))
    # recent: hours 27..50 → 30 and 50; before: hours -21..26 → 0, 10 and 26; -30 is too old for either
    assert (periods.recent_totals.count, periods.before_totals.count) == (2, 3)
    assert periods.recent_totals.mean_tone == -0.25
    assert round(periods.before_totals.mean_tone, 6) == 0.4
    assert [b.start for b in periods.before] == sorted(b.start for b in periods.before)
    periods.add(at(80, 0.0))  # recent: hours 57..80; before: hours 9..56 (10, 26, 30, 50); hour 0 leaves
    assert (periods.recent_totals.count, periods.before_totals.count) == (1, 4)
    assert [b.start.hour for b in periods.before] == [(T0 + timedelta(hours=h)).hour for h in (10, 26, 30, 50)]
