"""The one test harness for real infrastructure: the embedded broker and ClickHouse, once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import AnyHttpUrl

from veille.infra.embedded import EmbeddedInfra
from veille_contracts.settings import ENV_PREFIX, VeilleSettings

# Group joins on the embedded broker take about half the session timeout: keep it short in tests.
TEST_SESSION_TIMEOUT_MS = 6_000
TEST_HEARTBEAT_MS = 1_000


@dataclass
class Stack:
    """The running embedded infrastructure and the settings that reach it."""

    infra: EmbeddedInfra
    settings: VeilleSettings

    def refresh(self) -> None:
        """Re-read addresses after a component was restarted."""
        env = self.infra.env()
        self.settings = self.settings.model_copy(
            update={
                "kafka_bootstrap_servers": env["VEILLE_KAFKA_BOOTSTRAP_SERVERS"],
                "clickhouse_url": AnyHttpUrl(env["VEILLE_CLICKHOUSE_URL"]),
            }
        )


@contextmanager
def embedded_stack(
    state_dir: Path, database: str, broker_storage: str = "memory://tansu/", broker_env: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    """A broker and ClickHouse on free ports in `state_dir`, with test timings; stopped on exit."""
    settings = VeilleSettings(
        state_dir=state_dir,
        broker_port=0,
        broker_storage=broker_storage,
        clickhouse_http_port=0,
        clickhouse_tcp_port=0,
        clickhouse_database=database,
        kafka_session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
        kafka_heartbeat_interval_ms=TEST_HEARTBEAT_MS,
    )
    infra = EmbeddedInfra(settings, broker_env)
    infra.up()
    running = Stack(infra, settings)
    running.refresh()
    try:
        yield running
    finally:
        infra.down()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for name in [n for n in os.environ if n.startswith(ENV_PREFIX)]:
        del os.environ[name]
    with embedded_stack(tmp_path_factory.mktemp("veille-state"), "veille_test") as running:
        yield running


@pytest.fixture
def settings(stack: Stack) -> VeilleSettings:
    return stack.settings
