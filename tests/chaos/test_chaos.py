"""Every service, ClickHouse and the broker killed mid-stream: nothing lost, nothing doubled, one alert per incident."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import astuple
from pathlib import Path

import pytest

from tests.chaos.harness import (
    BAD_PAYLOADS,
    BOUNDED,
    FULL,
    SERVICES,
    TOKEN,
    Chaos,
    Report,
    Services,
    dead_letters,
    durable_stack,
    stream,
    wait_for,
)
from veille_analytics.clickhouse import clickhouse_client

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def test_killing_every_component_mid_stream_loses_nothing_and_doubles_nothing(tmp_path: Path, chaos_scale: str) -> None:
    scale = FULL if chaos_scale == "full" else BOUNDED
    report = Report(chaos_scale, scale.mentions)
    began = time.monotonic()
    with durable_stack(tmp_path) as stack:
        data = stream(stack.settings, scale.mentions)
        services = Services(stack, tmp_path)
        try:
            for service in SERVICES:
                services.start(service)
            services.wait_ready()
            chaos = Chaos(stack, services, scale, report)
            chaos.run(data)

            client = clickhouse_client(stack.settings)

            def stored() -> int:
                unique: int = client.query("SELECT uniqExact(mention_id) FROM mentions").result_rows[0][0]
                return unique

            def churn_alerts() -> dict[str, set[str]]:
                rows = client.query(
                    "SELECT alert_id, evidence_mention_ids FROM alerts WHERE kind = 'churn_risk'"
                ).result_rows
                return {
                    incident.author: {alert for alert, evidence in rows if set(evidence) & set(incident.mention_ids)}
                    for incident in data.incidents
                }

            wait_for(lambda: stored() >= scale.mentions, 600, "every mention stored in ClickHouse")
            wait_for(lambda: all(churn_alerts().values()), 120, "an alert for every incident")
            expected = {astuple(letter) for letter in chaos.bad}
            wait_for(lambda: expected <= {astuple(d) for d in dead_letters(stack.settings)}, 120, "every dead letter")
            time.sleep(5)  # anything still in flight would show as a duplicate now
            # a batch re-read after analytics was killed can be cut differently from the one it wrote, and then
            # its insert token does not recognise it: ReplacingMergeTree folds such rows on merge
            report.rows_before_merge = client.query("SELECT count() FROM mentions").result_rows[0][0]
            client.command("OPTIMIZE TABLE mentions FINAL")
            report.rows, report.unique_mentions = client.query(
                "SELECT count(), uniqExact(mention_id) FROM mentions"
            ).result_rows[0]
            found = Counter(astuple(letter) for letter in dead_letters(stack.settings))
            alerted = churn_alerts()
            report.services_alive = services.alive()
            tails = {service: services.log_tail(service) for service in SERVICES}
            logged = "".join((tmp_path / "logs" / f"{service}.log").read_text(errors="replace") for service in SERVICES)
        finally:
            services.stop()
            report.seconds = round(time.monotonic() - began, 1)
            report.write(RESULTS / f"chaos-{chaos_scale}.json")

    report.lost = scale.mentions - report.unique_mentions
    report.dead_letters_expected, report.dead_letters_found = len(expected), len(found)
    report.dead_letters_redelivered = sum(found.values()) - len(found)
    report.incidents = len(data.incidents)
    report.incidents_with_one_alert = sum(len(alerts) == 1 for alerts in alerted.values())
    report.write(RESULTS / f"chaos-{chaos_scale}.json")
    assert report.services_alive, tails
    assert len(report.faults) == len(scale.faults)
    assert report.lost == 0
    assert report.rows == report.unique_mentions == scale.mentions
    assert report.bad_messages == len(BAD_PAYLOADS) * 3 * len(scale.bad_at)
    assert set(found) == expected  # every bad message dead-lettered by each of its readers, and nothing else
    assert alerted and all(len(alerts) == 1 for alerts in alerted.values()), alerted
    # what the services wrote while failing and recovering names no author and quotes no post, nor the token
    handles = {post["author"]["id"] for post in data.posts}
    assert not [handle for handle in handles if handle in logged]
    assert not [post["id"] for post in data.posts if post["text"] in logged]
    assert TOKEN not in logged
