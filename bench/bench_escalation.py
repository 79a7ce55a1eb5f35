"""Alert quality on generated streams: per detector precision, recall and time to detect; noise per day.

Three seeds of a 21-day, three-brand stream with six injected incidents each
(a slowly growing complaint wave, one influential complaint, a churn statement,
a slow slide in employee morale, a loyal customer drifting away, an enthusiastic
customer with reach). The baseline to beat is the naive rule many listening
tools ship: alert when a brand's negative mentions in the last hour exceed twice
its average hourly count, measured on the same streams.

Then churn latency through the embedded broker: scored mentions at a steady
rate with a churn statement every half second; each statement's time from its
acknowledged publication on `mentions-scored` to its alert on `alerts`, against
the floor of one broker hop (the same statement read back from
`mentions-scored`), measured on the same messages.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.table import Table

from bench.harness import embedded_stack, write_results
from veille_contracts.codec import decode, encode
from veille_contracts.models import Author, Polarity, ReachTier
from veille_contracts.settings import VeilleSettings
from veille_contracts.streams import start_unread_partitions_at_the_beginning
from veille_escalation.app import build_broker
from veille_escalation.engine import Escalation
from veille_escalation.quality import SLACK, run, score
from veille_escalation.scenarios import Scenario, _Factory, generate

SEEDS = tuple(int(s) for s in os.environ.get("BENCH_ESCALATION_SEEDS", "7,11,23").split(","))
CHURN_STATEMENTS = int(os.environ.get("BENCH_ESCALATION_CHURN", "120"))
BACKGROUND_RATE = int(os.environ.get("BENCH_ESCALATION_BACKGROUND", "200"))  # other scored mentions per second


def naive_rule(scenario: Scenario) -> dict[str, float]:
    """Alert when the last hour's negatives exceed twice the running hourly mean (one alert per brand-hour)."""
    negatives: dict[str, list[Any]] = defaultdict(list)
    alerts: list[tuple[tuple[str, Any], Any]] = []
    for mention in scenario.mentions:
        if mention.polarity is not Polarity.NEGATIVE:
            continue
        brand = mention.brands[0]
        seen = negatives[brand]
        seen.append(mention.published_at)
        hours = max((mention.published_at - scenario.start).total_seconds() / 3600, 1.0)
        last_hour = sum(1 for t in seen[-200:] if mention.published_at - t <= timedelta(hours=1))
        if hours >= 24 and last_hour > 2 * len(seen) / hours:
            key = (brand, mention.published_at.replace(minute=0, second=0, microsecond=0))
            if not alerts or alerts[-1][0] != key:
                alerts.append((key, mention.published_at))
    true = [
        at for (brand, _), at in alerts
        if any(i.brand == brand and i.start <= at <= i.end + SLACK for i in scenario.incidents)
    ]  # fmt: skip
    found = {
        i.name for i in scenario.incidents
        if any(b == i.brand and i.start <= at <= i.end + SLACK for (b, _), at in alerts)
    }  # fmt: skip
    return {
        "alerts": len(alerts),
        "false_alerts_per_brand_day": (len(alerts) - len(true)) / (len(scenario.brands) * scenario.days),
        "recall": len(found) / len(scenario.incidents),
    }


async def _reader(settings: VeilleSettings, topic: str) -> AIOKafkaConsumer:
    """A consumer of every partition of `topic`, from its current end."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings.kafka_client_options())
    await consumer.start()
    await consumer.topics()
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    for tp, end in (await consumer.end_offsets(partitions)).items():
        consumer.seek(tp, end)
    return consumer


async def _arrivals(
    consumer: AIOKafkaConsumer, topic: str, seen: dict[str, float], stop: asyncio.Event, arrived: asyncio.Event
) -> None:
    """When each churn statement shows up: as a mention on mentions-scored, as evidence of an alert on alerts."""
    while not stop.is_set():
        for batch in (await consumer.getmany(timeout_ms=100)).values():
            now = time.perf_counter()
            for record in batch:
                payload = decode(topic, record.value or b"")
                ids = payload.evidence_mention_ids[:1] if topic == "alerts" else [payload.mention_id]
                for mention_id in ids:
                    seen.setdefault(mention_id, now)
                    arrived.set()


async def _churn_latency(settings: VeilleSettings) -> dict[str, Any]:
    engine = Escalation()
    broker = build_broker(settings, engine)
    await start_unread_partitions_at_the_beginning(broker, settings)
    await broker.start()
    producer = AIOKafkaProducer(acks="all", linger_ms=5, **settings.kafka_client_options())
    await producer.start()
    hops: dict[str, float] = {}
    alerted: dict[str, float] = {}
    sent: dict[str, float] = {}
    stop, hop_seen, alert_seen = asyncio.Event(), asyncio.Event(), asyncio.Event()
    readers = [await _reader(settings, "mentions-scored"), await _reader(settings, "alerts")]
    tasks = [
        asyncio.create_task(_arrivals(readers[0], "mentions-scored", hops, stop, hop_seen)),
        asyncio.create_task(_arrivals(readers[1], "alerts", alerted, stop, alert_seen)),
    ]
    factory = _Factory(random.Random(5))
    author_serial = 0

    def statement() -> Any:
        nonlocal author_serial
        author_serial += 1
        author = Author(id=f"bench-customer-{author_serial:05d}", followers=80, tier=ReachTier.NANO)
        return factory.mention(
            "Banque Aurore", datetime.now(UTC), author=author, text="Je résilie, je pars chez la concurrence.",
            polarity=Polarity.NEGATIVE, churn=0.93, disappointment=0.7,
        )  # fmt: skip

    try:
        warm_up = statement()  # the service's consumer group has joined once its alert is out
        await producer.send_and_wait("mentions-scored", encode(warm_up))
        await asyncio.wait_for(alert_seen.wait(), timeout=120)
        quiet = Author(id="bench-quiet-00001", followers=50, tier=ReachTier.NANO)
        started = time.perf_counter()
        for tick in range(CHURN_STATEMENTS * 5):  # ticks of 0.1 s; a churn statement every fifth
            background = [
                factory.mention(
                    "Banque Aurore", datetime.now(UTC), author=quiet, text="RAS.", polarity=Polarity.NEUTRAL
                )
                for _ in range(BACKGROUND_RATE // 10)
            ]
            for mention in background:
                await producer.send("mentions-scored", encode(mention))
            if tick % 5 == 0:
                churn = statement()
                await producer.send_and_wait("mentions-scored", encode(churn))
                sent[churn.mention_id] = time.perf_counter()
            await asyncio.sleep(max(0.0, started + (tick + 1) * 0.1 - time.perf_counter()))
        await asyncio.sleep(3)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for reader in readers:
            await reader.stop()
        await producer.stop()
        await broker.stop()
    through = sorted((alerted[m] - t) * 1000 for m, t in sent.items() if m in alerted)
    hop = sorted(max(0.0, hops[m] - t) * 1000 for m, t in sent.items() if m in hops)
    return {
        "churn_statements": len(sent),
        "alerted": len(through),
        "background_mentions_per_s": BACKGROUND_RATE,
        "publish_to_alert_ms": _percentiles(through),
        "baseline_one_broker_hop_ms": _percentiles(hop),
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p99": round(cuts[98], 1), "max": round(max(values), 1)}


def main() -> None:
    runs: list[dict[str, Any]] = []
    for seed in SEEDS:
        scenario = generate(seed=seed)
        runs.append({"seed": seed, "veille": score(scenario, run(scenario)), "naive": naive_rule(scenario)})
    with embedded_stack() as settings:
        latency = asyncio.run(_churn_latency(settings))
    path = write_results("escalation", {"runs": runs, "churn_latency_through_broker": latency})
    console = Console()
    table = Table(title=f"Alert quality over {len(SEEDS)} generated streams (→ {path})")
    for column in ("detector", "precision", "recall", "minutes to detect"):
        table.add_column(column)
    kinds = runs[0]["veille"]["per_kind"]
    for kind in kinds:
        precisions = [r["veille"]["per_kind"][kind]["precision"] for r in runs]
        recalls = [r["veille"]["per_kind"][kind]["recall"] for r in runs]
        delays = [d for r in runs for d in r["veille"]["per_kind"][kind]["minutes_to_detect"].values()]
        table.add_row(
            kind,
            " / ".join("–" if p is None else f"{p:.2f}" for p in precisions),
            " / ".join("–" if r is None else f"{r:.2f}" for r in recalls),
            " / ".join(f"{d:,.0f}" for d in delays),
        )
    console.print(table)
    for r in runs:
        v, n = r["veille"], r["naive"]
        console.print(
            f"seed {r['seed']}: veille recall {v['recall']:.2f}, {v['false_alerts_per_brand_day']:.2f} false alerts"
            f" per brand-day, engine p99 {v['engine_ms_per_mention_p99']:.2f} ms/mention, churn alert after"
            f" {v['churn_alert_ms']} ms; naive rule: recall {n['recall']:.2f},"
            f" {n['false_alerts_per_brand_day']:.2f} false alerts per brand-day"
        )
    through, hop = latency["publish_to_alert_ms"], latency["baseline_one_broker_hop_ms"]
    console.print(
        f"churn statement → alert through the broker ({latency['alerted']}/{latency['churn_statements']} alerted,"
        f" {BACKGROUND_RATE} other mentions/s): p50 {through.get('p50')} ms, p99 {through.get('p99')} ms,"
        f" max {through.get('max')} ms; baseline, one broker hop: p50 {hop.get('p50')} ms, p99 {hop.get('p99')} ms"
    )


if __name__ == "__main__":
    main()
