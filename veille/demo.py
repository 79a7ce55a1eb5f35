"""The analytics part of `veille demo`: a bundled sample stream through the analytics service.

The analytics service runs as its own process (`veille run analytics`). The
sample is a stream of scored mentions with a story: support staff complain about
workload, and two weeks later customers grow disappointed. It goes through the
broker into ClickHouse; the demo then shows the dashboards' data and writes the
HR report.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer
from clickhouse_connect.driver.exceptions import DatabaseError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from veille_analytics.clickhouse import clickhouse_client
from veille_analytics.dashboards import DASHBOARDS, render_sql, write_all
from veille_analytics.report import collect, write_report
from veille_analytics.synthetic import story
from veille_contracts.catalog import topic
from veille_contracts.codec import encode
from veille_contracts.settings import VeilleSettings

BRANDS = ("Banque Aurore", "Nimbus Mobile", "Voltéo")
WEEKS = 10


def _story_start() -> datetime:
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday(), weeks=WEEKS)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


async def _publish(settings: VeilleSettings, payloads: list[tuple[str, bytes]], console: Console) -> None:
    producer = AIOKafkaProducer(acks="all", linger_ms=5, **settings.kafka_client_options())
    await producer.start()
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("publishing the sample stream", total=len(payloads))
            for index in range(0, len(payloads), 500):
                chunk = payloads[index : index + 500]
                await asyncio.gather(*[await producer.send(name, body) for name, body in chunk])
                progress.advance(task, len(chunk))
    finally:
        await producer.stop()


def _start_analytics(settings: VeilleSettings) -> subprocess.Popen[bytes]:
    log = (settings.state_dir / "logs" / "analytics.log").open("ab")
    env = {**os.environ, "VEILLE_STATE_DIR": str(settings.state_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "veille.cli", "run", "analytics"], stdout=log, stderr=subprocess.STDOUT, env=env
    )


def _wait_for_rows(settings: VeilleSettings, expected: int, service: subprocess.Popen[bytes], timeout_s: float) -> int:
    client = clickhouse_client(settings, database="")
    deadline = time.monotonic() + timeout_s
    count = 0
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise RuntimeError(f"the analytics service exited with code {service.returncode}; see its log")
        try:
            count = int(
                client.query(f"SELECT count() FROM `{settings.clickhouse_database}`.mentions FINAL").result_rows[0][0]
            )
        except DatabaseError:  # the table appears once the service has run its migrations
            count = 0
        if count >= expected:
            break
        time.sleep(0.5)
    client.close()
    return count


def run_analytics_demo(settings: VeilleSettings, console: Console, out: Path) -> bool:
    """Sample stream → analytics service → ClickHouse → dashboards' data and the HR report."""
    start = _story_start()
    mentions = list(story(BRANDS, start, weeks=WEEKS, per_week=300))
    payloads = [("mentions-scored", encode(m)) for m in mentions]
    payloads += [("alerts", p.read_bytes()) for p in topic("alerts").examples()]
    payloads += [("alert-feedback", p.read_bytes()) for p in topic("alert-feedback").examples()]

    console.rule("analytics")
    # The demo starts from an empty database, so what it counts is what this run delivered.
    admin = clickhouse_client(settings, database="")
    admin.command(f"DROP DATABASE IF EXISTS `{settings.clickhouse_database}` SYNC")
    admin.close()
    console.print(f"starting the analytics service; sample: {len(mentions):,} scored mentions over {WEEKS} weeks")
    service = _start_analytics(settings)
    try:
        asyncio.run(_publish(settings, payloads, console))
        began = time.monotonic()
        written = _wait_for_rows(settings, len(mentions), service, timeout_s=120)
        elapsed = time.monotonic() - began
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
    console.print(f"{written:,}/{len(mentions):,} mentions in ClickHouse ({elapsed:.1f} s after the last publish)")
    if written < len(mentions):
        return False

    client = clickhouse_client(settings)
    variables = {"brand": [BRANDS[0]], "lang": ["fr", "en"], "voice": ["customer", "employee", "candidate"]}
    end = datetime.now(UTC)
    shown = {"Share of voice", "Employee against customer sentiment", "Lead of employee over customer sentiment"}
    for dashboard in DASHBOARDS:
        for panel in dashboard.panels:
            if panel.title not in shown:
                continue
            result = client.query(render_sql(panel.sql, variables, start, end, interval_s=7 * 86400))
            table = Table(*result.column_names, title=f"{dashboard.title} · {panel.title}")
            for row in result.result_rows[-10:]:
                table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
            console.print(table)
    dashboards = write_all(out / "dashboards")
    report_end = date.today() - timedelta(days=date.today().weekday())
    report = collect(client, BRANDS[0], report_end - timedelta(weeks=6), report_end)
    html, pdf = write_report(report, out / "reports")
    client.close()
    console.print("[bold]What the data suggests to HR:[/bold]")
    for action in report.actions:
        console.print(f"  • {action}")
    console.print(f"dashboards' JSON: {', '.join(str(p) for p in dashboards)}")
    console.print(f"HR report: {html}\n           {pdf}")
    console.print("Grafana: `veille dashboards push` with VEILLE_GRAFANA_URL and VEILLE_GRAFANA_TOKEN set.")
    return True
