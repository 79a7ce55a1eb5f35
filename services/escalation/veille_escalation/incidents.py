"""One alert per incident: findings become alerts, updated as evidence grows, closed by people.

An incident is a brand, a kind and a scope (an aspect, an author, a segment).
A finding within the kind's cooldown of the incident's last finding updates it
(new revision) instead of raising another alert; revisions are emitted only when
the evidence grows by a quarter or severity rises, so a long wave does not
flood the channel. `alert_id` is deterministic, so a replay after a restart
produces the same alerts, and the book is restored from the `alerts` topic.
Lifecycle: open → acknowledged → resolved, or false alarm; new evidence in the
same window reopens a closed incident (replayed evidence does not). A false
alarm makes that detector less sensitive for that brand, within bounds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from veille_contracts.ids import alert_id
from veille_contracts.models import Alert, AlertFeedback, AlertKind, AlertStatus
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


@dataclass
class Incident:
    alert: Alert
    last_seen: datetime
    emitted_evidence: int


@dataclass
class IncidentBook:
    retention: timedelta = timedelta(days=35)  # an incident silent this long is let go
    capacity: int = 200_000  # incidents kept at most, the longest silent let go first
    incidents: dict[tuple[str, AlertKind, str], Incident] = field(default_factory=dict)
    by_id: dict[str, tuple[str, AlertKind, str]] = field(default_factory=dict)
    scales: dict[tuple[str, AlertKind], float] = field(default_factory=dict)
    verdicts: Counter[tuple[AlertKind, AlertStatus]] = field(default_factory=Counter)

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
        return alert

    def _update(self, incident: Incident, finding: Finding, level: int, ids: list[str]) -> Alert | None:
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
        if not (more_urgent or grown):
            incident.alert = updated
            return None
        incident.alert = updated.model_copy(update={"revision": alert.revision + 1, "updated_at": finding.detected_at})
        incident.emitted_evidence = len(merged)
        return incident.alert

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
        return incident.alert

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
        return incident.alert

    def _judged(self, alert: Alert, status: AlertStatus) -> None:
        """Count a verdict and tune the detector's sensitivity for the brand."""
        brand, kind = alert.brand, alert.kind
        if status is AlertStatus.FALSE_ALARM:
            self.scales[(brand, kind)] = min(SCALE_MAX, self.scale(brand, kind) * SCALE_UP)
        elif alert.status is AlertStatus.OPEN:  # first confirmation only
            self.scales[(brand, kind)] = max(SCALE_MIN, self.scale(brand, kind) * SCALE_DOWN)
        self.verdicts[(kind, status)] += 1

    def restore(self, alert: Alert, scope: str) -> None:
        """Take back an alert read from the `alerts` topic (its latest revision wins)."""
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
