"""The labelled data: large and wide enough, well-formed, and a sealed test that never leaks into training."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from veille_sentiment.corpus import (
    DATA_DIR,
    SEALED_DIR,
    CorpusError,
    Example,
    jaccard,
    rated_text,
    read_file,
    sealed_examples,
    shingles,
    written_examples,
)
from veille_sentiment.heads import ASPECTS, POLARITIES, SIGNALS, VOICES

NEAR_COPY = 0.5


@pytest.fixture(scope="module")
def training() -> list[Example]:
    return written_examples()


@pytest.fixture(scope="module")
def sealed() -> list[Example]:
    return sealed_examples()


def test_training_holds_at_least_two_thousand_mentions_per_language_mostly_written_apart(
    training: list[Example],
) -> None:
    counts = Counter(example.lang for example in training)
    assert counts["fr"] >= 2000
    assert counts["en"] >= 2000
    # the reworded French/English pairs are the only translations: at most a quarter of each language
    for lang in ("fr", "en"):
        pairs = list(read_file(DATA_DIR / "train" / f"{lang}-pairs.txt", lang, "written", None))
        assert len(pairs) <= counts[lang] / 4


def test_every_label_is_well_represented_in_each_language(training: list[Example]) -> None:
    for lang in ("fr", "en"):
        mine = [e for e in training if e.lang == lang]
        assert {e.polarity for e in mine} == set(POLARITIES)
        voices = Counter(e.voice for e in mine)
        assert all(voices[voice] >= 100 for voice in VOICES), voices
        for signal in SIGNALS:
            assert sum(signal in (e.signals or ()) for e in mine) >= 200, (lang, signal)
        assert sum(len(e.text.split()) >= 200 for e in mine) >= 60, lang
        assert sum(e.rating is not None for e in mine) >= 150, lang
        assert set(ASPECTS) <= {a for e in mine for a in e.aspects or ()}


def test_the_validation_share_is_about_a_tenth_and_fixed_by_each_text(training: list[Example]) -> None:
    share = sum(e.split == "validation" for e in training) / len(training)
    assert 0.07 < share < 0.13
    again = {e.text: e.split for e in written_examples()}
    assert all(again[e.text] == e.split for e in training)


def test_the_sealed_test_holds_at_least_four_hundred_mentions_per_language(sealed: list[Example]) -> None:
    counts = Counter(e.lang for e in sealed)
    assert counts["fr"] >= 400
    assert counts["en"] >= 400
    assert {e.split for e in sealed} == {"sealed"}


def test_no_sealed_text_nor_a_near_copy_of_one_is_in_the_training_data(
    training: list[Example], sealed: list[Example]
) -> None:
    train_shingles = [shingles(e.text) for e in training]
    index: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for row, grams in enumerate(train_shingles):
        for gram in grams:
            index[gram].add(row)
    leaks = []
    for example in sealed:
        grams = shingles(example.text)
        candidates = {row for gram in grams for row in index.get(gram, ())}
        leaks += [
            (example.text[:60], training[row].text[:60])
            for row in candidates
            if jaccard(grams, train_shingles[row]) >= NEAR_COPY
        ]
    assert not leaks


def test_the_training_data_never_names_a_sealed_brand(training: list[Example]) -> None:
    brands = _sealed_brands()
    assert len(brands) >= 10
    text = "\n".join(e.text for e in training).casefold()
    assert [brand for brand in brands if brand.casefold() in text] == []


def _sealed_brands() -> list[str]:
    brands = []
    for path in sorted((DATA_DIR / SEALED_DIR).glob("*.txt")):
        header = path.read_text(encoding="utf-8").splitlines()[1]
        match = re.fullmatch(r"# brands: (.+)", header)
        assert match, f"{path.name}: the second line lists the sealed brands"
        brands += [brand.strip() for brand in match.group(1).split(",")]
    return brands


def test_a_rating_prefix_is_read_off_the_text_and_rendered_back_the_same_way(tmp_path: Path) -> None:
    train = tmp_path / "train"
    train.mkdir()
    (train / "fr-x.txt").write_text("employee|positive|-|pay|-|[rating 4/5] Bonne ambiance, salaire correct.\n")
    [example] = written_examples(tmp_path)
    assert example.rating == 4
    assert example.text == "Bonne ambiance, salaire correct."
    assert example.model_text == "[rating 4/5] Bonne ambiance, salaire correct."
    assert rated_text("ok", 4.6) == "[rating 5/5] ok"
    assert rated_text("ok", None) == "ok"


def test_a_malformed_line_is_refused_with_its_file_and_number(tmp_path: Path) -> None:
    train = tmp_path / "train"
    train.mkdir()
    (train / "fr-x.txt").write_text("customer|negative|-|-|-|ok\ncustomer|furious|-|-|-|bad label\n")
    with pytest.raises(CorpusError, match=r"fr-x\.txt, line 2: unknown polarity 'furious'"):
        written_examples(tmp_path)
    (train / "fr-x.txt").write_text("customer|negative|x|-|-|unknown signal\n")
    with pytest.raises(CorpusError, match="unknown signal code 'x'"):
        written_examples(tmp_path)
    (train / "fr-x.txt").write_text("customer|negative|-|-|ironic|unknown tag\n")
    with pytest.raises(CorpusError, match="unknown tags"):
        written_examples(tmp_path)
    (train / "fr-x.txt").unlink()
    (train / "de-x.txt").write_text("customer|negative|-|-|-|Schlecht\n")
    with pytest.raises(CorpusError, match="starts with its language"):
        written_examples(tmp_path)
