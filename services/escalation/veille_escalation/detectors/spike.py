"""Spikes of volume or negativity, per brand and per brand × aspect, against a robust seasonal baseline.

Counts live in 10-minute buckets. The current value is the last hour. The
baseline is the median and MAD of the same hour of day over the previous seven
days (the trailing 24 hours while there are fewer than three days of history),
with a Poisson floor so that a quiet series does not alarm on two posts. A spike
needs all of: a value above median + k·σ, at least `min_count` posts, at least
`min_ratio` times the baseline, and growth (the last half hour at least as busy
as the one before). It names its likely origin: the aspects, terms and sources
over-represented against the baseline, and its flag-bearers.

One burst is one incident: every metric of a brand reports under the scope
`burst`, so the negative volume, an aspect and the total volume breaking their
baselines in the same hour revise one alert (the metric that fired is the
finding's subject). A burst of mostly positive posts (a campaign that works) is
not a spike. From a cold start (less than a day of history) a brand has no
baseline yet; a negative spike then needs an absolute floor of posts in the hour
(`cold_min_count`) and a negative share of the brand's volume well above the
usual one (`cold_negative_share`, against a prior of about a third).
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
WARM_UP_BUCKETS = BUCKETS_PER_DAY  # a day of history before the seasonal baseline; a prior and a floor until then
KEPT_BUCKETS = (HISTORY_DAYS + 1) * BUCKETS_PER_DAY  # a series holds at most this many buckets of counts
BURST = "burst"  # the one incident scope of a brand's spikes
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
    cold_min_count: int = 20  # negative posts in the last hour, before a day of history
    cold_negative_share: float = 0.6  # of the brand's posts in that hour, before a day of history
    prior_negative_share: float = 0.3  # what a brand's negative share usually is, for the explanation


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
        metrics = (["negative"] + [f"aspect:{a}" for a in mention.aspects] if negative else []) + ["volume"]
        counted = metrics + (["positive"] if mention.polarity is Polarity.POSITIVE else [])
        for metric in counted:
            series = self._series[(brand, metric)]
            series.counts[bucket] += 1
            if series.first is None or bucket < series.first:
                series.first = bucket
            if len(series.counts) > KEPT_BUCKETS:
                self._prune_series(series, bucket)
        self._remember(brand, bucket, mention, negative)
        for metric in metrics:  # the most telling metric first: one finding per post, one incident per burst
            finding = self._check(brand, metric, bucket, mention, scale)
            if finding is not None:
                return [finding]
        return []

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
        current = self._sum(series, bucket - BUCKETS_PER_HOUR + 1, bucket)
        settings = self.settings
        if current < settings.min_count * scale:
            return None
        half = BUCKETS_PER_HOUR // 2
        last_half = self._sum(series, bucket - half + 1, bucket)
        previous_half = self._sum(series, bucket - 2 * half + 1, bucket - half)
        if last_half < previous_half:
            return None
        volume = self._sum(self._series[(brand, "volume")], bucket - BUCKETS_PER_HOUR + 1, bucket)
        if metric == "volume":
            positive = self._sum(self._series[(brand, "positive")], bucket - BUCKETS_PER_HOUR + 1, bucket)
            if positive * 2 >= volume:
                return None  # a positive burst: good news is not a spike
        broken = self._broken_baseline(series, metric, bucket, first, current, volume, scale)
        if broken is None:
            return None
        samples, median, sigma, threshold = broken
        window_start = start_of(bucket - BUCKETS_PER_HOUR + 1)
        evidence = self._evidence(brand, metric)
        if not evidence:
            return None
        return Finding(
            brand=brand,
            kind=AlertKind.SPIKE,
            audience=Audience.COMMUNICATIONS,
            scope=BURST,
            subject=metric,
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
                "cold_start": float(bucket - first < WARM_UP_BUCKETS),
            },
            speed=current / max(median, 0.5),
            origin=self._origin(brand, bucket),
        )

    def _broken_baseline(  # noqa: PLR0917 - the numbers of one check
        self, series: _Series, metric: str, bucket: int, first: int, current: int, volume: int, scale: float
    ) -> tuple[list[int], float, float, float] | None:
        """The baseline samples, median, σ and threshold the current hour broke, or None if it broke none."""
        settings = self.settings
        if bucket - first < WARM_UP_BUCKETS:
            if metric == "volume" or not self._cold_spike(current, volume, scale):
                return None
            median = round(settings.prior_negative_share * volume, 1)
            return [], median, max(median**0.5, 1.0), float(settings.cold_min_count * scale)
        samples = self._samples(series, bucket, first)
        median, sigma = robust_baseline(samples)
        threshold = median + settings.k * scale * sigma
        if current < threshold or current < settings.min_ratio * scale * max(median, 0.5):
            return None
        return samples, median, sigma, threshold

    def _cold_spike(self, negative: int, volume: int, scale: float) -> bool:
        """Before a day of history: an absolute floor of negative posts, and most of the brand's volume."""
        settings = self.settings
        return (
            negative >= settings.cold_min_count * scale
            and negative >= min(0.95, settings.cold_negative_share * scale) * volume
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
