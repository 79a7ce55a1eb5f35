"""A ClickHouse database seeded with the synthetic story, the contract examples, alerts and feedback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from veille_analytics.clickhouse import connect
from veille_analytics.rows import (
    ALERT_COLUMNS,
    FEEDBACK_COLUMNS,
    MENTION_COLUMNS,
    alert_row,
    feedback_row,
    mention_row,
)
from veille_analytics.schema import migrate
from veille_analytics.synthetic import story
from veille_contracts.catalog import topic
from veille_contracts.codec import decode
from veille_contracts.settings import VeilleSettings

BRANDS = ("Banque Aurore", "Nimbus Mobile", "Voltéo")
STORY_START = datetime(2026, 9, 7, tzinfo=UTC)  # a Monday; ten weeks to mid-November
RANGE = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))


def seed(settings: VeilleSettings) -> tuple[VeilleSettings, Client]:
    """A fresh database with the story and the examples; returns its settings and a client."""
    seeded = settings.model_copy(update={"clickhouse_database": f"seed_{uuid.uuid4().hex[:8]}"})
    client = connect(seeded)
    migrate(client, seeded.retention_days)
    mentions = [mention_row(m) for m in story(BRANDS, STORY_START)]
    mentions += [mention_row(decode("mentions-scored", p.read_bytes())) for p in topic("mentions-scored").examples()]
    client.insert("mentions", mentions, column_names=MENTION_COLUMNS)
    alerts = [alert_row(decode("alerts", p.read_bytes())) for p in topic("alerts").examples()]
    client.insert("alerts", alerts, column_names=ALERT_COLUMNS)
    feedback = [feedback_row(decode("alert-feedback", p.read_bytes())) for p in topic("alert-feedback").examples()]
    client.insert("alert_feedback", feedback, column_names=FEEDBACK_COLUMNS)
    return seeded, client
