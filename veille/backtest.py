"""`veille backtest`: an export replayed through the services' own code, in one process, in story time.

The posts of a JSONL or CSV export (the format `veille ingest file` reads) are sorted by their
publication time, then go through ingest's pipeline (normalise, match, de-duplicate), the
sentiment scorer and the escalation engine, with no broker and no ClickHouse. Every alert
revision the engine raises is returned with `created_at` in story time: what veille would have
said, and when, had it been live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from veille_contracts.models import Alert, Mention, ScoredMention, ScoreStatus
from veille_escalation.engine import Escalation
from veille_ingest.pipeline import ItemError, Pipeline, RawItem
from veille_ingest.sources import Rejected

BATCH = 256


@dataclass
class Backtest:
    """What a backtest raised and saw: the alert revisions in story order, and counts to summarise."""

    alerts: list[Alert] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # emitted, copy, duplicate, unmatched, rejected, …
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "mentions": dict(sorted(self.outcomes.items())),
            "alerts_by_kind": dict(sorted(Counter(a.kind.value for a in self.alerts if a.revision == 1).items())),
            "alerts_by_brand": dict(sorted(Counter(a.brand for a in self.alerts if a.revision == 1).items())),
            "alerts_by_day": dict(
                sorted(Counter(a.created_at.date().isoformat() for a in self.alerts if a.revision == 1).items())
            ),
            "revisions": len(self.alerts),
        }


def in_story_order(items: Iterable[RawItem | Rejected], result: Backtest) -> list[RawItem]:
    """The export's posts by publication time (ties by source and id); refused rows are kept aside."""
    posts = []
    for item in items:
        if isinstance(item, Rejected):
            result.rejected.append(item)
            result.outcomes["rejected"] += 1
        else:
            posts.append(item)
    return sorted(posts, key=lambda post: (post.published_at, post.source, post.item_id))


def run_backtest(
    items: Iterable[RawItem | Rejected],
    pipeline: Pipeline,
    score: Callable[[list[Mention]], list[ScoredMention]],
    engine: Escalation,
    on_batch: Callable[[int], None] = lambda n: None,
) -> Backtest:
    """Replay the items through ingest's pipeline, the scorer and the engine, in story-time order."""
    result = Backtest()
    posts = in_story_order(items, result)
    for batch in _chunks(posts, BATCH):
        mentions: list[Mention] = []
        for item in batch:
            try:
                outcome = pipeline.process(item, now=item.published_at)
            except ItemError as error:
                result.rejected.append(Rejected(item.item_id[:200], str(error)))
                result.outcomes["rejected"] += 1
                continue
            pipeline.commit(outcome)
            result.outcomes[outcome.status] += 1
            mentions += outcome.to_publish
        for scored in sorted(score(mentions), key=lambda m: (m.published_at, m.mention_id)):
            if scored.status is ScoreStatus.UNSCORABLE and scored.duplicates == 0:
                result.outcomes["unscorable"] += 1
            result.alerts += engine.observe(scored)
        on_batch(len(batch))
    return result


def _chunks(posts: list[RawItem], size: int) -> Iterator[list[RawItem]]:
    iterator = iter(posts)
    while chunk := list(islice(iterator, size)):
        yield chunk
