"""The quality targets on a generated stream: every injected incident found, little noise, churn at once."""

from __future__ import annotations

from veille_escalation.quality import run, score
from veille_escalation.scenarios import generate


def test_injected_incidents_are_found_and_noise_stays_under_one_false_alert_per_brand_per_day() -> None:
    scenario = generate(seed=11, days=18)
    result = score(scenario, run(scenario))
    assert result["recall"] >= 0.9, result["per_kind"]
    assert result["false_alerts_per_brand_day"] <= 1.0
    assert result["per_kind"]["churn_risk"]["minutes_to_detect"]["churn statement"] == 0.0
    assert max(result["churn_alert_ms"]) < 2000
