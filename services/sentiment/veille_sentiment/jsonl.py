"""`veille score`: JSON lines in, the same objects with the model's reading out.

Each input line is an object with at least `text`, optionally `id`, `lang` and
`rating` (stars out of 5, read by the model); every other field is passed through.
Without `lang`, the language comes from the detector given (the CLI passes
ingest's), and a language the model was not validated on is `unscorable`. Lines are read and scored in batches, so
a long input streams. A line that is not such an object is answered, on the same
output line, with `error` and its line number: one output line per input line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, TextIO

from veille_sentiment.corpus import rated_text
from veille_sentiment.scoring import Reading, Scorer, why_unscorable

LanguageDetector = Callable[[str], str]

BATCH = 64


@dataclass(frozen=True)
class Tally:
    """What a run did: lines read, scored, unscorable and refused."""

    lines: int = 0
    scored: int = 0
    unscorable: int = 0
    errors: int = 0


def parse_line(number: int, line: str) -> tuple[dict[str, Any] | None, str | None]:
    """An input object, or why the line is refused."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        return None, f"line {number}: not JSON ({error.msg} at column {error.colno})"
    if not isinstance(item, dict):
        return None, f"line {number}: expected a JSON object, got {type(item).__name__}"
    if not isinstance(item.get("text"), str):
        return None, f"line {number}: missing string field 'text'"
    if "lang" in item and item["lang"] is not None and not isinstance(item["lang"], str):
        return None, f"line {number}: 'lang' must be a string"
    rating = item.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int | float) or not 0 <= rating <= 5):
        return None, f"line {number}: 'rating' must be a number from 0 to 5"
    return item, None


def unscorable(item: dict[str, Any]) -> str | None:
    return why_unscorable(item["text"], item.get("lang"))


def with_reading(item: dict[str, Any], reading: Reading) -> dict[str, Any]:
    return {
        **item,
        "status": "scored",
        "polarity": reading.polarity,
        "disappointment": reading.signals["disappointment"],
        "churn_intent": reading.signals["churn_intent"],
        "anger": reading.signals["anger"],
        "voice": reading.voice,
        "aspects": reading.aspects,
        "scores": {
            "polarity": reading.polarity_scores,
            "disappointment": reading.disappointment,
            "churn_intent": reading.churn_intent,
            "anger": reading.anger,
            "voice": reading.voice_scores,
            "aspects": reading.aspect_scores,
        },
    }


def with_language(item: dict[str, Any] | None, detect: LanguageDetector | None) -> dict[str, Any] | None:
    """The item with the detected language when it gives none."""
    if item is None or detect is None or item.get("lang"):
        return item
    return {**item, "lang": detect(item["text"])}


def score_lines(
    scorer: Scorer, lines: Iterable[str], detect: LanguageDetector | None = None
) -> Iterator[dict[str, Any]]:
    """One output object per non-blank input line, in order."""
    numbered = ((n, line) for n, line in enumerate(lines, start=1) if line.strip())
    while batch := list(islice(numbered, BATCH)):
        parsed = []
        for n, line in batch:
            item, error = parse_line(n, line)
            parsed.append((n, with_language(item, detect), error))
        items = [item for _, item, _ in parsed if item is not None and unscorable(item) is None]
        readings = iter(scorer.read([rated_text(item["text"], item.get("rating")) for item in items]))
        for number, item, error in parsed:
            if item is None:
                yield {"line": number, "error": error}
            elif reason := unscorable(item):
                yield {**item, "status": "unscorable", "reason": reason}
            else:
                yield with_reading(item, next(readings))


def run(
    scorer: Scorer,
    source: TextIO,
    sink: TextIO,
    on_line: Callable[[Tally], None] | None = None,
    detect: LanguageDetector | None = None,
) -> Tally:
    """Score `source` into `sink`; `on_line` sees the running tally (the progress bar)."""
    tally = Tally()
    for output in score_lines(scorer, source, detect):
        sink.write(json.dumps(output, ensure_ascii=False) + "\n")
        tally = Tally(
            lines=tally.lines + 1,
            scored=tally.scored + (output.get("status") == "scored"),
            unscorable=tally.unscorable + (output.get("status") == "unscorable"),
            errors=tally.errors + ("error" in output),
        )
        if on_line:
            on_line(tally)
    sink.flush()
    return tally
