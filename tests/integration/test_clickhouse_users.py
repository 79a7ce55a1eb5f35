"""The production ClickHouse users (deploy/clickhouse/users.xml) on a real server: each does its job and no more.

The services write through `veille_writer`, Grafana reads through `veille_reader`.
A server of its own is started with that very file, as compose mounts it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from pydantic import AnyHttpUrl, SecretStr

from tests.analytics.seeded import RANGE
from tests.analytics.test_dashboards import VARIABLES
from tests.processes import free_port
from veille.infra.clickhouse_server import STOP_PIPE
from veille.infra.embedded import _ask_clickhouse_to_stop, clickhouse_answers
from veille_analytics.clickhouse import clickhouse_client, connect
from veille_analytics.dashboards import DASHBOARDS, panel_range, render_sql
from veille_analytics.privacy import erase_author
from veille_analytics.schema import migrate
from veille_analytics.sinks import insert_json
from veille_contracts.catalog import topic
from veille_contracts.settings import VeilleSettings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {"VEILLE_CLICKHOUSE_PASSWORD": "writer-pw-test", "VEILLE_CLICKHOUSE_READER_PASSWORD": "reader-pw-test"}
# The embedded server's own administrator, on loopback only; production users come from users.d/ as in compose.
ADMIN = """<clickhouse>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <profiles><default/></profiles>
  <quotas><default/></quotas>
</clickhouse>
"""


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VeilleSettings]:
    root = tmp_path_factory.mktemp("clickhouse-users")
    (root / "users.d").mkdir()
    shutil.copy(ROOT / "deploy" / "clickhouse" / "users.xml", root / "users.d" / "veille.xml")
    (root / "users.xml").write_text(ADMIN)
    http_port, tcp_port = free_port(), free_port()
    command = [sys.executable, "-m", "veille.infra.clickhouse_server", "--workdir", str(root / "server")]
    command += ["--http-port", str(http_port), "--tcp-port", str(tcp_port), "--users-config", str(root / "users.xml")]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}, **PASSWORDS}
    with (root / "server.log").open("ab") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 30
    while not clickhouse_answers(url):
        assert server.poll() is None and time.monotonic() < deadline, (root / "server.log").read_text()[-2000:]
        time.sleep(0.1)
    try:
        yield VeilleSettings(
            clickhouse_url=AnyHttpUrl(url),
            clickhouse_database="veille",
            clickhouse_user="veille_writer",
            clickhouse_password=SecretStr(PASSWORDS["VEILLE_CLICKHOUSE_PASSWORD"]),
        )
    finally:
        _ask_clickhouse_to_stop(root / "server" / STOP_PIPE)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def _reader(settings: VeilleSettings) -> Client:
    reader = settings.model_copy(
        update={"clickhouse_user": "veille_reader", "clickhouse_password": SecretStr(PASSWORDS[
            "VEILLE_CLICKHOUSE_READER_PASSWORD"])}
    )  # fmt: skip
    return clickhouse_client(reader)


def _refused(client: Client, sql: str) -> bool:
    try:
        client.command(sql)
    except DatabaseError as error:
        return "ACCESS_DENIED" in str(error) or "readonly" in str(error).lower() or "Code: 497" in str(error)
    return False


def test_the_writer_migrates_writes_and_erases_but_sees_no_other_users(guarded: VeilleSettings) -> None:
    writer = connect(guarded)
    migrate(writer, guarded.retention_days)
    examples = [p.read_bytes() for p in topic("mentions-scored").examples()]
    insert_json(writer, "mentions", examples, token=uuid.uuid4().hex)
    insert_json(writer, "alerts", [p.read_bytes() for p in topic("alerts").examples()], token=uuid.uuid4().hex)
    assert writer.query("SELECT uniqExact(mention_id) FROM mentions").result_rows == [(len(examples),)]
    assert erase_author(writer, "a1f3c9e07b5d4e21").mentions == 1
    assert _refused(writer, "SELECT name FROM system.users")
    assert _refused(writer, "CREATE DATABASE elsewhere")


def test_the_reader_runs_every_dashboard_panel_and_can_change_nothing(guarded: VeilleSettings) -> None:
    migrate(connect(guarded), guarded.retention_days)
    reader = _reader(guarded)
    start, end = RANGE[0], datetime.now(UTC)
    for dashboard in DASHBOARDS:
        for panel in dashboard.panels:
            result = reader.query(render_sql(panel.sql, VARIABLES, *panel_range(panel, start, end), interval_s=3600))
            assert not result.result_rows or tuple(result.column_names) == panel.columns, panel.title
    assert _refused(reader, "INSERT INTO mentions_incoming (mention_id) VALUES ('x')")
    assert _refused(reader, "ALTER TABLE mentions DELETE WHERE 1")
    assert _refused(reader, "DROP TABLE alerts")
    assert _refused(reader, "CREATE TABLE veille.leak (x UInt8) ENGINE = Memory")
    assert _refused(reader, "SELECT name FROM system.users")
