"""End to end: ingest-to-alert latency through the four services at sustained rates, and the ceiling.

The embedded broker and ClickHouse, and the four services as their own
processes, as `veille demo` runs them. At each rate, posts go to the ingest
webhook every 100 ms for `BENCH_PIPELINE_SECONDS`; one in twenty is a
customer announcing they leave, which escalation must turn into an alert.
Latency is from the moment the post is sent to the moment its alert is read
from `alerts`. The baseline, measured in the same run, is the floor of the
path: the webhook's own answer time (ingest acknowledged by the broker), with
no scoring or escalation after it. Lag is how long alerts keep coming after
the last post was sent: when it grows with the rate, the pipeline is past its
ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import time
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from bench.harness import embedded_stack, running_services, write_results
from veille.story import CHURN_EN, CHURN_FR, _pick
from veille_contracts.codec import decode
from veille_contracts.ids import mention_id
from veille_contracts.settings import VeilleSettings
from veille_ingest.synthetic import generate

RATES = tuple(int(r) for r in os.environ.get("BENCH_PIPELINE_RATES", "50,200,500").split(","))
SECONDS = float(os.environ.get("BENCH_PIPELINE_SECONDS", "120"))
TICK_S = 0.1
QUIET_S = 15.0
CHURN_EVERY = 20
TOKEN = "bench-token"


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p99": round(cuts[98], 1), "max": round(max(values), 1), "n": len(values)}


async def _alerts(
    settings: VeilleSettings, arrived: dict[str, float], stop: asyncio.Event, wanted: set[str], all_in: asyncio.Event
) -> None:
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_options())
    await consumer.start()
    await consumer.topics()
    partitions = [TopicPartition("alerts", p) for p in sorted(consumer.partitions_for_topic("alerts") or ())]
    consumer.assign(partitions)
    for tp, end in (await consumer.end_offsets(partitions)).items():
        consumer.seek(tp, end)
    try:
        while not stop.is_set():
            for batch in (await consumer.getmany(timeout_ms=100)).values():
                now = time.perf_counter()
                for record in batch:
                    for evidence in decode("alerts", record.value or b"").evidence_mention_ids:
                        arrived.setdefault(evidence, now)
            if wanted and wanted <= arrived.keys():
                all_in.set()
    finally:
        await consumer.stop()


async def _run_rate(settings: VeilleSettings, rate: int, port: int) -> dict[str, Any]:
    source = f"bench-{rate}"
    rng = random.Random(rate)
    background = iter(generate(int(rate * SECONDS * 1.1) + 100, seed=rate).items)
    sent: dict[str, float] = {}
    answers: list[float] = []
    arrived: dict[str, float] = {}
    stop, all_in = asyncio.Event(), asyncio.Event()
    wanted: set[str] = set()
    watcher = asyncio.create_task(_alerts(settings, arrived, stop, wanted, all_in))
    per_tick = max(1, round(rate * TICK_S))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    started = time.perf_counter()
    serial = 0
    async with httpx.AsyncClient(timeout=60) as client:
        tick = 0
        while time.perf_counter() - started < SECONDS:
            posts, churners = [], []
            for _ in range(per_tick):
                serial += 1
                post_id = f"{source}-{serial}"
                text, lang = next(background).text, "fr"
                if serial % CHURN_EVERY == 0:  # a churn statement, with words of its own so it is no one's copy
                    lang = rng.choice(("fr", "en"))
                    text = f"{_pick(rng, CHURN_FR if lang == 'fr' else CHURN_EN, lang)} {text}"
                    churners.append(mention_id(source, post_id))
                posts.append({
                    "id": post_id, "text": text, "lang": lang,
                    "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "author": {"id": f"{source}-author-{serial}", "followers": 200},
                })  # fmt: skip
            before = time.perf_counter()
            answer = await client.post(
                f"http://127.0.0.1:{port}/webhook", json={"source": source, "posts": posts}, headers=headers
            )
            answers.append((time.perf_counter() - before) * 1000)
            answer.raise_for_status()
            for churner in churners:
                sent[churner] = before
                wanted.add(churner)
            tick += 1
            await asyncio.sleep(max(0.0, started + tick * TICK_S - time.perf_counter()))
    finished = time.perf_counter()
    # drained when every statement has its alert, or when none came for QUIET_S (the model misses a few)
    seen = -1
    while not all_in.is_set() and time.perf_counter() < finished + 300 and len(arrived) != seen:
        seen = len(arrived)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), timeout=QUIET_S)
    stop.set()
    await watcher
    latencies = [(arrived[m] - t) * 1000 for m, t in sent.items() if m in arrived]
    last = max((arrived[m] for m in sent if m in arrived), default=finished)
    return {
        "rate": rate,
        "achieved_rate": round(serial / (finished - started), 1),
        "churn_statements": len(sent),
        "alerted": len(latencies),
        "ingest_to_alert_ms": _percentiles(latencies),
        "baseline_webhook_answer_ms": _percentiles(answers),
        "lag_after_last_post_s": round(max(0.0, last - finished), 1),
    }


def main() -> None:
    console = Console()
    results: list[dict[str, Any]] = []
    with embedded_stack() as base, running_services(base, webhook_token=TOKEN) as (settings, _):
        for rate in RATES:
            console.print(f"{rate} mentions/s for {SECONDS:.0f} s …")
            results.append(asyncio.run(_run_rate(settings, rate, settings.ingest_http_port)))
    path = write_results("pipeline", {"seconds_per_rate": SECONDS, "runs": results})
    table = Table(title=f"Ingest → alert through the four services ({SECONDS:.0f} s per rate; → {path})")
    for column in ("rate", "achieved", "alerted", "p50 ms", "p99 ms", "lag after", "baseline: webhook p50/p99 ms"):
        table.add_column(column)
    for run in results:
        latency, answer = run["ingest_to_alert_ms"], run["baseline_webhook_answer_ms"]
        table.add_row(
            f"{run['rate']}/s",
            f"{run['achieved_rate']}/s",
            f"{run['alerted']}/{run['churn_statements']}",
            str(latency.get("p50")),
            str(latency.get("p99")),
            f"{run['lag_after_last_post_s']} s",
            f"{answer.get('p50')} / {answer.get('p99')}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
