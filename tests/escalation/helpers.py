"""Scored mentions built for the detectors' tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from veille_contracts.models import Author, AuthorRole, Polarity, ReachTier, ScoredMention, Voice
from veille_escalation.scenarios import _Factory

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
make = _Factory(random.Random(1))


def small(index: int = 1, followers: int = 120) -> Author:
    return Author(id=f"small-author-{index:04d}", followers=followers, tier=ReachTier.NANO)


def connector(followers: int = 250_000) -> Author:
    return Author(id="big-voice-0001", followers=followers, tier=ReachTier.MACRO, roles=[AuthorRole.CONNECTOR])


def post(
    at: datetime = T0,
    *,
    brand: str = "Banque Aurore",
    author: Author | None = None,
    polarity: Polarity = Polarity.NEUTRAL,
    voice: Voice = Voice.CUSTOMER,
    churn: float = 0.02,
    disappointment: float = 0.05,
    aspects: tuple[str, ...] = (),
    text: str = "Une mention ordinaire.",
    strength: float = 0.85,
) -> ScoredMention:
    return make.mention(
        brand, at, author=author or small(), text=text, polarity=polarity, voice=voice, aspects=aspects,
        disappointment=disappointment, churn=churn, strength=strength,
    )  # fmt: skip


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
