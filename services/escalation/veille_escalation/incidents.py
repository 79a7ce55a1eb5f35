"""One alert per incident: findings become alerts, updated as evidence grows, closed by people.

An incident is a brand, a kind and a scope (an aspect, an author, a segment).
A finding within the kind's cooldown of the incident's last finding updates it
(new revision) instead of raising another alert; revisions are emitted only when
the evidence grows by a quarter or severity rises, so a long wave does not
flood the channel. `alert_id` is deterministic, so a replay after a restart
produces the same alerts.
Every published revision carries a `Checkpoint` of what the book knew then: the
incident's scope, last finding and emitted evidence, the mention it was published
through, the brand's tuned threshold for the kind and the verdict counts, in order
(`seq`). A restart restores the book from the latest checkpoints, which survive the
topic's compaction, then replays the committed mentions into the detectors; a
finding replayed after its incident's checkpoint re-applies only what was never
published (evidence folded into the open alert), so the book comes back exact.
Lifecycle: open → acknowledged → resolved, or false alarm; new evidence in the
same window reopens a closed incident (replayed evidence does not). A false
alarm makes that detector less sensitive for that brand, within bounds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from veille_contracts.ids import alert_id
from veille_contracts.models import Alert, AlertFeedback, AlertKind, AlertStatus, ScoredMention
from veille_escalation.explain import explain
from veille_escalation.findings import Finding
from veille_escalation.severity import deadline_after, severity

COOLDOWN = {
    AlertKind.SPIKE: timedelta(hours=6),
    AlertKind.INFLUENTIAL_AUTHOR: timedelta(hours=24),
    AlertKind.CHURN_RISK: timedelta(hours=24),
    AlertKind.ADVOCATE: timedelta(hours=24),
    AlertKind.DRIFT: timedelta(days=7),
    AlertKind.EMPLOYER_BRAND: timedelta(days=7),
}
MAX_EVIDENCE = 50
GROWTH_TO_REEMIT = 1.25
CLOSED = frozenset({AlertStatus.RESOLVED, AlertStatus.FALSE_ALARM})
VERDICTS = CLOSED | {AlertStatus.ACKNOWLEDGED}
NEXT_STATUS = {
    AlertStatus.OPEN: {AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED, AlertStatus.FALSE_ALARM},
    AlertStatus.ACKNOWLEDGED: {AlertStatus.RESOLVED, AlertStatus.FALSE_ALARM},
}
# Sensitivity bounds: a false alarm raises the detector's threshold by 15 % for the brand, up to 2×;
# a confirmed alert (acknowledged or resolved) brings it back down by 5 %, never below 1×.
SCALE_UP, SCALE_DOWN, SCALE_MAX, SCALE_MIN = 1.15, 0.95, 2.0, 1.0


class FeedbackError(ValueError):
    """Feedback that cannot apply: unknown alert or a transition the lifecycle forbids."""


class UnknownAlertError(FeedbackError):
    """Feedback about an alert this service never raised."""


class StaleAlertError(FeedbackError):
    """Feedback about an alert that is no longer its incident's current one; names the current alert."""


Position = tuple[datetime, str]  # where a mention stands in story order: (published_at, mention_id)


def position_of(mention: ScoredMention) -> Position:
    """A mention's place in story order: the order the engine observes and replays mentions in."""
    return mention.published_at, mention.mention_id


@dataclass
class Incident:
    alert: Alert
    last_seen: datetime
    emitted_evidence: int
    seq: int = 0  # the book's order of this incident's latest published revision
    through: Position | None = None  # the mention observed when it was published


@dataclass(frozen=True)
class Checkpoint:
    """What the book knew when it published a revision; sent in the revision's headers."""

    scope: str
    last_seen: datetime
    emitted: int
    seq: int
    through: Position | None
    scale: float
    verdicts: dict[str, int]

    def encode(self) -> str:
        through = [self.through[0].isoformat(), self.through[1]] if self.through else None
        return json.dumps(
            {
                "scope": self.scope,
                "last_seen": self.last_seen.isoformat(),
                "emitted": self.emitted,
                "seq": self.seq,
                "through": through,
                "scale": self.scale,
                "verdicts": self.verdicts,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> Checkpoint:
        """The checkpoint of a header; `ValueError` if it is not one."""
        try:
            data = json.loads(raw)
            through = data["through"]
            return cls(
                scope=str(data["scope"]),
                last_seen=datetime.fromisoformat(data["last_seen"]),
                emitted=int(data["emitted"]),
                seq=int(data["seq"]),
                through=(datetime.fromisoformat(through[0]), str(through[1])) if through else None,
                scale=float(data["scale"]),
                verdicts={str(k): int(v) for k, v in data["verdicts"].items()},
            )
        except (KeyError, TypeError, IndexError, AttributeError, json.JSONDecodeError) as error:
            raise ValueError(f"not an incident checkpoint: {error}") from None


@dataclass
class IncidentBook:
    retention: timedelta = timedelta(days=35)  # an incident silent this long is let go
    capacity: int = 200_000  # incidents kept at most, the longest silent let go first
    incidents: dict[tuple[str, AlertKind, str], Incident] = field(default_factory=dict)
    by_id: dict[str, tuple[str, AlertKind, str]] = field(default_factory=dict)
    scales: dict[tuple[str, AlertKind], float] = field(default_factory=dict)
    verdicts: Counter[tuple[AlertKind, AlertStatus]] = field(default_factory=Counter)
    seq: int = 0  # revisions published so far, in order
    position: Position | None = None  # the mention being observed (set by the engine)

    def scale(self, brand: str, kind: AlertKind) -> float:
        return self.scales.get((brand, kind), 1.0)

    def record(self, finding: Finding) -> Alert | None:
        """The alert to emit for this finding: a new one, a new revision, or None when nothing worth saying changed."""
        key = (finding.brand, finding.kind, finding.scope)
        incident = self.incidents.get(key)
        level = severity(finding)
        now = finding.detected_at
        ids = [e.mention_id for e in finding.evidence]
        if incident and incident.alert.status not in CLOSED and now - incident.last_seen <= COOLDOWN[finding.kind]:
            return self._update(incident, finding, level, ids)
        window_start = finding.window_start
        new_id = alert_id(finding.brand, finding.kind.value, window_start, finding.scope)
        if incident and incident.alert.alert_id == new_id:
            return self._reopen(incident, finding, level, ids)
        alert = Alert(
            alert_id=new_id,
            revision=1,
            brand=finding.brand,
            kind=finding.kind,
            severity=level,
            status=AlertStatus.OPEN,
            audience=finding.audience,
            deadline=now + deadline_after(level),
            window_start=window_start,
            window_end=max(finding.window_end, window_start),
            evidence_mention_ids=ids[:MAX_EVIDENCE],
            explanation=explain(finding),
            created_at=now,
            updated_at=now,
        )
        self.incidents[key] = Incident(alert, now, len(alert.evidence_mention_ids))
        self.by_id[alert.alert_id] = key
        return self._published(self.incidents[key])

    def _published(self, incident: Incident) -> Alert:
        """Stamp the incident's new revision with the book's order and the mention it came through."""
        self.seq += 1
        incident.seq, incident.through = self.seq, self.position
        return incident.alert

    def absorb(self, finding: Finding) -> None:
        """A finding replayed after a restart: re-apply what its incident never published, emit nothing.

        Findings of mentions observed before the incident's checkpoint are already in it; a later one
        could only have folded evidence into the open alert, since anything worth saying was published.
        """
        incident = self.incidents.get((finding.brand, finding.kind, finding.scope))
        if incident is None or incident.through is None or self.position is None or self.position <= incident.through:
            return
        if incident.alert.status in CLOSED or finding.detected_at - incident.last_seen > COOLDOWN[finding.kind]:
            return
        self._update(incident, finding, severity(finding), [e.mention_id for e in finding.evidence], emit=False)

    def _update(
        self, incident: Incident, finding: Finding, level: int, ids: list[str], emit: bool = True
    ) -> Alert | None:
        alert = incident.alert
        incident.last_seen = max(incident.last_seen, finding.detected_at)
        merged = list(dict.fromkeys([*alert.evidence_mention_ids, *ids]))[:MAX_EVIDENCE]
        more_urgent = level < alert.severity
        grown = len(merged) >= max(incident.emitted_evidence * GROWTH_TO_REEMIT, incident.emitted_evidence + 1)
        updated = alert.model_copy(
            update={
                "evidence_mention_ids": merged,
                "window_end": max(alert.window_end, finding.window_end),
                "severity": min(level, alert.severity),
                "deadline": min(alert.deadline, finding.detected_at + deadline_after(level)),
                "explanation": explain(finding) if more_urgent or grown else alert.explanation,
            }
        )
        if not (emit and (more_urgent or grown)):
            incident.alert = updated
            return None
        incident.alert = updated.model_copy(update={"revision": alert.revision + 1, "updated_at": finding.detected_at})
        incident.emitted_evidence = len(merged)
        return self._published(incident)

    def _reopen(self, incident: Incident, finding: Finding, level: int, ids: list[str]) -> Alert | None:
        """New evidence for a closed incident of the same window reopens it; replayed evidence does not."""
        alert = incident.alert
        if set(ids) <= set(alert.evidence_mention_ids):
            return None
        merged = list(dict.fromkeys([*alert.evidence_mention_ids, *ids]))[:MAX_EVIDENCE]
        incident.alert = alert.model_copy(
            update={
                "status": AlertStatus.OPEN,
                "revision": alert.revision + 1,
                "severity": level,
                "deadline": finding.detected_at + deadline_after(level),
                "evidence_mention_ids": merged,
                "window_end": max(alert.window_end, finding.window_end),
                "explanation": explain(finding),
                "updated_at": finding.detected_at,
            }
        )
        incident.last_seen = finding.detected_at
        incident.emitted_evidence = len(merged)
        return self._published(incident)

    def check(self, verdict: AlertFeedback) -> Alert:
        """The alert a verdict is about; `FeedbackError` if it is unknown or the lifecycle forbids the change."""
        key = self.by_id.get(verdict.alert_id)
        if key is None:
            raise UnknownAlertError(f"unknown alert {verdict.alert_id}")
        alert = self.incidents[key].alert
        if alert.alert_id != verdict.alert_id:
            raise StaleAlertError(
                f"alert {verdict.alert_id} is no longer current: its incident's current alert is {alert.alert_id}"
            )
        if verdict.at < alert.created_at:
            raise FeedbackError(
                f"a verdict dated {verdict.at.isoformat()} is before alert {alert.alert_id} was raised "
                f"({alert.created_at.isoformat()})"
            )
        if verdict.status != alert.status and verdict.status not in NEXT_STATUS.get(alert.status, set()):
            raise FeedbackError(
                f"alert {alert.alert_id} is {alert.status.value}; it cannot become {verdict.status.value}"
            )
        return alert

    def feedback(self, verdict: AlertFeedback) -> Alert:
        """Apply a person's verdict; returns the alert's new revision."""
        alert = self.check(verdict)
        if verdict.status == alert.status:
            return alert
        self._judged(alert, verdict.status)
        incident = self.incidents[self.by_id[alert.alert_id]]
        incident.alert = alert.model_copy(
            update={
                "status": verdict.status,
                "revision": alert.revision + 1,
                "updated_at": max(verdict.at, alert.updated_at),
            }
        )
        return self._published(incident)

    def _judged(self, alert: Alert, status: AlertStatus) -> None:
        """Count a verdict and tune the detector's sensitivity for the brand."""
        brand, kind = alert.brand, alert.kind
        if status is AlertStatus.FALSE_ALARM:
            self.scales[(brand, kind)] = min(SCALE_MAX, self.scale(brand, kind) * SCALE_UP)
        elif alert.status is AlertStatus.OPEN:  # first confirmation only
            self.scales[(brand, kind)] = max(SCALE_MIN, self.scale(brand, kind) * SCALE_DOWN)
        self.verdicts[(kind, status)] += 1

    def checkpoint(self, alert: Alert) -> Checkpoint:
        """What to publish with a known alert's current revision, for an exact restore."""
        key = self.by_id[alert.alert_id]
        incident = self.incidents[key]
        return Checkpoint(
            scope=key[2],
            last_seen=incident.last_seen,
            emitted=incident.emitted_evidence,
            seq=incident.seq,
            through=incident.through,
            scale=self.scale(alert.brand, alert.kind),
            verdicts={f"{k.value}/{s.value}": n for (k, s), n in sorted(self.verdicts.items())},
        )

    def restore_checkpoints(self, revisions: Iterable[tuple[Alert, Checkpoint]]) -> None:
        """Take back the book from revisions read from the `alerts` topic, in any order, repeats included.

        Each incident is its latest checkpointed revision; a brand's threshold for a kind and the verdict
        counts are those of the latest checkpoint that carries them.
        """
        latest_scale: dict[tuple[str, AlertKind], int] = {}
        for alert, point in sorted(revisions, key=lambda pair: pair[1].seq):
            key = (alert.brand, alert.kind, point.scope)
            known = self.incidents.get(key)
            if known is None or point.seq >= known.seq:
                self.incidents[key] = Incident(alert, point.last_seen, point.emitted, point.seq, point.through)
            self.by_id[alert.alert_id] = key
            if point.seq >= latest_scale.get((alert.brand, alert.kind), 0):
                latest_scale[(alert.brand, alert.kind)] = point.seq
                self.scales[(alert.brand, alert.kind)] = point.scale
            if point.seq >= self.seq:
                self.seq = point.seq
                self.verdicts = Counter({_verdict_of(name): n for name, n in point.verdicts.items()})

    def restore(self, alert: Alert, scope: str) -> None:
        """Take back an alert read from the `alerts` topic without a checkpoint (its latest revision wins)."""
        key = (alert.brand, alert.kind, scope)
        known = self.incidents.get(key)
        same = known is not None and known.alert.alert_id == alert.alert_id
        if known and same and known.alert.revision >= alert.revision:
            return
        # a verdict read back from the topic tunes the detector again, as it did when it was given
        before = known.alert if known and same else None
        if alert.status in VERDICTS and (before is None or before.status is not alert.status):
            self._judged(before or alert.model_copy(update={"status": AlertStatus.OPEN}), alert.status)
        self.incidents[key] = Incident(alert, alert.updated_at, len(alert.evidence_mention_ids))
        self.by_id[alert.alert_id] = key

    def forget_before(self, moment: datetime) -> int:
        """Let go of incidents silent since before `moment`, and the oldest beyond capacity; returns how many."""
        silent = [key for key, incident in self.incidents.items() if incident.last_seen < moment]
        if len(self.incidents) - len(silent) > self.capacity:
            rest = sorted((i.last_seen, key) for key, i in self.incidents.items() if i.last_seen >= moment)
            silent += [key for _, key in rest[: len(rest) - self.capacity]]
        for key in silent:
            del self.incidents[key]
        if silent:
            self.by_id = {alert: key for alert, key in self.by_id.items() if key in self.incidents}
        return len(silent)

    def false_alarm_rate(self) -> dict[str, float]:
        """Per kind: false alarms over all verdicts given."""
        rates = {}
        for kind in AlertKind:
            judged = sum(n for (k, _), n in self.verdicts.items() if k is kind)
            if judged:
                rates[kind.value] = self.verdicts[(kind, AlertStatus.FALSE_ALARM)] / judged
        return rates

    def stats(self) -> dict[str, object]:
        """What an operator checks: incidents by kind and status, verdicts, false-alarm rates, tuned detectors."""
        incidents: Counter[str] = Counter(
            f"{i.alert.kind.value}/{i.alert.status.value}" for i in self.incidents.values()
        )
        return {
            "incidents": dict(sorted(incidents.items())),
            "verdicts": {f"{k.value}/{s.value}": n for (k, s), n in sorted(self.verdicts.items())},
            "false_alarm_rate": self.false_alarm_rate(),
            "threshold_scale": {f"{b}/{k.value}": round(v, 4) for (b, k), v in sorted(self.scales.items()) if v != 1.0},
        }


def _verdict_of(name: str) -> tuple[AlertKind, AlertStatus]:
    """A verdict count's key from its checkpoint name, `kind/status`."""
    kind, _, status = name.partition("/")
    return AlertKind(kind), AlertStatus(status)
