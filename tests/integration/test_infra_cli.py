"""`veille infra up|status|down` as a person runs them: real processes, none left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from veille.infra.embedded import _alive

pytestmark = pytest.mark.integration


def _veille(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    env |= {
        "VEILLE_STATE_DIR": str(state),
        "VEILLE_BROKER_PORT": "0",
        "VEILLE_CLICKHOUSE_HTTP_PORT": "0",
        "VEILLE_CLICKHOUSE_TCP_PORT": "0",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "veille.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_up_status_down_leaves_no_process_and_status_reports_a_dead_component(tmp_path: Path) -> None:
    up = _veille(tmp_path, "infra", "up")
    assert up.returncode == 0, up.stderr
    components = json.loads((tmp_path / "infra.json").read_text())["components"]
    assert {c["name"] for c in components} == {"broker", "clickhouse"}
    assert "VEILLE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:" in up.stdout
    assert "VEILLE_KAFKA_BOOTSTRAP_SERVERS" in (tmp_path / "infra.env").read_text()
    try:
        status = _veille(tmp_path, "infra", "status")
        assert status.returncode == 0 and status.stdout.count("running") == 2, status.stdout

        broker = next(c for c in components if c["name"] == "broker")
        os.kill(broker["pid"], signal.SIGKILL)
        status = _veille(tmp_path, "infra", "status")
        assert status.returncode == 1
        assert "dead" in status.stdout and "running" in status.stdout
    finally:
        down = _veille(tmp_path, "infra", "down")
    assert down.returncode == 0, down.stderr
    assert not any(_alive(c["pid"], c["marker"]) for c in components)
    assert not (tmp_path / "infra.json").exists()
    assert _veille(tmp_path, "infra", "status").returncode == 1


def test_a_bad_setting_is_refused_with_the_variable_named(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "veille.cli", "infra", "status"],
        env={**os.environ, "VEILLE_STATE_DIR": str(tmp_path), "VEILLE_BROKER_PORT": "99999"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "VEILLE_BROKER_PORT" in result.stderr
