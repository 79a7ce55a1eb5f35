"""A service started while the broker is down waits for it, not ready, and then starts: no exit, no crash loop."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import embedded_stack
from tests.processes import free_port, service_env, service_process, wait_ready

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", ["escalation", "analytics"])
def test_a_service_started_during_a_broker_outage_waits_then_serves(tmp_path: Path, service: str) -> None:
    with embedded_stack(tmp_path / "infra", "outage") as stack:
        stack.infra.kill("broker")
        port = free_port()
        base, log = f"http://127.0.0.1:{port}", tmp_path / f"{service}.log"
        env = service_env(stack, tmp_path, **{f"{service}_http_port": str(port)})
        with service_process(service, env, log) as process:
            time.sleep(8)  # a few rounds of its start failing for want of the broker
            assert process.poll() is None, log.read_text()[-2000:]
            assert "next try in" in log.read_text()
            with pytest.raises(httpx.TransportError):
                httpx.get(f"{base}/ready", timeout=2)  # its HTTP side serves only once it has started
            stack.infra.restart("broker")
            wait_ready(base, process, log, timeout_s=120)
