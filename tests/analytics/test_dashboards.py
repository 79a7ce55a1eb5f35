"""Dashboards as code: deterministic JSON, and every panel's SQL runs on the real ClickHouse with data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from tests.analytics.seeded import RANGE, seed
from tests.conftest import Stack
from veille_analytics.dashboards import DASHBOARDS, Panel, build, panel_range, render_json, render_sql

ROOT = Path(__file__).resolve().parents[2]
PANELS = [pytest.param(d, p, id=f"{d.uid}/{p.title}") for d in DASHBOARDS for p in d.panels]
VARIABLES = {
    "brand": ["Banque Aurore"],
    "lang": ["fr", "en"],
    "voice": ["customer", "employee", "candidate", "press", "other"],
}


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> Iterator[Client]:
    _, client = seed(stack.settings)
    yield client
    client.close()


@pytest.mark.integration
@pytest.mark.parametrize(("dashboard", "panel"), PANELS)
def test_panel_sql_runs_on_seeded_data_and_returns_its_columns(seeded: Client, dashboard: object, panel: Panel) -> None:
    start, end = RANGE
    if panel.time_from_hours:  # a "last N hours" panel: end where the seeded data ends
        end = seeded.query("SELECT max(published_at) FROM mentions").result_rows[0][0].replace(tzinfo=UTC)
    result = seeded.query(render_sql(panel.sql, VARIABLES, *panel_range(panel, start, end), interval_s=3600))
    assert tuple(result.column_names) == panel.columns
    assert result.result_rows, f"{panel.title}: no rows on seeded data"
    if panel.is_time_series:
        assert all(isinstance(row[0], datetime) or hasattr(row[0], "isoformat") for row in result.result_rows)


@pytest.mark.integration
def test_variable_queries_list_the_seeded_values(seeded: Client) -> None:
    for dashboard in DASHBOARDS:
        variables = {v["name"]: v["query"] for v in build(dashboard)["templating"]["list"]}
        assert set(variables) == {"brand", "lang", "voice"}
        brands = [row[0] for row in seeded.query(variables["brand"]).result_rows]
        assert {"Banque Aurore", "Nimbus Mobile", "Voltéo"} <= set(brands)


@pytest.mark.integration
def test_employee_sentiment_leads_customer_sentiment_by_the_seeded_lag(seeded: Client) -> None:
    lead = next(p for p in DASHBOARDS[2].panels if p.title.startswith("Lead"))
    rows = seeded.query(render_sql(lead.sql, VARIABLES, *RANGE, interval_s=3600)).result_rows
    best_lag = max(rows, key=lambda row: row[1])[0]
    assert best_lag == 2, rows  # the story: customers turn two weeks after staff


@pytest.mark.integration
def test_the_share_of_voice_counts_a_mention_once_even_when_written_twice(seeded: Client) -> None:
    share = next(p for p in DASHBOARDS[0].panels if p.title == "Share of voice")
    sql = render_sql(share.sql, VARIABLES, *RANGE, interval_s=3600)
    before = [tuple(row) for row in seeded.query(sql).result_rows]
    seeded.command("INSERT INTO mentions SELECT * EXCEPT inserted_at, now64(3) FROM mentions WHERE brand = 'Voltéo'")
    assert [tuple(row) for row in seeded.query(sql).result_rows] == before


def test_committed_dashboards_are_exactly_what_the_code_builds() -> None:
    for dashboard in DASHBOARDS:
        path = ROOT / "dashboards" / dashboard.folder / f"{dashboard.uid}.json"
        assert path.is_file(), f"run `veille dashboards build` to write {path}"
        assert path.read_text() == render_json(dashboard), f"{path} is stale: run `veille dashboards build`"


def test_uids_are_stable_unique_and_panels_fit_the_grid() -> None:
    assert [d.uid for d in DASHBOARDS] == ["veille-communications", "veille-customer-service", "veille-employer-brand"]
    for dashboard in DASHBOARDS:
        built = build(dashboard)
        assert len({p["id"] for p in built["panels"]}) == len(dashboard.panels)
        assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in built["panels"])
        assert render_json(dashboard) == render_json(dashboard)


def test_rendering_quotes_values_and_refuses_unknown_macros() -> None:
    sql = render_sql("brand = ${brand:singlequote}", {"brand": ["O'Neil Bank"]}, *RANGE, interval_s=60)
    assert sql == "brand = 'O\\'Neil Bank'"
    with pytest.raises(ValueError, match="unexpanded"):
        render_sql("x = ${unknown:singlequote}", {}, *RANGE, interval_s=60)
