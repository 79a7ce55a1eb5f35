"""The false-alarm rate is an OpenTelemetry metric, per alert kind."""

from __future__ import annotations

from datetime import timedelta

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.escalation.helpers import T0, post, small
from veille_contracts.models import AlertFeedback, AlertStatus, Polarity
from veille_escalation.app import observe_false_alarms
from veille_escalation.engine import Escalation


def test_the_false_alarm_rate_is_exported_per_kind() -> None:
    reader = InMemoryMetricReader()
    engine = Escalation()
    observe_false_alarms(engine, MeterProvider(metric_readers=[reader]).get_meter("test"))
    for author, status in enumerate([AlertStatus.FALSE_ALARM, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED]):
        mention = post(T0 + timedelta(minutes=author), author=small(author), churn=0.95, polarity=Polarity.NEGATIVE)
        [alert] = engine.observe(mention)
        engine.feedback(AlertFeedback(alert_id=alert.alert_id, status=status, by="agent-3", at=T0 + timedelta(hours=1)))
    data = reader.get_metrics_data()
    assert data is not None
    [points] = [
        metric.data.data_points
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "veille.escalation.false_alarm_rate"
    ]
    assert [(dict(p.attributes or {}), getattr(p, "value", None)) for p in points] == [({"kind": "churn_risk"}, 1 / 3)]
