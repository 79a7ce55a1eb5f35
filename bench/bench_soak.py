"""Soak: the four services under a steady stream for ten minutes; throughput held, memory flat.

Posts go to the ingest webhook at `BENCH_SOAK_RATE` mentions/s (well under the
ceiling measured by the pipeline benchmark) for `BENCH_SOAK_SECONDS`. The
services keep bounded state: a copy index of `VEILLE_DEDUP_CAPACITY` texts,
windows measured in hours and days. To see those bounds reached within minutes,
the posts' own clock runs `BENCH_SOAK_TIME_SCALE` times faster than the wall
clock (ten minutes carry 139 days of posts, twice escalation's longest window
of 63 days) and the copy index is made small
(`BENCH_SOAK_DEDUP_CAPACITY`). Every
`BENCH_SOAK_SAMPLE_S` the run records each process's resident memory (the four
services, the broker, ClickHouse), the mentions stored in ClickHouse and the
webhook's answer times. The baseline is the run's own second sample (warm: the
model loaded, caches filled): memory growth and throughput are read against it.
At the end every post sent must be in ClickHouse.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table

from bench.harness import embedded_stack, running_services, write_results
from veille.infra.embedded import EmbeddedInfra
from veille_analytics.clickhouse import clickhouse_client
from veille_contracts.settings import VeilleSettings
from veille_ingest.synthetic import generate

RATE = int(os.environ.get("BENCH_SOAK_RATE", "40"))
SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", "600"))
SAMPLE_S = float(os.environ.get("BENCH_SOAK_SAMPLE_S", "30"))
TIME_SCALE = float(os.environ.get("BENCH_SOAK_TIME_SCALE", "20000"))
DEDUP_CAPACITY = os.environ.get("BENCH_SOAK_DEDUP_CAPACITY", "10000")
TICK_S = 0.25
TOKEN = "soak-token"
MB = 1024 * 1024


def _rss_mb(pids: dict[str, int]) -> dict[str, float]:
    sizes = {}
    for name, pid in pids.items():
        try:
            sizes[name] = round(psutil.Process(pid).memory_info().rss / MB, 1)
        except psutil.NoSuchProcess:
            sizes[name] = -1.0
    return sizes


def _stored(settings: VeilleSettings) -> int:
    count: int = clickhouse_client(settings).query("SELECT uniqExact(mention_id) FROM mentions").result_rows[0][0]
    return count


async def _soak(settings: VeilleSettings, pids: dict[str, int]) -> dict[str, Any]:
    posts = iter(generate(int(RATE * SECONDS * 1.2) + 1000, seed=7, copy_share=0.0, repeat_share=0.0).items)
    samples: list[dict[str, Any]] = []
    answers: list[float] = []
    sent = accepted = 0
    per_tick = max(1, round(RATE * TICK_S))
    started = time.perf_counter()
    clock_start = time.time() - SECONDS * TIME_SCALE  # the posts' clock, ending about now
    next_sample, tick = started, 0
    last_stored, last_at = 0, started
    async with httpx.AsyncClient(timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        while time.perf_counter() - started < SECONDS:
            batch = []
            for _ in range(per_tick):
                item = next(posts)
                sent += 1
                batch.append({
                    "id": f"soak-{sent}", "text": item.text, "lang": "fr",
                    "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
                        clock_start + (time.perf_counter() - started) * TIME_SCALE)),
                    "author": {"id": item.author_id, "followers": item.followers},
                })  # fmt: skip
            before = time.perf_counter()
            answer = await client.post(f"http://127.0.0.1:{settings.ingest_http_port}/webhook", json={"posts": batch})
            answers.append((time.perf_counter() - before) * 1000)
            answer.raise_for_status()
            accepted += answer.json()["emitted"]
            if time.perf_counter() >= next_sample:
                stored = await asyncio.to_thread(_stored, settings)
                stored_now = time.perf_counter()
                cuts = statistics.quantiles(answers, n=100) if len(answers) > 1 else [0.0] * 99
                samples.append({
                    "t_s": round(stored_now - started), "rss_mb": _rss_mb(pids), "emitted": accepted,
                    "stored": stored, "stored_per_s": round((stored - last_stored) / (stored_now - last_at or 1), 1),
                    "webhook_p50_ms": round(cuts[49], 1), "webhook_p99_ms": round(cuts[98], 1),
                })  # fmt: skip
                last_stored, last_at, answers = stored, stored_now, []
                next_sample += SAMPLE_S
            tick += 1
            await asyncio.sleep(max(0.0, started + tick * TICK_S - time.perf_counter()))
    finished = time.perf_counter()
    for _ in range(300):  # the backlog drains, at most five minutes
        if await asyncio.to_thread(_stored, settings) >= accepted:
            break
        await asyncio.sleep(1)
    drained_s = round(time.perf_counter() - finished, 1)
    return {"samples": samples, "sent": sent, "emitted": accepted, "stored": _stored(settings), "drained_s": drained_s}


def _growth(samples: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Memory at the warm baseline (second sample) against the last sample, per process."""
    warm, last = samples[min(1, len(samples) - 1)]["rss_mb"], samples[-1]["rss_mb"]
    return {
        name: {"warm_mb": warm[name], "last_mb": last[name], "growth_mb": round(last[name] - warm[name], 1)}
        for name in warm
    }


def main() -> None:
    console = Console()
    with (
        embedded_stack() as base,
        running_services(base, webhook_token=TOKEN, dedup_capacity=DEDUP_CAPACITY) as (settings, running),
    ):
        infra = {c.name: c.pid for c in EmbeddedInfra(base).components()}
        pids = {name: process.pid for name, process in running.items()} | infra
        console.print(f"soak: {RATE} mentions/s for {SECONDS:.0f} s, a sample every {SAMPLE_S:.0f} s …")
        run = asyncio.run(_soak(settings, pids))
    samples = run["samples"]
    steady = [s["stored_per_s"] for s in samples[1:]]
    results = {
        "rate": RATE,
        "seconds": SECONDS,
        "time_scale": TIME_SCALE,
        "dedup_capacity": int(DEDUP_CAPACITY),
        **{k: run[k] for k in ("sent", "emitted", "stored", "drained_s")},
        "lost": run["emitted"] - run["stored"],
        "stored_per_s": {"min": min(steady, default=0), "median": statistics.median(steady or [0])},
        "memory": _growth(samples),
        "samples": samples,
    }
    path = write_results("soak", results)
    table = Table(title=f"Soak at {RATE}/s for {SECONDS:.0f} s (→ {path})")
    for column in ("t s", "stored/s", "webhook p50/p99 ms", *samples[0]["rss_mb"]):
        table.add_column(column)
    for sample in samples:
        rss = [str(v) for v in sample["rss_mb"].values()]
        table.add_row(str(sample["t_s"]), str(sample["stored_per_s"]),
                      f"{sample['webhook_p50_ms']} / {sample['webhook_p99_ms']}", *rss)  # fmt: skip
    console.print(table)
    console.print(
        f"sent {run['sent']}, emitted {run['emitted']}, stored {run['stored']}; drained in {run['drained_s']} s"
    )
    for name, growth in results["memory"].items():
        console.print(f"  {name}: {growth['warm_mb']} MB warm → {growth['last_mb']} MB ({growth['growth_mb']:+} MB)")


if __name__ == "__main__":
    main()
