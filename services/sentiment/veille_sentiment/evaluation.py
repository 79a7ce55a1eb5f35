"""Scores the models on the sealed test (`make eval`), per language, per label and per slice.

Three models side by side, in one run: the served student (ONNX int8, as the service runs it),
the fine-tuned teacher (torch fp32) and the baseline (logistic heads over the frozen base encoder).
Writes `evaluation/results.json` and `evaluation/results.md`. The sealed test is scored here and
nowhere else; nothing read here feeds back into training.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from veille_contracts.settings import load_settings
from veille_sentiment.corpus import LANGUAGES, Example, sealed_examples
from veille_sentiment.heads import (
    ASPECTS,
    BASELINE_DIR,
    HEADS_DIR,
    POLARITIES,
    SIGNALS,
    TEACHER_DIR,
    VOICES,
    HeadOutputs,
    Heads,
    load_heads,
)

RESULTS_DIR = Path(__file__).resolve().parent.parent / "evaluation"
TARGETS = {
    "polarity macro-F1 (fr)": 0.85,
    "polarity macro-F1 (en)": 0.85,
    "disappointment F1 (fr)": 0.78,
    "disappointment F1 (en)": 0.78,
    "churn intent F1 (fr)": 0.80,
    "churn intent F1 (en)": 0.80,
    "anger F1 (fr)": 0.70,
    "anger F1 (en)": 0.70,
    "voice accuracy (fr)": 0.90,
    "voice accuracy (en)": 0.90,
}
STUDENT_MARGIN = 0.02
LONG_WORDS = 200
SLICES: dict[str, Callable[[Example], bool]] = {
    "sarcasm": lambda e: "sarcasm" in e.tags,
    "negation": lambda e: "negation" in e.tags,
    "resolved problems": lambda e: "resolved" in e.tags,
    "questions and news": lambda e: bool({"question", "news"} & e.tags),
    "decoys": lambda e: "decoy" in e.tags,
    "rated reviews": lambda e: e.rating is not None,
    "long posts": lambda e: len(e.text.split()) >= LONG_WORDS,
    "employee voice": lambda e: e.voice == "employee",
    "customer voice": lambda e: e.voice == "customer",
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
    """Every metric of one model on the sealed examples: per language, targets and slices."""
    polarity = [POLARITIES[i] for i in outputs.polarity.argmax(axis=1)]
    voice = [VOICES[i] for i in outputs.voice.argmax(axis=1)]
    signal_on = outputs.signals >= np.array(heads.signals.thresholds)
    aspect_on = outputs.aspects >= np.array(heads.aspects.thresholds)
    languages: dict[str, Any] = {}
    for lang in LANGUAGES:
        rows = [i for i, e in enumerate(examples) if e.lang == lang]
        tasks: dict[str, Any] = {
            "polarity": _single(
                "polarity", [examples[i].polarity or "" for i in rows], [polarity[i] for i in rows], POLARITIES
            ),
            "voice": _single("voice", [examples[i].voice or "" for i in rows], [voice[i] for i in rows], VOICES),
        }
        for column, name in enumerate(SIGNALS):
            truth = [name in (examples[i].signals or ()) for i in rows]
            tasks[name] = _binary(name, truth, [bool(signal_on[i, column]) for i in rows])
        aspect_scores = []
        for column, name in enumerate(ASPECTS):
            truth = [name in (examples[i].aspects or ()) for i in rows]
            aspect_scores.append(_binary(name, truth, [bool(aspect_on[i, column]) for i in rows]))
        tasks["aspects"] = [score for score in aspect_scores if score["support"]]
        languages[lang] = tasks
    slices = {}
    for name, member in SLICES.items():
        rows = [i for i, e in enumerate(examples) if member(e)]
        if rows:
            polarity_truth = [examples[i].polarity or "" for i in rows]
            churn_truth = [("churn_intent" in (examples[i].signals or ())) for i in rows]
            churn_predicted = [bool(signal_on[i, SIGNALS.index("churn_intent")]) for i in rows]
            slices[name] = {
                "n": len(rows),
                "polarity_accuracy": round(
                    sum(t == polarity[i] for t, i in zip(polarity_truth, rows, strict=True)) / len(rows), 4
                ),
                "polarity_macro_f1": _single("polarity", polarity_truth, [polarity[i] for i in rows], POLARITIES)[
                    "macro_f1"
                ],
                "churn_false_positives": sum(p and not t for p, t in zip(churn_predicted, churn_truth, strict=True)),
                "churn_missed": sum(t and not p for p, t in zip(churn_predicted, churn_truth, strict=True)),
            }
    measured = {}
    for lang in LANGUAGES:
        measured[f"polarity macro-F1 ({lang})"] = languages[lang]["polarity"]["macro_f1"]
        measured[f"disappointment F1 ({lang})"] = languages[lang]["disappointment"]["f1"]
        measured[f"churn intent F1 ({lang})"] = languages[lang]["churn_intent"]["f1"]
        measured[f"anger F1 ({lang})"] = languages[lang]["anger"]["f1"]
        measured[f"voice accuracy ({lang})"] = languages[lang]["voice"]["accuracy"]
    return {
        "heads_version": heads.version,
        "encoder": heads.card.get("encoder"),
        "n": len(examples),
        "measured": measured,
        "languages": languages,
        "slices": slices,
    }


@dataclass(frozen=True)
class Candidate:
    name: str
    heads: Heads
    runtime: str
    outputs: HeadOutputs


def compare(candidates: Sequence[Candidate], examples: Sequence[Example]) -> dict[str, Any]:
    """Every model's evaluation, the targets the served one meets, and the student against the teacher."""
    models = {c.name: {"runtime": c.runtime, **evaluate(c.heads, examples, c.outputs)} for c in candidates}
    served, teacher = models["student"], models.get("teacher")
    targets = []
    for metric, target in TARGETS.items():
        value = served["measured"][metric]
        row: dict[str, Any] = {"metric": metric, "target": target, "measured": value, "met": value >= target}
        if teacher:
            row["teacher"] = teacher["measured"][metric]
            row["within_0.02_of_teacher"] = value >= teacher["measured"][metric] - STUDENT_MARGIN
        row["baseline"] = models["baseline"]["measured"][metric] if "baseline" in models else None
        targets.append(row)
    return {
        "sealed_test": {lang: sum(e.lang == lang for e in examples) for lang in LANGUAGES},
        "targets": targets,
        "models": models,
    }


def render_markdown(results: dict[str, Any]) -> str:
    """The results as Markdown: targets with the three models, slices, then per language and label."""
    names = list(results["models"])
    lines = [
        "# Sentiment model: sealed-test evaluation",
        "",
        f"Sealed test: {results['sealed_test']} mentions, about brands the training data never names. "
        "Produced by `make eval`; never trained on, never used for a choice.",
        "",
        "| model | heads | runtime |",
        "|---|---|---|",
        *[f"| {n} | {results['models'][n]['heads_version']} | {results['models'][n]['runtime']} |" for n in names],
        "",
        "| metric | target | " + " | ".join(names) + " | met (student) | student within 0.02 of teacher |",
        "|---|---|" + "---|" * len(names) + "---|---|",
    ]
    for t in results["targets"]:
        values = " | ".join(f"{results['models'][n]['measured'][t['metric']]:.3f}" for n in names)
        close = "yes" if t.get("within_0.02_of_teacher") else "no"
        lines.append(f"| {t['metric']} | {t['target']:.2f} | {values} | {'yes' if t['met'] else 'no'} | {close} |")
    lines += ["", "## Slices (both languages): polarity macro-F1 / accuracy, churn false positives / missed", ""]
    lines += ["| slice | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for slice_name, first in results["models"][names[0]]["slices"].items():
        cells = []
        for n in names:
            s = results["models"][n]["slices"][slice_name]
            cells.append(
                f"{s['polarity_macro_f1']:.2f} / {s['polarity_accuracy']:.2f}, "
                f"churn {s['churn_false_positives']} FP / {s['churn_missed']} missed"
            )
        lines.append(f"| {slice_name} | {first['n']} | " + " | ".join(cells) + " |")
    for name in names:
        for lang, tasks in results["models"][name]["languages"].items():
            lines += [
                "",
                f"## {name}, {lang}",
                "",
                "| task | label | precision | recall | F1 | support |",
                "|---|---|---|---|---|---|",
            ]
            for task_name, task in tasks.items():
                entries = task if isinstance(task, list) else [task]
                for entry in entries:
                    for label in entry.get("labels", [entry]):
                        lines.append(
                            f"| {task_name if task_name != 'aspects' else 'aspect'} | {label['label']} | "
                            f"{label['precision']:.2f} | {label['recall']:.2f} | {label['f1']:.2f} | "
                            f"{label['support']} |"
                        )
            for task_name in ("polarity", "voice", *SIGNALS):
                matrix = tasks[task_name]["confusion"]
                labels = matrix["labels"]
                lines += [
                    "",
                    f"{task_name} confusion (rows: true, columns: predicted)",
                    "",
                    "| | " + " | ".join(labels) + " |",
                ]
                lines.append("|---" * (len(labels) + 1) + "|")
                lines += [
                    f"| {label} | " + " | ".join(str(v) for v in row) + " |"
                    for label, row in zip(labels, matrix["rows_true_columns_predicted"], strict=True)
                ]
    return "\n".join(lines) + "\n"


def candidates(examples: Sequence[Example]) -> list[Candidate]:
    """The served student, the teacher and the baseline, each run as it is meant to run."""
    from veille_sentiment.baseline import base_encoder
    from veille_sentiment.encoder import TorchEncoder, load_encoder
    from veille_sentiment.teacher import teacher_source

    settings = load_settings()
    texts = [e.model_text for e in examples]
    student_heads, teacher_heads, baseline_heads = (
        load_heads(HEADS_DIR),
        load_heads(TEACHER_DIR / "heads"),
        load_heads(BASELINE_DIR),
    )
    student = load_encoder(settings)
    teacher = TorchEncoder(teacher_source(settings), settings.model_max_tokens, settings.model_threads)
    baseline = base_encoder(settings)
    return [
        Candidate("student", student_heads, student.runtime, student_heads.predict(student.embed(texts))),
        Candidate("teacher", teacher_heads, teacher.runtime, teacher_heads.predict(teacher.embed(texts))),
        Candidate("baseline", baseline_heads, baseline.runtime, baseline_heads.predict(baseline.embed(texts))),
    ]


SAMPLE_PER_LANGUAGE = 24
SAMPLE_MARGIN = 0.1


def served_sample(
    examples: Sequence[Example], student: Candidate, read: Callable[[list[str]], HeadOutputs]
) -> list[dict[str, Any]]:
    """Sealed texts with the served model's reading, for the test that the built model reads them the same.

    Texts whose every decision is at least SAMPLE_MARGIN from its boundary, read again together as one
    batch, as the test reads them: int8 activations are scaled per padded group, so a reading moves
    with the texts it is batched with.
    """
    out = student.outputs
    chosen_rows = []
    for lang in LANGUAGES:
        rows = sorted(
            (i for i, e in enumerate(examples) if e.lang == lang),
            key=lambda i: hashlib.sha256(examples[i].text.encode()).hexdigest(),
        )
        chosen = 0
        for i in rows:
            top = np.sort(out.polarity[i])[::-1]
            voice = np.sort(out.voice[i])[::-1]
            if top[0] - top[1] < SAMPLE_MARGIN or voice[0] - voice[1] < SAMPLE_MARGIN:
                continue
            if np.any(np.abs(out.signals[i] - 0.5) < SAMPLE_MARGIN):
                continue
            chosen_rows.append(i)
            chosen += 1
            if chosen == SAMPLE_PER_LANGUAGE:
                break
    texts = [examples[i].model_text for i in chosen_rows]
    again = read(texts)
    return [
        {
            "text": text,
            "polarity": POLARITIES[int(again.polarity[row].argmax())],
            "voice": VOICES[int(again.voice[row].argmax())],
            "signals": [name for j, name in enumerate(SIGNALS) if again.signals[row, j] >= 0.5],
            "polarity_scores": [round(float(v), 4) for v in again.polarity[row]],
            "signal_scores": [round(float(v), 4) for v in again.signals[row]],
        }
        for row, text in enumerate(texts)
    ]


def main() -> None:
    from rich.console import Console
    from rich.markdown import Markdown

    examples = sealed_examples()
    models = candidates(examples)
    results = compare(models, examples)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    write_served_sample(examples, models[0])
    markdown = render_markdown(results)
    (RESULTS_DIR / "results.md").write_text(markdown)
    Console().print(Markdown(markdown))


def write_served_sample(examples: Sequence[Example], student: Candidate) -> None:
    from veille_sentiment.encoder import load_encoder

    encoder = load_encoder(load_settings())
    sample = {
        "heads_version": student.heads.version,
        "sample": served_sample(examples, student, lambda texts: student.heads.predict(encoder.embed(texts))),
    }
    (RESULTS_DIR / "served-sample.json").write_text(json.dumps(sample, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
