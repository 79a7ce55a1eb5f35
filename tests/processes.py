"""veille services run as their own processes in tests, the way `veille run` starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import TEST_HEARTBEAT_MS, TEST_SESSION_TIMEOUT_MS, Stack


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def service_env(stack: Stack, state_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without its VEILLE_* variables, pointed at the test stack, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    return env | {
        "VEILLE_STATE_DIR": str(state_dir),
        "VEILLE_KAFKA_BOOTSTRAP_SERVERS": stack.settings.kafka_bootstrap_servers,
        "VEILLE_CLICKHOUSE_URL": str(stack.settings.clickhouse_url).rstrip("/"),
        "VEILLE_KAFKA_SESSION_TIMEOUT_MS": str(TEST_SESSION_TIMEOUT_MS),
        "VEILLE_KAFKA_HEARTBEAT_INTERVAL_MS": str(TEST_HEARTBEAT_MS),
        **{f"VEILLE_{name.upper()}": value for name, value in settings.items()},
    }


@contextmanager
def service_process(service: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`veille run <service>`, logging to `log`; stopped with SIGTERM (then killed) unless it already ended."""
    with log.open("ab") as out:
        command = [sys.executable, "-m", "veille.cli", "run", service]
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    """Wait for `GET {base}/ready` to answer 200; fail with the log's tail if the process ends or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready after {timeout_s} s: {log.read_text()[-3000:]}")
