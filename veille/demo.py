"""`veille demo`: the four services as their own processes, fed the bundled story, alerts shown as they fire.

The story (`veille.story`) is six weeks of Kestrel Mobile compressed into a
minute: it goes to the ingest service's webhook in batches, through
sentiment and escalation, into ClickHouse. Alerts print as they come; at the
end a summary, the dashboards' data, the HR report and where everything is.
Every service writes its spans under `$VEILLE_STATE_DIR/telemetry/`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from clickhouse_connect.driver.exceptions import DatabaseError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from veille.story import BRAND, WEEKS, StoryPost, story
from veille_analytics.clickhouse import clickhouse_client
from veille_analytics.dashboards import DASHBOARDS, render_sql, write_all
from veille_analytics.report import collect, write_report
from veille_contracts.codec import decode
from veille_contracts.models import Alert
from veille_contracts.settings import VeilleSettings

SERVICES = ("ingest", "sentiment", "escalation", "analytics")
ROOT = Path(__file__).resolve().parents[1]
BATCH = 100
SEVERITY_STYLE = {1: "bold red", 2: "red", 3: "yellow", 4: "cyan"}


def _port(settings: VeilleSettings, service: str) -> int:
    port: int = getattr(settings, f"{service}_http_port")
    return port


def _start_service(settings: VeilleSettings, service: str, extra: dict[str, str]) -> subprocess.Popen[bytes]:
    logs = settings.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "VEILLE_STATE_DIR": str(settings.state_dir), **extra}
    with (logs / f"{service}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "veille.cli", "run", service], stdout=log, stderr=subprocess.STDOUT, env=env
        )


def _stop(service: subprocess.Popen[bytes]) -> None:
    service.send_signal(signal.SIGTERM)
    try:
        service.wait(timeout=30)
    except subprocess.TimeoutExpired:
        service.kill()


async def _wait_ready(settings: VeilleSettings, running: dict[str, subprocess.Popen[bytes]], timeout_s: float) -> None:
    waiting = set(running)
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as client:
        while waiting:
            for service in sorted(waiting):
                if running[service].poll() is not None:
                    raise RuntimeError(f"the {service} service exited; see {settings.state_dir / 'logs'}")
                try:
                    answer = await client.get(f"http://127.0.0.1:{_port(settings, service)}/ready")
                except httpx.TransportError:
                    continue
                if answer.status_code == 200:
                    waiting.discard(service)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout_s:.0f} s: {', '.join(sorted(waiting))}")
            await asyncio.sleep(0.5)


async def _watch_alerts(
    settings: VeilleSettings, console: Console, seen: dict[str, Alert], stop: asyncio.Event
) -> None:
    """Print each alert revision as it arrives; keep the latest revision of each."""
    consumer = AIOKafkaConsumer("alerts", auto_offset_reset="earliest", **settings.kafka_client_options())
    await consumer.start()
    try:
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for record in records:
                    alert: Alert = decode("alerts", record.value or b"")
                    known = seen.get(alert.alert_id)
                    if known is None or alert.revision > known.revision:
                        seen[alert.alert_id] = alert
                    if known is None:
                        style = SEVERITY_STYLE[alert.severity]
                        console.print(
                            f"[{style}]S{alert.severity} {alert.kind.value}[/{style}] {alert.brand} → "
                            f"{alert.audience.value}: {alert.explanation.text_en[:150]}"
                        )
    finally:
        await consumer.stop()


async def _send_story(port: int, token: str, posts: list[StoryPost], console: Console) -> Counter[str]:
    """The story to the ingest webhook, a batch per source at a time; returns the outcome counts."""
    by_source: dict[str, list[StoryPost]] = defaultdict(list)
    for post in posts:
        by_source[post.source].append(post)
    batches = []
    for post in posts:  # in time order, each batch one source
        current = by_source[post.source]
        if current and current[0] is post:
            batches.append(current[:BATCH])
            del current[:BATCH]
    totals: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=60) as client:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("story → POST /webhook", total=len(posts))
            for batch in batches:
                body = {"source": batch[0].source, "posts": [_webhook_post(p) for p in batch]}
                answer = await client.post(f"http://127.0.0.1:{port}/webhook", json=body, headers=headers)
                answer.raise_for_status()
                outcome = answer.json()
                totals.update({k: v for k, v in outcome.items() if isinstance(v, int)})
                totals["rejected"] += len(outcome["rejected"])
                progress.advance(task, len(batch))
    return totals


def _webhook_post(post: StoryPost) -> dict[str, Any]:
    line = post.as_json()
    return {
        "id": line["id"],
        "text": line["text"],
        "published_at": line["published_at"],
        "lang": line["lang"],
        "author": {"id": line["author"], "followers": line["followers"]},
    }


def _stored(settings: VeilleSettings) -> int:
    client = clickhouse_client(settings, database="")
    try:
        query = f"SELECT count() FROM `{settings.clickhouse_database}`.mentions FINAL WHERE source_kind = 'webhook'"
        return int(client.query(query).result_rows[0][0])
    except DatabaseError:
        return 0
    finally:
        client.close()


async def _run_story(settings: VeilleSettings, console: Console, token: str, alerts: dict[str, Alert]) -> Counter[str]:
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_alerts(settings, console, alerts, stop))
    try:
        posts = list(story(datetime.now(UTC).replace(microsecond=0)))
        console.print(f"the story: {len(posts)} posts over {WEEKS} weeks, sent now; alerts as they fire:")
        began = time.monotonic()
        totals = await _send_story(_port(settings, "ingest"), token, posts, console)
        deadline, last = time.monotonic() + 240, -1
        while time.monotonic() < deadline:  # until everything emitted is scored and stored, and alerts settle
            stored = await asyncio.to_thread(_stored, settings)
            if stored >= totals["emitted"] and stored == last:
                break
            last = stored
            await asyncio.sleep(3)
        totals["stored"] = last
        totals["seconds"] = round(time.monotonic() - began)
        return totals
    finally:
        stop.set()
        await watcher


def _summary(console: Console, totals: Counter[str], alerts: dict[str, Alert]) -> None:
    console.print(
        f"{totals['emitted']} mentions emitted, {totals['copy']} copies counted on their originals, "
        f"{totals['duplicate']} repeats, {totals['unmatched']} about no watched brand; "
        f"{totals['stored']} scored and stored in ClickHouse, {totals['seconds']} s after the first post"
    )
    table = Table(title="Alerts, in the order the story raised them")
    for column in ("when (story time)", "severity", "kind", "to", "rev.", "why"):
        table.add_column(column, overflow="fold")
    for alert in sorted(alerts.values(), key=lambda a: a.created_at):
        table.add_row(
            alert.created_at.strftime("%d %b %H:%M"),
            f"S{alert.severity}",
            alert.kind.value,
            alert.audience.value,
            str(alert.revision),
            alert.explanation.text_en[:220],
        )
    console.print(table)


def _analytics(settings: VeilleSettings, console: Console, out: Path) -> None:
    end = datetime.now(UTC)
    start = end - timedelta(weeks=WEEKS)
    client = clickhouse_client(settings)
    variables = {"brand": [BRAND], "lang": ["fr", "en"], "voice": ["customer", "employee", "candidate"]}
    shown = {"Employee against customer sentiment", "Lead of employee over customer sentiment"}
    for dashboard in DASHBOARDS:
        for panel in dashboard.panels:
            if panel.title in shown:
                result = client.query(render_sql(panel.sql, variables, start, end, interval_s=7 * 86400))
                table = Table(*result.column_names, title=f"{dashboard.title} · {panel.title}")
                for row in result.result_rows[-WEEKS:]:
                    table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
                console.print(table)
    dashboards = write_all(out / "dashboards")
    report = collect(client, BRAND, start.date(), end.date() + timedelta(days=1))
    html, pdf = write_report(report, out / "reports")
    client.close()
    console.print("[bold]What the data suggests to HR:[/bold]")
    for action in report.actions:
        console.print(f"  • {action}")
    console.print(f"dashboards' JSON: {out / 'dashboards'} ({len(dashboards)} files)")
    console.print(f"HR report: {html}\n           {pdf}")


def run_demo(settings: VeilleSettings, console: Console, follow: bool) -> bool:
    """The four services on the bundled story; True when every emitted mention reached ClickHouse."""
    out = settings.state_dir / "demo"
    token = secrets.token_urlsafe(18)
    extra = {
        "VEILLE_WEBHOOK_TOKEN": token,
        "VEILLE_OTEL_EXPORTER": "file",
        "VEILLE_WATCHLIST": str(ROOT / "config" / "watchlist.yaml"),
    }
    # The embedded broker starts empty: so do the database, ingest's memory of copies and cursors, and the traces.
    admin = clickhouse_client(settings, database="")
    admin.command(f"DROP DATABASE IF EXISTS `{settings.clickhouse_database}` SYNC")
    admin.close()
    for folder in ("ingest", "telemetry"):
        shutil.rmtree(settings.state_dir / folder, ignore_errors=True)
    console.rule("the four services")
    running = {service: _start_service(settings, service, extra) for service in SERVICES}
    alerts: dict[str, Alert] = {}
    try:
        asyncio.run(_wait_ready(settings, running, timeout_s=240))
        ports = ", ".join(f"{s} :{_port(settings, s)}" for s in SERVICES)
        console.print(f"running, each its own process ({ports}); logs in {settings.state_dir / 'logs'}")
        totals = asyncio.run(_run_story(settings, console, token, alerts))
        console.rule("summary")
        _summary(console, totals, alerts)
        _analytics(settings, console, out)
        console.print(f"traces: {settings.state_dir / 'telemetry'} (one trace per mention, ingest → alert)")
        console.print("Grafana: `veille dashboards push` with VEILLE_GRAFANA_URL and VEILLE_GRAFANA_TOKEN set.")
        if follow:
            console.print(
                f"--follow: the services keep running; POST /webhook on :{_port(settings, 'ingest')} "
                f"with 'Authorization: Bearer {token}'. Ctrl-C to stop."
            )
            while all(p.poll() is None for p in running.values()):
                time.sleep(1)
        return totals["emitted"] > 0 and totals["stored"] >= totals["emitted"]
    except KeyboardInterrupt:
        return True
    finally:
        for service in running.values():
            _stop(service)
