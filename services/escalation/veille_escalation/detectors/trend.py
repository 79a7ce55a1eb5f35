"""Slow slides over weeks: a customer (or all customers of a brand) drifting away, employees turning sour.

The tone of a post is p(positive) − p(negative), from −1 to 1. Drift compares a
recent period with the weeks before it; the employer-brand detector compares
the share of negative employee and candidate posts in the last week with the
four weeks before, and names the employer aspects that grew.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from veille_contracts.models import AlertKind, Audience, Polarity, ScoredMention, ScoreStatus, Voice
from veille_escalation.findings import Evidence, Finding

EMPLOYER_VOICES = frozenset({Voice.EMPLOYEE, Voice.CANDIDATE})


def tone(mention: ScoredMention) -> float:
    scores = mention.polarity_scores
    return float(scores.get(Polarity.POSITIVE, 0.0) - scores.get(Polarity.NEGATIVE, 0.0))


@dataclass(frozen=True)
class TrendSettings:
    recent: timedelta = timedelta(days=7)  # an author's recent period
    history: timedelta = timedelta(days=56)
    author_decline: float = 0.5  # tone points lost between the periods
    author_min_before: int = 3
    author_min_recent: int = 2
    segment_recent: timedelta = timedelta(days=7)
    segment_before: timedelta = timedelta(days=21)
    segment_decline: float = 0.25
    segment_min_posts: int = 20
    employer_recent: timedelta = timedelta(days=7)
    employer_before: timedelta = timedelta(days=28)
    employer_ratio: float = 2.0  # negative posts per day, against the weeks before
    employer_rise: float = 0.1  # rise of the negative share
    employer_min_negative: int = 5


@dataclass(frozen=True)
class _Point:
    at: datetime
    tone: float
    negative: bool
    evidence: Evidence
    aspects: tuple[str, ...]


def _between(points: deque[_Point], start: datetime, end: datetime) -> list[_Point]:
    return [p for p in points if start <= p.at < end]


def _prune(points: deque[_Point], oldest: datetime) -> None:
    while points and points[0].at < oldest:
        points.popleft()


class DriftDetector:
    """An author whose tone slides from positive to neutral or negative; a brand's customers doing the same."""

    def __init__(self, settings: TrendSettings | None = None) -> None:
        self.settings = settings or TrendSettings()
        self._authors: dict[tuple[str, str], deque[_Point]] = defaultdict(deque)
        self._customers: dict[str, deque[_Point]] = defaultdict(deque)

    def observe(self, mention: ScoredMention, scale: float = 1.0) -> list[Finding]:
        if mention.status is not ScoreStatus.SCORED or mention.voice is not Voice.CUSTOMER:
            return []
        brand, now = mention.brands[0], mention.published_at
        point = _Point(now, tone(mention), mention.polarity is Polarity.NEGATIVE, Evidence.of(mention), ())
        author = self._authors[(brand, mention.author.id)]
        author.append(point)
        _prune(author, now - self.settings.history)
        customers = self._customers[brand]
        customers.append(point)
        _prune(customers, now - self.settings.segment_recent - self.settings.segment_before)
        return [
            f for f in (self._author(brand, mention, author, scale), self._segment(brand, now, customers, scale)) if f
        ]

    def _author(self, brand: str, mention: ScoredMention, points: deque[_Point], scale: float) -> Finding | None:
        s, now = self.settings, mention.published_at
        recent = _between(points, now - s.recent, now + timedelta(seconds=1))
        before = _between(points, now - s.history, now - s.recent)
        if len(before) < s.author_min_before or len(recent) < s.author_min_recent:
            return None
        was, is_now = statistics.mean(p.tone for p in before), statistics.mean(p.tone for p in recent)
        if was < 0.2 or is_now > 0.0 or was - is_now < s.author_decline * scale:
            return None
        return Finding(
            brand=brand,
            kind=AlertKind.DRIFT,
            audience=Audience.CUSTOMER_SERVICE,
            scope=f"author:{mention.author.id}",
            detected_at=now,
            window_start=now - s.history,
            window_end=now,
            evidence=tuple(p.evidence for p in sorted(recent, key=lambda p: p.tone)[:5]),
            numbers={"tone_before": round(was, 3), "tone_now": round(is_now, 3), "posts_before": float(len(before))},
        )

    def _segment(self, brand: str, now: datetime, points: deque[_Point], scale: float) -> Finding | None:
        s = self.settings
        recent = _between(points, now - s.segment_recent, now + timedelta(seconds=1))
        before = _between(points, now - s.segment_recent - s.segment_before, now - s.segment_recent)
        if len(recent) < s.segment_min_posts or len(before) < s.segment_min_posts:
            return None
        was, is_now = statistics.mean(p.tone for p in before), statistics.mean(p.tone for p in recent)
        if was - is_now < s.segment_decline * scale:
            return None
        worst = sorted(recent, key=lambda p: (p.tone, -p.evidence.followers))[:5]
        return Finding(
            brand=brand,
            kind=AlertKind.DRIFT,
            audience=Audience.COMMUNICATIONS,
            scope="segment:customers",
            detected_at=now,
            window_start=now - s.segment_recent,
            window_end=now,
            evidence=tuple(p.evidence for p in worst),
            numbers={"tone_before": round(was, 3), "tone_now": round(is_now, 3), "posts_now": float(len(recent))},
        )


class EmployerBrandDetector:
    """A negative shift in employee and candidate voice, routed to HR."""

    def __init__(self, settings: TrendSettings | None = None) -> None:
        self.settings = settings or TrendSettings()
        self._voices: dict[str, deque[_Point]] = defaultdict(deque)

    def observe(self, mention: ScoredMention, scale: float = 1.0) -> list[Finding]:
        if mention.status is not ScoreStatus.SCORED or mention.voice not in EMPLOYER_VOICES:
            return []
        s, brand, now = self.settings, mention.brands[0], mention.published_at
        negative = mention.polarity is Polarity.NEGATIVE
        points = self._voices[brand]
        points.append(_Point(now, tone(mention), negative, Evidence.of(mention), tuple(mention.aspects)))
        _prune(points, now - s.employer_recent - s.employer_before)
        recent = _between(points, now - s.employer_recent, now + timedelta(seconds=1))
        before = _between(points, now - s.employer_recent - s.employer_before, now - s.employer_recent)
        negative_now = [p for p in recent if p.negative]
        negative_before = [p for p in before if p.negative]
        if len(negative_now) < s.employer_min_negative * scale or len(before) < 5:
            return []
        per_day_now = len(negative_now) / s.employer_recent.days
        per_day_before = max(len(negative_before), 1) / s.employer_before.days
        share_now = len(negative_now) / len(recent)
        share_before = len(negative_before) / len(before)
        if (
            per_day_now < s.employer_ratio * scale * per_day_before
            or share_now - share_before < s.employer_rise * scale
        ):
            return []
        aspects_now = Counter(a for p in negative_now for a in p.aspects)
        aspects_before = Counter(a for p in before if p.negative for a in p.aspects)
        grown = sorted(aspects_now, key=lambda a: aspects_now[a] - aspects_before[a] * len(recent) / len(before))
        return [
            Finding(
                brand=brand,
                kind=AlertKind.EMPLOYER_BRAND,
                audience=Audience.HR,
                scope="employees",
                detected_at=now,
                window_start=now - s.employer_recent,
                window_end=now,
                evidence=tuple(p.evidence for p in negative_now[-5:]),
                numbers={
                    "negative_share_now": round(share_now, 3),
                    "negative_share_before": round(share_before, 3),
                    "negative_posts_now": float(len(negative_now)),
                    "negative_per_day_now": round(per_day_now, 2),
                    "negative_per_day_before": round(per_day_before, 2),
                },
                speed=per_day_now / per_day_before,
                origin={"aspects": list(reversed(grown))[:3]},
            )
        ]
