"""Authors: keyed pseudonyms, reach tiers, connectors and mavens from rolling per-brand quantiles."""

from __future__ import annotations

from veille_contracts.models import AuthorRole, ReachTier
from veille_ingest.reach import Roles, pseudonym, tier


def test_pseudonyms_are_stable_keyed_and_hide_the_handle() -> None:
    first = pseudonym("key-one", "mastodon-social", "@jeanne.martin")
    assert first == pseudonym("key-one", "mastodon-social", "@jeanne.martin")
    assert first != pseudonym("key-two", "mastodon-social", "@jeanne.martin")
    assert first != pseudonym("key-one", "other-source", "@jeanne.martin")
    assert "jeanne" not in first and len(first) == 32


def test_tiers_follow_follower_counts() -> None:
    assert [tier(n) for n in (None, 12, 1_000, 25_000, 400_000, 2_000_000)] == [
        ReachTier.UNKNOWN, ReachTier.NANO, ReachTier.MICRO, ReachTier.MID, ReachTier.MACRO, ReachTier.MEGA,
    ]  # fmt: skip


def test_the_few_authors_with_most_impressions_or_product_talk_get_their_role_per_brand() -> None:
    roles = Roles()
    for author in range(300):
        roles.observe("Fibrelia", f"author-{author}", reach=100 + author, about_products=author % 7 == 0)
    assert roles.observe("Fibrelia", "big-voice", reach=900_000, about_products=False) == [AuthorRole.CONNECTOR]
    for _ in range(5):
        found = roles.observe("Fibrelia", "gadget-fan", reach=10, about_products=True)
    assert found == [AuthorRole.MAVEN]
    assert roles.observe("Fibrelia", "author-10", reach=110, about_products=False) == []
    assert roles.observe("Nordline", "big-voice", reach=900_000, about_products=True) == []  # too few authors yet
