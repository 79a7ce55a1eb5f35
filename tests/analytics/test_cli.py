"""The analytics commands as a person runs them: `veille report hr`, `veille erase`, `veille dashboards build`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analytics.seeded import seed
from tests.conftest import Stack
from veille_analytics.dashboards import DASHBOARDS, render_json

pytestmark = pytest.mark.integration


def _veille(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    return subprocess.run(
        [sys.executable, "-m", "veille.cli", *args],
        env={**clean, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_erase_and_dashboards_commands(stack: Stack, tmp_path: Path) -> None:
    settings, client = seed(stack.settings)
    env = {
        "VEILLE_STATE_DIR": str(tmp_path / "state"),
        "VEILLE_CLICKHOUSE_URL": str(settings.clickhouse_url).rstrip("/"),
        "VEILLE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
    }
    report = _veille(
        env, "report", "hr", "--brand", "Banque Aurore", "--from", "2026-10-05", "--to", "2026-11-16",
        "--out", str(tmp_path / "reports"),
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert sorted(p.suffix for p in (tmp_path / "reports").glob("hr-banque-aurore-*.*")) == [".html", ".pdf"]

    backwards = _veille(env, "report", "hr", "--brand", "X", "--from", "2026-11-16", "--to", "2026-10-05")
    assert backwards.returncode == 2 and "--to must be after --from" in backwards.stderr

    erased = _veille(env, "erase", "--author", "a1f3c9e07b5d4e21")
    assert erased.returncode == 0, erased.stderr
    assert "erased 1 mention(s)" in erased.stdout
    assert client.query("SELECT count() FROM mentions WHERE author_id = 'a1f3c9e07b5d4e21'").result_rows == [(0,)]

    built = _veille(env, "dashboards", "build", "--out", str(tmp_path / "dashboards"))
    assert built.returncode == 0, built.stderr
    for dashboard in DASHBOARDS:
        written = tmp_path / "dashboards" / dashboard.folder / f"{dashboard.uid}.json"
        assert written.read_text() == render_json(dashboard)
