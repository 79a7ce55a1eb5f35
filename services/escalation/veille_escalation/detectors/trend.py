"""Slow slides over weeks: a customer (or all customers of a brand) drifting away, employees turning sour.

The tone of a post is p(positive) − p(negative), from −1 to 1. Drift compares a
recent period with the weeks before it; the employer-brand detector compares
the share of negative employee and candidate posts in the last week with the
four weeks before, and names the employer aspects that grew.
"""

from __future__ import annotations

import heapq
from collections import Counter, OrderedDict, defaultdict, deque
from dataclasses import dataclass, field
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


KEEP = 5  # evidence kept per bucket: the worst-toned posts and the latest negative ones
MAX_AUTHORS = 100_000  # authors followed for drift, the least recently active let go first
HOUR = timedelta(hours=1)


@dataclass
class _Totals:
    count: int = 0
    tone_sum: float = 0.0
    negatives: int = 0
    negative_aspects: Counter[str] = field(default_factory=Counter)

    def add(self, other: _Totals, sign: int = 1) -> None:
        self.count += sign * other.count
        self.tone_sum += sign * other.tone_sum
        self.negatives += sign * other.negatives
        if sign > 0:
            self.negative_aspects.update(other.negative_aspects)
        else:
            self.negative_aspects.subtract(other.negative_aspects)

    @property
    def mean_tone(self) -> float:
        return self.tone_sum / self.count


@dataclass
class _Bucket:
    """One hour of posts: running totals and a handful of evidence, never the posts themselves."""

    start: datetime
    totals: _Totals = field(default_factory=_Totals)
    worst: list[_Point] = field(default_factory=list)
    latest_negative: list[_Point] = field(default_factory=list)

    def add(self, point: _Point) -> _Totals:
        one = _Totals(1, point.tone, int(point.negative), Counter(point.aspects if point.negative else ()))
        self.totals.add(one)
        self.worst = sorted([*self.worst, point], key=lambda p: (p.tone, -p.evidence.followers))[:KEEP]
        if point.negative:
            self.latest_negative = [*self.latest_negative[1 - KEEP :], point]
        return one


class _TwoPeriods:
    """Hourly buckets of a recent period and of the period before it, with running totals of each.

    Memory and time per post stay constant however many posts a brand gets: a
    post updates its hour's totals; as hours pass, buckets move from the recent
    period to the one before, then out. Periods are whole hours, the current
    one included.
    """

    def __init__(self, recent: timedelta, before: timedelta) -> None:
        self.recent_span, self.before_span = recent, before
        self.recent: deque[_Bucket] = deque()
        self.before: deque[_Bucket] = deque()
        self.recent_totals, self.before_totals = _Totals(), _Totals()

    def add(self, point: _Point) -> None:
        hour = point.at.replace(minute=0, second=0, microsecond=0)
        if not self.recent or hour > self.recent[-1].start:
            self.recent.append(_Bucket(hour))
            self._roll(hour)
        elif hour < self.recent[-1].start - self.recent_span - self.before_span + HOUR:
            return  # too late to count in either period
        for period, totals in ((self.recent, self.recent_totals), (self.before, self.before_totals)):
            if period and hour >= period[0].start:
                totals.add(self._bucket(period, hour).add(point))
                return
        self.before.appendleft(_Bucket(hour))  # older than every bucket kept
        self.before_totals.add(self.before[0].add(point))

    @staticmethod
    def _bucket(period: deque[_Bucket], hour: datetime) -> _Bucket:
        """The bucket of `hour` in a period, made if the hour had no post yet (late posts are rare)."""
        for index in range(len(period) - 1, -1, -1):
            if period[index].start == hour:
                return period[index]
            if period[index].start < hour:
                period.insert(index + 1, _Bucket(hour))
                return period[index + 1]
        period.appendleft(_Bucket(hour))
        return period[0]

    def _roll(self, hour: datetime) -> None:
        recent_from = hour - self.recent_span + HOUR
        while self.recent and self.recent[0].start < recent_from:
            moved = self.recent.popleft()
            self.recent_totals.add(moved.totals, -1)
            self.before_totals.add(moved.totals)
            self.before.append(_Bucket(moved.start, moved.totals))  # the period before only counts: no evidence
        while self.before and self.before[0].start < recent_from - self.before_span:
            self.before_totals.add(self.before.popleft().totals, -1)

    def worst_recent(self, n: int = KEEP) -> list[_Point]:
        return heapq.nsmallest(
            n, (p for b in self.recent for p in b.worst), key=lambda p: (p.tone, -p.evidence.followers)
        )

    def latest_negative_recent(self, n: int = KEEP) -> list[_Point]:
        found: list[_Point] = []
        for bucket in reversed(self.recent):
            found = [*bucket.latest_negative, *found]
            if len(found) >= n:
                break
        return found[-n:]


class DriftDetector:
    """An author whose tone slides from positive to neutral or negative; a brand's customers doing the same."""

    def __init__(self, settings: TrendSettings | None = None) -> None:
        self.settings = settings or TrendSettings()
        s = self.settings
        # authors by last post, oldest first: one silent for longer than `history` has nothing left to compare
        self._authors: OrderedDict[tuple[str, str], _TwoPeriods] = OrderedDict()
        self._customers: dict[str, _TwoPeriods] = defaultdict(lambda: _TwoPeriods(s.segment_recent, s.segment_before))

    def observe(self, mention: ScoredMention, scale: float = 1.0) -> list[Finding]:
        if mention.status is not ScoreStatus.SCORED or mention.voice is not Voice.CUSTOMER:
            return []
        brand = mention.brands[0]
        point = _Point(
            mention.published_at, tone(mention), mention.polarity is Polarity.NEGATIVE, Evidence.of(mention), ()
        )
        author, customers = self._author_periods(brand, mention), self._customers[brand]
        author.add(point)
        customers.add(point)
        return [
            f
            for f in (self._author(brand, mention, author, scale), self._segment(brand, mention, customers, scale))
            if f
        ]

    def _author_periods(self, brand: str, mention: ScoredMention) -> _TwoPeriods:
        """The author's periods, now the most recently active; authors silent past the history, or the least
        recently active beyond MAX_AUTHORS, are let go."""
        s, key = self.settings, (brand, mention.author.id)
        periods = self._authors.pop(key, None) or _TwoPeriods(s.recent, s.history - s.recent)
        horizon = mention.published_at - s.history
        while self._authors:
            oldest = next(iter(self._authors.values()))
            if oldest.recent[-1].start >= horizon and len(self._authors) < MAX_AUTHORS:
                break
            self._authors.popitem(last=False)
        self._authors[key] = periods
        return periods

    @property
    def authors_followed(self) -> int:
        return len(self._authors)

    def _author(self, brand: str, mention: ScoredMention, periods: _TwoPeriods, scale: float) -> Finding | None:
        s, now = self.settings, mention.published_at
        recent, before = periods.recent_totals, periods.before_totals
        if before.count < s.author_min_before or recent.count < s.author_min_recent:
            return None
        was, is_now = before.mean_tone, recent.mean_tone
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
            evidence=tuple(p.evidence for p in periods.worst_recent()),
            numbers={"tone_before": round(was, 3), "tone_now": round(is_now, 3), "posts_before": float(before.count)},
        )

    def _segment(self, brand: str, mention: ScoredMention, periods: _TwoPeriods, scale: float) -> Finding | None:
        s, now = self.settings, mention.published_at
        recent, before = periods.recent_totals, periods.before_totals
        if recent.count < s.segment_min_posts or before.count < s.segment_min_posts:
            return None
        was, is_now = before.mean_tone, recent.mean_tone
        if was - is_now < s.segment_decline * scale:
            return None
        return Finding(
            brand=brand,
            kind=AlertKind.DRIFT,
            audience=Audience.COMMUNICATIONS,
            scope="segment:customers",
            detected_at=now,
            window_start=now - s.segment_recent,
            window_end=now,
            evidence=tuple(p.evidence for p in periods.worst_recent()),
            numbers={"tone_before": round(was, 3), "tone_now": round(is_now, 3), "posts_now": float(recent.count)},
        )


class EmployerBrandDetector:
    """A negative shift in employee and candidate voice, routed to HR."""

    def __init__(self, settings: TrendSettings | None = None) -> None:
        self.settings = settings or TrendSettings()
        s = self.settings
        self._voices: dict[str, _TwoPeriods] = defaultdict(lambda: _TwoPeriods(s.employer_recent, s.employer_before))

    def observe(self, mention: ScoredMention, scale: float = 1.0) -> list[Finding]:
        if mention.status is not ScoreStatus.SCORED or mention.voice not in EMPLOYER_VOICES:
            return []
        s, brand, now = self.settings, mention.brands[0], mention.published_at
        negative = mention.polarity is Polarity.NEGATIVE
        periods = self._voices[brand]
        periods.add(_Point(now, tone(mention), negative, Evidence.of(mention), tuple(mention.aspects)))
        recent, before = periods.recent_totals, periods.before_totals
        if recent.negatives < s.employer_min_negative * scale or before.count < 5:
            return []
        per_day_now = recent.negatives / s.employer_recent.days
        per_day_before = max(before.negatives, 1) / s.employer_before.days
        share_now = recent.negatives / recent.count
        share_before = before.negatives / before.count
        if (
            per_day_now < s.employer_ratio * scale * per_day_before
            or share_now - share_before < s.employer_rise * scale
        ):
            return []
        aspects_now, aspects_before = recent.negative_aspects, before.negative_aspects
        weight = recent.count / before.count
        grown = sorted(
            (a for a, n in aspects_now.items() if n > 0), key=lambda a: aspects_now[a] - aspects_before[a] * weight
        )
        return [
            Finding(
                brand=brand,
                kind=AlertKind.EMPLOYER_BRAND,
                audience=Audience.HR,
                scope="employees",
                detected_at=now,
                window_start=now - s.employer_recent,
                window_end=now,
                evidence=tuple(p.evidence for p in periods.latest_negative_recent()),
                numbers={
                    "negative_share_now": round(share_now, 3),
                    "negative_share_before": round(share_before, 3),
                    "negative_posts_now": float(recent.negatives),
                    "negative_per_day_now": round(per_day_now, 2),
                    "negative_per_day_before": round(per_day_before, 2),
                },
                speed=per_day_now / per_day_before,
                origin={"aspects": list(reversed(grown))[:3]},
            )
        ]
