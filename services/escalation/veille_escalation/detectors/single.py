"""Detectors that fire on one post: churn risk, an influential unhappy author, an advocate with reach.

Their incident is one author on one day: later posts of the same author that day
add evidence to the same alert instead of raising new ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from veille_contracts.models import (
    AlertKind,
    Audience,
    AuthorRole,
    Polarity,
    ReachTier,
    ScoredMention,
    ScoreStatus,
    Voice,
)
from veille_escalation.findings import HIGH_REACH_FOLLOWERS, Evidence, Finding

DECISION = 0.5  # the sentiment heads put every decision point at 0.5
HIGH_TIERS = frozenset({ReachTier.MACRO, ReachTier.MEGA})


def _day(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def is_influential(mention: ScoredMention) -> bool:
    """A connector, a maven, a macro or mega account, or one with many followers."""
    author = mention.author
    return (
        bool({AuthorRole.CONNECTOR, AuthorRole.MAVEN} & set(author.roles))
        or author.tier in HIGH_TIERS
        or (author.followers or 0) >= HIGH_REACH_FOLLOWERS
    )


def is_unhappy(mention: ScoredMention, scale: float = 1.0) -> bool:
    negative = mention.polarity_scores.get(Polarity.NEGATIVE, 0.0)
    return (mention.polarity is Polarity.NEGATIVE and negative >= min(0.95, 0.5 * scale)) or (
        mention.disappointment >= min(0.95, DECISION * scale)
    )


def _finding(mention: ScoredMention, kind: AlertKind, audience: Audience, numbers: dict[str, float]) -> Finding:
    start, end = _day(mention.published_at)
    return Finding(
        brand=mention.brands[0],
        kind=kind,
        audience=audience,
        scope=mention.author.id,
        detected_at=mention.published_at,
        window_start=start,
        window_end=end,
        evidence=(Evidence.of(mention),),
        numbers={"followers": float(mention.author.followers or 0), **numbers},
    )


def churn_risk(mention: ScoredMention, scale: float = 1.0) -> list[Finding]:
    """A customer stating the intent to leave: always an alert for customer service, whatever the volume."""
    if mention.status is not ScoreStatus.SCORED or mention.voice is not Voice.CUSTOMER:
        return []
    if mention.churn_intent < min(0.95, DECISION * scale):
        return []
    if mention.polarity is Polarity.POSITIVE:  # someone who joined, came back or praises is not leaving
        return []
    return [_finding(mention, AlertKind.CHURN_RISK, Audience.CUSTOMER_SERVICE, {"churn_intent": mention.churn_intent})]


def influential_author(mention: ScoredMention, scale: float = 1.0) -> list[Finding]:
    """A negative or disappointed post from a connector, a maven or a high-reach author."""
    if mention.status is not ScoreStatus.SCORED or mention.voice in (Voice.EMPLOYEE, Voice.CANDIDATE):
        return []
    if not (is_influential(mention) and is_unhappy(mention, scale)):
        return []
    numbers = {
        "negative": mention.polarity_scores.get(Polarity.NEGATIVE, 0.0),
        "disappointment": mention.disappointment,
    }
    return [_finding(mention, AlertKind.INFLUENTIAL_AUTHOR, Audience.CUSTOMER_SERVICE, numbers)]


def advocate(mention: ScoredMention, scale: float = 1.0) -> list[Finding]:
    """An enthusiastic customer with reach: an opportunity for communications to thank and amplify."""
    if mention.status is not ScoreStatus.SCORED or mention.voice is not Voice.CUSTOMER:
        return []
    positive = mention.polarity_scores.get(Polarity.POSITIVE, 0.0)
    if mention.polarity is not Polarity.POSITIVE or positive < min(0.95, 0.7 * scale) or not is_influential(mention):
        return []
    return [_finding(mention, AlertKind.ADVOCATE, Audience.COMMUNICATIONS, {"positive": positive})]
