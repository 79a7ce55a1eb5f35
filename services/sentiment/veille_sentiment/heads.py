"""The task heads: small linear classifiers over the encoder's sentence embedding.

Polarity and voice are softmax heads; disappointment, churn intent, anger and each
aspect are independent sigmoid heads. Each sigmoid head's decision threshold, chosen
at training time, is folded into its bias, so a probability of 0.5 is the decision
point for every consumer of `mentions-scored`. The weights ship with the package
(`heads/`), trained by `make train`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from veille_contracts.models import Polarity, Voice

MODEL_DIR = Path(__file__).parent / "model"
HEADS_DIR = MODEL_DIR / "heads"  # the served student's heads
TEACHER_DIR = MODEL_DIR / "teacher"  # the fine-tuned teacher: LoRA adapter and heads
BASELINE_DIR = MODEL_DIR / "baseline"  # logistic heads over the frozen base encoder, for comparison
WEIGHTS_FILE = "heads.safetensors"
CARD_FILE = "heads.json"

POLARITIES = tuple(p.value for p in Polarity)
VOICES = tuple(v.value for v in Voice)
CUSTOMER_ASPECTS = ("product", "price", "support", "delivery", "billing", "outage", "app", "staff")
EMPLOYER_ASPECTS = ("management", "pay", "workload", "recognition", "career", "culture", "recruiting")
ASPECTS = CUSTOMER_ASPECTS + EMPLOYER_ASPECTS
SIGNALS = ("disappointment", "churn_intent", "anger")


@dataclass(frozen=True)
class LinearHead:
    """y = x·Wᵀ + b over the embedding; softmax across labels or a sigmoid per label."""

    labels: tuple[str, ...]
    weight: np.ndarray  # [labels, dimension]
    bias: np.ndarray  # [labels]
    multi_label: bool
    thresholds: tuple[float, ...] = ()

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        logits = embeddings @ self.weight.T + self.bias
        if self.multi_label:
            return np.asarray(1.0 / (1.0 + np.exp(-logits)))
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class HeadOutputs:
    """Per-label probabilities of one batch, rows in input order."""

    polarity: np.ndarray
    signals: np.ndarray  # columns in SIGNALS order
    voice: np.ndarray
    aspects: np.ndarray  # columns in ASPECTS order


@dataclass(frozen=True)
class Heads:
    """Every task head of one trained version, and the card that says how it was trained."""

    version: str
    polarity: LinearHead
    signals: LinearHead
    voice: LinearHead
    aspects: LinearHead
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def dimension(self) -> int:
        return int(self.polarity.weight.shape[1])

    def predict(self, embeddings: np.ndarray) -> HeadOutputs:
        if embeddings.shape[1] != self.dimension:
            raise ValueError(
                f"heads {self.version} expect {self.dimension}-dimension embeddings, the encoder gives "
                f"{embeddings.shape[1]}: retrain the heads for this encoder (make train)"
            )
        return HeadOutputs(
            polarity=self.polarity.probabilities(embeddings),
            signals=self.signals.probabilities(embeddings),
            voice=self.voice.probabilities(embeddings),
            aspects=self.aspects.probabilities(embeddings),
        )

    def digest(self) -> str:
        """A short hash of every head's weights and biases: what versions a trained set of heads."""
        parts = (head.weight.tobytes() + head.bias.tobytes() for _, head in self._named())
        return hashlib.sha256(b"".join(parts)).hexdigest()[:10]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for name, head in self._named():
            tensors[f"{name}.weight"] = np.ascontiguousarray(head.weight, dtype=np.float32)
            tensors[f"{name}.bias"] = np.ascontiguousarray(head.bias, dtype=np.float32)
        save_file(tensors, str(directory / WEIGHTS_FILE))
        card = dict(self.card)
        card["version"] = self.version
        card["heads"] = {
            name: {"labels": list(head.labels), "multi_label": head.multi_label, "thresholds": list(head.thresholds)}
            for name, head in self._named()
        }
        (directory / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False) + "\n")

    def _named(self) -> tuple[tuple[str, LinearHead], ...]:
        return (
            ("polarity", self.polarity),
            ("signals", self.signals),
            ("voice", self.voice),
            ("aspects", self.aspects),
        )


def load_heads(directory: Path = HEADS_DIR) -> Heads:
    """The heads saved in `directory` (the packaged ones by default)."""
    card_path = directory / CARD_FILE
    if not card_path.is_file():
        raise FileNotFoundError(f"no trained heads in {directory}: run `make train`")
    card = json.loads(card_path.read_text())
    tensors = load_file(str(directory / WEIGHTS_FILE))
    heads = {
        name: LinearHead(
            labels=tuple(spec["labels"]),
            weight=tensors[f"{name}.weight"],
            bias=tensors[f"{name}.bias"],
            multi_label=spec["multi_label"],
            thresholds=tuple(spec["thresholds"]),
        )
        for name, spec in card["heads"].items()
    }
    return Heads(version=card["version"], card=card, **heads)
