"""Grafana dashboards as code: three audiences, stable uids, deterministic JSON.

Every panel carries its SQL (Grafana ClickHouse datasource macros and template
variables) and the columns it returns; a test runs each one on the real
ClickHouse against seeded data. `render_sql` expands the macros the same way
the datasource plugin does, for those tests and for the benchmark.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": "veille-clickhouse"}
SCHEMA_VERSION = 39
EMPLOYER_THEMES = "('management', 'pay', 'workload', 'recognition', 'career', 'culture', 'recruiting')"

# Filters every per-brand panel shares: the brand, languages and voices picked at the top.
_FILTERS = "brand = ${brand:singlequote} AND lang IN (${lang:singlequote}) AND voice IN (${voice:singlequote})"
_BUCKET = "toStartOfInterval(hour, toIntervalSecond(greatest($__interval_s, 3600)))"
_CHURN = "$__timeFilter(published_at) AND brand = ${brand:singlequote} AND voice = 'customer' AND churn_intent >= 0.5"
_EMPLOYEE_VOICE = "$__timeFilter(published_at) AND brand = ${brand:singlequote} AND voice IN ('employee', 'candidate')"
_NET = (
    "(uniqCombined64MergeIf(mentions, polarity = 'positive') - uniqCombined64MergeIf(mentions, polarity = 'negative'))"
    " / greatest(uniqCombined64Merge(mentions), 1)"
)


@dataclass(frozen=True)
class Panel:
    """One panel: what it shows, the SQL behind it and the columns that SQL returns."""

    title: str
    kind: str  # timeseries | table | barchart | piechart | stat
    sql: str
    columns: tuple[str, ...]
    description: str
    width: int = 12
    height: int = 8
    time_from_hours: int | None = None  # Grafana's per-panel relative time ("last N hours")

    @property
    def is_time_series(self) -> bool:
        return self.kind == "timeseries"


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    folder: str
    description: str
    panels: tuple[Panel, ...]
    annotations: tuple[tuple[str, str], ...] = field(default=())  # (name, sql)


def _sentiment_and_volume() -> tuple[Panel, ...]:
    return (
        Panel(
            "Volume by polarity",
            "timeseries",
            f"SELECT {_BUCKET} AS time, polarity, uniqCombined64Merge(mentions) AS mentions\n"
            f"FROM mentions_hourly\nWHERE $__timeFilter(hour) AND {_FILTERS}\n"
            "GROUP BY time, polarity ORDER BY time, polarity",
            ("time", "polarity", "mentions"),
            "Mentions of the brand over time, split by polarity.",
        ),
        Panel(
            "Net sentiment",
            "timeseries",
            f"SELECT {_BUCKET} AS time, round({_NET}, 3) AS net_sentiment\n"
            f"FROM mentions_hourly\nWHERE $__timeFilter(hour) AND {_FILTERS}\nGROUP BY time ORDER BY time",
            ("time", "net_sentiment"),
            "(positive − negative) / all mentions, from −1 to 1.",
        ),
        Panel(
            "Disappointment, anger and churn intent",
            "timeseries",
            f"SELECT {_BUCKET} AS time, uniqCombined64IfMerge(disappointed) AS disappointed,\n"
            "  uniqCombined64IfMerge(angry) AS angry, uniqCombined64IfMerge(churn) AS churn_intent\n"
            f"FROM mentions_hourly\nWHERE $__timeFilter(hour) AND {_FILTERS}\nGROUP BY time ORDER BY time",
            ("time", "disappointed", "angry", "churn_intent"),
            "Mentions whose disappointment, anger or churn-intent probability is at least 0.5.",
        ),
    )


COMMUNICATIONS = Dashboard(
    uid="veille-communications",
    title="veille — Communications",
    folder="communications",
    description="Volume, sentiment, emotions, voices and spikes for one brand against its competitors.",
    panels=(
        *_sentiment_and_volume(),
        Panel(
            "Share of voice",
            "piechart",
            "SELECT brand, uniqCombined64Merge(mentions) AS mentions\nFROM mentions_hourly\n"
            "WHERE $__timeFilter(hour) AND lang IN (${lang:singlequote}) AND voice IN (${voice:singlequote})\n"
            "GROUP BY brand ORDER BY mentions DESC",
            ("brand", "mentions"),
            "Mentions of every watched brand, competitors included.",
        ),
        Panel(
            "Live volume (per minute)",
            "timeseries",
            "SELECT minute AS time, polarity, uniqCombined64Merge(mentions) AS mentions\nFROM mentions_minutely\n"
            "WHERE $__timeFilter(minute) AND brand = ${brand:singlequote}\nGROUP BY time, polarity ORDER BY time",
            ("time", "polarity", "mentions"),
            "Minute by minute over the last six hours (kept 30 days).",
            time_from_hours=6,
        ),
        Panel(
            "Top posts by reach",
            "table",
            "SELECT published_at, author_id, author_followers AS followers, duplicates AS copies,\n"
            "  toString(polarity) AS polarity, round(disappointment, 2) AS disappointment, text, url\n"
            f"FROM mentions\nWHERE $__timeFilter(published_at) AND {_FILTERS} AND mention_id IN (\n"
            f"  SELECT mention_id FROM mentions WHERE $__timeFilter(published_at) AND {_FILTERS}\n"
            "  ORDER BY author_followers * (1 + duplicates) DESC LIMIT 1 BY mention_id LIMIT 20)\n"
            "ORDER BY author_followers * (1 + duplicates) DESC LIMIT 1 BY mention_id LIMIT 20",
            ("published_at", "author_id", "followers", "copies", "polarity", "disappointment", "text", "url"),
            "The posts seen by most people: followers × (1 + copies).",
            width=24,
        ),
        Panel(
            "Top authors: connectors and mavens",
            "table",
            "SELECT author_id, arrayStringConcat(any(author_roles), ', ') AS roles, count() AS mentions,\n"
            "  max(author_followers) AS followers,\n"
            "  round(countIf(polarity = 'negative') / count(), 2) AS negative_share\n"
            f"FROM mentions\nWHERE $__timeFilter(published_at) AND {_FILTERS}\n"
            "GROUP BY author_id ORDER BY followers * mentions DESC LIMIT 20",
            ("author_id", "roles", "mentions", "followers", "negative_share"),
            "Authors whose posts make most impressions (connectors) or most product talk (mavens).",
        ),
        Panel(
            "Aspects",
            "barchart",
            "SELECT aspect, polarity, uniqCombined64Merge(mentions) AS mentions\nFROM aspects_daily\n"
            "WHERE day BETWEEN toDate($__fromTime) AND toDate($__toTime) AND brand = ${brand:singlequote}\n"
            "  AND voice IN (${voice:singlequote})\nGROUP BY aspect, polarity ORDER BY mentions DESC",
            ("aspect", "polarity", "mentions"),
            "What people talk about, by polarity.",
        ),
        Panel(
            "Languages",
            "piechart",
            "SELECT lang, uniqCombined64Merge(mentions) AS mentions\nFROM mentions_hourly\n"
            f"WHERE $__timeFilter(hour) AND {_FILTERS}\nGROUP BY lang ORDER BY mentions DESC",
            ("lang", "mentions"),
            "Mentions by detected language.",
        ),
        Panel(
            "Spikes and alerts",
            "table",
            "SELECT created_at, kind, severity, current_status AS status, explanation_en AS why\n"
            "FROM alerts_current\nWHERE $__timeFilter(created_at) AND brand = ${brand:singlequote}\n"
            "ORDER BY created_at DESC LIMIT 50",
            ("created_at", "kind", "severity", "status", "why"),
            "Every alert raised for the brand, with its explanation.",
            width=24,
        ),
    ),
    annotations=(
        (
            "Alerts",
            "SELECT created_at AS time, window_end AS timeEnd, concat(kind, ': ', explanation_en) AS text,\n"
            "  kind AS tags\nFROM alerts FINAL\nWHERE $__timeFilter(created_at) AND brand = ${brand:singlequote}",
        ),
    ),
)

CUSTOMER_SERVICE = Dashboard(
    uid="veille-customer-service",
    title="veille — Customer service",
    folder="customer-service",
    description="Open alerts by severity and deadline, the churn-risk queue, response times and false alarms.",
    panels=(
        Panel(
            "Open alerts by severity and deadline",
            "table",
            "SELECT severity, kind, brand, deadline, dateDiff('minute', now64(3), deadline) AS minutes_left,\n"
            "  current_status AS status, explanation_en AS why, alert_id\nFROM alerts_current\n"
            "WHERE current_status IN ('open', 'acknowledged') AND audience = 'customer_service'\n"
            "  AND brand = ${brand:singlequote}\nORDER BY severity, deadline LIMIT 100",
            ("severity", "kind", "brand", "deadline", "minutes_left", "status", "why", "alert_id"),
            "Most urgent first; a negative minutes_left is a missed deadline.",
            width=24,
        ),
        Panel(
            "Churn-risk queue",
            "table",
            "SELECT published_at, author_id, author_followers AS followers, round(churn_intent, 2) AS churn_intent,\n"
            "  round(disappointment, 2) AS disappointment, text, url\nFROM mentions\n"
            f"WHERE {_CHURN} AND mention_id IN (\n"
            f"  SELECT mention_id FROM mentions WHERE {_CHURN}\n"
            "  ORDER BY churn_intent DESC, published_at DESC LIMIT 1 BY mention_id LIMIT 50)\n"
            "ORDER BY churn_intent DESC, published_at DESC LIMIT 1 BY mention_id LIMIT 50",
            ("published_at", "author_id", "followers", "churn_intent", "disappointment", "text", "url"),
            "Customers who say they are leaving, most certain first.",
            width=24,
        ),
        Panel(
            "Time to acknowledge and resolve",
            "stat",
            "SELECT\n"
            "  quantileIf(0.5)(dateDiff('minute', created_at, acknowledged_at), acknowledged_at > created_at)"
            " AS median_minutes_to_acknowledge,\n"
            "  quantileIf(0.5)(dateDiff('minute', created_at, closed_at), closed_at > created_at)"
            " AS median_minutes_to_close\n"
            "FROM alerts_current\nWHERE $__timeFilter(created_at) AND brand = ${brand:singlequote}",
            ("median_minutes_to_acknowledge", "median_minutes_to_close"),
            "Median minutes from alert to first acknowledgement and to resolution or false alarm.",
        ),
        Panel(
            "False-alarm rate by detector",
            "table",
            "SELECT kind, count() AS alerts, countIf(current_status = 'false_alarm') AS false_alarms,\n"
            "  round(false_alarms / greatest(countIf(current_status IN ('resolved', 'false_alarm')), 1), 2)"
            " AS false_alarm_rate\n"
            "FROM alerts_current\nWHERE $__timeFilter(created_at) AND brand = ${brand:singlequote}\n"
            "GROUP BY kind ORDER BY false_alarm_rate DESC",
            ("kind", "alerts", "false_alarms", "false_alarm_rate"),
            "Share of closed alerts marked as false alarms; detectors raise their thresholds on them.",
        ),
        Panel(
            "Evidence posts",
            "table",
            "SELECT a.created_at AS alerted_at, a.kind AS kind, m.published_at AS published_at,\n"
            "  m.author_id AS author_id,\n"
            "  m.author_followers AS followers, m.text AS text\n"
            "FROM (SELECT alert_id, kind, created_at, arrayJoin(evidence_mention_ids) AS mention_id\n"
            "      FROM alerts_current WHERE $__timeFilter(created_at) AND brand = ${brand:singlequote}) AS a\n"
            "INNER JOIN (SELECT mention_id, published_at, author_id, author_followers, text FROM mentions\n"
            "            WHERE brand = ${brand:singlequote} AND mention_id IN (\n"
            "              SELECT arrayJoin(evidence_mention_ids) FROM alerts\n"
            "              WHERE $__timeFilter(created_at) AND brand = ${brand:singlequote})\n"
            "            LIMIT 1 BY mention_id) AS m ON m.mention_id = a.mention_id\n"
            "ORDER BY alerted_at DESC LIMIT 100",
            ("alerted_at", "kind", "published_at", "author_id", "followers", "text"),
            "The posts behind each alert.",
            width=24,
        ),
    ),
)

_EMPLOYEE_VS_CUSTOMER = (
    "SELECT toMonday(hour) AS time,\n"
    "  round((uniqCombined64MergeIf(mentions, voice = 'employee' AND polarity = 'positive')\n"
    "    - uniqCombined64MergeIf(mentions, voice = 'employee' AND polarity = 'negative'))\n"
    "    / greatest(uniqCombined64MergeIf(mentions, voice = 'employee'), 1), 3) AS employee_net,\n"
    "  round((uniqCombined64MergeIf(mentions, voice = 'customer' AND polarity = 'positive')\n"
    "    - uniqCombined64MergeIf(mentions, voice = 'customer' AND polarity = 'negative'))\n"
    "    / greatest(uniqCombined64MergeIf(mentions, voice = 'customer'), 1), 3) AS customer_net\n"
    "FROM mentions_hourly\nWHERE $__timeFilter(hour) AND brand = ${brand:singlequote}"
    " AND lang IN (${lang:singlequote})\nGROUP BY time ORDER BY time"
)

EMPLOYER_BRAND = Dashboard(
    uid="veille-employer-brand",
    title="veille — Employer brand",
    folder="hr",
    description="How employees and candidates speak of the company, by theme, next to customer sentiment.",
    panels=(
        Panel(
            "Employee and candidate sentiment",
            "timeseries",
            f"SELECT toMonday(hour) AS time, voice, round({_NET}, 3) AS net_sentiment\nFROM mentions_hourly\n"
            "WHERE $__timeFilter(hour) AND brand = ${brand:singlequote} AND lang IN (${lang:singlequote})\n"
            "  AND voice IN ('employee', 'candidate')\nGROUP BY time, voice ORDER BY time, voice",
            ("time", "voice", "net_sentiment"),
            "Weekly net sentiment of employees and candidates.",
        ),
        Panel(
            "Employee against customer sentiment",
            "timeseries",
            _EMPLOYEE_VS_CUSTOMER,
            ("time", "employee_net", "customer_net"),
            "Both voices on one time axis: trouble inside shows first, customers follow.",
        ),
        Panel(
            "Lead of employee over customer sentiment",
            "table",
            # The weekly series is computed once, then paired with itself N weeks later by date.
            "SELECT lag_weeks, round(corr(e, c), 3) AS correlation, count() AS weeks\nFROM (\n"
            "  SELECT lag_weeks, tupleElement(week, 2) AS e,\n"
            "    indexOf(times, tupleElement(week, 1) + toIntervalWeek(lag_weeks)) AS later,\n"
            "    arrayElement(customers, later) AS c\n"
            "  FROM (SELECT groupArray((time, employee_net)) AS weeks_, groupArray(time) AS times,\n"
            "          groupArray(customer_net) AS customers\n"
            f"        FROM ({_EMPLOYEE_VS_CUSTOMER}))\n"
            "  ARRAY JOIN weeks_ AS week\n"
            "  ARRAY JOIN range(0, 7) AS lag_weeks\n"
            "  WHERE later > 0)\n"
            "GROUP BY lag_weeks ORDER BY lag_weeks",
            ("lag_weeks", "correlation", "weeks"),
            "Correlation of employee sentiment with customer sentiment N weeks later; the peak is the lead.",
        ),
        Panel(
            "Themes",
            "barchart",
            "SELECT aspect AS theme, uniqCombined64Merge(mentions) AS total,\n"
            "  round(uniqCombined64MergeIf(aspects_daily.mentions, polarity = 'negative') / greatest(total, 1), 2)"
            " AS negative_share\n"
            "FROM aspects_daily\nWHERE day BETWEEN toDate($__fromTime) AND toDate($__toTime)"
            " AND brand = ${brand:singlequote}\n"
            f"  AND voice IN ('employee', 'candidate') AND aspect IN {EMPLOYER_THEMES}\n"
            "GROUP BY theme ORDER BY total DESC",
            ("theme", "total", "negative_share"),
            "What employees and candidates talk about, and how negatively.",
        ),
        Panel(
            "Negative mentions by theme",
            "timeseries",
            "SELECT toMonday(day) AS time, aspect AS theme,\n"
            "  uniqCombined64MergeIf(mentions, polarity = 'negative') AS negative\n"
            "FROM aspects_daily\nWHERE day BETWEEN toDate($__fromTime) AND toDate($__toTime)"
            " AND brand = ${brand:singlequote}\n"
            f"  AND voice IN ('employee', 'candidate') AND aspect IN {EMPLOYER_THEMES}\n"
            "GROUP BY time, theme ORDER BY time, theme",
            ("time", "theme", "negative"),
            "Weekly negative employee and candidate mentions per theme.",
        ),
        Panel(
            "What employees say",
            "table",
            "SELECT published_at, toString(voice) AS voice, arrayStringConcat(aspects, ', ') AS themes,\n"
            "  toString(polarity) AS polarity, text\nFROM mentions\n"
            f"WHERE {_EMPLOYEE_VOICE} AND mention_id IN (\n"
            f"  SELECT mention_id FROM mentions WHERE {_EMPLOYEE_VOICE}\n"
            "  ORDER BY p_negative DESC, published_at DESC LIMIT 1 BY mention_id LIMIT 30)\n"
            "ORDER BY p_negative DESC, published_at DESC LIMIT 1 BY mention_id LIMIT 30",
            ("published_at", "voice", "themes", "polarity", "text"),
            "The most negative employee and candidate posts first; authors are pseudonymous.",
            width=24,
        ),
    ),
)

DASHBOARDS = (COMMUNICATIONS, CUSTOMER_SERVICE, EMPLOYER_BRAND)


def _variables(dashboard: Dashboard) -> list[dict[str, Any]]:
    def query_variable(name: str, sql: str, multi: bool) -> dict[str, Any]:
        return {
            "name": name,
            "label": name.capitalize(),
            "type": "query",
            "datasource": DATASOURCE,
            "query": sql,
            "definition": sql,
            "refresh": 2,
            "multi": multi,
            "includeAll": multi,
            "sort": 1,
            "current": {},
        }

    return [
        query_variable("brand", "SELECT DISTINCT brand FROM mentions_hourly ORDER BY brand", multi=False),
        query_variable("lang", "SELECT DISTINCT lang FROM mentions_hourly ORDER BY lang", multi=True),
        query_variable("voice", "SELECT DISTINCT voice FROM mentions_hourly ORDER BY voice", multi=True),
    ]


def build(dashboard: Dashboard) -> dict[str, Any]:
    """The Grafana JSON model of a dashboard."""
    panels: list[dict[str, Any]] = []
    x = y = row_height = 0
    for index, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(
            {
                "id": index,
                "type": panel.kind,
                "title": panel.title,
                "description": panel.description,
                "datasource": DATASOURCE,
                "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
                "targets": [
                    {
                        "refId": "A",
                        "datasource": DATASOURCE,
                        "editorType": "sql",
                        "queryType": "timeseries" if panel.is_time_series else "table",
                        "format": 0 if panel.is_time_series else 1,
                        "rawSql": panel.sql,
                    }
                ],
                "fieldConfig": {"defaults": {}, "overrides": []},
                "options": {},
                **({"timeFrom": f"{panel.time_from_hours}h"} if panel.time_from_hours else {}),
            }
        )
        x, row_height = x + panel.width, max(row_height, panel.height)
    annotations = [
        {
            "name": name,
            "datasource": DATASOURCE,
            "enable": True,
            "iconColor": "red",
            "target": {"refId": "Anno", "editorType": "sql", "format": 1, "rawSql": sql},
        }
        for name, sql in dashboard.annotations
    ]
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["veille", dashboard.folder],
        "timezone": "utc",
        "schemaVersion": SCHEMA_VERSION,
        "editable": False,
        "time": {"from": "now-30d", "to": "now"},
        "refresh": "1m",
        "templating": {"list": _variables(dashboard)},
        "annotations": {"list": annotations},
        "panels": panels,
    }


def render_json(dashboard: Dashboard) -> str:
    """Deterministic text of a dashboard, as committed under dashboards/."""
    return json.dumps(build(dashboard), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(target: Path) -> list[Path]:
    """Write every dashboard to `target/<folder>/<uid>.json`; returns the files written."""
    written = []
    for dashboard in DASHBOARDS:
        path = target / dashboard.folder / f"{dashboard.uid}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_json(dashboard))
        written.append(path)
    return written


def _quoted(values: list[str]) -> str:
    return ", ".join("'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'" for value in values)


def panel_range(panel: Panel, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The time range a panel queries: the dashboard's, or its own relative override."""
    if panel.time_from_hours:
        return max(start, end - timedelta(hours=panel.time_from_hours)), end
    return start, end


def render_sql(sql: str, variables: dict[str, list[str]], start: datetime, end: datetime, interval_s: int) -> str:
    """Expand the datasource macros and `${name:singlequote}` variables as Grafana would."""

    def time_filter(match: re.Match[str]) -> str:
        column = match.group(1)
        return (
            f"{column} >= toDateTime({int(start.timestamp())}, 'UTC')"
            f" AND {column} <= toDateTime({int(end.timestamp())}, 'UTC')"
        )

    text = re.sub(r"\$__timeFilter\(([^)]+)\)", time_filter, sql)
    text = text.replace("$__fromTime", f"toDateTime({int(start.timestamp())}, 'UTC')")
    text = text.replace("$__toTime", f"toDateTime({int(end.timestamp())}, 'UTC')")
    text = text.replace("$__interval_s", str(int(interval_s)))
    for name, values in variables.items():
        text = text.replace(f"${{{name}:singlequote}}", _quoted(values))
    if "$" in text:
        raise ValueError(f"unexpanded macro or variable in: {text[text.index('$') :][:60]}")
    return text
