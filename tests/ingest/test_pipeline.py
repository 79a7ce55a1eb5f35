"""The pipeline: an item becomes a mention, a copy, a duplicate, or nothing, and says why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from veille_contracts.codec import decode, encode
from veille_contracts.models import SourceKind
from veille_ingest.pipeline import ItemError, Pipeline, RawItem
from veille_ingest.watchlist import load_watchlist

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TEXT = "Trois semaines sans réponse du service client de Banque Aurore, je ferme mon compte et ma carte Aurore lundi."


@pytest.fixture(scope="module")
def watchlist_path() -> Path:
    return ROOT / "config" / "watchlist.yaml"


@pytest.fixture
def pipeline(watchlist_path: Path) -> Pipeline:
    return Pipeline(load_watchlist(watchlist_path), "test-key")


def item(item_id: str, text: str = TEXT, **extra: object) -> RawItem:
    fields: dict[str, object] = {
        "source_kind": SourceKind.MASTODON, "source": "social-example", "item_id": item_id, "text": text,
        "published_at": AT, "author_id": "@client42@social.example", "followers": 2_400, "engagement": 12.0,
    } | extra  # fmt: skip
    return RawItem(**fields)  # type: ignore[arg-type]


def run(pipeline: Pipeline, raw: RawItem) -> str:
    outcome = pipeline.process(raw, now=AT)
    pipeline.commit(outcome)
    return outcome.status


def test_a_matched_post_becomes_a_valid_pseudonymous_mention(pipeline: Pipeline) -> None:
    outcome = pipeline.process(item("s1", f"<p>{TEXT}</p> https://aurore.example/x"), now=AT)
    mention = outcome.mention
    assert outcome.status == "emitted" and mention is not None
    assert decode("mentions-raw", encode(mention)) == mention
    assert mention.brands == ["Banque Aurore"] and mention.lang == "fr" and not mention.employer_brand
    assert mention.author.id != "@client42@social.example" and "client42" not in encode(mention).decode()
    assert mention.author.tier.value == "micro" and mention.entities.urls == ["https://aurore.example/x"]


def test_unmatched_repeated_and_copied_posts_are_told_apart_and_copies_re_announce_the_original(
    pipeline: Pipeline,
) -> None:
    assert run(pipeline, item("s1")) == "emitted"
    assert run(pipeline, item("s2", "Belle journée à la plage")) == "unmatched"
    assert run(pipeline, item("s1")) == "duplicate"
    copy = pipeline.process(item("s3", f"RT @relais: {TEXT}"), now=AT)
    assert copy.status == "copy" and copy.mention is None
    assert copy.update is not None and copy.update.mention_id == pipeline.originals[copy.update.mention_id].mention_id
    assert copy.update.duplicates == 1
    assert pipeline.counts[("social-example", "copy")] == 1


def test_reviews_are_employer_brand_mentions_of_their_brand_and_an_unknown_brand_is_refused(
    pipeline: Pipeline,
) -> None:
    review = item("r1", "Points négatifs : managers absents", source_kind=SourceKind.EMPLOYEE_REVIEW, employer=True)
    outcome = pipeline.process(RawItem(**{**review.__dict__, "brand": "Kestrel Mobile"}), now=AT)
    assert outcome.mention is not None and outcome.mention.brands == ["Kestrel Mobile"]
    assert outcome.mention.employer_brand
    with pytest.raises(ItemError, match="unknown brand 'Kestrel'"):
        pipeline.process(RawItem(**{**review.__dict__, "brand": "Kestrel"}), now=AT)


def test_items_that_cannot_be_mentions_say_why(pipeline: Pipeline) -> None:
    with pytest.raises(ItemError, match="no text once cleaned"):
        pipeline.process(item("e1", "<script>Banque Aurore</script>"), now=AT)
    with pytest.raises(ItemError, match="limit is 400,000"):
        pipeline.process(item("e2", "Banque Aurore " * 40_000), now=AT)
