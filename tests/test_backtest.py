"""`veille backtest`: an export replayed in story time through ingest's pipeline, the model and escalation."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.scorer import model_settings, scorer
from veille.backtest import run_backtest
from veille.story import story
from veille_contracts.codec import validate
from veille_contracts.models import AlertKind
from veille_contracts.settings import VeilleSettings
from veille_escalation.engine import Escalation
from veille_ingest.delivery import build_pipeline
from veille_ingest.sources import read_posts
from veille_sentiment.scoring import Scorer

__all__ = ["model_settings", "scorer"]
END = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("backtest") / "story.jsonl"
    path.write_text("".join(json.dumps(post.as_json(), ensure_ascii=False) + "\n" for post in story(END)))
    return path


def _backtest(scorer: Scorer, path: Path) -> list[tuple[str, int, str]]:
    settings = VeilleSettings()
    result = run_backtest(
        read_posts(path, "file"), build_pipeline(settings), lambda ms: scorer.score(ms, END), Escalation()
    )
    return [(a.alert_id, a.revision, a.created_at.isoformat()) for a in result.alerts]


def test_a_shuffled_export_gives_the_same_alerts_as_the_ordered_one(
    scorer: Scorer, export: Path, tmp_path: Path
) -> None:
    lines = export.read_text().splitlines(keepends=True)
    random.Random(5).shuffle(lines)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("".join(lines))
    ordered = _backtest(scorer, export)
    assert ordered, "the demo story raised nothing"
    assert _backtest(scorer, shuffled) == ordered


def test_veille_backtest_writes_every_revision_in_story_time_and_summarises(export: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "veille.cli", "backtest", str(export), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    for alert in alerts:
        validate("alerts", alert)
    assert all(datetime.fromisoformat(a["created_at"]) <= END for a in alerts)
    kinds = {a["kind"] for a in alerts}
    assert {AlertKind.SPIKE.value, AlertKind.CHURN_RISK.value} <= kinds
    summary = json.loads(done.stdout[: done.stdout.index("\n}\n") + 2])
    assert summary["mentions"]["emitted"] > 200
    assert sum(summary["alerts_by_kind"].values()) == sum(a["revision"] == 1 for a in alerts)
