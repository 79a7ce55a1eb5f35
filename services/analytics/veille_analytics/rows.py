"""Pure conversions from topic payloads to ClickHouse rows; no I/O."""

from __future__ import annotations

from typing import Any

from veille_contracts.models import Alert, AlertFeedback, Polarity, ScoredMention

MENTION_COLUMNS = [
    "mention_id", "brand", "brands", "employer_brand", "source_kind", "source", "source_item_id", "url",
    "title", "text", "lang", "lang_confidence", "author_id", "author_followers", "author_tier", "author_roles",
    "duplicates", "status", "polarity", "p_negative", "p_neutral", "p_positive", "disappointment",
    "churn_intent", "anger", "voice", "aspects", "model_name", "model_version", "published_at",
    "ingested_at", "scored_at",
]  # fmt: skip

ALERT_COLUMNS = [
    "alert_id", "revision", "brand", "kind", "severity", "status", "audience", "deadline", "window_start",
    "window_end", "evidence_mention_ids", "explanation_en", "explanation_fr", "numbers", "created_at", "updated_at",
]  # fmt: skip

FEEDBACK_COLUMNS = ["alert_id", "status", "by", "note", "at"]


def mention_row(mention: ScoredMention) -> list[Any]:
    """One `mentions` row, in MENTION_COLUMNS order."""
    scores = mention.polarity_scores
    return [
        mention.mention_id,
        mention.brands[0],
        mention.brands,
        mention.employer_brand,
        mention.source_kind.value,
        mention.source,
        mention.source_item_id,
        mention.url or "",
        mention.title or "",
        mention.text,
        mention.lang,
        mention.lang_confidence,
        mention.author.id,
        mention.author.followers or 0,
        mention.author.tier.value,
        [role.value for role in mention.author.roles],
        mention.duplicates,
        mention.status.value,
        mention.polarity.value if mention.polarity else "unknown",
        scores.get(Polarity.NEGATIVE, 0.0),
        scores.get(Polarity.NEUTRAL, 0.0),
        scores.get(Polarity.POSITIVE, 0.0),
        mention.disappointment,
        mention.churn_intent,
        mention.anger,
        mention.voice.value,
        mention.aspects,
        mention.model.name,
        mention.model.version,
        mention.published_at,
        mention.ingested_at,
        mention.scored_at,
    ]


def alert_row(alert: Alert) -> list[Any]:
    """One `alerts` row, in ALERT_COLUMNS order."""
    return [
        alert.alert_id,
        alert.revision,
        alert.brand,
        alert.kind.value,
        alert.severity,
        alert.status.value,
        alert.audience.value,
        alert.deadline,
        alert.window_start,
        alert.window_end,
        alert.evidence_mention_ids,
        alert.explanation.text_en,
        alert.explanation.text_fr,
        alert.explanation.numbers,
        alert.created_at,
        alert.updated_at,
    ]


def feedback_row(feedback: AlertFeedback) -> list[Any]:
    """One `alert_feedback` row, in FEEDBACK_COLUMNS order."""
    return [feedback.alert_id, feedback.status.value, feedback.by, feedback.note or "", feedback.at]
