"""From a source's item to a `Mention`: normalise → match the watch list → de-duplicate → author.

Pure apart from its memory (the de-duplication index and the authors' roles):
no I/O, no Kafka. The service publishes what `process` returns and then calls
`commit`, so a mention that was not acknowledged by the broker is not
remembered, and comes through again when its source is read again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from datasketch import MinHash

from veille_contracts.ids import mention_id
from veille_contracts.models import Author, Mention, SourceKind
from veille_ingest.dedup import Deduplicator, Seen, Verdict
from veille_ingest.normalise import Normaliser, utc
from veille_ingest.reach import Roles, impressions, pseudonym, tier
from veille_ingest.watchlist import WatchList, fold

MAX_TEXT = 100_000


class ItemError(ValueError):
    """An item that cannot become a mention (no text, a text too long, an unknown brand)."""


@dataclass(frozen=True)
class RawItem:
    """One post as a source gives it, before anything is cleaned."""

    source_kind: SourceKind
    source: str
    item_id: str
    text: str
    published_at: datetime
    author_id: str
    title: str | None = None
    url: str | None = None
    followers: int | None = None
    engagement: float | None = None
    lang: str | None = None
    employer: bool = False  # the source says it is about the employer (an employee review)
    brand: str | None = None  # the source says which brand (a review export); it must be watched
    rating: float | None = None  # the source's star rating out of 5 (reviews); the scorer reads it


@dataclass(frozen=True)
class Outcome:
    """What to publish for one item, and what to remember once it is published."""

    item: RawItem
    status: str  # emitted | duplicate | copy | unmatched
    mention: Mention | None = None
    update: Mention | None = None  # the original, re-published with its copy count
    verdict: Verdict | None = None
    signature: MinHash | None = None

    @property
    def to_publish(self) -> list[Mention]:
        return [m for m in (self.mention, self.update) if m is not None]


@dataclass
class Pipeline:
    watchlist: WatchList
    author_key: str
    normaliser: Normaliser = field(default_factory=Normaliser)
    dedup: Deduplicator = field(default_factory=Deduplicator)
    roles: Roles = field(default_factory=Roles)
    originals: dict[str, Mention] = field(default_factory=dict)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (source, status) → items
    max_originals: int = 50_000

    def process(self, item: RawItem, now: datetime | None = None) -> Outcome:
        """The outcome for one item; `ItemError` when it cannot be a mention at all."""
        if len(item.text) > MAX_TEXT * 4:
            raise ItemError(f"text of {len(item.text):,} characters; the limit is {MAX_TEXT * 4:,} before cleaning")
        clean = self.normaliser.clean(item.text, item.title, item.lang)
        if not clean.text and not clean.title:
            raise ItemError("no text once cleaned")
        if item.brand is not None and item.brand not in self.watchlist.names:
            raise ItemError(f"unknown brand {item.brand!r}; watched: {', '.join(self.watchlist.names)}")
        folded = fold(f"{clean.title or ''}\n{clean.text}")
        found = self.watchlist.match(folded, clean.lang, employer_hint=item.employer, folded=True)
        brands = [item.brand] if item.brand else found.brands
        if not brands:
            return self._counted(Outcome(item, "unmatched"))
        identity = mention_id(item.source, item.item_id)
        verdict, signature = self.dedup.check(identity, folded, folded=True)
        if verdict.seen is Seen.SAME_POST:
            return self._counted(Outcome(item, "duplicate", verdict=verdict))
        if verdict.seen is Seen.COPY:
            original = self.originals.get(verdict.original or "")
            update = (
                original.model_copy(update={"duplicates": verdict.copies}) if original and verdict.announce else None
            )
            return self._counted(Outcome(item, "copy", update=update, verdict=verdict, signature=signature))
        author_id = pseudonym(self.author_key, item.source, item.author_id)
        reach = impressions(item.followers, item.engagement)
        roles = self.roles.observe(brands[0], author_id, reach, found.about_products)
        mention = Mention(
            mention_id=identity,
            source_kind=item.source_kind,
            source=item.source,
            source_item_id=item.item_id,
            url=item.url,
            brands=brands,
            employer_brand=item.employer or found.employer_brand,
            title=clean.title[:2000] if clean.title else None,
            text=clean.text[:MAX_TEXT],
            lang=clean.lang,
            rating=item.rating,
            lang_confidence=clean.lang_confidence,
            author=Author(
                id=author_id,
                followers=item.followers,
                engagement=item.engagement,
                tier=tier(item.followers),
                roles=roles,
            ),
            entities=clean.entities,
            published_at=utc(item.published_at),
            ingested_at=now or datetime.now(UTC),
        )
        return self._counted(Outcome(item, "emitted", mention=mention, verdict=verdict, signature=signature))

    def commit(self, outcome: Outcome) -> None:
        """Remember an outcome once what it published is acknowledged."""
        if outcome.verdict is None or outcome.status == "duplicate":
            return
        identity = mention_id(outcome.item.source, outcome.item.item_id)
        self.dedup.remember(identity, outcome.verdict, outcome.signature)
        for published in outcome.to_publish:
            self.originals[published.mention_id] = published
        while len(self.originals) > self.max_originals:
            self.originals.pop(next(iter(self.originals)))

    def forget(self, outcome: Outcome) -> None:
        """Undo `commit` for an outcome whose publication failed."""
        self.dedup.forget(mention_id(outcome.item.source, outcome.item.item_id))

    def restore(self, mention: Mention) -> None:
        """Take back a mention read from `mentions-raw` on start."""
        self.dedup.remember_published(mention.mention_id, mention.text, mention.duplicates)
        self.originals[mention.mention_id] = mention

    def _counted(self, outcome: Outcome) -> Outcome:
        self.counts[(outcome.item.source, outcome.status)] += 1
        return outcome
