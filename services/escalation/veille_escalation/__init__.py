"""veille escalation service.

Spots early signs in mentions-scored (spikes, influential unhappy authors, churn risk, drift,
employer-brand shifts, advocates) and raises explained alerts.
"""
