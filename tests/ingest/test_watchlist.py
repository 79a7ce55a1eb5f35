"""The watch list: queries that parse or say where they do not, and what a query matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from veille_ingest.watchlist import QueryError, WatchList, WatchListError, WatchListFile, load_watchlist, parse_query

ROOT = Path(__file__).resolve().parents[2]
AURORE = '("Banque Aurore" OR @banqueaurore OR #banqueaurore) AND NOT "aurore boréale"'


def watchlist(*brands: dict[str, object]) -> WatchList:
    return WatchList(WatchListFile.model_validate({"brands": list(brands)}))


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ('"Banque Aurore" OR (@banqueaurore', 20, "parenthesis is never closed"),
        ('"Banque Aurore OR x', 1, "quote is never closed"),
        ("aurore) OR banque", 7, "no opening one"),
        ("aurore AND", 8, "expected a term"),
        ("NOT", 4, "found 'the end'"),
        ("", 1, "empty"),
    ],
)
def test_a_query_that_does_not_parse_says_where(query: str, position: int, message: str) -> None:
    with pytest.raises(QueryError, match=message) as error:
        parse_query(query)
    assert error.value.position == position


def test_a_bad_query_is_refused_at_start_with_the_brand_and_the_position(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.yaml"
    path.write_text("brands:\n  - name: Fibrelia\n  - name: Banque Aurore\n    query: '\"Banque Aurore\" OR (x'\n")
    with pytest.raises(WatchListError, match=r"brand 'Banque Aurore', query: .*never closed at position 20"):
        load_watchlist(path)
    path.write_text("brands:\n  - name: Fibrelia\n    langauges: [fr]\n")
    with pytest.raises(WatchListError, match=r"brands\['Fibrelia'\]\.langauges: Extra inputs"):
        load_watchlist(path)
    path.write_text("brands: [name: x\n")
    with pytest.raises(WatchListError, match=r"watchlist\.yaml"):
        load_watchlist(path)


def test_queries_match_whole_words_without_case_or_accents_and_honour_not() -> None:
    brands = watchlist({"name": "Banque Aurore", "query": AURORE})
    assert brands.match("La BANQUE aurore a encore planté").brands == ["Banque Aurore"]
    assert brands.match("merci @BanqueAurore").brands == ["Banque Aurore"]
    assert brands.match("#banqueaurore en panne").brands == ["Banque Aurore"]
    assert brands.match("Une aurore boréale au-dessus de la Banque Aurore").brands == []
    assert brands.match("Aurore boreale, banque aurore").brands == []  # accents folded on both sides
    assert brands.match("BanqueAurore").brands == []  # not a handle, not the phrase
    assert brands.match("aurore, la banque").brands == []  # a phrase keeps its word order


def test_a_brand_without_query_is_found_by_name_alias_handle_or_hashtag_minus_exclusions_and_languages() -> None:
    brands = watchlist(
        {"name": "Fibrelia", "aliases": ["Fibrélia"], "handles": ["fibrelia"], "exclusions": ["fibrelia fc"]},
        {"name": "Orchard Bank", "languages": ["en"]},
    )
    assert brands.match("fibrélia en panne", "fr").brands == ["Fibrelia"]
    assert brands.match("thanks @fibrelia", "en").brands == ["Fibrelia"]
    assert brands.match("Fibrelia FC a gagné", "fr").brands == []
    assert brands.match("Orchard Bank froze my card", "en").brands == ["Orchard Bank"]
    assert brands.match("Orchard Bank m'a bloqué ma carte", "fr").brands == []
    assert brands.match("Fibrelia et Orchard Bank", "en").brands == ["Fibrelia", "Orchard Bank"]


def test_employer_voice_comes_from_the_brands_employer_query_or_work_words() -> None:
    brands = watchlist(
        {"name": "Kestrel Mobile", "aliases": ["Kestrel"], "employer_query": "Kestrel AND (recrute OR manager)"},
        {"name": "Nordline"},
    )
    assert brands.match("Kestrel recrute en boutique").employer_brand
    assert not brands.match("Kestrel: plus de réseau depuis hier").employer_brand
    assert not brands.match("Kestrel et ses salaires").employer_brand  # its own query says what counts
    assert brands.match("Chez Nordline la charge de travail explose").employer_brand
    assert not brands.match("Nordline a augmenté mon tarif").employer_brand
    assert brands.match("Nordline a augmenté mon tarif").about_products


def test_a_brand_listed_twice_is_refused_and_the_bundled_watch_list_loads() -> None:
    with pytest.raises(WatchListError, match="listed twice"):
        watchlist({"name": "Fibrelia"}, {"name": "Fibrelia"})
    bundled = load_watchlist(ROOT / "config" / "watchlist.yaml")
    assert "Banque Aurore" in bundled.names
    assert bundled.match("Magnifique aurore boréale ce matin", "fr").brands == []
