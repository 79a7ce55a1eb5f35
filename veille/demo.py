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

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from clickhouse_connect.driver.exceptions import DatabaseError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from veille_analytics.clickhouse import clickhouse_client
from veille_analytics.dashboards import DASHBOARDS, render_sql, write_all
from veille_analytics.report import collect, write_report
from veille_analytics.synthetic import story
from veille_contracts.catalog import topic
from veille_contracts.codec import decode, encode
from veille_contracts.ids import mention_id
from veille_contracts.models import Author, Mention, ScoredMention, SourceKind
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


def _start_service(settings: VeilleSettings, service: str) -> subprocess.Popen[bytes]:
    log = (settings.state_dir / "logs" / f"{service}.log").open("ab")
    env = {**os.environ, "VEILLE_STATE_DIR": str(settings.state_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "veille.cli", "run", service], stdout=log, stderr=subprocess.STDOUT, env=env
    )


def _stop(service: subprocess.Popen[bytes]) -> None:
    service.send_signal(signal.SIGTERM)
    try:
        service.wait(timeout=30)
    except subprocess.TimeoutExpired:
        service.kill()


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
    service = _start_service(settings, "analytics")
    try:
        asyncio.run(_publish(settings, payloads, console))
        began = time.monotonic()
        written = _wait_for_rows(settings, len(mentions), service, timeout_s=120)
        elapsed = time.monotonic() - began
    finally:
        _stop(service)
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


# The invented brands of the bundled labelled mentions (services/sentiment/data).
SAMPLE_BRANDS = (
    "Banque Aurore", "Fibrelia", "AirLune", "Maison Brise", "Vélo Lumen", "Caféo", "Nordline", "Kestrel",
    "Orchard Bank", "Pixelia", "Harbor & Pine", "Brightwave", "Tidewell",
)  # fmt: skip


def sample_raw_mentions(now: datetime, per_language: int = 10) -> list[Mention]:
    """Held-out labelled mentions (never trained on) as mentions-raw events, French and English."""
    from veille_sentiment.corpus import written_examples

    held_out = [e for e in written_examples() if e.split == "test"]
    mentions = []
    for lang in ("fr", "en"):
        chosen = [e for e in held_out if e.lang == lang][::3][:per_language]
        for index, example in enumerate(chosen):
            brand = next((b for b in SAMPLE_BRANDS if b.lower() in example.text.lower()), SAMPLE_BRANDS[0])
            item = f"{lang}-{index}"
            mentions.append(
                Mention(
                    mention_id=mention_id("demo-sample", item),
                    source_kind=SourceKind.FILE,
                    source="demo-sample",
                    source_item_id=item,
                    brands=[brand],
                    employer_brand=example.voice in ("employee", "candidate"),
                    text=example.text,
                    lang=lang,
                    lang_confidence=0.99,
                    author=Author(id=f"demo-author-{lang}-{index:03d}"),
                    published_at=now - timedelta(minutes=5 * (index + 1)),
                    ingested_at=now,
                )
            )
    return mentions


async def _read_scored(settings: VeilleSettings, wanted: set[str], timeout_s: float) -> dict[str, ScoredMention]:
    consumer = AIOKafkaConsumer("mentions-scored", auto_offset_reset="earliest", **settings.kafka_client_options())
    await consumer.start()
    found: dict[str, ScoredMention] = {}
    try:
        deadline = time.monotonic() + timeout_s
        while not wanted <= set(found) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if (record.key or b"").decode() in wanted:
                        scored = decode("mentions-scored", record.value or b"")
                        found[scored.mention_id] = scored
    finally:
        await consumer.stop()
    return found


def run_sentiment_demo(settings: VeilleSettings, console: Console) -> bool:
    """Raw mentions → the sentiment service (its own process) → mentions-scored, shown as a table."""
    console.rule("sentiment")
    mentions = sample_raw_mentions(datetime.now(UTC))
    console.print(f"starting the sentiment service; sample: {len(mentions)} held-out mentions, French and English")
    service = _start_service(settings, "sentiment")
    try:
        asyncio.run(_publish(settings, [("mentions-raw", encode(m)) for m in mentions], console))
        began = time.monotonic()
        scored = asyncio.run(_read_scored(settings, {m.mention_id for m in mentions}, timeout_s=180))
        elapsed = time.monotonic() - began
    finally:
        _stop(service)
    table = Table(title="mentions-scored")
    table.add_column("text", max_width=56, no_wrap=True, overflow="ellipsis")
    for column in ("polarity", "signals", "voice", "aspects"):
        table.add_column(column)
    for mention in mentions:
        result = scored.get(mention.mention_id)
        if result is None:
            continue
        signals = [name for name in ("disappointment", "churn_intent", "anger") if getattr(result, name) >= 0.5]
        table.add_row(mention.text, str(result.polarity), ", ".join(signals), result.voice, ", ".join(result.aspects))
    console.print(table)
    console.print(
        f"{len(scored)}/{len(mentions)} mentions scored by {next(iter(scored.values())).model.name if scored else '?'}"
        f" ({elapsed:.1f} s after the last publish, model load and group join included)"
    )
    return len(scored) == len(mentions)
