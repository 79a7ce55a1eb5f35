"""Alert quality with real text through the real model (`python -m bench alert_quality`).

Streams of 14 days for three invented brands, made of written posts (bench/data/escalation/, about
brands the model was never trained on): a seasonal background of ordinary complaints, questions,
news and praise, and, on top, labelled incidents and decoys written to fool each detector:

- incidents: a complaint wave (a burst within an hour), customers saying they leave, influential
  unhappy authors;
- decoys: churn words that are not churn (procedures, employees resigning, loyal customers, jokes),
  a positive burst (a campaign), big accounts posting news and praise, employees grumbling.

Every post is scored by the served model, then replayed in story order through the escalation
engine. An incident counts as found only if an alert of its kind cites one of its posts; every
first revision that cites none is a false alert. Time to detect covers every incident: a missed
one is reported as missed. Two baselines run on the same scored streams: a 3-sigma rule over a
seasonal 7-day hourly baseline with a minimum count (spikes), and a churn keyword rule.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.harness import write_results
from veille_contracts.ids import mention_id
from veille_contracts.models import (
    Alert,
    AlertKind,
    Author,
    AuthorRole,
    Mention,
    Polarity,
    ReachTier,
    ScoredMention,
    SourceKind,
)
from veille_contracts.settings import load_settings
from veille_escalation.engine import Escalation

DATA = Path(__file__).parent / "data" / "escalation"
SEEDS = tuple(int(s) for s in os.environ.get("BENCH_ALERTS_SEEDS", "3,17").split(","))
DAYS = 14
START = datetime(2026, 9, 7, tzinfo=UTC)
HOURLY = 3.0  # background posts per hour at the daily peak
CHURNS_PER_BRAND = 6
INFLUENTIAL_PER_BRAND = 2
WAVE_POSTS, CAMPAIGN_POSTS = 36, 36
BRANDS = {
    "ardent-telecom": "Ardent Télécom",
    "quillfeather-bank": "Quillfeather Bank",
    "maree-energie": "Marée Énergie",
}
CATEGORIES = (
    "background_negative", "background_neutral", "background_positive", "churn", "churn_decoy", "wave",
    "campaign", "influential_negative", "big_account_news", "employee_negative",
)  # fmt: skip
KINDS = (AlertKind.SPIKE, AlertKind.CHURN_RISK, AlertKind.INFLUENTIAL_AUTHOR)
CHURN_WORDS = re.compile(
    r"r[ée]sili|je (pars|quitte|change)|changer d'op[ée]rateur|porta|cl[ôo]tur|ailleurs|concurren|"
    r"cancel|leav(e|ing)|switch|clos(e|ing) my account|port(ing)? my number|moving (my|to)|done with",
    re.IGNORECASE,
)


@dataclass
class Stream:
    """One brand's posts in story order, and which of them make each labelled incident."""

    brand: str
    posts: list[tuple[Mention, str]] = field(default_factory=list)  # (mention, category)
    incidents: dict[str, tuple[AlertKind, set[str], datetime]] = field(default_factory=dict)


def _texts(path: Path) -> dict[str, list[tuple[str, str]]]:
    by_category: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_category[row["category"]].append((row["lang"], row["text"]))
    return by_category


def _author(key: str, followers: int, big: bool = False) -> Author:
    tier = ReachTier.MACRO if followers >= 100_000 else ReachTier.MICRO if followers >= 10_000 else ReachTier.NANO
    roles = [AuthorRole.CONNECTOR] if big else []
    return Author(id=f"bench-{key}"[:64].ljust(8, "0"), followers=followers, tier=tier, roles=roles)


def _mention(stream: str, at: datetime, text: tuple[str, str], author: Author, number: int) -> Mention:
    lang, body = text
    brand = stream.split("#", maxsplit=1)[0]
    item = f"{stream}-{number}"  # unique across streams: several seeds replay the same brand
    return Mention(
        mention_id=mention_id("bench", item),
        source_kind=SourceKind.WEBHOOK,
        source="bench",
        source_item_id=item,
        brands=[brand],
        text=body,
        lang=lang,
        lang_confidence=1.0,
        author=author,
        published_at=at,
        ingested_at=at,
    )


def build_stream(brand: str, texts: dict[str, list[tuple[str, str]]], rng: random.Random, seed: int) -> Stream:
    stream = Stream(brand)
    number = 0

    def add(at: datetime, category: str, author: Author, text: tuple[str, str] | None = None) -> str:
        nonlocal number
        number += 1
        mention = _mention(f"{brand}#{seed}", at, text or rng.choice(texts[category]), author, number)
        stream.posts.append((mention, category))
        return mention.mention_id

    background = {"background_negative": 0.3, "background_neutral": 0.4, "background_positive": 0.3}
    for hour in range(DAYS * 24):
        local = hour % 24
        rate = HOURLY * (0.15 + 0.85 * max(0.0, math.sin(math.pi * (local - 6) / 16)) if 6 <= local <= 22 else 0.15)
        for _ in range(_poisson(rng, rate)):
            at = START + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
            category = rng.choices(list(background), list(background.values()))[0]
            add(at, category, _author(f"{brand}-{rng.randrange(3000)}", rng.randint(20, 3000)))
    for day in range(DAYS):  # the decoys: churn words, big accounts, employees
        for _ in range(2):
            add(
                _daytime(rng, day),
                "churn_decoy",
                _author(f"{brand}-decoy-{rng.randrange(10**6)}", rng.randint(20, 4000)),
            )
        big = _author(f"{brand}-press-{rng.randrange(6)}", rng.randint(150_000, 900_000), big=True)
        add(_daytime(rng, day), "big_account_news", big)
        add(
            _daytime(rng, day),
            "employee_negative",
            _author(f"{brand}-staff-{rng.randrange(10**6)}", rng.randint(20, 900)),
        )
    wave_day, campaign_day = rng.sample(range(3, DAYS - 1), 2)
    stream.incidents["spike"] = _burst(stream, add, rng, wave_day, "wave", WAVE_POSTS, AlertKind.SPIKE)
    _burst(stream, add, rng, campaign_day, "campaign", CAMPAIGN_POSTS, None)
    churns = rng.sample(texts["churn"], CHURNS_PER_BRAND)
    for index, text in enumerate(churns):
        at = _daytime(rng, rng.randrange(1, DAYS))
        author = _author(f"{brand}-churner-{index}", rng.randint(20, 3000))
        stream.incidents[f"churn-{index}"] = (AlertKind.CHURN_RISK, {add(at, "churn", author, text)}, at)
    for index, text in enumerate(rng.sample(texts["influential_negative"], INFLUENTIAL_PER_BRAND)):
        at = _daytime(rng, rng.randrange(1, DAYS))
        author = _author(f"{brand}-voice-{index}", rng.randint(120_000, 600_000), big=True)
        stream.incidents[f"influential-{index}"] = (
            AlertKind.INFLUENTIAL_AUTHOR,
            {add(at, "influential_negative", author, text)},
            at,
        )
    stream.posts.sort(key=lambda pair: (pair[0].published_at, pair[0].mention_id))
    return stream


def _burst(  # noqa: PLR0917 - a burst's shape, named at both calls
    stream: Stream, add: Any, rng: random.Random, day: int, category: str, size: int, kind: AlertKind | None
) -> tuple[AlertKind, set[str], datetime]:
    """`size` posts of one category within 50 minutes, growing: a complaint wave, or a campaign (decoy)."""
    start = START + timedelta(days=day, hours=rng.randint(9, 17))
    ids = set()
    for n in range(size):
        at = start + timedelta(minutes=50 * (n / size) ** 0.7)  # a burst that grows
        author = _author(f"{stream.brand}-{category}-{n}", rng.randint(20, 5000))
        ids.add(add(at, category, author))
    return (kind or AlertKind.SPIKE, ids, start)


def _daytime(rng: random.Random, day: int) -> datetime:
    return START + timedelta(days=day, hours=rng.uniform(8, 21))


def _poisson(rng: random.Random, rate: float) -> int:
    threshold, k, p = math.exp(-rate), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


# --- scoring and the detectors ------------------------------------------------------------------


def score_streams(streams: list[Stream]) -> dict[str, ScoredMention]:
    """Every post read by the served model; each distinct text once."""
    from veille_sentiment.encoder import load_encoder
    from veille_sentiment.heads import load_heads
    from veille_sentiment.scoring import Scorer, scored_mention

    scorer = Scorer(load_encoder(load_settings()), load_heads())
    texts = sorted({m.text for s in streams for m, _ in s.posts})
    readings = dict(zip(texts, scorer.read(texts), strict=True))
    return {
        m.mention_id: scored_mention(m, readings[m.text], scorer.model, m.published_at)
        for s in streams
        for m, _ in s.posts
    }


def veille_alerts(stream: Stream, scored: dict[str, ScoredMention]) -> list[Alert]:
    engine = Escalation()
    return [alert for m, _ in stream.posts for alert in engine.observe(scored[m.mention_id])]


@dataclass(frozen=True)
class Raised:
    kind: AlertKind
    at: datetime
    evidence: frozenset[str]


def seasonal_three_sigma(stream: Stream, scored: dict[str, ScoredMention]) -> list[Raised]:
    """Negative posts in the last hour above mean + 3σ of the same hour over the previous 7 days, at least 8."""
    hourly: Counter[int] = Counter()
    recent: list[tuple[datetime, str]] = []
    raised: list[Raised] = []
    quiet_until = START
    for mention, _ in stream.posts:
        reading = scored[mention.mention_id]
        if reading.polarity is not Polarity.NEGATIVE:
            continue
        at = mention.published_at
        hour = int((at - START).total_seconds() // 3600)
        hourly[hour] += 1
        recent = [(t, i) for t, i in recent if at - t <= timedelta(hours=1)] + [(at, mention.mention_id)]
        history = [hourly[hour - 24 * d] for d in range(1, 8) if hour - 24 * d >= 0]
        if len(history) < 3 or at < quiet_until:
            continue
        mean, sigma = statistics.mean(history), statistics.pstdev(history)
        if len(recent) >= 8 and len(recent) > mean + 3 * max(sigma, 1.0):
            raised.append(Raised(AlertKind.SPIKE, at, frozenset(i for _, i in recent)))
            quiet_until = at + timedelta(hours=6)
    return raised


def churn_keywords(stream: Stream, scored: dict[str, ScoredMention]) -> list[Raised]:
    """A churn alert for every post with a leaving word, once per author and day."""
    raised, seen = [], set()
    for mention, _ in stream.posts:
        key = (mention.author.id, mention.published_at.date())
        if CHURN_WORDS.search(mention.text) and key not in seen:
            seen.add(key)
            raised.append(Raised(AlertKind.CHURN_RISK, mention.published_at, frozenset({mention.mention_id})))
    return raised


def evaluate(stream: Stream, raised: list[Raised]) -> dict[str, Any]:
    """Per kind: incidents found (an alert of the kind citing one of its posts), time to detect, false alerts."""
    per_kind: dict[str, Any] = {}
    for kind in KINDS:
        incidents = {name: (ids, start) for name, (k, ids, start) in stream.incidents.items() if k is kind}
        alerts = [r for r in raised if r.kind is kind]
        delays, found = [], 0
        for ids, start in incidents.values():
            hits = [r.at for r in alerts if r.evidence & ids]
            if hits:
                found += 1
                delays.append((min(hits) - start).total_seconds() / 60)
        true_alerts = sum(1 for r in alerts if any(r.evidence & ids for ids, _ in incidents.values()))
        per_kind[kind.value] = {
            "incidents": len(incidents),
            "found": found,
            "alerts": len(alerts),
            "true_alerts": true_alerts,
            "false_alerts": len(alerts) - true_alerts,
            "minutes_to_detect": sorted(round(d, 1) for d in delays),
        }
    others = [r for r in raised if r.kind not in KINDS]
    per_kind["other_kinds"] = dict(Counter(r.kind.value for r in others))
    return per_kind


def _raised(alerts: list[Alert]) -> list[Raised]:
    return [Raised(a.kind, a.created_at, frozenset(a.evidence_mention_ids)) for a in alerts if a.revision == 1]


def summarise(runs: list[dict[str, Any]], brand_days: int) -> dict[str, Any]:
    """Totals over every stream: precision, recall, false alerts per brand-day, time to detect."""
    out: dict[str, Any] = {}
    for kind in (k.value for k in KINDS):
        rows = [r[kind] for r in runs if kind in r]
        incidents, found = sum(r["incidents"] for r in rows), sum(r["found"] for r in rows)
        alerts, true = sum(r["alerts"] for r in rows), sum(r["true_alerts"] for r in rows)
        delays = sorted(d for r in rows for d in r["minutes_to_detect"])
        out[kind] = {
            "recall": round(found / incidents, 3) if incidents else None,
            "precision": round(true / alerts, 3) if alerts else None,
            "incidents": incidents,
            "missed": incidents - found,
            "false_alerts_per_brand_day": round((alerts - true) / brand_days, 3),
            "minutes_to_detect_median": statistics.median(delays) if delays else None,
            "minutes_to_detect_max": max(delays) if delays else None,
        }
    other: Counter[str] = Counter()
    for r in runs:
        other.update(r.get("other_kinds", {}))
    false_total = sum(out[k]["false_alerts_per_brand_day"] for k in out) * brand_days + sum(other.values())
    out["other_kinds_alerts"] = dict(other)
    out["false_alerts_per_brand_day_all_kinds"] = round(false_total / brand_days, 3)
    return out


def main() -> None:
    console = Console()
    texts = {path.stem: _texts(path) for path in sorted(DATA.glob("*.jsonl"))}
    for stem in [stem for stem, by_category in texts.items() if set(CATEGORIES) - set(by_category)]:
        console.print(f"[yellow]{stem}: not every category is written; left out[/yellow]")
        del texts[stem]
    streams = []
    for seed in SEEDS:
        rng = random.Random(seed)
        for stem, by_category in texts.items():
            streams.append(build_stream(BRANDS[stem], by_category, rng, seed))
    scored = score_streams(streams)
    runs: dict[str, list[dict[str, Any]]] = {"veille": [], "baselines": []}
    for stream in streams:
        runs["veille"].append(evaluate(stream, _raised(veille_alerts(stream, scored))))
        runs["baselines"].append(
            evaluate(stream, seasonal_three_sigma(stream, scored) + churn_keywords(stream, scored))
        )
    brand_days = len(streams) * DAYS
    results: dict[str, Any] = {
        "streams": len(streams),
        "days": DAYS,
        "posts": sum(len(s.posts) for s in streams),
        "seeds": list(SEEDS),
        "veille": summarise(runs["veille"], brand_days),
        "baselines": summarise(runs["baselines"], brand_days),
    }
    write_results("alert-quality", results)
    table = Table(title=f"Alert quality: {results['posts']} real posts, {len(streams)} brand-streams of {DAYS} days")
    for column in ("kind", "who", "recall", "precision", "false/brand-day", "median min to detect", "missed"):
        table.add_column(column)
    for kind in (k.value for k in KINDS):
        for who in ("veille", "baselines"):
            row = results[who][kind]
            table.add_row(
                kind, who, str(row["recall"]), str(row["precision"]), str(row["false_alerts_per_brand_day"]),
                str(row["minutes_to_detect_median"]), str(row["missed"]),
            )  # fmt: skip
    console.print(table)
    console.print(
        f"false alerts per brand-day, all kinds: veille {results['veille']['false_alerts_per_brand_day_all_kinds']}, "
        f"other kinds raised by veille: {results['veille']['other_kinds_alerts']}"
    )


if __name__ == "__main__":
    main()
