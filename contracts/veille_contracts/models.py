"""Payload models of every veille topic, version 1.

The committed JSON Schemas under contracts/schemas/ are generated from these
models (`make schemas`); a test keeps both in step and refuses breaking edits.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

MentionId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="Deterministic id (see ids.py).")]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
BrandName = Annotated[str, Field(min_length=1, max_length=200)]
LanguageCode = Annotated[str, Field(pattern=r"^([a-z]{2,3}|und)$", description="ISO 639 code, `und` when unknown.")]


class Contract(BaseModel):
    """Base of every payload: strict about unknown fields, frozen once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceKind(StrEnum):
    """Where a mention was collected."""

    RSS = "rss"
    ATOM = "atom"
    WEBHOOK = "webhook"
    FILE = "file"
    MASTODON = "mastodon"
    EMPLOYEE_REVIEW = "employee_review"
    OTHER = "other"


class ReachTier(StrEnum):
    """Audience size bands, by follower count."""

    UNKNOWN = "unknown"
    NANO = "nano"  # < 1k
    MICRO = "micro"  # 1k-10k
    MID = "mid"  # 10k-100k
    MACRO = "macro"  # 100k-1M
    MEGA = "mega"  # >= 1M


class AuthorRole(StrEnum):
    """Roles derived from rolling per-brand quantiles."""

    CONNECTOR = "connector"  # among the few authors producing most impressions
    MAVEN = "maven"  # among the few authors producing most product talk


class Author(Contract):
    """A pseudonymous author and its reach; never a real name or handle."""

    id: str = Field(min_length=8, max_length=64, description="Keyed hash of the source's author id.")
    followers: int | None = Field(default=None, ge=0)
    engagement: float | None = Field(default=None, ge=0, description="Interactions per post, if known.")
    tier: ReachTier = ReachTier.UNKNOWN
    roles: list[AuthorRole] = Field(default_factory=list)


class Entities(Contract):
    """Entities kept out of the normalised text."""

    urls: list[str] = Field(default_factory=list)
    handles: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)


class Mention(Contract):
    """A normalised, de-duplicated post that names a watched brand (`mentions-raw`)."""

    mention_id: MentionId
    source_kind: SourceKind
    source: str = Field(min_length=1, max_length=300, description="Configured source name, e.g. a feed name.")
    source_item_id: str = Field(min_length=1, max_length=2000, description="The source's own id or URL.")
    url: str | None = Field(default=None, max_length=4000)
    brands: list[BrandName] = Field(min_length=1)
    employer_brand: bool = Field(default=False, description="Speaks of the brand as an employer.")
    title: str | None = Field(default=None, max_length=2000)
    text: str = Field(max_length=100_000)
    lang: LanguageCode
    lang_confidence: Probability
    author: Author
    entities: Entities = Field(default_factory=Entities)
    duplicates: int = Field(default=0, ge=0, description="Near-identical copies seen after this one.")
    rating: float | None = Field(
        default=None, ge=0, le=5, description="The star rating the source gives the post (reviews), out of 5."
    )
    published_at: AwareDatetime
    ingested_at: AwareDatetime


class Polarity(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Voice(StrEnum):
    """Who speaks."""

    CUSTOMER = "customer"
    EMPLOYEE = "employee"
    CANDIDATE = "candidate"
    PRESS = "press"
    OTHER = "other"


class ScoreStatus(StrEnum):
    SCORED = "scored"
    UNSCORABLE = "unscorable"


class ModelInfo(Contract):
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    heads_version: str = Field(min_length=1)


class ScoredMention(Mention):
    """A mention with the model's reading of it (`mentions-scored`)."""

    status: ScoreStatus
    status_reason: str | None = Field(default=None, description="Why a mention could not be scored.")
    polarity: Polarity | None
    polarity_scores: dict[Polarity, Probability] = Field(default_factory=dict)
    disappointment: Probability
    churn_intent: Probability
    anger: Probability
    voice: Voice
    voice_scores: dict[Voice, Probability] = Field(default_factory=dict)
    aspects: list[str] = Field(default_factory=list)
    aspect_scores: dict[str, Probability] = Field(default_factory=dict)
    model: ModelInfo
    scored_at: AwareDatetime


class AlertKind(StrEnum):
    SPIKE = "spike"
    INFLUENTIAL_AUTHOR = "influential_author"
    CHURN_RISK = "churn_risk"
    DRIFT = "drift"
    EMPLOYER_BRAND = "employer_brand"
    ADVOCATE = "advocate"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"


class Audience(StrEnum):
    CUSTOMER_SERVICE = "customer_service"
    COMMUNICATIONS = "communications"
    HR = "hr"


class Explanation(Contract):
    """Why the alert fired, in words and in numbers."""

    text_en: str = Field(min_length=1)
    text_fr: str = Field(min_length=1)
    numbers: dict[str, float] = Field(
        default_factory=dict, description="Baseline, current value, reach… named by what they are."
    )


class Alert(Contract):
    """One incident, updated as its evidence grows (`alerts`)."""

    alert_id: MentionId
    revision: int = Field(ge=1, description="Grows by one each time the incident is updated.")
    brand: BrandName
    kind: AlertKind
    severity: int = Field(ge=1, le=4, description="1 is the most urgent.")
    status: AlertStatus
    audience: Audience
    deadline: AwareDatetime
    window_start: AwareDatetime
    window_end: AwareDatetime
    evidence_mention_ids: list[MentionId] = Field(min_length=1)
    explanation: Explanation
    created_at: AwareDatetime
    updated_at: AwareDatetime


class AlertFeedback(Contract):
    """A person's verdict on an alert (`alert-feedback`)."""

    alert_id: MentionId
    status: AlertStatus
    by: str = Field(min_length=1, max_length=200, description="Pseudonymous id of who gave the verdict.")
    note: str | None = Field(default=None, max_length=4000)
    at: AwareDatetime
