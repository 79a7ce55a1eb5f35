"""Ingest on the real broker: a file replayed twice emits each mention once; `veille run ingest` end to end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Stack
from tests.escalation.topics import records_of
from tests.ingest.servers import serving
from tests.processes import free_port, service_env, service_process
from veille_contracts.codec import decode
from veille_contracts.models import Mention
from veille_contracts.signatures import SIGNATURE_HEADER, sign
from veille_ingest.delivery import replay
from veille_ingest.sources import read_posts
from veille_ingest.synthetic import as_json, generate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "ingest"
SECRET = "webhook-secret-for-tests"


def _mentions(stack: Stack, source: str) -> list[Mention]:
    found = []
    for record in asyncio.run(records_of(stack, "mentions-raw")):
        mention: Mention = decode("mentions-raw", record.value or b"")
        if mention.source == source:
            found.append(mention)
    return found


def test_a_file_replayed_twice_emits_each_unique_mention_exactly_once(stack: Stack, tmp_path: Path) -> None:
    source = f"replay-{uuid.uuid4().hex[:8]}"
    stream = generate(10_000, seed=11)
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(as_json(item) | {"source": source}) + "\n" for item in stream.items))
    settings = stack.settings.model_copy(update={"watchlist": ROOT / "config" / "watchlist.yaml"})

    first = asyncio.run(replay(settings, read_posts(path, source)))
    second = asyncio.run(replay(settings, read_posts(path, source)))

    published = _mentions(stack, source)
    originals = [m for m in published if m.duplicates == 0]
    updates = [m for m in published if m.duplicates > 0]
    assert first.outcomes["emitted"] == len(originals) > 8_000
    assert len({m.mention_id for m in originals}) == len(originals), "a mention was emitted twice"
    # repeats of a post that matches no brand are unmatched, not duplicates
    assert stream.same_id_repeats - 5 <= first.outcomes["duplicate"] <= stream.same_id_repeats
    assert first.outcomes["copy"] > 0.85 * len(stream.copy_of)
    assert {m.mention_id for m in updates} <= {m.mention_id for m in originals}
    assert all(n & (n - 1) == 0 for n in Counter(m.duplicates for m in updates))  # announced at 1, 2, 4, 8…
    assert second.outcomes["emitted"] == 0 and second.outcomes["copy"] == 0
    assert second.outcomes["duplicate"] == len(stream.items) - second.outcomes["unmatched"]
    assert first.rejected == second.rejected == []


def _wait(check: Any, what: str, log: Path, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen in {timeout_s} s: {log.read_text()[-3000:]}")


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(secret, body), "Content-Type": "application/json"}


def test_the_ingest_process_takes_feeds_and_webhooks_and_a_restart_re_emits_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    feed = (DATA / "feed.rss").read_bytes()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "ingest.log"
    relay = f"relay-{uuid.uuid4().hex[:8]}"
    with serving({"/eco.rss": lambda request: (200, {"Content-Type": "application/rss+xml"}, feed)}) as feeds:
        watchlist = tmp_path / "watchlist.yaml"
        feed_name = f"journal-eco-{uuid.uuid4().hex[:6]}"
        watchlist.write_text(
            (ROOT / "config" / "watchlist.yaml")
            .read_text()
            .replace("  feeds: []", f"  feeds:\n    - {{name: {feed_name}, url: '{feeds}/eco.rss', every_s: 1}}")
        )
        env = service_env(
            stack,
            tmp_path,
            watchlist=str(watchlist),
            ingest_http_port=str(port),
            webhook_secret=SECRET,
            webhook_max_bytes="20000",
        )
        posts = {
            "source": relay,
            "posts": [
                {
                    "id": "t-1",
                    "text": "Maison Brise a perdu ma commande, deuxième fois ce mois-ci",
                    "published_at": "2026-11-02T10:00:00Z",
                    "author": {"id": "u-1", "followers": 830},
                },
                {
                    "id": "t-2",
                    "text": "Nothing to see",
                    "published_at": "2026-11-02T10:01:00Z",
                    "author": {"id": "u-2"},
                },
                {"id": "t-3", "text": "Fibrelia: no bill", "author": {"id": "u-3"}},
            ],
        }
        body = json.dumps(posts).encode()
        with service_process("ingest", env, log):
            _wait(lambda: httpx.get(f"{base}/ready", timeout=2).status_code == 200, "readiness", log)
            accepted = httpx.post(f"{base}/webhook", content=body, headers=_signed(body), timeout=10)
            assert accepted.status_code == 202, accepted.text
            answer = accepted.json()
            assert (answer["emitted"], answer["unmatched"]) == (1, 1)
            assert [r["where"] for r in answer["rejected"]] == ["post 2"]
            assert "published_at" in answer["rejected"][0]["error"]
            refused = {
                "wrong secret": httpx.post(f"{base}/webhook", content=body, headers=_signed(body, "guess")),
                "no signature": httpx.post(f"{base}/webhook", content=body),
                "not UTF-8": httpx.post(
                    f"{base}/webhook", content=b'{"id": "\xff"}', headers=_signed(b'{"id": "\xff"}')
                ),
                "too large": httpx.post(f"{base}/webhook", content=b"x" * 30_000, headers=_signed(b"x" * 30_000)),
                "50 MB": httpx.post(f"{base}/webhook", content=b"x" * 50_000_000, headers=_signed(b"{}"), timeout=30),
            }
            assert {k: r.status_code for k, r in refused.items()} == {
                "wrong secret": 401, "no signature": 401, "not UTF-8": 400, "too large": 413, "50 MB": 413,
            }  # fmt: skip
            from_feed = _wait(lambda: _mentions(stack, feed_name) if len(_mentions(stack, feed_name)) >= 2 else None,
                              "the feed's mentions", log)  # fmt: skip
            stats = httpx.get(f"{base}/stats", timeout=5).json()
        assert sorted(m.source_item_id for m in from_feed) == ["journal-eco-4411", "journal-eco-4412"]
        fibrelia = next(m for m in from_feed if m.brands == ["Fibrelia"])
        assert fibrelia.employer_brand  # "recrute", "salaires"
        assert stats["sources"][feed_name]["unmatched"] == 1
        [webhook_mention] = _mentions(stack, relay)
        assert webhook_mention.author.followers == 830

        with service_process("ingest", env, log):  # a restart: the cursor and the index both know the feed
            _wait(lambda: httpx.get(f"{base}/ready", timeout=2).status_code == 200, "readiness", log)
            time.sleep(3)  # a few polls
            again = httpx.post(f"{base}/webhook", content=body, headers=_signed(body), timeout=10).json()
        assert again["emitted"] == 0 and again["duplicate"] == 1
        assert len(_mentions(stack, feed_name)) == 2 and len(_mentions(stack, relay)) == 1


def test_veille_ingest_file_reports_each_outcome_and_names_refused_lines(stack: Stack, tmp_path: Path) -> None:
    source = f"cli-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "posts.jsonl"
    post = {
        "id": "c1",
        "text": "Nordline a encore augmenté mon tarif",
        "published_at": "2026-11-02T08:00:00Z",
        "author": "u",
    }
    path.write_text(json.dumps(post) + "\n" + json.dumps(post) + "\n{broken\n")
    env = service_env(stack, tmp_path, watchlist=str(ROOT / "config" / "watchlist.yaml"))
    done = subprocess.run(
        [sys.executable, "-m", "veille.cli", "ingest", "file", str(path), "--source", source],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "emitted 1 duplicate 1 copy 0 unmatched 0 rejected 1" in done.stdout
    assert "line 3" in done.stderr and "not JSON" in done.stderr
    assert [m.source_item_id for m in _mentions(stack, source)] == ["c1"]
