"""The escalation engine: every detector on every scored mention, findings into the incident book.

Pure and synchronous: the service feeds it mentions and verdicts and ships
what it returns. Replaying the same mentions in the same order gives the same
alerts. After a restart the book comes back from the checkpoints published with
the alerts, and the committed mentions are replayed (`replay=True`) to rebuild
the detectors' windows, folding into the book only what it never published.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from veille_contracts.models import Alert, AlertFeedback, AlertKind, ScoredMention, ScoreStatus
from veille_escalation.detectors.single import advocate, churn_risk, influential_author
from veille_escalation.detectors.spike import SpikeDetector, SpikeSettings
from veille_escalation.detectors.trend import DriftDetector, EmployerBrandDetector, TrendSettings
from veille_escalation.findings import Finding
from veille_escalation.incidents import Checkpoint, IncidentBook, position_of

Detector = Callable[[ScoredMention, float], list[Finding]]
SEEN_CAPACITY = 1_000_000  # mention ids remembered: weeks of a busy brand's mentions


def per_brand(mention: ScoredMention) -> list[tuple[str, ScoredMention]]:
    """The mention once for each brand it names, that brand first: detectors escalate the first brand."""
    brands = list(dict.fromkeys(mention.brands))
    return [
        (
            brand,
            mention if i == 0 else mention.model_copy(update={"brands": [brand, *(b for b in brands if b != brand)]}),
        )
        for i, brand in enumerate(brands)
    ]


@dataclass
class Escalation:
    """Detectors, each with the kind whose feedback tunes it, and the incident book."""

    spike: SpikeSettings = field(default_factory=SpikeSettings)
    trend: TrendSettings = field(default_factory=TrendSettings)
    book: IncidentBook = field(default_factory=IncidentBook)

    def __post_init__(self) -> None:
        self.seen: OrderedDict[str, None] = OrderedDict()
        self._pruned_on: date | None = None
        drift, employer = DriftDetector(self.trend), EmployerBrandDetector(self.trend)
        self.detectors: list[tuple[AlertKind, Detector]] = [
            (AlertKind.CHURN_RISK, churn_risk),
            (AlertKind.INFLUENTIAL_AUTHOR, influential_author),
            (AlertKind.ADVOCATE, advocate),
            (AlertKind.SPIKE, SpikeDetector(self.spike).observe),
            (AlertKind.DRIFT, drift.observe),
            (AlertKind.EMPLOYER_BRAND, employer.observe),
        ]

    def observe(self, mention: ScoredMention, *, replay: bool = False) -> list[Alert]:
        """The alerts (new ones and new revisions) this mention causes; none when it is replayed.

        A mention already observed is not counted again: ingest re-publishes an original as its copies grow
        (the same mention_id with a higher `duplicates`), and that is amplification, not new volume.
        """
        if mention.status is not ScoreStatus.SCORED or self._already_seen(mention.mention_id):
            return []
        self.book.position = position_of(mention)
        day = mention.published_at.date()
        if day != self._pruned_on:  # once a story day: memory bounded by time and count
            self._pruned_on = day
            self.book.forget_before(mention.published_at - self.book.retention)
        alerts = []
        for brand, view in per_brand(mention):
            for kind, detect in self.detectors:
                for finding in detect(view, self.book.scale(brand, kind)):
                    if replay:
                        self.book.absorb(finding)
                    elif (alert := self.book.record(finding)) is not None:
                        alerts.append(alert)
        return alerts

    def reset(self) -> None:
        """Forget everything: the state is about to be rebuilt from the topics."""
        self.book = IncidentBook(self.book.retention, self.book.capacity)
        self.__post_init__()

    def _already_seen(self, mention_id: str) -> bool:
        if mention_id in self.seen:
            return True
        self.seen[mention_id] = None
        if len(self.seen) > SEEN_CAPACITY:
            self.seen.popitem(last=False)
        return False

    def feedback(self, verdict: AlertFeedback) -> Alert:
        return self.book.feedback(verdict)

    def checkpoint(self, alert: Alert) -> Checkpoint:
        """The book's checkpoint to publish with a known alert's current revision."""
        return self.book.checkpoint(alert)

    def scope_of(self, alert: Alert) -> str:
        """The incident scope of a known alert (sent along in the alert's headers)."""
        key = self.book.by_id.get(alert.alert_id)
        return key[2] if key else ""
