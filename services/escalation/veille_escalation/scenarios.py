"""Scored-mention streams with known incidents, for the quality benchmark and the detectors' tests.

A quiet baseline (Poisson arrivals with a day/night rhythm, mostly neutral,
some ordinary complaints from small accounts, influential authors who stay
calm) carries injected incidents, each labelled with the alert kind that should
catch it: a slowly growing complaint wave, a single influential complaint, a
churn statement, a slow slide in employee morale, a loyal customer drifting
away and an enthusiastic customer with reach.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from veille_contracts.ids import mention_id
from veille_contracts.models import (
    AlertKind,
    Author,
    AuthorRole,
    ModelInfo,
    Polarity,
    ReachTier,
    ScoredMention,
    ScoreStatus,
    SourceKind,
    Voice,
)

MODEL = ModelInfo(name="scenario", version="1", heads_version="scenario")
CUSTOMER_ASPECTS = ("product", "price", "support", "delivery", "billing", "app")
EMPLOYER_ASPECTS = ("management", "pay", "workload", "recognition", "career", "culture")
SOURCES = ("mastodon", "reviews", "news-rss", "support-webhook")
QUIET_WORDS = ("commande", "agence", "appli", "offre", "conseiller", "question", "service", "contrat")


@dataclass(frozen=True)
class Injected:
    """An incident put into the stream, and the alert kind that should report it."""

    name: str
    kind: AlertKind
    brand: str
    start: datetime
    end: datetime


@dataclass
class Scenario:
    mentions: list[ScoredMention]
    incidents: list[Injected]
    brands: tuple[str, ...]
    start: datetime
    days: int
    counts: dict[str, int] = field(default_factory=dict)


class _Factory:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.serial = 0

    def mention(
        self,
        brand: str,
        at: datetime,
        *,
        author: Author,
        text: str,
        polarity: Polarity,
        voice: Voice = Voice.CUSTOMER,
        aspects: tuple[str, ...] = (),
        disappointment: float = 0.05,
        churn: float = 0.02,
        strength: float = 0.85,
        source: str | None = None,
    ) -> ScoredMention:
        self.serial += 1
        rest = (1.0 - strength) / 2
        scores = {p: (strength if p is polarity else rest) for p in Polarity}
        item = f"scenario-{self.serial}"
        return ScoredMention(
            mention_id=mention_id("scenario", item),
            source_kind=SourceKind.OTHER,
            source=source or self.rng.choice(SOURCES),
            source_item_id=item,
            brands=[brand],
            employer_brand=voice in (Voice.EMPLOYEE, Voice.CANDIDATE),
            text=text,
            lang="fr",
            lang_confidence=0.95,
            author=author,
            published_at=at,
            ingested_at=at,
            status=ScoreStatus.SCORED,
            polarity=polarity,
            polarity_scores=scores,
            disappointment=disappointment,
            churn_intent=churn,
            anger=0.05,
            voice=voice,
            voice_scores={voice: 0.9},
            aspects=list(aspects),
            model=MODEL,
            scored_at=at,
        )

    def small_author(self, brand: str) -> Author:
        index = self.rng.randrange(4000)
        followers = int(self.rng.lognormvariate(5.0, 1.2))  # median ≈ 150
        return Author(
            id=f"{brand[:3].lower()}-author-{index:05d}", followers=min(followers, 9_000), tier=ReachTier.NANO
        )

    def big_author(self, brand: str, index: int, followers: int) -> Author:
        return Author(
            id=f"{brand[:3].lower()}-voice-{index:03d}",
            followers=followers,
            tier=ReachTier.MACRO if followers < 1_000_000 else ReachTier.MEGA,
            roles=[AuthorRole.CONNECTOR],
        )


def _rate(hour: int) -> float:
    """Day/night rhythm: quiet at night, busiest in the early evening."""
    return 0.25 + 1.25 * math.exp(-(((hour - 18) / 5.0) ** 2)) + 0.5 * math.exp(-(((hour - 11) / 3.0) ** 2))


def _poisson(rng: random.Random, mean: float) -> int:
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def generate(
    seed: int = 7,
    brands: tuple[str, ...] = ("Banque Aurore", "Fibrelia", "AirLune"),
    days: int = 21,
    per_hour: float = 5.0,
    start: datetime | None = None,
) -> Scenario:
    """`days` of quiet traffic for each brand with six injected incidents."""
    rng = random.Random(seed)
    make = _Factory(rng)
    begin = start or datetime(2026, 9, 7, tzinfo=UTC)
    mentions: list[ScoredMention] = []
    for brand in brands:
        mentions += _quiet(make, brand, begin, days, per_hour)
    incidents: list[Injected] = []
    a, b, c = (brands * 3)[:3]
    incidents.append(_wave(make, mentions, a, begin + timedelta(days=days - 8, hours=8)))
    incidents.append(_influential(make, mentions, b, begin + timedelta(days=days - 6, hours=14, minutes=20)))
    incidents.append(_churn(make, mentions, c, begin + timedelta(days=days - 10, hours=10, minutes=31)))
    incidents.append(_morale(make, mentions, a, begin, days))
    incidents.append(_drift(make, mentions, b, begin, days))
    incidents.append(_advocate(make, mentions, c, begin + timedelta(days=days - 5, hours=19, minutes=5)))
    mentions.sort(key=lambda m: (m.published_at, m.mention_id))
    return Scenario(mentions, incidents, brands, begin, days, {"mentions": len(mentions)})


def _quiet(make: _Factory, brand: str, begin: datetime, days: int, per_hour: float) -> list[ScoredMention]:
    rng, out = make.rng, []
    big = [make.big_author(brand, i, rng.choice((60_000, 150_000, 400_000, 1_200_000))) for i in range(6)]
    for hour in range(days * 24):
        at_hour = begin + timedelta(hours=hour)
        for _ in range(_poisson(rng, per_hour * _rate(at_hour.hour))):
            at = at_hour + timedelta(seconds=rng.randrange(3600))
            draw = rng.random()
            if draw < 0.08:  # a calm post from a big account
                out.append(
                    make.mention(brand, at, author=rng.choice(big), text=f"{brand} annonce une nouvelle offre.",
                                 polarity=Polarity.NEUTRAL, strength=0.7)
                )  # fmt: skip
                continue
            author = make.small_author(brand)
            aspect = (rng.choice(CUSTOMER_ASPECTS),) if rng.random() < 0.6 else ()
            word = rng.choice(QUIET_WORDS)
            if draw < 0.26:
                out.append(
                    make.mention(brand, at, author=author, text=f"Pas content de {brand}, {word} décevant.",
                                 polarity=Polarity.NEGATIVE, aspects=aspect, strength=rng.uniform(0.55, 0.9),
                                 disappointment=rng.uniform(0.1, 0.7), churn=rng.uniform(0.0, 0.35))
                )  # fmt: skip
            elif draw < 0.48:
                out.append(
                    make.mention(brand, at, author=author, text=f"Merci {brand}, {word} au top.",
                                 polarity=Polarity.POSITIVE, aspects=aspect, strength=rng.uniform(0.55, 0.95))
                )  # fmt: skip
            else:
                voice = Voice.EMPLOYEE if rng.random() < 0.04 else Voice.CUSTOMER
                out.append(
                    make.mention(brand, at, author=author, text=f"{brand} : une {word} en cours.",
                                 polarity=Polarity.NEUTRAL, voice=voice, aspects=aspect)
                )  # fmt: skip
    return out


def _wave(make: _Factory, out: list[ScoredMention], brand: str, start: datetime) -> Injected:
    """A complaint wave about an outage growing over six hours, from one post an hour to about thirty."""
    rng = make.rng
    end = start + timedelta(hours=6)
    minute = 0
    while minute < 360:
        rate_per_hour = 1.0 * math.exp(minute / 360 * math.log(30))
        minute += max(1, int(rng.expovariate(rate_per_hour / 60)))
        if minute >= 360:
            break
        at = start + timedelta(minutes=minute)
        out.append(
            make.mention(brand, at, author=make.small_author(brand), polarity=Polarity.NEGATIVE,
                         text=f"Encore une panne {brand}, coupure totale depuis ce matin, rien ne marche.",
                         aspects=("outage",), strength=rng.uniform(0.7, 0.95), disappointment=rng.uniform(0.3, 0.8),
                         churn=rng.uniform(0.0, 0.3), source="mastodon")
        )  # fmt: skip
    return Injected("complaint wave", AlertKind.SPIKE, brand, start, end)


def _influential(make: _Factory, out: list[ScoredMention], brand: str, at: datetime) -> Injected:
    author = make.big_author(brand, 99, 240_000)
    out.append(
        make.mention(brand, at, author=author, polarity=Polarity.NEGATIVE, strength=0.9, disappointment=0.8,
                     text=f"Très déçue par {brand} : trois semaines sans réponse du service client.",
                     aspects=("support",))
    )  # fmt: skip
    return Injected("influential complaint", AlertKind.INFLUENTIAL_AUTHOR, brand, at, at + timedelta(minutes=1))


def _churn(make: _Factory, out: list[ScoredMention], brand: str, at: datetime) -> Injected:
    author = Author(id=f"{brand[:3].lower()}-leaving-001", followers=180, tier=ReachTier.NANO)
    out.append(
        make.mention(brand, at, author=author, polarity=Polarity.NEGATIVE, churn=0.92, disappointment=0.6,
                     text=f"C'est décidé, je résilie {brand} à la fin du mois.")
    )  # fmt: skip
    return Injected("churn statement", AlertKind.CHURN_RISK, brand, at, at + timedelta(minutes=1))


def _morale(make: _Factory, out: list[ScoredMention], brand: str, begin: datetime, days: int) -> Injected:
    """Employee posts, about two a day, whose negative share slides from 20 % to 80 % over the last two weeks."""
    rng = make.rng
    slide_start = begin + timedelta(days=days - 14)
    for day in range(days):
        progress = max(0.0, (day - (days - 14)) / 14)
        for _ in range(_poisson(rng, 2.0)):
            at = begin + timedelta(days=day, hours=rng.uniform(8, 22))
            negative = rng.random() < 0.2 + 0.6 * progress
            aspect = (rng.choice(("workload", "management")),) if negative and rng.random() < 0.8 else (
                rng.choice(EMPLOYER_ASPECTS),)  # fmt: skip
            author = Author(id=f"{brand[:3].lower()}-staff-{rng.randrange(300):03d}", followers=rng.randrange(50, 900))
            calm = rng.choice((Polarity.NEUTRAL, Polarity.POSITIVE))
            out.append(
                make.mention(brand, at, author=author, voice=Voice.EMPLOYEE, aspects=aspect,
                             polarity=Polarity.NEGATIVE if negative else calm,
                             text="Charge de travail intenable, managers absents." if negative else "Équipe sympa.")
            )  # fmt: skip
    return Injected("employee morale slide", AlertKind.EMPLOYER_BRAND, brand, slide_start, begin + timedelta(days=days))


def _drift(make: _Factory, out: list[ScoredMention], brand: str, begin: datetime, days: int) -> Injected:
    """A loyal customer posting every few days: warm for weeks, then lukewarm, then sour."""
    author = Author(id=f"{brand[:3].lower()}-loyal-007", followers=2_400, tier=ReachTier.MICRO)
    turn = begin + timedelta(days=days - 9)
    for day in range(0, days, 2):
        at = begin + timedelta(days=day, hours=12)
        sour = at >= turn
        out.append(
            make.mention(brand, at, author=author, polarity=Polarity.NEGATIVE if sour else Polarity.POSITIVE,
                         strength=0.8, disappointment=0.6 if sour else 0.02,
                         text="Je ne reconnais plus ce service." if sour else "Toujours ravie, merci !")
        )  # fmt: skip
    return Injected("loyal customer drifting", AlertKind.DRIFT, brand, turn, begin + timedelta(days=days))


def _advocate(make: _Factory, out: list[ScoredMention], brand: str, at: datetime) -> Injected:
    author = make.big_author(brand, 77, 1_500_000)
    out.append(
        make.mention(brand, at, author=author, polarity=Polarity.POSITIVE, strength=0.95,
                     text=f"Bravo {brand}, service impeccable, je recommande à tout le monde !")
    )  # fmt: skip
    return Injected("enthusiastic customer with reach", AlertKind.ADVOCATE, brand, at, at + timedelta(minutes=1))
