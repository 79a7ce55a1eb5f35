"""One trace from ingest to the alert: the four services, each its own process, exporting spans to files."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Stack
from tests.escalation.topics import alerts_for
from tests.processes import free_port, service_env, service_process, wait_ready
from veille_contracts.ids import mention_id

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("ingest", "sentiment", "escalation", "analytics")


def _spans(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in folder.glob("*-spans.jsonl"):
        found += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return found


def test_one_trace_spans_the_four_services_from_the_webhook_to_the_alert(stack: Stack, tmp_path: Path) -> None:
    brand = "Nordline Energy"
    post_id = f"trace-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = service_env(
        stack,
        tmp_path,
        otel_exporter="file",
        watchlist=str(ROOT / "config" / "watchlist.yaml"),
        ingest_http_port=str(port),
        escalation_http_port=str(free_port()),
        webhook_token="token-for-tests",
        clickhouse_database=f"trace_{uuid.uuid4().hex[:8]}",
    )
    post = {
        "id": post_id,
        "text": "Régularisation de 600€ chez Nordline Energy sans aucune explication. Je change de fournisseur, "
        "j'ai déjà comparé les offres et je résilie demain.",
        "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "author": {"id": "client-0042", "followers": 310},
    }
    log = tmp_path / "services.log"
    with ExitStack() as running:
        processes = {service: running.enter_context(service_process(service, env, log)) for service in SERVICES}
        wait_ready(f"http://127.0.0.1:{port}", processes["ingest"], log, timeout_s=120)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/webhook", json=post, headers={"Authorization": "Bearer token-for-tests"}
        )
        assert answer.status_code == 202 and answer.json()["emitted"] == 1, answer.text
        expected = mention_id("webhook", post_id)
        raised = asyncio.run(
            alerts_for(stack, brand, lambda alerts: any(expected in a.evidence_mention_ids for a in alerts), 180)
        )
        alert = next(a for a, _ in raised if expected in a.evidence_mention_ids)
        time.sleep(3)  # analytics stores the alert
    # every process has exited (SIGTERM) and flushed its spans
    spans = _spans(tmp_path / "telemetry")
    first = next((s for s in spans if s["attributes"].get("veille.mention_id") == expected), None)
    assert first is not None, f"no ingest span; {len(spans)} spans: {log.read_text()[-2000:]}"
    trace_id = first["context"]["trace_id"]
    in_trace = [s for s in spans if s["context"]["trace_id"] == trace_id]
    services = {s["resource"]["attributes"]["service.name"] for s in in_trace}
    assert services == {f"veille-{name}" for name in SERVICES}, [(s["name"], s["resource"]) for s in in_trace]
    names = {s["name"] for s in in_trace}
    assert {"ingest mention", "score mention", "escalate mention", "store mentions", "store alerts"} <= names
    # delivery is at-least-once: a redelivered mention is escalated again and raises nothing the second time
    escalated = [s for s in in_trace if s["name"] == "escalate mention"]
    raising = [
        s for s in escalated if any(e["attributes"].get("veille.alert_id") == alert.alert_id for e in s["events"])
    ]
    assert len(raising) == 1, [s["events"] for s in escalated]
    # and the metrics of the same run: the ingest-to-alert histogram, the model's batches, the rows written
    exported = {name: (tmp_path / "telemetry" / f"{name}-metrics.jsonl").read_text() for name in SERVICES}
    assert "veille.ingest_to_alert" in exported["escalation"]
    assert "veille.sentiment.model_latency" in exported["sentiment"]
    assert "veille.analytics.rows" in exported["analytics"] and "veille.ingest.items" in exported["ingest"]
    assert all("veille.consumer.lag" in exported[name] for name in ("sentiment", "escalation", "analytics"))
