"""The ingest webhook, as a process, under nasty bodies and a flood: clear refusals, no crash, a rate limit."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import Stack
from tests.ingest.test_service import _mentions
from tests.processes import free_port, service_env, service_process, wait_ready
from tests.properties.nasty import BODIES, TEXTS, body_of
from veille_contracts.signatures import SIGNATURE_HEADER, sign
from veille_ingest.synthetic import BRANDS, sentence

pytestmark = pytest.mark.integration
SECRET = "abuse-test-secret"
LIMIT = 60  # requests a minute per client address
POSTS_PER_REQUEST = 5


def _post(base: str, body: bytes, secret: str = SECRET) -> httpx.Response:
    headers = {SIGNATURE_HEADER: sign(secret, body), "Content-Type": "application/json"}
    return httpx.post(f"{base}/webhook", content=body, headers=headers, timeout=30)


def test_nasty_bodies_get_client_errors_nasty_texts_are_taken_and_a_flood_is_limited(
    stack: Stack, tmp_path: Path
) -> None:
    port = free_port()
    base, log = f"http://127.0.0.1:{port}", tmp_path / "ingest.log"
    env = service_env(
        stack, tmp_path, ingest_http_port=str(port), webhook_secret=SECRET, webhook_rate_limit=f"{LIMIT}/minute"
    )
    with service_process("ingest", env, log) as process:
        wait_ready(base, process, log)
        answers: dict[str, int] = {}
        for name, body in BODIES.items():
            answer = _post(base, body)
            answers[name] = answer.status_code
            assert answer.status_code in (400, 413, 422), (name, answer.status_code, answer.text[:300])
            assert answer.json()["error"], name
        for index, (name, text) in enumerate(TEXTS.items()):
            answer = _post(base, body_of(text, index))
            answers[name] = answer.status_code
            assert answer.status_code in (202, 422), (name, answer.status_code, answer.text[:300])
        unsigned = httpx.post(f"{base}/webhook", content=body_of("Kestrel Mobile"), timeout=10)
        replayed_signature = _post(base, body_of("Kestrel Mobile"), secret="someone-else")
        assert (unsigned.status_code, replayed_signature.status_code) == (401, 401)
        assert answers["ten megabytes"] == 413 and answers["deeply nested JSON"] == 400
        assert answers["invalid UTF-8"] == 400 and answers["html and script"] == 202

        sent = len(answers) + 2
        limited = None
        for _ in range(LIMIT + 5 - sent):
            answer = _post(base, body_of("Kestrel Mobile, rien à signaler"))
            if answer.status_code == 429:
                limited = answer
                break
        assert limited is not None, "no 429 past the limit"
        assert int(limited.headers["retry-after"]) >= 1
        assert "retry in" in json.loads(limited.content)["error"]
        assert httpx.get(f"{base}/health", timeout=5).status_code in (200, 204)
        assert process.poll() is None
    assert SECRET not in log.read_text()


async def _concurrent_senders(base: str, source: str, senders: int, requests: int) -> list[httpx.Response]:
    rng = random.Random(3)

    async def sender(client: httpx.AsyncClient, number: int) -> list[httpx.Response]:
        answers = []
        for request in range(requests):
            posts = [
                {"id": f"{number}-{request}-{k}", "text": sentence(rng, rng.choice(BRANDS)),
                 "published_at": "2026-11-20T10:00:00Z", "author": {"id": f"sender-{number}"}}
                for k in range(POSTS_PER_REQUEST)
            ]  # fmt: skip
            body = json.dumps({"source": source, "posts": posts}).encode()
            headers = {SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"}
            answers.append(await client.post(f"{base}/webhook", content=body, headers=headers))
        return answers

    async with httpx.AsyncClient(timeout=60) as client:
        per_sender = await asyncio.gather(*(sender(client, n) for n in range(senders)))
    return [answer for answers in per_sender for answer in answers]


def test_concurrent_senders_are_all_answered_and_every_post_published_once(stack: Stack, tmp_path: Path) -> None:
    port, source = free_port(), f"load-{uuid.uuid4().hex[:8]}"
    base, log = f"http://127.0.0.1:{port}", tmp_path / "ingest.log"
    env = service_env(stack, tmp_path, ingest_http_port=str(port), webhook_secret=SECRET)
    with service_process("ingest", env, log) as process:
        wait_ready(base, process, log)
        answers = asyncio.run(_concurrent_senders(base, source, senders=16, requests=10))
    assert [answer.status_code for answer in answers] == [202] * 160
    outcomes = {k: sum(a.json()[k] for a in answers) for k in ("emitted", "copy", "unmatched", "duplicate")}
    # random word salad is now and then a near-copy of another, or read in a language its brand is not watched in
    assert sum(outcomes.values()) == 16 * 10 * POSTS_PER_REQUEST and outcomes["duplicate"] == 0
    emitted = outcomes["emitted"]
    assert emitted >= 0.95 * 16 * 10 * POSTS_PER_REQUEST
    published = {m.source_item_id for m in _mentions(stack, source)}  # an original comes again with its copy count
    assert len(published) == emitted
