"""From mentions to scored mentions: the pure part of the sentiment service.

A mention that cannot be scored (no text, a language the heads were not validated
on) is forwarded with status `unscorable` and the reason, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from veille_contracts.models import Mention, ModelInfo, Polarity, ScoredMention, ScoreStatus, Voice
from veille_sentiment.corpus import rated_text
from veille_sentiment.encoder import Encoder
from veille_sentiment.heads import ASPECTS, POLARITIES, SIGNALS, VOICES, HeadOutputs, Heads

# The heads are trained and evaluated on French and English; `und` (too short to tell) is scored too.
SCORED_LANGUAGES = frozenset({"fr", "en", "und"})
MIN_CHARACTERS = 2


@dataclass(frozen=True)
class Reading:
    """The model's reading of one text: labels and the probabilities behind them."""

    polarity: str
    polarity_scores: dict[str, float]
    disappointment: float
    churn_intent: float
    anger: float
    signals: dict[str, bool]
    voice: str
    voice_scores: dict[str, float]
    aspects: list[str]
    aspect_scores: dict[str, float]


class Scorer:
    """An encoder and its heads, with the identity that goes on every scored mention."""

    def __init__(self, encoder: Encoder, heads: Heads) -> None:
        self.encoder = encoder
        self.heads = heads
        self.model = ModelInfo(name=encoder.source.name, version=encoder.source.version, heads_version=heads.version)

    def read(self, texts: Sequence[str]) -> list[Reading]:
        """Score texts in one batch, in order."""
        if not texts:
            return []
        return readings(self.heads, self.heads.predict(self.encoder.embed(texts)))

    def score(self, mentions: Sequence[Mention], now: datetime) -> list[ScoredMention]:
        """Score a batch of mentions; unscorable ones come back with their reason, in the same order."""
        reasons = [unscorable_reason(mention) for mention in mentions]
        scorable = [i for i, reason in enumerate(reasons) if reason is None]
        read = dict(zip(scorable, self.read([text_of(mentions[i]) for i in scorable]), strict=True))
        return [
            scored_mention(mention, read[i], self.model, now)
            if i in read
            else unscorable_mention(mention, reasons[i] or "", self.model, now)
            for i, mention in enumerate(mentions)
        ]


def text_of(mention: Mention) -> str:
    """What the model reads: the source's rating, if any, the title, if any, then the body."""
    text = f"{mention.title}. {mention.text}" if mention.title else mention.text
    return rated_text(text, mention.rating)


def unscorable_reason(mention: Mention) -> str | None:
    """Why a mention cannot be scored, or None when it can."""
    return why_unscorable(text_of(mention), mention.lang)


def why_unscorable(text: str, lang: str | None) -> str | None:
    """Why a text cannot be scored (too short, a language the heads were not evaluated on), or None."""
    if len(text.strip()) < MIN_CHARACTERS:
        return "empty text"
    if lang and lang.lower() not in SCORED_LANGUAGES:
        return f"language {lang!r} is not supported (scored: en, fr)"
    return None


def readings(heads: Heads, outputs: HeadOutputs) -> list[Reading]:
    """Per-row labels from the heads' probabilities and thresholds."""
    signal_thresholds = dict(zip(SIGNALS, heads.signals.thresholds, strict=True))
    aspect_thresholds = np.array(heads.aspects.thresholds)
    result = []
    for row in range(outputs.polarity.shape[0]):
        signals = {name: float(outputs.signals[row, i]) for i, name in enumerate(SIGNALS)}
        aspect_scores = {name: _p(outputs.aspects[row, i]) for i, name in enumerate(ASPECTS)}
        on = outputs.aspects[row] >= aspect_thresholds
        result.append(
            Reading(
                polarity=POLARITIES[int(outputs.polarity[row].argmax())],
                polarity_scores={name: _p(outputs.polarity[row, i]) for i, name in enumerate(POLARITIES)},
                disappointment=_p(signals["disappointment"]),
                churn_intent=_p(signals["churn_intent"]),
                anger=_p(signals["anger"]),
                signals={name: value >= signal_thresholds[name] for name, value in signals.items()},
                voice=VOICES[int(outputs.voice[row].argmax())],
                voice_scores={name: _p(outputs.voice[row, i]) for i, name in enumerate(VOICES)},
                aspects=[name for i, name in enumerate(ASPECTS) if on[i]],
                aspect_scores=aspect_scores,
            )
        )
    return result


def _p(value: Any) -> float:
    return round(min(max(float(value), 0.0), 1.0), 4)


def scored_mention(mention: Mention, reading: Reading, model: ModelInfo, now: datetime) -> ScoredMention:
    return ScoredMention(
        **mention.model_dump(),
        status=ScoreStatus.SCORED,
        polarity=Polarity(reading.polarity),
        polarity_scores={Polarity(k): v for k, v in reading.polarity_scores.items()},
        disappointment=reading.disappointment,
        churn_intent=reading.churn_intent,
        anger=reading.anger,
        voice=Voice(reading.voice),
        voice_scores={Voice(k): v for k, v in reading.voice_scores.items()},
        aspects=reading.aspects,
        aspect_scores=reading.aspect_scores,
        model=model,
        scored_at=now,
    )


def unscorable_mention(mention: Mention, reason: str, model: ModelInfo, now: datetime) -> ScoredMention:
    return ScoredMention(
        **mention.model_dump(),
        status=ScoreStatus.UNSCORABLE,
        status_reason=reason,
        polarity=None,
        disappointment=0.0,
        churn_intent=0.0,
        anger=0.0,
        voice=Voice.OTHER,
        model=model,
        scored_at=now,
    )
