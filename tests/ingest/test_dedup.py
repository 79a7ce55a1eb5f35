"""De-duplication: the same post, reposts, cross-posts and campaigns are counted, not re-emitted."""

from __future__ import annotations

from veille_ingest.dedup import Deduplicator, Seen, jaccard

ORIGINAL = "Trois semaines que j'attends une réponse du service client de Banque Aurore, je clôture mon compte lundi."


def seen(index: Deduplicator, mention_id: str, text: str) -> Seen:
    verdict, signature = index.check(mention_id, text)
    index.remember(mention_id, verdict, signature)
    return verdict.seen


def test_the_same_post_again_is_recognised_by_its_id() -> None:
    index = Deduplicator()
    assert seen(index, "a", ORIGINAL) is Seen.NEW
    assert seen(index, "a", "whatever the text is now") is Seen.SAME_POST


def test_reposts_cross_posts_and_campaign_copies_are_copies_of_the_first() -> None:
    index = Deduplicator()
    seen(index, "first", ORIGINAL)
    copies = [
        f"RT @relais_info: {ORIGINAL}",
        f"{ORIGINAL} https://news.example/a/123 #banque",
        ORIGINAL.replace("lundi", "mardi"),
        ORIGINAL.upper(),
    ]
    for number, text in enumerate(copies, start=1):
        verdict, signature = index.check(f"copy-{number}", text)
        assert (verdict.seen, verdict.original, verdict.copies) == (Seen.COPY, "first", number), text
        index.remember(f"copy-{number}", verdict, signature)
    assert seen(index, "copy-1", copies[0]) is Seen.SAME_POST  # a copy re-ingested is not counted twice


def test_different_posts_about_the_same_thing_are_not_copies() -> None:
    index = Deduplicator()
    seen(index, "a", ORIGINAL)
    other = "Le service client de Banque Aurore m'a rappelé en dix minutes, problème réglé, bravo à eux."
    assert seen(index, "b", other) is Seen.NEW
    assert jaccard(ORIGINAL, other) < 0.2
    assert seen(index, "c", "Merci !") is Seen.NEW and seen(index, "d", "Merci !") is Seen.NEW  # too short to judge


def test_the_original_is_announced_each_time_its_copy_count_doubles() -> None:
    index = Deduplicator()
    seen(index, "first", ORIGINAL)
    announced = []
    for number in range(1, 20):
        verdict, signature = index.check(f"copy-{number}", f"RT @r{number}: {ORIGINAL}")
        index.remember(f"copy-{number}", verdict, signature)
        if verdict.announce:
            announced.append(verdict.copies)
    assert announced == [1, 2, 4, 8, 16]


def test_a_post_whose_publication_failed_is_forgotten_and_the_index_stays_bounded() -> None:
    index = Deduplicator(capacity=3)
    seen(index, "a", ORIGINAL)
    index.forget("a")
    assert seen(index, "a", ORIGINAL) is Seen.NEW
    for number in range(5):
        seen(index, f"other-{number}", f"{number} " + "différent " * number + ORIGINAL[::-1])
    assert len(index.ids) <= 3 and len(index.indexed) <= 3


def test_mentions_read_back_from_the_topic_keep_their_copy_count() -> None:
    index = Deduplicator()
    index.remember_published("first", ORIGINAL, copies=5)
    verdict, _ = index.check("copy-6", f"RT @x: {ORIGINAL}")
    assert (verdict.seen, verdict.original, verdict.copies) == (Seen.COPY, "first", 6)
