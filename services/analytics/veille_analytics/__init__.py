"""veille analytics service.

Writes scored mentions and alerts to ClickHouse, builds the Grafana dashboards and the employer-
brand report for HR.
"""
