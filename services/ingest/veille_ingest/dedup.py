"""De-duplication: the same post again (same `mention_id`) and near-identical copies of it.

Reposts, cross-posts and copy-paste campaigns differ by a prefix ("RT @x:"),
a link, a few words. Each text becomes a MinHash of its word 3-shingles; an
LSH index finds earlier texts whose estimated Jaccard similarity passes the
threshold. The first copy is the mention; later copies are counted on it,
because amplification is a signal: the service re-publishes the original with
its count each time the count doubles (1, 2, 4, 8…), so a campaign of ten
thousand copies costs fourteen updates, not ten thousand mentions.

Texts under `MIN_WORDS` words ("Merci !", "+1") are only de-duplicated
exactly: short texts look alike without being copies. Both indexes are bounded
(oldest forgotten first) and are rebuilt from `mentions-raw` on start.
"""

from __future__ import annotations

import re
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from datasketch import MinHash, MinHashLSH

from veille_ingest.watchlist import fold

NUM_PERM = 64
THRESHOLD = 0.5
MIN_WORDS = 6
SHINGLE = 3
_WORD = re.compile(r"\w+")
_REPOST = re.compile(r"^\s*(?:rt|via|repost|partage)\b[^:]{0,60}:\s*", re.IGNORECASE)


class Seen(StrEnum):
    NEW = "new"
    SAME_POST = "same_post"  # the same mention_id: a re-ingested post, nothing to count
    COPY = "copy"  # a near-identical text from another post: counted on the original


@dataclass(frozen=True)
class Verdict:
    seen: Seen
    original: str | None = None  # mention_id of the first copy
    copies: int = 0  # copies counted on the original so far
    announce: bool = False  # the count just reached a power of two: re-publish the original with it


def shingles(text: str, folded: bool = False) -> list[bytes]:
    """Three-word runs of a text, without a repost prefix; none for a text too short to judge."""
    text = _REPOST.sub("", text)
    words = _WORD.findall(text if folded else fold(text))
    if len(words) < MIN_WORDS:
        return []
    return [" ".join(words[i : i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)]


class Deduplicator:
    def __init__(self, capacity: int = 500_000, threshold: float = THRESHOLD) -> None:
        self.capacity = capacity
        self.ids: OrderedDict[str, int] = OrderedDict()  # mention_id → copies counted on it
        self.index = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.indexed: OrderedDict[str, None] = OrderedDict()
        template = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=zlib.crc32)
        self._permutations, self._scheme = template.permutations, template.scheme

    def _signature(self, words: list[bytes]) -> MinHash:
        signature = MinHash(
            num_perm=NUM_PERM, seed=1, hashfunc=zlib.crc32, permutations=self._permutations, scheme=self._scheme
        )
        signature.update_batch(words)
        return signature

    def check(self, mention_id: str, text: str, folded: bool = False) -> tuple[Verdict, MinHash | None]:
        """What this post is, without remembering it (see `remember`, once it is safely published)."""
        if mention_id in self.ids:
            return Verdict(Seen.SAME_POST, mention_id, self.ids[mention_id]), None
        words = shingles(text, folded)
        if not words:
            return Verdict(Seen.NEW), None
        signature = self._signature(words)
        candidates = [c for c in self.index.query(signature) if c in self.ids]
        if not candidates:
            return Verdict(Seen.NEW), signature
        original = min(candidates, key=lambda c: (-self.ids[c], c))  # the most copied, then a stable choice
        copies = self.ids[original] + 1
        return Verdict(Seen.COPY, original, copies, announce=_power_of_two(copies)), signature

    def remember(self, mention_id: str, verdict: Verdict, signature: MinHash | None) -> None:
        """Record a published post (NEW) or a counted copy (COPY)."""
        if verdict.seen is Seen.COPY and verdict.original is not None:
            self.ids[verdict.original] = verdict.copies
            self.ids.move_to_end(verdict.original)
            self.ids[mention_id] = 0  # the copy's own id: the same copy again is the same post
        elif verdict.seen is Seen.NEW:
            self.ids[mention_id] = 0
            if signature is not None:
                self.index.insert(mention_id, signature)
                self.indexed[mention_id] = None
        self._bound()

    def forget(self, mention_id: str) -> None:
        """Undo `remember` for a post whose publication failed, so it counts as new when it comes again."""
        self.ids.pop(mention_id, None)
        if self.indexed.pop(mention_id, 0) is None:
            self.index.remove(mention_id)

    def remember_published(self, mention_id: str, text: str, copies: int) -> None:
        """Take back a mention read from `mentions-raw` on start (its latest copy count wins)."""
        if mention_id in self.ids:
            self.ids[mention_id] = max(self.ids[mention_id], copies)
            return
        verdict, signature = self.check(mention_id, text)
        if verdict.seen is Seen.COPY:  # published as its own mention earlier: index it as one
            verdict = Verdict(Seen.NEW)
        self.remember(mention_id, verdict, signature)
        self.ids[mention_id] = copies

    def _bound(self) -> None:
        while len(self.ids) > self.capacity:
            self.ids.popitem(last=False)
        while len(self.indexed) > self.capacity:
            oldest, _ = self.indexed.popitem(last=False)
            self.index.remove(oldest)


def _power_of_two(n: int) -> bool:
    return n > 0 and not n & (n - 1)


def jaccard(a: str, b: str) -> float:
    """Jaccard similarity of two texts' shingles (exact, for tests and the benchmark)."""
    left, right = set(shingles(a)), set(shingles(b))
    if not left or not right:
        return float(fold(a).strip() == fold(b).strip())
    return len(left & right) / len(left | right)
