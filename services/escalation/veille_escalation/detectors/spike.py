"""Spikes of volume or negativity, per brand and per brand × aspect, against a robust seasonal baseline.

Counts live in 10-minute buckets. The current value is the last hour. The
baseline is the median and MAD of the same hour of day over the previous seven
days (the trailing 24 hours while there are fewer than three days of history),
with a Poisson floor so that a quiet series does not alarm on two posts. A spike
needs all of: a value above median + k·σ, at least `min_count` posts, at least
`min_ratio` times the baseline, and growth (the last half hour at least as busy
as the one before). It names its likely origin: the aspects, terms and sources
over-represented against the baseline, and its flag-bearers.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from veille_contracts.models import AlertKind, Audience, Polarity, ScoredMention, ScoreStatus, Voice
from veille_escalation.findings import Evidence, Finding

BUCKET = timedelta(minutes=10)
BUCKETS_PER_HOUR = 6
BUCKETS_PER_DAY = 144
HISTORY_DAYS = 7
WARM_UP_BUCKETS = BUCKETS_PER_DAY  # no spike before a day of history
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
STOPWORDS = frozenset(
    [
        "avec",
        "dans",
        "pour",
        "pas",
        "plus",
        "mais",
        "très",
        "tout",
        "tous",
        "toute",
        "cette",
        "sont",
        "elle",
        "nous",
        "vous",
        "leur",
        "leurs",
        "depuis",
        "encore",
        "même",
        "comme",
        "fait",
        "faire",
        "être",
        "avoir",
        "chez",
        "quand",
        "quoi",
        "alors",
        "aussi",
        "bien",
        "rien",
        "jamais",
        "that",
        "this",
        "with",
        "have",
        "from",
        "your",
        "they",
        "them",
        "their",
        "just",
        "what",
        "when",
        "there",
        "been",
        "were",
        "will",
        "would",
        "about",
        "after",
        "again",
        "into",
        "than",
        "then",
        "only",
        "really",
        "still",
        "very",
        "because",
        "could",
        "should",
    ]
)


@dataclass(frozen=True)
class SpikeSettings:
    k: float = 5.0  # robust z-score to beat
    min_count: int = 8  # posts in the last hour
    min_ratio: float = 3.0  # times the baseline


@dataclass
class _Series:
    """Counts per bucket of one (brand, metric) series; the first bucket seen marks the history's start."""

    counts: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    first: int | None = None


@dataclass(frozen=True)
class _Recent:
    bucket: int
    evidence: Evidence
    aspects: tuple[str, ...]
    terms: tuple[str, ...]
    source: str


def bucket_of(moment: datetime) -> int:
    return int(moment.timestamp() // BUCKET.total_seconds())


def start_of(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * BUCKET.total_seconds(), tz=UTC)


def terms_of(text: str, brand: str) -> tuple[str, ...]:
    brand_words = {w.lower() for w in _WORD.findall(brand)}
    words = {w.lower() for w in _WORD.findall(text)}
    return tuple(sorted(words - STOPWORDS - brand_words))


def robust_baseline(samples: list[int]) -> tuple[float, float]:
    """Median and a robust σ (1.4826·MAD) with a Poisson floor √median, at least 1."""
    median = float(statistics.median(samples))
    mad = float(statistics.median([abs(s - median) for s in samples]))
    return median, max(1.4826 * mad, median**0.5, 1.0)


class SpikeDetector:
    """Watches every brand's negative volume, total volume and negative volume per aspect."""

    def __init__(self, settings: SpikeSettings | None = None) -> None:
        self.settings = settings or SpikeSettings()
        self._series: dict[tuple[str, str], _Series] = defaultdict(_Series)
        self._recent: dict[str, deque[_Recent]] = defaultdict(deque)
        self._history: dict[str, dict[int, Counter[str]]] = defaultdict(dict)  # per brand: bucket → profile

    def observe(self, mention: ScoredMention, scale: float = 1.0) -> list[Finding]:
        if mention.status is not ScoreStatus.SCORED or mention.voice in (Voice.EMPLOYEE, Voice.CANDIDATE):
            return []
        brand = mention.brands[0]
        bucket = bucket_of(mention.published_at)
        negative = mention.polarity is Polarity.NEGATIVE or mention.disappointment >= 0.5
        metrics = ["volume"] + (["negative"] + [f"aspect:{a}" for a in mention.aspects] if negative else [])
        for metric in metrics:
            series = self._series[(brand, metric)]
            series.counts[bucket] += 1
            if series.first is None or bucket < series.first:
                series.first = bucket
        self._remember(brand, bucket, mention, negative)
        findings = []
        for metric in metrics:
            finding = self._check(brand, metric, bucket, mention, scale)
            if finding is not None:
                findings.append(finding)
        return findings

    def _remember(self, brand: str, bucket: int, mention: ScoredMention, negative: bool) -> None:
        recent = self._recent[brand]
        if negative:
            item = _Recent(
                bucket, Evidence.of(mention), tuple(mention.aspects), terms_of(mention.text, brand), mention.source
            )
            recent.append(item)
            profile = self._history[brand].setdefault(bucket, Counter())
            profile.update([f"aspect:{a}" for a in item.aspects] + [f"term:{t}" for t in item.terms])
            profile[f"source:{item.source}"] += 1
            profile["total"] += 1
        while recent and recent[0].bucket <= bucket - BUCKETS_PER_HOUR:
            recent.popleft()
        oldest = bucket - (HISTORY_DAYS + 1) * BUCKETS_PER_DAY
        history = self._history[brand]
        for old in [b for b in history if b < oldest]:
            del history[old]

    def _check(self, brand: str, metric: str, bucket: int, mention: ScoredMention, scale: float) -> Finding | None:
        series = self._series[(brand, metric)]
        # history starts with the brand's first post: an aspect never named before has a baseline of zero
        brand_first = self._series[(brand, "volume")].first
        first = brand_first if brand_first is not None else bucket
        if bucket - first < WARM_UP_BUCKETS:
            return None
        current = self._sum(series, bucket - BUCKETS_PER_HOUR + 1, bucket)
        settings = self.settings
        if current < settings.min_count * scale:
            return None
        samples = self._samples(series, bucket, first)
        median, sigma = robust_baseline(samples)
        threshold = median + settings.k * scale * sigma
        half = BUCKETS_PER_HOUR // 2
        last_half = self._sum(series, bucket - half + 1, bucket)
        previous_half = self._sum(series, bucket - 2 * half + 1, bucket - half)
        if current < threshold or current < settings.min_ratio * scale * max(median, 0.5) or last_half < previous_half:
            return None
        window_start = start_of(bucket - BUCKETS_PER_HOUR + 1)
        evidence = self._evidence(brand, metric)
        if not evidence:
            return None
        self._prune_series(series, bucket)
        return Finding(
            brand=brand,
            kind=AlertKind.SPIKE,
            audience=Audience.COMMUNICATIONS,
            scope=metric,
            detected_at=mention.published_at,
            window_start=window_start,
            window_end=start_of(bucket + 1),
            evidence=tuple(evidence),
            numbers={
                "current": float(current),
                "baseline_median": median,
                "baseline_sigma": round(sigma, 3),
                "threshold": round(threshold, 3),
                "ratio": round(current / max(median, 0.5), 2),
                "baseline_days": float(len(samples) if len(samples) <= HISTORY_DAYS else 0),
            },
            speed=current / max(median, 0.5),
            origin=self._origin(brand, bucket),
        )

    @staticmethod
    def _sum(series: _Series, first: int, last: int) -> int:
        return sum(series.counts.get(b, 0) for b in range(first, last + 1))

    def _samples(self, series: _Series, bucket: int, first: int) -> list[int]:
        """Same hour of day over the previous days if there are three or more; else the trailing 24 hours."""
        days = [d for d in range(1, HISTORY_DAYS + 1) if bucket - d * BUCKETS_PER_DAY - BUCKETS_PER_HOUR + 1 >= first]
        if len(days) >= 3:
            return [
                self._sum(series, bucket - d * BUCKETS_PER_DAY - BUCKETS_PER_HOUR + 1, bucket - d * BUCKETS_PER_DAY)
                for d in days
            ]
        hours = range(1, 25)
        return [
            self._sum(series, bucket - (h + 1) * BUCKETS_PER_HOUR + 1, bucket - h * BUCKETS_PER_HOUR)
            for h in hours
            if bucket - (h + 1) * BUCKETS_PER_HOUR + 1 >= first
        ] or [0]

    @staticmethod
    def _prune_series(series: _Series, bucket: int) -> None:
        oldest = bucket - (HISTORY_DAYS + 1) * BUCKETS_PER_DAY
        for old in [b for b in series.counts if b < oldest]:
            del series.counts[old]

    def _evidence(self, brand: str, metric: str) -> list[Evidence]:
        recent = list(self._recent[brand])
        if metric.startswith("aspect:"):
            aspect = metric.removeprefix("aspect:")
            recent = [r for r in recent if aspect in r.aspects]
        # the posts that carry the most reach first, then the latest
        ranked = sorted(recent, key=lambda r: (r.evidence.followers, r.bucket), reverse=True)
        return [r.evidence for r in ranked[:10]]

    def _origin(self, brand: str, bucket: int) -> dict[str, list[str]]:
        """What is over-represented in the last hour against the week before, and who carries it."""
        recent = list(self._recent[brand])
        window: Counter[str] = Counter()
        for item in recent:
            window.update([f"aspect:{a}" for a in item.aspects] + [f"term:{t}" for t in item.terms])
            window[f"source:{item.source}"] += 1
        baseline: Counter[str] = Counter()
        for b, profile in self._history[brand].items():
            if b <= bucket - BUCKETS_PER_HOUR:
                baseline.update(profile)
        window_total, baseline_total = max(len(recent), 1), max(baseline["total"], 1)
        origin: dict[str, list[str]] = {}
        for prefix in ("aspect", "term", "source"):
            lifts = []
            for key, count in window.items():
                if not key.startswith(prefix + ":") or count < 2:
                    continue
                lift = (count / window_total) / ((baseline[key] + 1) / (baseline_total + 1))
                if lift >= 1.5:
                    lifts.append((lift, count, key.split(":", 1)[1]))
            origin[f"{prefix}s"] = [name for _, _, name in sorted(lifts, reverse=True)[:3]]
        by_author: dict[str, int] = {}
        for item in recent:
            by_author[item.evidence.author_id] = max(by_author.get(item.evidence.author_id, 0), item.evidence.followers)
        posts = Counter(item.evidence.author_id for item in recent)
        bearers = sorted(by_author, key=lambda a: (by_author[a] * posts[a], posts[a]), reverse=True)[:3]
        origin["flag_bearers"] = bearers
        return origin
