"""What every benchmark shares: a private embedded stack and a results file."""

from __future__ import annotations

import asyncio
import json
import platform
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import AnyHttpUrl

from veille.demo import SERVICES, _start_service, _stop, _wait_ready
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


BENCH_PORTS = {"ingest_http_port": 18181, "sentiment_http_port": 18182, "escalation_http_port": 18183,
               "analytics_http_port": 18184}  # fmt: skip


@contextmanager
def running_services(
    base: VeilleSettings, services: tuple[str, ...] = SERVICES, **env: str
) -> Iterator[tuple[VeilleSettings, dict[str, subprocess.Popen[bytes]]]]:
    """The named services as their own processes on the bench stack, ready; stopped on exit."""
    settings = base.model_copy(update=BENCH_PORTS)
    extra = {
        "VEILLE_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "VEILLE_CLICKHOUSE_URL": str(settings.clickhouse_url).rstrip("/"),
        "VEILLE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "VEILLE_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "VEILLE_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        **{f"VEILLE_{s.upper()}_HTTP_PORT": str(getattr(settings, f"{s}_http_port")) for s in SERVICES},
        **{f"VEILLE_{name.upper()}": value for name, value in env.items()},
    }
    with ExitStack() as stack:
        running = {}
        for service in services:
            running[service] = _start_service(settings, service, extra)
            stack.callback(_stop, running[service])
        asyncio.run(_wait_ready(settings, running, timeout_s=240))
        yield settings, running
