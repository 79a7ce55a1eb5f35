"""The ingest webhook, as a process, under nasty bodies and a flood: clear refusals, no crash, a rate limit."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import Stack
from tests.processes import free_port, service_env, service_process, wait_ready
from tests.properties.nasty import BODIES, TEXTS, body_of
from veille_contracts.signatures import SIGNATURE_HEADER, sign

pytestmark = pytest.mark.integration
SECRET = "abuse-test-secret"
LIMIT = 60  # requests a minute per client address


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
