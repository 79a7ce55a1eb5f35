"""The task heads: saved and loaded exactly, thresholds folded into 0.5, mismatched encoders refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from veille_sentiment.heads import (
    ASPECTS,
    BASELINE_DIR,
    POLARITIES,
    SIGNALS,
    TEACHER_DIR,
    VOICES,
    Heads,
    LinearHead,
    load_heads,
)


def _random_heads(dimension: int = 8) -> Heads:
    rng = np.random.default_rng(3)

    def head(labels: tuple[str, ...], multi: bool) -> LinearHead:
        thresholds = (0.5,) * len(labels) if multi else ()
        weight = rng.normal(size=(len(labels), dimension)).astype(np.float32)
        return LinearHead(labels, weight, rng.normal(size=len(labels)).astype(np.float32), multi, thresholds)

    return Heads(
        "v-test",
        head(POLARITIES, False),
        head(SIGNALS, True),
        head(VOICES, False),
        head(ASPECTS, True),
        {"note": "test"},
    )


def test_heads_survive_a_save_and_load(tmp_path: Path) -> None:
    heads = _random_heads()
    heads.save(tmp_path)
    again = load_heads(tmp_path)
    x = np.random.default_rng(1).normal(size=(5, 8)).astype(np.float32)
    for a, b in zip(
        (heads.predict(x).polarity, heads.predict(x).aspects),
        (again.predict(x).polarity, again.predict(x).aspects),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert again.version == "v-test"
    assert again.card["note"] == "test"


def test_softmax_heads_sum_to_one_and_sigmoid_heads_stay_in_range() -> None:
    outputs = _random_heads().predict(np.random.default_rng(2).normal(size=(4, 8)).astype(np.float32) * 10)
    np.testing.assert_allclose(outputs.polarity.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(outputs.voice.sum(axis=1), 1.0, rtol=1e-5)
    assert ((outputs.signals >= 0) & (outputs.signals <= 1)).all()


def test_heads_refuse_embeddings_from_another_encoder() -> None:
    with pytest.raises(ValueError, match="retrain the heads"):
        _random_heads(8).predict(np.zeros((1, 384), dtype=np.float32))


def test_the_packaged_heads_decide_at_one_half_and_record_how_they_were_trained() -> None:
    heads = load_heads()
    assert heads.signals.thresholds == (0.5, 0.5, 0.5)
    assert set(heads.aspects.thresholds) == {0.5}
    assert heads.card["encoder"]["name"].startswith("veille-e5-small-student-L")
    assert set(heads.card["decision_thresholds"]) == set(SIGNALS) | set(ASPECTS)
    assert heads.version.startswith("v2-")
    assert heads.version.endswith(heads.digest())  # the version names the weights it ships
    assert {point["layers"] for point in heads.card["layers_curve"]} >= {4, 6}
    teacher, baseline = load_heads(TEACHER_DIR / "heads"), load_heads(BASELINE_DIR)
    assert teacher.version.startswith("teacher-")
    assert baseline.card["encoder"]["features"] == "mean-last4-layers"


def test_a_missing_heads_directory_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make train"):
        load_heads(tmp_path)
