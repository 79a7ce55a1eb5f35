"""Author keys rotate: old and new pseudonyms are unlinkable, and erasure by handle still finds both."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.analytics.seeded import seed
from tests.analytics.test_cli import _veille
from tests.conftest import Stack
from veille_analytics.sinks import insert_json
from veille_contracts.catalog import topic
from veille_contracts.ids import mention_id
from veille_ingest.reach import pseudonym, pseudonyms

pytestmark = pytest.mark.integration
SOURCE, HANDLE = "webhook", "@camille.invented"
OLD_KEY, NEW_KEY = "author-key-2025", "author-key-2026"


def test_pseudonyms_under_two_keys_share_nothing_and_are_stable() -> None:
    before, after = pseudonym(OLD_KEY, SOURCE, HANDLE), pseudonym(NEW_KEY, SOURCE, HANDLE)
    assert before != after and HANDLE not in before + after
    assert pseudonyms([NEW_KEY, OLD_KEY, NEW_KEY], SOURCE, HANDLE) == [after, before]
    assert pseudonym(NEW_KEY, "mastodon", HANDLE) != after  # the same handle elsewhere is someone else


def _mention_by(author_id: str, item: str) -> bytes:
    example = json.loads(next(iter(topic("mentions-scored").examples())).read_text())
    example |= {"mention_id": mention_id(SOURCE, item), "source": SOURCE, "source_item_id": item}
    example["author"] = {**example["author"], "id": author_id}
    return json.dumps(example).encode()


def test_erasing_a_handle_removes_its_mentions_under_current_and_retired_keys(stack: Stack, tmp_path: Path) -> None:
    settings, client = seed(stack.settings)
    lines = [_mention_by(pseudonym(OLD_KEY, SOURCE, HANDLE), "before-rotation")]
    lines += [_mention_by(pseudonym(NEW_KEY, SOURCE, HANDLE), "after-rotation")]
    insert_json(client, "mentions", lines, token=uuid.uuid4().hex)
    total = client.query("SELECT count() FROM mentions").result_rows[0][0]
    env = {
        "VEILLE_STATE_DIR": str(tmp_path / "state"),
        "VEILLE_CLICKHOUSE_URL": str(settings.clickhouse_url).rstrip("/"),
        "VEILLE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "VEILLE_AUTHOR_KEY": NEW_KEY,
        "VEILLE_AUTHOR_KEYS_RETIRED": json.dumps([OLD_KEY]),
    }

    unclear = _veille(env, "erase", "--handle", HANDLE)
    assert unclear.returncode == 2 and "--handle with --source" in unclear.stderr

    erased = _veille(env, "erase", "--handle", HANDLE, "--source", SOURCE)

    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.count("erased 1 mention(s)") == 2
    assert client.query("SELECT count() FROM mentions").result_rows == [(total - 2,)]
    assert NEW_KEY not in erased.stdout + erased.stderr and OLD_KEY not in erased.stdout + erased.stderr
