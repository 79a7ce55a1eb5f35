"""Who speaks: a pseudonymous id, a reach tier, and the roles that make an author matter.

Author ids are a keyed hash (HMAC-SHA256 with `VEILLE_AUTHOR_KEY`) of the
source and the source's own author id: stable, so an author's posts link up,
and useless without the key. Per brand, over the last `WINDOW` mentions,
"connectors" are the few authors whose posts make most impressions (followers
plus engagement per post) and "mavens" the few who post most about the
products; both are cut at a quantile of the brand's authors, recomputed as
mentions arrive.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from veille_contracts.models import AuthorRole, ReachTier

WINDOW = 20_000  # mentions per brand over which roles are judged
TOP_QUANTILE = 0.99  # connectors and mavens: the top 1 % of a brand's authors
MIN_AUTHORS = 50  # below this, nobody is singled out
MIN_MAVEN_POSTS = 3
RECOMPUTE_EVERY = 500
TIERS = ((1_000_000, ReachTier.MEGA), (100_000, ReachTier.MACRO), (10_000, ReachTier.MID), (1_000, ReachTier.MICRO))


def pseudonym(key: str, source: str, author_id: str) -> str:
    """The author's id in veille: a keyed hash, never the handle or the name."""
    return hmac.new(key.encode(), f"{source}\x1f{author_id}".encode(), hashlib.sha256).hexdigest()[:32]


def pseudonyms(keys: Sequence[str], source: str, author_id: str) -> list[str]:
    """The author's ids under each key, current and retired: what an erasure by handle must delete."""
    return list(dict.fromkeys(pseudonym(key, source, author_id) for key in keys))


def tier(followers: int | None) -> ReachTier:
    if followers is None:
        return ReachTier.UNKNOWN
    return next((band for floor, band in TIERS if followers >= floor), ReachTier.NANO)


def impressions(followers: int | None, engagement: float | None) -> float:
    return float((followers or 0) + (engagement or 0.0))


@dataclass
class _BrandVoices:
    recent: deque[tuple[str, float, bool]] = field(default_factory=deque)
    reach: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    product_posts: Counter[str] = field(default_factory=Counter)
    seen: int = 0
    connector_cut: float = float("inf")
    maven_cut: float = float("inf")


class Roles:
    """Rolling per-brand quantiles of impressions and product talk."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self.brands: dict[str, _BrandVoices] = {}

    def observe(self, brand: str, author: str, reach: float, about_products: bool) -> list[AuthorRole]:
        voices = self.brands.setdefault(brand, _BrandVoices())
        voices.recent.append((author, reach, about_products))
        voices.reach[author] += reach
        voices.product_posts[author] += int(about_products)
        if len(voices.recent) > self.window:
            old_author, old_reach, old_product = voices.recent.popleft()
            voices.reach[old_author] -= old_reach
            voices.product_posts[old_author] -= int(old_product)
            if voices.reach[old_author] <= 0 and voices.product_posts[old_author] <= 0:
                del voices.reach[old_author], voices.product_posts[old_author]
        voices.seen += 1
        if voices.seen % RECOMPUTE_EVERY == 0 or voices.seen < RECOMPUTE_EVERY:  # often while the cut is young
            self._recompute(voices)
        roles = []
        if voices.reach[author] >= voices.connector_cut:
            roles.append(AuthorRole.CONNECTOR)
        if voices.product_posts[author] >= max(voices.maven_cut, MIN_MAVEN_POSTS):
            roles.append(AuthorRole.MAVEN)
        return roles

    @staticmethod
    def _recompute(voices: _BrandVoices) -> None:
        if len(voices.reach) < MIN_AUTHORS:
            voices.connector_cut = voices.maven_cut = float("inf")
            return
        voices.connector_cut = max(float(np.quantile(list(voices.reach.values()), TOP_QUANTILE)), 1.0)
        voices.maven_cut = max(float(np.quantile(list(voices.product_posts.values()), TOP_QUANTILE)), 1.0)
