"""The model built by `make setup` is the one `make eval` scored: same labels, probabilities within a tolerance."""

from __future__ import annotations

import json

import numpy as np

from veille_sentiment.evaluation import RESULTS_DIR
from veille_sentiment.heads import POLARITIES, SIGNALS
from veille_sentiment.scoring import Scorer

# The sample was read as one batch, as here: int8 activations are scaled per padded group, so the same
# batch gives the same groups and the same probabilities, up to float rounding.
TOLERANCE = 0.02


def test_the_built_model_reads_the_evaluated_sample_as_the_committed_evaluation_did(scorer: Scorer) -> None:
    committed = json.loads((RESULTS_DIR / "served-sample.json").read_text())
    assert committed["heads_version"] == scorer.heads.version
    sample = committed["sample"]
    assert len(sample) >= 40
    readings = scorer.read([row["text"] for row in sample])
    for row, reading in zip(sample, readings, strict=True):
        assert reading.polarity == row["polarity"], row["text"][:80]
        assert reading.voice == row["voice"], row["text"][:80]
        assert [name for name in SIGNALS if reading.signals[name]] == row["signals"], row["text"][:80]
        polarity = [reading.polarity_scores[name] for name in POLARITIES]
        signals = [reading.disappointment, reading.churn_intent, reading.anger]
        assert np.allclose(polarity, row["polarity_scores"], atol=TOLERANCE), row["text"][:80]
        assert np.allclose(signals, row["signal_scores"], atol=TOLERANCE), row["text"][:80]
