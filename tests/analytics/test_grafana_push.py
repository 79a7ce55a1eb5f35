"""`veille dashboards push` through grafana-client against a local Grafana API server."""

from __future__ import annotations

import pytest
from grafana_client.client import GrafanaUnauthorizedError
from pydantic import AnyHttpUrl, SecretStr

from tests.analytics.grafana_stub import TOKEN, grafana_stub
from veille_analytics.dashboards import DASHBOARDS, build
from veille_analytics.grafana import push
from veille_contracts.settings import VeilleSettings


def _settings(url: str, token: str = TOKEN) -> VeilleSettings:
    return VeilleSettings(
        grafana_url=AnyHttpUrl(url),
        grafana_token=SecretStr(token),
        grafana_clickhouse_url="http://clickhouse:8123",
        grafana_clickhouse_password=SecretStr("reader-secret"),
    )


def test_push_creates_the_datasource_folders_and_dashboards_then_only_updates() -> None:
    with grafana_stub() as (url, state):
        first = push(_settings(url))
        assert sorted(first.created) == sorted(
            ["datasource veille-clickhouse"]
            + [f"folder veille-{f}" for f in ("communications", "customer-service", "hr")]
            + [f"dashboard {d.uid}" for d in DASHBOARDS]
        )
        source = state.datasources["veille-clickhouse"]
        assert source["type"] == "grafana-clickhouse-datasource"
        assert source["jsonData"]["username"] == "veille_reader"
        assert source["secureJsonData"]["password"] == "reader-secret"
        for dashboard in DASHBOARDS:
            stored = state.dashboards[dashboard.uid]
            assert stored["meta"]["folderUid"] == f"veille-{dashboard.folder}"
            assert stored["dashboard"]["panels"] == build(dashboard)["panels"]

        second = push(_settings(url))
        assert second.created == []
        assert len(second.updated) == len(first.created)
        assert len(state.datasources) == 1 and len(state.folders) == 3 and len(state.dashboards) == 3
        assert {d["dashboard"]["version"] for d in state.dashboards.values()} == {2}


def test_a_wrong_token_is_refused_and_nothing_is_written() -> None:
    with grafana_stub() as (url, state):
        with pytest.raises(GrafanaUnauthorizedError):
            push(_settings(url, token="wrong"))
        assert not state.datasources and not state.folders and not state.dashboards
