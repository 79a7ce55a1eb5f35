"""Severity 1 (most urgent) to 4, from negativity × disappointment/churn × reach × speed.

    score = negativity × intent × reach × speed
    negativity = mean p(negative) of the evidence posts                       (0 … 1)
    intent     = 1 + mean max(disappointment, churn intent); 2 for churn risk (1 … 2)
    reach      = 1 + log10(1 + followers of the evidence's authors) / 3      (1 … ≈ 3.3)
    speed      = 1 + log2(current rate / baseline rate) / 2, at least 1       (spikes; 1 otherwise)

    severity 1 if score ≥ 6, 2 if ≥ 3.5, 3 if ≥ 1.8, else 4
Churn risk is never below 2: a customer about to leave is worth an answer within hours.
Advocates are opportunities: their score uses p(positive) in place of negativity and
is capped at 3. Each severity has a response deadline.
"""

from __future__ import annotations

import math
from datetime import timedelta

from veille_contracts.models import AlertKind
from veille_escalation.findings import Finding

DEADLINES = {1: timedelta(hours=1), 2: timedelta(hours=4), 3: timedelta(hours=24), 4: timedelta(hours=72)}
CUTS = ((6.0, 1), (3.5, 2), (1.8, 3))


def score(finding: Finding) -> float:
    evidence = finding.evidence
    if finding.kind is AlertKind.ADVOCATE:
        negativity = finding.numbers.get("positive", 0.5)
    else:
        negativity = sum(e.negativity for e in evidence) / len(evidence)
    intent = 2.0 if finding.kind is AlertKind.CHURN_RISK else 1.0 + sum(e.intent for e in evidence) / len(evidence)
    followers = sum({e.author_id: e.followers for e in evidence}.values())
    reach = 1.0 + math.log10(1 + followers) / 3
    speed = 1.0 + max(0.0, math.log2(max(finding.speed, 1.0))) / 2
    return negativity * intent * reach * speed


def severity(finding: Finding) -> int:
    value = score(finding)
    level = next((level for cut, level in CUTS if value >= cut), 4)
    if finding.kind is AlertKind.CHURN_RISK:
        level = min(level, 2)
    if finding.kind is AlertKind.ADVOCATE:
        level = max(level, 3)
    return level


def deadline_after(level: int) -> timedelta:
    return DEADLINES[level]
