"""A ClickHouse database seeded with the synthetic story, the contract examples, alerts and feedback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from veille_analytics.clickhouse import connect
from veille_analytics.schema import migrate
from veille_analytics.sinks import insert_json
from veille_analytics.synthetic import story
from veille_contracts.catalog import topic
from veille_contracts.codec import encode
from veille_contracts.settings import VeilleSettings

BRANDS = ("Banque Aurore", "Nimbus Mobile", "Voltéo")
STORY_START = datetime(2026, 9, 7, tzinfo=UTC)  # a Monday; ten weeks to mid-November
RANGE = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))


def seed(settings: VeilleSettings) -> tuple[VeilleSettings, Client]:
    """A fresh database with the story and the examples; returns its settings and a client."""
    seeded = settings.model_copy(update={"clickhouse_database": f"seed_{uuid.uuid4().hex[:8]}"})
    client = connect(seeded)
    migrate(client, seeded.retention_days)
    mentions = [encode(m) for m in story(BRANDS, STORY_START)]
    mentions += [p.read_bytes() for p in topic("mentions-scored").examples()]
    insert_json(client, "mentions", mentions, token=uuid.uuid4().hex)
    insert_json(client, "alerts", [p.read_bytes() for p in topic("alerts").examples()], token=uuid.uuid4().hex)
    feedback = [p.read_bytes() for p in topic("alert-feedback").examples()]
    insert_json(client, "alert_feedback", feedback, token=uuid.uuid4().hex)
    return seeded, client
