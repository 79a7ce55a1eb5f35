"""Long texts become overlapping windows that cover the whole text, then one vector per text."""

from __future__ import annotations

import numpy as np
import pytest

from veille_sentiment.scoring import Scorer
from veille_sentiment.windows import Windowing, combine, pad


def test_a_short_text_is_one_window_with_its_prefix_and_special_tokens() -> None:
    windowing = Windowing(cls_id=0, sep_id=2, prefix_ids=(9, 8), size=16, stride=8)
    assert windowing.cut([5, 6, 7]) == [[0, 9, 8, 5, 6, 7, 2]]


def test_a_long_text_is_cut_into_overlapping_windows_that_reach_its_end() -> None:
    windowing = Windowing(cls_id=0, sep_id=2, prefix_ids=(9,), size=10, stride=5, max_windows=100)
    ids = list(range(100, 130))
    windows = windowing.cut(ids)
    assert all(len(w) <= 10 and w[:2] == [0, 9] and w[-1] == 2 for w in windows)
    bodies = [w[2:-1] for w in windows]
    assert bodies[0][:5] == ids[:5]
    assert bodies[-1][-1] == ids[-1]
    assert {token for body in bodies for token in body} == set(ids)
    assert bodies[1][0] == ids[5]  # the stride


def test_the_window_cap_bounds_the_tokens_read_of_one_text() -> None:
    windowing = Windowing(cls_id=0, sep_id=2, prefix_ids=(), size=10, stride=8, max_windows=3)
    assert len(windowing.cut(list(range(1000)))) == 3


def test_a_window_too_small_for_any_text_is_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        Windowing(cls_id=0, sep_id=2, prefix_ids=(1, 1, 1), size=4, stride=1).cut([5])


def test_windows_are_combined_per_text_weighted_by_their_tokens() -> None:
    pooled = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0]], dtype=np.float32)
    vectors = combine(pooled, owners=[0, 0, 1], weights=[3, 1, 5], count=2)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(vectors[0], np.array([3.0, 1.0]) / np.sqrt(10), rtol=1e-6)
    np.testing.assert_allclose(vectors[1], [0.0, 1.0])
    ids, mask = pad([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_a_long_post_is_read_whole_a_complaint_at_its_end_still_counts(scorer: Scorer) -> None:
    filler = "Le temps était doux et la ville calme ce jour-là, rien de particulier à signaler. " * 40
    ending = "Bref : troisième coupure chez Fibrelia ce mois-ci, je résilie mon abonnement demain."
    [short] = scorer.encoder.embed([filler])
    [whole] = scorer.encoder.embed([filler + ending])
    [ending_only] = scorer.encoder.embed([ending])
    # the ending moves the long post's vector towards the ending's own: truncation would not see it
    assert float(whole @ ending_only) > float(short @ ending_only)
