"""`veille run escalation` as its own process: notifiers, HTTP feedback, and a SIGKILL in the middle of an incident."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Stack
from tests.escalation.helpers import post, small
from tests.escalation.receivers import HttpReceiver, http_receiver
from tests.escalation.topics import alerts_for, produce, records_of
from tests.processes import free_port, service_env, service_process, wait_ready
from veille_contracts.codec import HEADER_ERROR, HEADER_SERVICE, encode
from veille_contracts.models import Alert, AlertStatus, Polarity, ScoredMention
from veille_contracts.signatures import SIGNATURE_HEADER, verify

pytestmark = pytest.mark.integration

TOKEN = "feedback-token-for-tests"
SECRET = "webhook-secret-for-tests"


def _churn(brand: str, minutes: int) -> ScoredMention:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    return post(
        start + timedelta(minutes=minutes),
        brand=brand,
        author=small(4242),
        churn=0.92,
        polarity=Polarity.NEGATIVE,
        text=f"Je pars chez un concurrent, message {minutes}.",
    )


def _feedback(base: str, body: bytes, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{base}/feedback", content=body, headers=headers, timeout=10)


def _slack_revisions(slack: HttpReceiver, brand: str) -> list[str]:
    return [r.body.decode() for r in slack.received if brand in r.body.decode()]


def test_killed_mid_incident_the_service_neither_loses_nor_duplicates_its_alert(stack: Stack, tmp_path: Path) -> None:
    brand = f"Marque {uuid.uuid4().hex[:6]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "escalation.log"
    with http_receiver(refuse=brand.encode()) as webhook, http_receiver() as slack:
        env = service_env(
            stack,
            tmp_path,
            escalation_http_port=str(port),
            feedback_token=TOKEN,
            notify_webhook_url=webhook.url,
            notify_webhook_secret=SECRET,
            notify_slack_url=slack.url,
            notify_backoff_s="0.05",
        )
        first = _churn(brand, 0)
        with service_process("escalation", env, log) as service:
            wait_ready(base, service, log)
            asyncio.run(produce(stack, "mentions-scored", [encode(first)]))
            [(alert, _)] = asyncio.run(alerts_for(stack, brand, 1))

            # feedback over HTTP: refused without the token, for an unknown alert or a bad body; accepted otherwise
            verdict = {"alert_id": alert.alert_id, "status": "acknowledged", "by": "agent-12", "at": _now()}
            assert _feedback(base, _json(verdict), token=None).status_code == 401
            assert _feedback(base, _json(verdict | {"alert_id": "0" * 32})).status_code == 404
            bad = _feedback(base, b'{"alert_id": 12}')
            assert bad.status_code == 422 and "alert_id" in bad.json()["error"]
            accepted = _feedback(base, _json(verdict))
            assert accepted.status_code == 202, accepted.text
            asyncio.run(
                alerts_for(stack, brand, lambda alerts: bool(alerts) and alerts[-1].status is AlertStatus.ACKNOWLEDGED)
            )
            assert _feedback(base, _json(verdict | {"status": "open"})).status_code == 409

            # more of the same incident: the process is killed while it handles it, and more comes while it is down
            # (each of these grows the evidence by a quarter at least, so each is a revision)
            more = [_churn(brand, minutes) for minutes in (20, 30, 40, 50)]
            asyncio.run(produce(stack, "mentions-scored", [encode(m) for m in more[:2]]))
            service.send_signal(signal.SIGKILL)
            service.wait(timeout=10)
            asyncio.run(produce(stack, "mentions-scored", [encode(m) for m in more[2:]]))

        with service_process("escalation", env, log) as service:
            wait_ready(base, service, log)
            every = {m.mention_id for m in [first, *more]}
            revisions = asyncio.run(
                alerts_for(stack, brand, lambda alerts: bool(alerts) and every <= set(alerts[-1].evidence_mention_ids))
            )
            stats = httpx.get(f"{base}/stats", timeout=5).json()

    alerts: list[Alert] = [a for a, _ in revisions]
    assert {a.alert_id for a in alerts} == {alert.alert_id}
    assert [a.revision for a in alerts] == list(range(1, len(alerts) + 1)), "a revision lost or published twice"
    assert [a.status for a in alerts[1:]] == [AlertStatus.ACKNOWLEDGED] * (len(alerts) - 1)
    assert stats["verdicts"].get("churn_risk/acknowledged", 0) >= 1

    # the refusing webhook did not hold Slack back, and the alert it refused waits in the DLQ
    assert len(_slack_revisions(slack, brand)) == 1
    [signed] = [r for r in webhook.received if brand.encode() in r.body]
    verify(SECRET, signed.body, signed.headers[SIGNATURE_HEADER])
    [dead] = [dict(r.headers) for r in asyncio.run(records_of(stack, "alerts-dlq")) if r.key == alert.alert_id.encode()]
    assert dead[HEADER_SERVICE] == b"escalation-notify-webhook"
    assert b"HTTP 400" in dead[HEADER_ERROR]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def test_a_false_alarm_survives_a_restart_with_its_tuned_threshold_and_its_counts(stack: Stack, tmp_path: Path) -> None:
    """A burst judged a false alarm, then `kill -TERM` and `veille run escalation` again: nothing of it changes."""
    brand = f"Marque {uuid.uuid4().hex[:6]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "escalation.log"
    env = service_env(stack, tmp_path, escalation_http_port=str(port), feedback_token=TOKEN)
    with service_process("escalation", env, log) as service:
        wait_ready(base, service, log)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        burst = [
            post(start + timedelta(minutes=m), brand=brand, author=small(5000 + m), polarity=Polarity.NEGATIVE)
            for m in range(40)
        ]
        asyncio.run(produce(stack, "mentions-scored", [encode(m) for m in burst]))
        spikes = asyncio.run(alerts_for(stack, brand, 1))
        while len(grown := asyncio.run(alerts_for(stack, brand, len(spikes)))) > len(spikes):  # the burst is done
            spikes = grown
        alert = spikes[-1][0]
        assert {a.alert_id for a, _ in spikes} == {alert.alert_id}, "one burst, one incident"
        verdict = {"alert_id": alert.alert_id, "status": "false_alarm", "by": "agent-12", "at": _now()}
        assert _feedback(base, _json(verdict)).status_code == 202
        asyncio.run(alerts_for(stack, brand, len(spikes) + 1))
        before = httpx.get(f"{base}/stats", timeout=5).json()
        refused = _feedback(base, _json(verdict | {"status": "acknowledged"}))
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
    with service_process("escalation", env, log) as service:
        wait_ready(base, service, log)
        after = httpx.get(f"{base}/stats", timeout=5).json()
        again = _feedback(base, _json(verdict | {"status": "acknowledged"}))
    assert before["threshold_scale"][f"{brand}/spike"] == 1.15
    assert after == before
    assert refused.status_code == again.status_code == 409
    assert refused.json() == again.json()
    assert "false_alarm" in again.json()["error"]
    revisions = [a for a, _ in asyncio.run(alerts_for(stack, brand, len(spikes) + 1))]
    assert {a.alert_id for a in revisions} == {alert.alert_id}
    assert [a.revision for a in revisions] == list(range(1, len(spikes) + 2))
    assert revisions[-1].status is AlertStatus.FALSE_ALARM
