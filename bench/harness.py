"""What every benchmark shares: a private embedded stack and a results file."""

from __future__ import annotations

import json
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import AnyHttpUrl

from veille.infra.embedded import EmbeddedInfra
from veille_contracts.settings import VeilleSettings

RESULTS = Path(__file__).resolve().parent / "results"


@contextmanager
def embedded_stack() -> Iterator[VeilleSettings]:
    """A broker and ClickHouse on free ports in a throwaway state directory."""
    with tempfile.TemporaryDirectory(prefix="veille-bench-") as state:
        base = VeilleSettings(
            state_dir=Path(state),
            broker_port=0,
            clickhouse_http_port=0,
            clickhouse_tcp_port=0,
            kafka_session_timeout_ms=6000,
            kafka_heartbeat_interval_ms=1000,
            clickhouse_database="veille_bench",
        )
        infra = EmbeddedInfra(base)
        env = infra.up()
        try:
            yield base.model_copy(
                update={
                    "kafka_bootstrap_servers": env["VEILLE_KAFKA_BOOTSTRAP_SERVERS"],
                    "clickhouse_url": AnyHttpUrl(env["VEILLE_CLICKHOUSE_URL"]),
                }
            )
        finally:
            infra.down()


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write one benchmark's numbers with the machine they were measured on."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        **results,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
