"""The ingest webhook under concurrent senders on loopback: throughput, answer times, errors.

The ingest service runs as its own process on the embedded broker. At each
concurrency, that many senders post signed batches of `BATCH` posts in a closed
loop for `BENCH_WEBHOOK_SECONDS`. Every 202 means each post of the batch was
acknowledged by the broker. The baseline is one sender, in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.harness import embedded_stack, running_services, write_results
from veille_contracts.signatures import SIGNATURE_HEADER, sign
from veille_ingest.synthetic import BRANDS, sentence

CONCURRENCY = tuple(int(c) for c in os.environ.get("BENCH_WEBHOOK_CONCURRENCY", "1,8,32,64").split(","))
SECONDS = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "20"))
BATCH = 10
SECRET = "bench-webhook-secret"


def _bodies(seed: int = 5) -> Iterator[bytes]:
    """Request bodies of BATCH posts each, every post with an id and a sentence of its own, forever."""
    rng = random.Random(seed)
    for first in count(step=BATCH):
        posts = [
            {"id": f"load-{n}", "text": sentence(rng, rng.choice(BRANDS)), "published_at": "2026-11-20T10:00:00Z",
             "author": {"id": f"sender-{n % 997}"}}
            for n in range(first, first + BATCH)
        ]  # fmt: skip
        yield json.dumps({"source": "load", "posts": posts}).encode()


async def _sender(
    client: httpx.AsyncClient, url: str, bodies: Iterator[bytes], deadline: float, tally: dict[str, Any]
) -> None:
    while time.perf_counter() < deadline:
        body = next(bodies)
        began = time.perf_counter()
        try:
            answer = await client.post(url, content=body, headers={SIGNATURE_HEADER: sign(SECRET, body)})
            status = str(answer.status_code)
        except httpx.HTTPError as error:
            status = type(error).__name__
        tally["answers_ms"].append((time.perf_counter() - began) * 1000)
        tally["statuses"][status] = tally["statuses"].get(status, 0) + 1
        if status == "202":
            tally["posts"] += BATCH


async def _run(port: int, concurrency: int, bodies: Iterator[bytes]) -> dict[str, Any]:
    tally: dict[str, Any] = {"answers_ms": [], "statuses": {}, "posts": 0}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + SECONDS
        url = f"http://127.0.0.1:{port}/webhook"
        await asyncio.gather(*(_sender(client, url, bodies, deadline, tally) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    answers = tally["answers_ms"]
    cuts = statistics.quantiles(answers, n=100) if len(answers) > 1 else [0.0] * 99
    return {
        "concurrency": concurrency,
        "requests_per_s": round(len(answers) / elapsed, 1),
        "posts_per_s": round(tally["posts"] / elapsed, 1),
        "answer_ms": {"p50": round(cuts[49], 1), "p99": round(cuts[98], 1), "max": round(max(answers), 1)},
        "statuses": tally["statuses"],
    }


def main() -> None:
    console = Console()
    bodies = _bodies()
    runs = []
    with (
        embedded_stack() as base,
        running_services(base, ("ingest",), webhook_secret=SECRET, webhook_rate_limit="10000000/minute") as (
            settings,
            _,
        ),
    ):
        for concurrency in CONCURRENCY:
            console.print(f"{concurrency} concurrent sender(s) for {SECONDS:.0f} s …")
            runs.append(asyncio.run(_run(settings.ingest_http_port, concurrency, bodies)))
    baseline = runs[0]["posts_per_s"] or 1.0
    for run in runs:
        run["speedup_vs_one_sender"] = round(run["posts_per_s"] / baseline, 2)
    path = write_results("webhook", {"seconds": SECONDS, "batch": BATCH, "baseline": "one sender", "runs": runs})
    table = Table(title=f"POST /webhook, {BATCH} posts a request, {SECONDS:.0f} s each (→ {path})")
    for column in ("senders", "requests/s", "posts/s", "× one sender", "p50 ms", "p99 ms", "answers"):
        table.add_column(column)
    for run in runs:
        table.add_row(str(run["concurrency"]), str(run["requests_per_s"]), str(run["posts_per_s"]),
                      str(run["speedup_vs_one_sender"]), str(run["answer_ms"]["p50"]), str(run["answer_ms"]["p99"]),
                      json.dumps(run["statuses"]))  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
