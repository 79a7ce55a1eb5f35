"""The labelled data: well-formed, every label represented, and a held-out split that never leaks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from veille_sentiment.corpus import CorpusError, written_examples
from veille_sentiment.heads import ASPECTS, POLARITIES, VOICES


def test_the_written_corpus_has_several_hundred_mentions_per_language() -> None:
    counts = Counter(example.lang for example in written_examples())
    assert counts["fr"] >= 300
    assert counts["en"] >= 300


def test_the_held_out_split_holds_every_polarity_voice_and_signal_in_both_languages() -> None:
    held_out = [e for e in written_examples() if e.split == "test"]
    for lang in ("fr", "en"):
        mine = [e for e in held_out if e.lang == lang]
        assert {e.polarity for e in mine} == set(POLARITIES)
        assert {e.voice for e in mine} == set(VOICES)
        for signal in ("disappointment", "churn_intent", "anger"):
            assert sum(signal in (e.signals or ()) for e in mine) >= 5, (lang, signal)


def test_a_mention_and_its_translation_are_always_in_the_same_split() -> None:
    examples = written_examples()
    french = [e for e in examples if e.lang == "fr"]
    english = [e for e in examples if e.lang == "en"]
    assert len(french) == len(english)
    assert [e.split for e in french] == [e.split for e in english]
    train_texts = {e.text for e in examples if e.split == "train"}
    assert not any(e.text in train_texts for e in examples if e.split == "test")


def test_every_aspect_is_labelled_somewhere_in_training() -> None:
    seen = Counter(a for e in written_examples() if e.split == "train" for a in e.aspects or ())
    assert set(ASPECTS) <= set(seen)


def test_a_malformed_line_is_refused_with_its_file_and_number(tmp_path: Path) -> None:
    (tmp_path / "fr.txt").write_text("customer|negative|-|-|ok\ncustomer|furious|-|-|bad label\n")
    (tmp_path / "en.txt").write_text("")
    with pytest.raises(CorpusError, match=r"fr\.txt, mention 2: unknown polarity 'furious'"):
        written_examples(tmp_path)
    (tmp_path / "fr.txt").write_text("customer|negative|x|-|unknown signal\n")
    with pytest.raises(CorpusError, match="unknown signal code 'x'"):
        written_examples(tmp_path)
