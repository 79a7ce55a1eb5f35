"""Synthetic scored mentions with a known story, for dashboard checks, the HR report test and benchmarks.

The story: from `trouble_week` on, support staff complain more and more about
workload and management; `lag_weeks` later customers grow disappointed and
some say they will leave. Every text is invented, about invented brands.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from veille_contracts.ids import mention_id
from veille_contracts.models import (
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

MODEL = ModelInfo(name="synthetic", version="1", heads_version="1")
EMPLOYEE_THEMES = ("workload", "management", "pay", "recognition", "career", "culture", "recruiting")
CUSTOMER_ASPECTS = ("product", "price", "support", "delivery", "billing", "outage")
_EMPLOYEE_TEXT = {
    "fr": {
        Polarity.NEGATIVE: "Depuis la réorganisation on enchaîne les appels sans renfort, la charge est intenable.",
        Polarity.NEUTRAL: "Entretien annuel la semaine prochaine, on verra pour les objectifs.",
        Polarity.POSITIVE: "Bonne ambiance dans l'équipe, managers à l'écoute et formation sérieuse.",
    },
    "en": {
        Polarity.NEGATIVE: (
            "Since the restructuring we take call after call with no extra staff; the workload is unbearable."
        ),
        Polarity.NEUTRAL: "Annual review next week, we'll see about the targets.",
        Polarity.POSITIVE: "Great team spirit, managers who listen and proper training.",
    },
}
_CUSTOMER_TEXT = {
    "fr": {
        Polarity.NEGATIVE: "Toujours pas de réponse du service client après trois relances, je suis déçue.",
        Polarity.NEUTRAL: "Quelqu'un sait si l'appli gère les virements instantanés ?",
        Polarity.POSITIVE: "Conseillère au top ce matin, problème réglé en cinq minutes, merci !",
    },
    "en": {
        Polarity.NEGATIVE: "Still no answer from customer service after three reminders, really let down.",
        Polarity.NEUTRAL: "Does anyone know if the app supports instant transfers?",
        Polarity.POSITIVE: "Brilliant advisor this morning, sorted in five minutes, thank you!",
    },
}


def _polarity(rng: random.Random, negative_share: float) -> Polarity:
    roll = rng.random()
    if roll < negative_share:
        return Polarity.NEGATIVE
    return Polarity.NEUTRAL if roll < negative_share + (1 - negative_share) / 2 else Polarity.POSITIVE


def story(
    brands: tuple[str, ...],
    start: datetime,
    *,
    weeks: int = 10,
    per_week: int = 200,
    trouble_week: int = 3,
    lag_weeks: int = 2,
    seed: int = 7,
) -> Iterator[ScoredMention]:
    """Mentions of `brands` over `weeks` weeks; the first brand lives the story, the others stay calm."""
    rng = random.Random(seed)
    authors = [f"{rng.getrandbits(64):016x}" for _ in range(400)]
    followers = {a: int(rng.paretovariate(1.2) * 80) for a in authors}
    for week in range(weeks):
        for brand_index, brand in enumerate(brands):
            troubled = brand_index == 0
            staff_trouble = max(0, week - trouble_week + 1) if troubled else 0
            customer_trouble = max(0, week - trouble_week - lag_weeks + 1) if troubled else 0
            volume = per_week if brand_index == 0 else per_week // 2
            for n in range(volume):
                employee = rng.random() < 0.3
                lang = "fr" if rng.random() < 0.6 else "en"
                trouble = staff_trouble if employee else customer_trouble
                polarity = _polarity(rng, min(0.85, 0.2 + 0.12 * trouble))
                negative = polarity is Polarity.NEGATIVE
                author = rng.choice(authors[:60] if employee else authors[60:])
                published = start + timedelta(weeks=week, seconds=rng.randrange(7 * 86400))
                if employee:
                    themes = ["workload", "management"] if negative and trouble else [rng.choice(EMPLOYEE_THEMES)]
                    text = _EMPLOYEE_TEXT[lang][polarity]
                else:
                    themes = ["support"] if negative and trouble else [rng.choice(CUSTOMER_ASPECTS)]
                    text = _CUSTOMER_TEXT[lang][polarity]
                source = "reviews:export" if employee else "mastodon:piaille.example"
                item = f"{brand}-{week}-{n}-{seed}"
                scores = {p: 0.1 for p in Polarity} | {polarity: 0.8}
                yield ScoredMention(
                    mention_id=mention_id(source, item),
                    source_kind=SourceKind.EMPLOYEE_REVIEW if employee else SourceKind.MASTODON,
                    source=source,
                    source_item_id=item,
                    url=None if employee else f"https://piaille.example/@u/{item}",
                    brands=[brand],
                    employer_brand=employee,
                    text=text,
                    lang=lang,
                    lang_confidence=0.97,
                    author=Author(
                        id=author,
                        followers=followers[author],
                        tier=ReachTier.MID if followers[author] > 10_000 else ReachTier.NANO,
                        roles=[AuthorRole.CONNECTOR] if followers[author] > 5_000 else [],
                    ),
                    published_at=published,
                    ingested_at=published + timedelta(seconds=2),
                    status=ScoreStatus.SCORED,
                    polarity=polarity,
                    polarity_scores=scores,
                    disappointment=0.8 if negative and not employee else 0.1,
                    churn_intent=0.7 if negative and not employee and rng.random() < 0.3 else 0.05,
                    anger=0.6 if negative and rng.random() < 0.4 else 0.05,
                    voice=Voice.EMPLOYEE if employee else Voice.CUSTOMER,
                    voice_scores={},
                    aspects=themes,
                    aspect_scores={},
                    model=MODEL,
                    scored_at=published + timedelta(seconds=3),
                )
