"""Analytics: sink throughput through the real broker into ClickHouse, and dashboard query latency.

1. Sink: N scored mentions are produced to `mentions-scored`; the analytics
   consumer (batches, one insert each, commit after) writes them to ClickHouse.
   Baseline in the same run: the same rows inserted one insert per row.
2. Dashboards: M mentions generated inside ClickHouse (materialized views fire as
   in production); every panel's SQL runs R times; p50/p95 per panel.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

from bench.harness import embedded_stack, write_results
from veille_analytics.app import build_broker
from veille_analytics.clickhouse import connect
from veille_analytics.dashboards import DASHBOARDS, panel_range, render_sql
from veille_analytics.schema import migrate
from veille_analytics.sinks import ClickHouseSink, insert_json
from veille_analytics.synthetic import story
from veille_contracts.codec import encode
from veille_contracts.settings import VeilleSettings

SINK_MESSAGES = int(os.environ.get("BENCH_SINK_MESSAGES", "200000"))
NAIVE_ROWS = int(os.environ.get("BENCH_NAIVE_ROWS", "1000"))
DASHBOARD_MENTIONS = int(os.environ.get("BENCH_DASHBOARD_MENTIONS", "10000000"))
QUERY_RUNS = int(os.environ.get("BENCH_QUERY_RUNS", "20"))
# 90 days of generated mentions, ending today (the table refuses posts dated in the future)
GENERATED_FROM = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=90)
BRANDS = ("Banque Aurore", "Nimbus Mobile", "Voltéo", "Ferrovia", "Clairmont Assurances")


def _mentions(count: int) -> list[Any]:
    weeks = 10
    per_week = count // (weeks * 2) + 1  # story() emits per_week for the first brand, half that for two others
    generated = list(story(BRANDS[:3], datetime(2026, 9, 7, tzinfo=UTC), weeks=weeks, per_week=per_week))
    return generated[:count]


async def _produce(settings: VeilleSettings, payloads: list[bytes]) -> None:
    producer = AIOKafkaProducer(
        acks="all", linger_ms=5, max_batch_size=512 * 1024, compression_type="lz4", **settings.kafka_client_options()
    )
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send("mentions-scored", p) for p in payloads])
    finally:
        await producer.stop()


def _count(client: Client) -> int:
    return int(client.query("SELECT count() FROM mentions").result_rows[0][0])


async def _sink(settings: VeilleSettings, client: Client, expected: int) -> dict[str, float]:
    broker = build_broker(settings, ClickHouseSink(client))
    started = time.perf_counter()
    first_row_at = None
    async with broker:
        await broker.start()
        while (written := await asyncio.to_thread(_count, client)) < expected:
            if written and first_row_at is None:
                first_row_at = time.perf_counter()
            await asyncio.sleep(0.05)
    finished = time.perf_counter()
    steady_from = first_row_at or started
    return {
        "rows": expected,
        "seconds_total": round(finished - started, 2),
        "seconds_after_first_batch": round(finished - steady_from, 2),
        "rows_per_s": round(expected / (finished - steady_from)),
        "rows_per_s_including_group_join": round(expected / (finished - started)),
    }


def _naive(client: Client, lines: list[bytes]) -> dict[str, float]:
    """The same path as the sink, one insert per mention."""
    started = time.perf_counter()
    for index, line in enumerate(lines):
        insert_json(client, "mentions", [line], token=f"naive-{index}")
    elapsed = time.perf_counter() - started
    return {"rows": len(lines), "seconds": round(elapsed, 2), "rows_per_s": round(len(lines) / elapsed)}


def _generate(client: Client, count: int) -> float:
    """Insert `count` mentions generated server-side over 90 days, a million at a time."""
    brands = "[" + ", ".join(f"'{b}'" for b in BRANDS) + "]"
    started = time.perf_counter()
    chunk = 1_000_000
    for offset in range(0, count, chunk):
        size = min(chunk, count - offset)
        client.command(
            f"""
            INSERT INTO mentions (mention_id, brand, brands, employer_brand, source_kind, source, source_item_id, url,
              title, text, lang, lang_confidence, author_id, author_followers, author_tier, author_roles, duplicates,
              status, polarity, p_negative, p_neutral, p_positive, disappointment, churn_intent, anger, voice,
              aspects, model_name, model_version, published_at, ingested_at, scored_at)
            SELECT
              lower(hex(MD5(toString(number)))) AS id, {brands}[1 + number % 5] AS b, [b], number % 10 < 3,
              'mastodon', 'mastodon:bench', toString(number), concat('https://piaille.example/', toString(number)),
              '', 'Texte de mention généré pour le banc d''essai, assez long pour peser comme un vrai message.',
              if(number % 5 < 3, 'fr', 'en'), 0.97, lower(hex(MD5(toString(number % 50000)))),
              (number * 7919) % 200000, 'micro', [], 0, 'scored',
              ['negative', 'neutral', 'positive'][1 + (number * 31) % 3], 0.3, 0.3, 0.4,
              ((number * 13) % 100) / 100, ((number * 17) % 100) / 100, ((number * 19) % 100) / 100,
              ['customer', 'employee', 'candidate', 'press', 'other'][1 + (number * 7) % 5],
              [['product', 'support', 'workload', 'management', 'price', 'pay'][1 + number % 6]], 'bench', '1',
              toDateTime64('{GENERATED_FROM:%Y-%m-%d %H:%M:%S}', 3, 'UTC')
                + toIntervalSecond((number * 7777) % 7776000) AS at,
              at, at
            FROM numbers({offset}, {size})
            """,
            settings={"max_insert_threads": 2},
        )
    return time.perf_counter() - started


def _dashboard_latencies(client: Client) -> dict[str, dict[str, float]]:
    variables = {
        "brand": ["Banque Aurore"],
        "lang": ["fr", "en"],
        "voice": ["customer", "employee", "candidate", "press", "other"],
    }
    start, end = GENERATED_FROM, GENERATED_FROM + timedelta(days=90)
    latencies: dict[str, dict[str, float]] = {}
    for dashboard in DASHBOARDS:
        for panel in dashboard.panels:
            sql = render_sql(panel.sql, variables, *panel_range(panel, start, end), interval_s=6 * 3600)
            client.query(sql)  # warm the caches once, as a dashboard refresh would
            runs = []
            for _ in range(QUERY_RUNS):
                began = time.perf_counter()
                client.query(sql)
                runs.append((time.perf_counter() - began) * 1000)
            runs.sort()
            latencies[f"{dashboard.folder}/{panel.title}"] = {
                "p50_ms": round(statistics.median(runs), 1),
                "p95_ms": round(runs[max(0, int(len(runs) * 0.95) - 1)], 1),
            }
    return latencies


def main() -> None:
    console = Console()
    with embedded_stack() as base:
        settings = base.model_copy(update={"sink_batch_size": 5000, "sink_batch_timeout_ms": 200})
        client = connect(settings)
        migrate(client, settings.retention_days)
        mentions = _mentions(SINK_MESSAGES)
        console.print(f"producing {len(mentions):,} scored mentions…")
        payloads = [encode(m) for m in mentions]
        asyncio.run(_produce(settings, payloads))
        naive_lines = payloads[:NAIVE_ROWS]
        expected = len(mentions)
        del mentions, payloads  # the service process would not hold the stream: keep the collector's work realistic
        gc.collect()
        sink = asyncio.run(_sink(settings, client, expected))
        naive = _naive(client, naive_lines)

        dashboards_db = settings.model_copy(update={"clickhouse_database": "veille_dash"})
        dash = connect(dashboards_db)
        migrate(dash, dashboards_db.retention_days)
        console.print(f"generating {DASHBOARD_MENTIONS:,} mentions in ClickHouse…")
        generation_s = _generate(dash, DASHBOARD_MENTIONS)
        latencies = _dashboard_latencies(dash)

    worst = max(v["p95_ms"] for v in latencies.values())
    results = {
        "sink": sink,
        "baseline_row_by_row": naive,
        "sink_speedup": round(sink["rows_per_s"] / naive["rows_per_s"], 1),
        "dashboards": {
            "mentions": DASHBOARD_MENTIONS,
            "generation_seconds": round(generation_s, 1),
            "runs_per_panel": QUERY_RUNS,
            "worst_p95_ms": worst,
            "panels": latencies,
        },
    }
    path = write_results("analytics", results)
    table = Table("what", "rows/s", title="analytics sink")
    table.add_row("batched sink (broker → ClickHouse)", f"{sink['rows_per_s']:,}")
    table.add_row("  including the group join", f"{sink['rows_per_s_including_group_join']:,}")
    table.add_row("row-by-row insert (baseline)", f"{naive['rows_per_s']:,}")
    console.print(table)
    panels = Table("panel", "p50 ms", "p95 ms", title=f"dashboard queries over {DASHBOARD_MENTIONS:,} mentions")
    for name, value in latencies.items():
        panels.add_row(name, f"{value['p50_ms']}", f"{value['p95_ms']}")
    console.print(panels)
    console.print(f"speedup ×{results['sink_speedup']}; worst panel p95 {worst} ms; results: {path}")


if __name__ == "__main__":
    main()
