"""Start, stop and inspect the embedded broker and ClickHouse server as background processes.

State lives under the settings' state directory: `infra.json` (pids, ports),
`infra.env` (the `VEILLE_*` values services need to reach them), logs and data.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from veille.infra import broker_binary
from veille.infra.clickhouse_server import STOP_PIPE
from veille_contracts.settings import VeilleSettings

STATE_FILE = "infra.json"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


class InfraError(RuntimeError):
    """The embedded infrastructure could not be started or stopped."""


@dataclass(frozen=True)
class Component:
    """One running process of the embedded infrastructure."""

    name: str
    pid: int
    address: str
    log: str
    marker: str  # a word of the process's command line, to tell it from a reused pid


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    address: str
    pid: int
    state: str  # running | dead | unresponsive


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_or_free(port: int) -> int:
    return port if port else free_port()


def _tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def clickhouse_answers(url: str) -> bool:
    try:
        if not url.startswith(("http://", "https://")):
            return False
        with urllib.request.urlopen(f"{url}/ping", timeout=1.0) as response:  # noqa: S310 (scheme checked)
            return bool(response.read().strip() == b"Ok.")
    except OSError:
        return False


def _alive(pid: int, marker: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return status != "Z" and marker.encode() in cmdline


def _wait_until(check: Callable[[], bool], timeout: float, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise InfraError(f"{what} exited with code {process.returncode} while starting")
        if check():
            return
        time.sleep(0.05)
    raise InfraError(f"{what} did not answer within {timeout:.0f} s")


def _spawn(
    command: list[str], log: Path, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        return subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,  # outlives `veille infra up`, immune to its terminal's signals
        )


class EmbeddedInfra:
    """The broker and ClickHouse processes of one state directory."""

    def __init__(self, settings: VeilleSettings, broker_env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        # extra environment of the broker process, e.g. the object store behind `s3://` storage
        self.broker_env = dict(broker_env or {})
        self.root = settings.state_dir.resolve()
        self.state_path = self.root / STATE_FILE

    # -- reading state -----------------------------------------------------
    def components(self) -> list[Component]:
        if not self.state_path.is_file():
            return []
        return [Component(**item) for item in json.loads(self.state_path.read_text())["components"]]

    def status(self) -> list[ComponentStatus]:
        report = []
        for component in self.components():
            if not _alive(component.pid, component.marker):
                state = "dead"
            elif component.name == "clickhouse":
                state = "running" if clickhouse_answers(component.address) else "unresponsive"
            else:
                host, _, port = component.address.rpartition(":")
                state = "running" if _tcp_answers(host, int(port)) else "unresponsive"
            report.append(ComponentStatus(component.name, component.address, component.pid, state))
        return report

    # -- starting ------------------------------------------------------------
    def up(self) -> dict[str, str]:
        """Start both components (if not running), create the topics and write `infra.env`."""
        running = {s.name for s in self.status() if s.state == "running"}
        if running == {"broker", "clickhouse"}:
            return self.env()
        if running:
            self.down()
        self.root.mkdir(parents=True, exist_ok=True)
        started: list[Component] = []
        try:
            started.append(self._start_broker())
            started.append(self._start_clickhouse())
        except BaseException:
            for component in started:
                _stop(component, self.root)
            raise
        self.state_path.write_text(json.dumps({"components": [asdict(c) for c in started]}, indent=2))
        env = self.env()
        self.settings.infra_env_file.parent.mkdir(parents=True, exist_ok=True)
        self.settings.infra_env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
        from veille.infra.topics import ensure_topics

        reach_broker = {"kafka_bootstrap_servers": env["VEILLE_KAFKA_BOOTSTRAP_SERVERS"]}
        ensure_topics(self.settings.model_copy(update=reach_broker))
        return env

    def _start_broker(self) -> Component:
        port = _port_or_free(self.settings.broker_port)
        address = f"127.0.0.1:{port}"
        binary = broker_binary.locate(self.settings.broker_binary)
        log = self.root / "logs" / "broker.log"
        process = _spawn(
            [
                *(str(binary), "broker", "--listener-url", f"tcp://{address}"),
                *("--advertised-listener-url", f"tcp://{address}", "--storage-engine", self.settings.broker_storage),
            ],
            log,
            env={**os.environ, **self.broker_env},
        )
        _wait_until(lambda: _tcp_answers("127.0.0.1", port), START_TIMEOUT_S, "the broker", process)
        return Component("broker", process.pid, address, str(log), marker=str(binary))

    def _start_clickhouse(self) -> Component:
        http_port = _port_or_free(self.settings.clickhouse_http_port)
        tcp_port = _port_or_free(self.settings.clickhouse_tcp_port)
        workdir = self.root / "clickhouse"
        workdir.mkdir(parents=True, exist_ok=True)
        log = self.root / "logs" / "clickhouse.log"
        url = f"http://127.0.0.1:{http_port}"
        command = [sys.executable, "-m", "veille.infra.clickhouse_server", "--workdir", str(workdir)]
        command += ["--http-port", str(http_port), "--tcp-port", str(tcp_port)]
        process = _spawn(command, log)
        _wait_until(lambda: clickhouse_answers(url), START_TIMEOUT_S, "ClickHouse", process)
        return Component("clickhouse", process.pid, url, str(log), marker="veille.infra.clickhouse_server")

    def env(self) -> dict[str, str]:
        """The `VEILLE_*` variables that point a service at the running components."""
        by_name = {c.name: c for c in self.components()}
        return {
            "VEILLE_KAFKA_BOOTSTRAP_SERVERS": by_name["broker"].address,
            "VEILLE_CLICKHOUSE_URL": by_name["clickhouse"].address,
        }

    # -- stopping ------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop every component; returns the names stopped. Leaves no process behind."""
        stopped = []
        for component in reversed(self.components()):
            _stop(component, self.root)
            stopped.append(component.name)
        self.state_path.unlink(missing_ok=True)
        self.settings.infra_env_file.unlink(missing_ok=True)
        return stopped

    def kill(self, name: str) -> None:
        """SIGKILL one component, as a crash would (tests, chaos)."""
        for component in self.components():
            if component.name == name and _alive(component.pid, component.marker):
                os.kill(component.pid, signal.SIGKILL)
                _wait_gone(component, STOP_TIMEOUT_S)

    def restart(self, name: str) -> Component:
        """Stop one component if it still runs and start it again on the same port and data."""
        components = self.components()
        old = next(c for c in components if c.name == name)
        _stop(old, self.root)
        if name == "broker":
            port = int(old.address.rpartition(":")[2])
            same_port = self.settings.model_copy(update={"broker_port": port})
            fresh = EmbeddedInfra(same_port, self.broker_env)._start_broker()
        else:
            http_port = int(old.address.rpartition(":")[2])
            ports = {"clickhouse_http_port": http_port, "clickhouse_tcp_port": free_port()}
            fresh = EmbeddedInfra(self.settings.model_copy(update=ports))._start_clickhouse()
        updated = [fresh if c.name == name else c for c in components]
        self.state_path.write_text(json.dumps({"components": [asdict(c) for c in updated]}, indent=2))
        return fresh


def _stop(component: Component, root: Path) -> None:
    if not _alive(component.pid, component.marker):
        return
    asked = component.name == "clickhouse" and _ask_clickhouse_to_stop(root / "clickhouse" / STOP_PIPE)
    if asked and _wait_gone(component, STOP_TIMEOUT_S):
        return
    for signum, grace in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
        try:
            os.killpg(component.pid, signum)
        except ProcessLookupError:
            return
        if _wait_gone(component, grace):
            return
    raise InfraError(f"{component.name} (pid {component.pid}) would not stop")


def _ask_clickhouse_to_stop(pipe: Path) -> bool:
    try:
        descriptor = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno in (errno.ENXIO, errno.ENOENT):
            return False  # nobody reads the pipe: the server is not serving
        raise
    try:
        os.write(descriptor, b"stop\n")
    finally:
        os.close(descriptor)
    return True


def _wait_gone(component: Component, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(component.pid, os.WNOHANG)  # reap it when it is our own child
        if not _alive(component.pid, component.marker):
            return True
        time.sleep(0.05)
    return False
