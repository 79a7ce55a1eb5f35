"""Normalisation: HTML to text, NFC, entities, control characters, language, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from veille_ingest.normalise import Normaliser, plain_text, utc


@pytest.fixture(scope="module")
def normaliser() -> Normaliser:
    return Normaliser()


def test_html_becomes_text_without_scripts_with_entities_out_and_handles_kept(normaliser: Normaliser) -> None:
    clean = normaliser.clean(
        "<p>Le service client de <b>Banque&nbsp;Aurore</b> ne répond plus&#8239;!</p>"
        "<script>alert('x')</script><p>Voir https://aurore.example/aide. @BanqueAurore #Panne</p>"
    )
    assert clean.text == "Le service client de Banque Aurore ne répond plus !\nVoir . @BanqueAurore #Panne"
    assert clean.entities.urls == ["https://aurore.example/aide"]
    assert clean.entities.handles == ["@banqueaurore"] and clean.entities.hashtags == ["#panne"]
    assert (clean.lang, clean.lang_confidence > 0.8) == ("fr", True)


def test_unicode_is_composed_and_controls_and_direction_overrides_are_dropped(normaliser: Normaliser) -> None:
    clean = normaliser.clean("Cafe\u0301 froid\u202e\u0000 chez Caféo\u200b, 👩\u200d💻 déçue")
    assert clean.text == "Café froid chez Caféo, 👩\u200d💻 déçue"
    assert plain_text("a &lt;b&gt; c") == "a <b> c"


def test_language_is_detected_with_confidence_a_source_tag_wins_and_too_little_text_is_und(
    normaliser: Normaliser,
) -> None:
    english = normaliser.clean("The app has been down since Monday and nobody answers the phone.")
    assert english.lang == "en" and english.lang_confidence > 0.8
    assert normaliser.clean("Toujours pas de réseau", lang_hint="fr-FR").lang == "fr"
    assert (normaliser.clean("👍👍 @fibrelia").lang, normaliser.clean("👍👍").lang_confidence) == ("und", 0.0)


def test_timestamps_end_in_utc_and_a_naive_one_is_taken_as_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert utc(datetime(2026, 11, 2, 9, 30, tzinfo=paris)) == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    assert utc(datetime(2026, 11, 2, 9, 30)).tzinfo is UTC
