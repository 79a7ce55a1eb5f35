"""Provision Grafana with grafana-client: the ClickHouse datasource, one folder per audience, the dashboards.

Idempotent: what exists is updated in place (by uid), what is missing is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from veille_analytics.dashboards import DASHBOARDS, DATASOURCE, build
from veille_contracts.settings import VeilleSettings

FOLDERS = {
    "communications": "veille · Communications",
    "customer-service": "veille · Customer service",
    "hr": "veille · HR",
}
_NOT_FOUND = 404


@dataclass
class PushReport:
    """What a push created and what it updated."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def folder_uid(folder: str) -> str:
    return f"veille-{folder}"


def grafana_api(settings: VeilleSettings) -> GrafanaApi:
    """A client from settings: a service-account token if given, else user and password."""
    credential: str | tuple[str, str] = (
        settings.grafana_token.get_secret_value()
        if settings.grafana_token
        else (settings.grafana_user, settings.grafana_password.get_secret_value())
    )
    api: GrafanaApi = GrafanaApi.from_url(str(settings.grafana_url).rstrip("/"), credential=credential, timeout=10.0)
    return api


def datasource_payload(settings: VeilleSettings) -> dict[str, Any]:
    """The ClickHouse datasource as Grafana's read-only user reaches it."""
    host, _, port = settings.grafana_clickhouse_url.split("://", 1)[-1].partition(":")
    return {
        "uid": DATASOURCE["uid"],
        "name": "veille-clickhouse",
        "type": DATASOURCE["type"],
        "access": "proxy",
        "isDefault": True,
        "jsonData": {
            "host": host,
            "port": int(port or 8123),
            "protocol": "http",
            "secure": settings.grafana_clickhouse_url.startswith("https"),
            "username": settings.grafana_clickhouse_user,
            "defaultDatabase": settings.clickhouse_database,
        },
        "secureJsonData": {"password": settings.grafana_clickhouse_password.get_secret_value()},
    }


def _exists(fetch: Any, *args: Any) -> bool:
    try:
        fetch(*args)
        return True
    except GrafanaClientError as error:
        if error.status_code == _NOT_FOUND:
            return False
        raise


def push(settings: VeilleSettings, api: GrafanaApi | None = None) -> PushReport:
    """Create or update the datasource, the folders and the dashboards."""
    api = api or grafana_api(settings)
    report = PushReport()
    source = datasource_payload(settings)
    if _exists(api.datasource.get_datasource_by_uid, source["uid"]):
        api.datasource.update_datasource_by_uid(source["uid"], source)
        report.updated.append(f"datasource {source['uid']}")
    else:
        api.datasource.create_datasource(source)
        report.created.append(f"datasource {source['uid']}")
    for folder, title in FOLDERS.items():
        uid = folder_uid(folder)
        if _exists(api.folder.get_folder, uid):
            api.folder.update_folder(uid, title=title, overwrite=True)
            report.updated.append(f"folder {uid}")
        else:
            api.folder.create_folder(title, uid=uid)
            report.created.append(f"folder {uid}")
    for dashboard in DASHBOARDS:
        existed = _exists(api.dashboard.get_dashboard, dashboard.uid)
        api.dashboard.update_dashboard(
            {
                "dashboard": build(dashboard),
                "folderUid": folder_uid(dashboard.folder),
                "overwrite": True,
                "message": "veille dashboards push",
            }
        )
        (report.updated if existed else report.created).append(f"dashboard {dashboard.uid}")
    return report
