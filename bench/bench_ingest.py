"""Ingest: normalise + match + de-duplicate throughput on one core, and near-duplicate quality.

The stream is generated (`veille_ingest.synthetic`): originals about the bundled
watch list's brands, reposts, cross-posts and campaign copies of them with the
truth kept, same-id repeats and off-topic posts. veille's pipeline (MinHash
signatures in an LSH index) runs on all of it. The baseline, in the same run,
is the same pipeline with the naive near-duplicate search a first version
would write: exact Jaccard similarity against every earlier text, which
catches every copy above the threshold and costs more with each post; it runs
on the first `BASELINE_ITEMS` posts only, and veille is scored on the same
posts for the comparison.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.harness import write_results
from veille_contracts.ids import mention_id
from veille_ingest.dedup import THRESHOLD, Deduplicator, Seen, Verdict, jaccard
from veille_ingest.delivery import settle
from veille_ingest.pipeline import Pipeline, RawItem
from veille_ingest.synthetic import GeneratedStream, generate
from veille_ingest.watchlist import load_watchlist

ITEMS = int(os.environ.get("BENCH_INGEST_ITEMS", "100000"))
BASELINE_ITEMS = int(os.environ.get("BENCH_INGEST_BASELINE_ITEMS", "4000"))
BATCH = 500
WATCHLIST = Path(__file__).resolve().parents[1] / "config" / "watchlist.yaml"


class PairwiseDeduplicator(Deduplicator):
    """The baseline: every earlier text's shingles kept, each new text compared with all of them."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[str, str] = {}

    def check(self, mention_id: str, text: str, folded: bool = False) -> tuple[Verdict, Any]:
        if mention_id in self.ids:
            return Verdict(Seen.SAME_POST, mention_id, self.ids[mention_id]), None
        best = max(self.texts, key=lambda other: jaccard(text, self.texts[other]), default=None)
        if best is None or jaccard(text, self.texts[best]) < THRESHOLD:
            return Verdict(Seen.NEW), text
        copies = self.ids[best] + 1
        return Verdict(Seen.COPY, best, copies), None

    def remember(self, mention_id: str, verdict: Verdict, signature: Any) -> None:
        if verdict.seen is Seen.NEW and isinstance(signature, str):
            self.texts[mention_id] = signature
        super().remember(mention_id, verdict, None)


def run(pipeline: Pipeline, items: list[RawItem]) -> tuple[float, dict[str, str]]:
    """Items per second, and for each item judged a copy, the original it was counted on."""
    copies: dict[str, str] = {}
    started = time.perf_counter()
    for index, item in enumerate(items, start=1):
        outcome = pipeline.process(item)
        pipeline.commit(outcome)
        if outcome.status == "copy" and outcome.verdict is not None and outcome.verdict.original:
            copies[item.item_id] = outcome.verdict.original
        if index % BATCH == 0:
            settle()  # as the service does after each batch
    return len(items) / (time.perf_counter() - started), copies


def quality(stream: GeneratedStream, items: list[RawItem], found: dict[str, str]) -> dict[str, Any]:
    """Precision and recall of copy detection against the generated truth: a copy must be counted on its original."""
    ids = {mention_id(i.source, i.item_id): i.item_id for i in items}
    posted = {i.item_id for i in items}
    truth = {k: v for k, v in stream.copy_of.items() if k in posted}
    judged = {k: ids.get(v, v) for k, v in found.items()}
    right = sum(1 for k, original in judged.items() if k in truth and _same_family(original, truth[k], stream))
    return {
        "copies_in_truth": len(truth),
        "copies_found": len(judged),
        "precision": round(right / len(judged), 4) if judged else None,
        "recall": round(right / len(truth), 4) if truth else None,
        "posts": len(posted),
    }


def _same_family(found: str, expected: str, stream: GeneratedStream) -> bool:
    """A copy counted on its original, or on another copy's original of the same text family."""
    return stream.copy_of.get(found, found) == stream.copy_of.get(expected, expected)


def main() -> None:
    stream = generate(ITEMS, seed=5)
    watchlist = load_watchlist(WATCHLIST)
    head = stream.items[:BASELINE_ITEMS]

    veille_full = Pipeline(watchlist, "bench-key")
    run(veille_full, stream.items[:500])  # warm-up: the language model and regexes load, caches fill
    veille_full = Pipeline(watchlist, "bench-key")
    full_rate, full_found = run(veille_full, stream.items)
    veille_head = Pipeline(watchlist, "bench-key")
    head_rate, head_found = run(veille_head, head)
    baseline = Pipeline(watchlist, "bench-key", dedup=PairwiseDeduplicator())
    base_rate, base_found = run(baseline, head)

    results: dict[str, Any] = {
        "items": ITEMS,
        "threshold": THRESHOLD,
        "veille": {
            "items_per_s": round(full_rate),
            "outcomes": {s: n for (_, s), n in veille_full.counts.items()},
            "quality": quality(stream, stream.items, full_found),
        },
        "head": {
            "items": len(head),
            "veille_items_per_s": round(head_rate),
            "baseline_pairwise_items_per_s": round(base_rate),
            "veille_quality": quality(stream, head, head_found),
            "baseline_quality": quality(stream, head, base_found),
        },
    }
    path = write_results("ingest", results)
    console = Console()
    table = Table(title=f"Ingest: normalise + match + de-duplicate, one core (→ {path})")
    for column in ("run", "posts", "posts/s", "copy precision", "copy recall"):
        table.add_column(column)
    v, h = results["veille"], results["head"]
    table.add_row("veille (MinHash LSH)", f"{ITEMS:,}", f"{v['items_per_s']:,}", *_pr(v["quality"]))
    table.add_row("veille (MinHash LSH)", f"{len(head):,}", f"{h['veille_items_per_s']:,}", *_pr(h["veille_quality"]))
    table.add_row(
        "baseline: pairwise Jaccard",
        f"{len(head):,}",
        f"{h['baseline_pairwise_items_per_s']:,}",
        *_pr(h["baseline_quality"]),
    )
    console.print(table)


def _pr(found: dict[str, Any]) -> tuple[str, str]:
    return str(found["precision"]), str(found["recall"])


if __name__ == "__main__":
    main()
