"""Scores the engine on a scenario: per detector precision, recall and time to detect; false alerts per day.

An alert (its first revision: one incident) is a true detection when an
injected incident of the same brand and kind is under way (from its start to
a day after its end); every other alert is a false alert.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from veille_contracts.models import Alert, AlertKind
from veille_escalation.engine import Escalation
from veille_escalation.scenarios import Injected, Scenario

SLACK = timedelta(days=1)


@dataclass(frozen=True)
class Run:
    alerts: list[Alert]  # first revisions, in emission order
    seconds_per_mention: list[float]
    churn_alert_seconds: list[float]  # wall time from a churn statement entering the engine to its alert


def run(scenario: Scenario, engine: Escalation | None = None) -> Run:
    engine = engine or Escalation()
    alerts: list[Alert] = []
    timings: list[float] = []
    churn: list[float] = []
    for mention in scenario.mentions:
        began = time.perf_counter()
        emitted = engine.observe(mention)
        elapsed = time.perf_counter() - began
        timings.append(elapsed)
        for alert in emitted:
            if alert.revision == 1:
                alerts.append(alert)
            if alert.kind is AlertKind.CHURN_RISK and alert.revision == 1:
                churn.append(elapsed)
    return Run(alerts, timings, churn)


def _matches(alert: Alert, incident: Injected) -> bool:
    return (
        alert.brand == incident.brand
        and alert.kind is incident.kind
        and incident.start <= alert.created_at <= incident.end + SLACK
    )


def score(scenario: Scenario, result: Run) -> dict[str, Any]:
    per_kind: dict[str, Any] = {}
    for kind in AlertKind:
        raised = [a for a in result.alerts if a.kind is kind]
        injected = [i for i in scenario.incidents if i.kind is kind]
        true = [a for a in raised if any(_matches(a, i) for i in injected)]
        detected = {i.name: min((a.created_at for a in raised if _matches(a, i)), default=None) for i in injected}
        delays = {
            name: (first - next(i.start for i in injected if i.name == name)).total_seconds() / 60
            for name, first in detected.items()
            if first is not None
        }
        per_kind[kind.value] = {
            "alerts": len(raised),
            "true_alerts": len(true),
            "precision": len(true) / len(raised) if raised else None,
            "injected": len(injected),
            "recall": sum(first is not None for first in detected.values()) / len(injected) if injected else None,
            "minutes_to_detect": delays,
        }
    false_alerts = sum(1 for a in result.alerts if not any(_matches(a, i) for i in scenario.incidents))
    injected_total = len(scenario.incidents)
    found = sum(1 for i in scenario.incidents if any(_matches(a, i) for a in result.alerts))
    timings = sorted(result.seconds_per_mention)
    return {
        "mentions": len(scenario.mentions),
        "brands": len(scenario.brands),
        "days": scenario.days,
        "recall": found / injected_total,
        "false_alerts": false_alerts,
        "false_alerts_per_brand_day": false_alerts / (len(scenario.brands) * scenario.days),
        "per_kind": per_kind,
        "engine_ms_per_mention_p50": timings[len(timings) // 2] * 1000,
        "engine_ms_per_mention_p99": timings[int(len(timings) * 0.99)] * 1000,
        "churn_alert_ms": [round(s * 1000, 3) for s in result.churn_alert_seconds],
    }
