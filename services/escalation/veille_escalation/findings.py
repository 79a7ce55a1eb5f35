"""What a detector reports: a finding, before it becomes (or updates) an alert.

Detectors are pure: they see scored mentions in event-time order and return
findings. The incident book (incidents.py) turns findings into de-duplicated,
revised alerts; severity.py and explain.py give them a rank and words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from veille_contracts.models import AlertKind, Audience, Polarity, ScoredMention

# Followers above which an author counts as high-reach even without a role.
HIGH_REACH_FOLLOWERS = 50_000
# Characters of a post kept as evidence: explanations quote at most 160; windows hold evidence for days.
EVIDENCE_TEXT = 280


@dataclass(frozen=True)
class Evidence:
    """One post behind a finding, with what severity needs to know of it."""

    mention_id: str
    author_id: str
    followers: int
    negativity: float
    intent: float  # the larger of disappointment and churn intent
    text: str

    @classmethod
    def of(cls, mention: ScoredMention) -> Evidence:
        return cls(
            mention_id=mention.mention_id,
            author_id=mention.author.id,
            followers=mention.author.followers or 0,
            negativity=float(mention.polarity_scores.get(Polarity.NEGATIVE, 0.0)),
            intent=max(mention.disappointment, mention.churn_intent),
            text=mention.text[:EVIDENCE_TEXT],
        )


@dataclass(frozen=True)
class Finding:
    """A detector's claim that something is happening, with its numbers and its evidence."""

    brand: str
    kind: AlertKind
    audience: Audience
    scope: str  # what the incident is about inside the brand: an aspect, an author, a segment
    detected_at: datetime
    window_start: datetime
    window_end: datetime
    evidence: tuple[Evidence, ...]
    numbers: dict[str, float] = field(default_factory=dict)
    speed: float = 1.0  # current rate over baseline rate; 1 for single-post findings
    origin: dict[str, list[str]] = field(default_factory=dict)  # aspects, terms, sources, flag_bearers
    subject: str = ""  # what broke its baseline when the scope is wider (a spike's metric); else the scope

    @property
    def about(self) -> str:
        return self.subject or self.scope
