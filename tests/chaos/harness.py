"""The chaos harness: the four services as processes on a durable broker and ClickHouse, a stream, faults along it.

The broker keeps its log in S3 (a local moto server), so it can be killed and
restarted like the rest. The stream goes through the ingest webhook as a real
sender would: a batch that is not accepted (service down, broker down) is sent
again until it is. Bad messages are written straight to the topics. Faults
strike when a share of the stream has been sent: SIGKILL of a service (restarted
at once, as a supervisor would), SIGKILL of ClickHouse or of the broker (each
restarted a few seconds later, while the stream goes on).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.conftest import Stack, embedded_stack
from tests.processes import free_port, service_env
from veille.story import CHURN_FR
from veille_contracts.codec import HEADER_ORIGIN_OFFSET, HEADER_ORIGIN_PARTITION, HEADER_ORIGIN_TOPIC, HEADER_SERVICE
from veille_contracts.models import SourceKind
from veille_contracts.settings import VeilleSettings
from veille_ingest.delivery import build_pipeline
from veille_ingest.pipeline import RawItem
from veille_ingest.synthetic import BRANDS, sentence

SERVICES = ("ingest", "sentiment", "escalation", "analytics")
SOURCE = "chaos"
TOKEN = "chaos-webhook-token"
DATABASE = "chaos"
BATCH = 20
DOWN_S = {"clickhouse": 4.0, "broker": 3.0}  # how long the stream goes on without them
# Bad messages written straight to a topic, and the services that must dead-letter each (one entry per service).
BAD_PAYLOADS = (b"{not json", b'{"mention_id": 42}', b"\xff\xfe\x00 invalid utf-8", b"[" * 100_000)
READERS = {"mentions-raw": ("sentiment",), "mentions-scored": ("escalation", "analytics"), "alerts": ("analytics",)}


LEAVING_EN = (
    "Done with Kestrel Mobile, I am porting my number to another carrier tomorrow.",
    "After six years with Kestrel I am cancelling my contract this week, enough is enough.",
    "Kestrel Mobile just lost a customer: I already signed with a competitor and I am leaving.",
    "Switching away from Kestrel Mobile on Monday, my new provider starts next week.",
)


@dataclass(frozen=True)
class Fault:
    at: float  # share of the stream sent when it strikes
    target: str  # a service, "clickhouse" or "broker"


@dataclass(frozen=True)
class Scale:
    mentions: int
    rate: float  # posts per second offered to the webhook
    faults: tuple[Fault, ...]
    bad_at: tuple[float, ...] = (0.3, 0.7)


BOUNDED = Scale(
    mentions=500,
    rate=50,
    faults=(
        Fault(0.2, "ingest"),
        Fault(0.35, "sentiment"),
        Fault(0.45, "clickhouse"),
        Fault(0.55, "escalation"),
        Fault(0.65, "analytics"),
        Fault(0.8, "broker"),
    ),
)
FULL = Scale(
    mentions=3_000,
    rate=60,
    faults=(
        *(Fault(at, service) for at in (0.2, 0.5, 0.8) for service in SERVICES),
        Fault(0.35, "clickhouse"),
        Fault(0.65, "broker"),
        Fault(0.9, "clickhouse"),
    ),
)


@dataclass
class Incident:
    """A customer who says twice, the same day, that they are leaving: exactly one churn alert expected."""

    author: str
    mention_ids: list[str] = field(default_factory=list)


@dataclass
class Stream:
    posts: list[dict[str, Any]]
    incidents: list[Incident]


@dataclass
class FaultRecord:
    target: str
    at: float
    killed_at_s: float
    recovered_s: float | None = None  # until the service answered /ready again, or the component was back


@dataclass
class DeadLetter:
    topic: str
    partition: int
    offset: int
    service: str


@dataclass
class Report:
    scale: str
    mentions: int
    faults: list[FaultRecord] = field(default_factory=list)
    webhook_retries: int = 0
    bad_messages: int = 0
    dead_letters_expected: int = 0
    dead_letters_found: int = 0
    dead_letters_redelivered: int = 0
    rows_before_merge: int = 0
    rows: int = 0
    unique_mentions: int = 0
    lost: int = 0
    incidents: int = 0
    incidents_with_one_alert: int = 0
    services_alive: bool = False
    seconds: float = 0.0

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


def stream(settings: VeilleSettings, count: int, seed: int = 11) -> Stream:
    """`count` posts about the watched brands, four churn incidents among them, newest last.

    Each post is run through the ingest pipeline in memory as it is drawn: one the
    pipeline would not emit (no brand recognised, taken for a copy) is drawn again,
    so that every post sent must reach ClickHouse.
    """
    rng = random.Random(seed)
    pipeline = build_pipeline(settings)
    now = datetime.now(UTC).replace(microsecond=0)
    incidents = [Incident(f"leaver-{k}") for k in range(4)]
    # each leaver says it in French, then again in English, in words of their own
    statements = list(zip((f"{start} {end}" for start, end in zip(*CHURN_FR, strict=True)), LEAVING_EN, strict=True))
    churn_slots = {round(count * at): k for k, ats in enumerate(((0.1, 0.5), (0.25, 0.6), (0.4, 0.75), (0.3, 0.9)))
                   for at in ats}  # fmt: skip
    posts: list[dict[str, Any]] = []
    for index in range(count):
        post_id, at = f"chaos-{seed}-{index}", now - timedelta(seconds=count - index)
        incident = incidents[churn_slots[index]] if index in churn_slots else None
        while True:
            if incident:
                author, followers = incident.author, 40
                text = statements[churn_slots[index]][len(incident.mention_ids)]
            else:
                author, followers = f"fan-{rng.randrange(count // 4 + 1)}", int(rng.paretovariate(1.5) * 30)
                text = sentence(rng, rng.choice(BRANDS))
            item = RawItem(SourceKind.WEBHOOK, SOURCE, post_id, text, at, author, followers=followers)
            outcome = pipeline.process(item)
            if outcome.status == "emitted" and outcome.mention:
                break
            assert not incident, f"the churn statement {text!r} would be {outcome.status}"
        pipeline.commit(outcome)
        if incident:
            incident.mention_ids.append(outcome.mention.mention_id)
        author_fields = {"id": author, "followers": followers}
        posts.append({"id": post_id, "text": text, "published_at": at.isoformat(), "author": author_fields})
    return Stream(posts, incidents)


@contextmanager
def object_store(workdir: Path) -> Iterator[dict[str, str]]:
    """A local S3 server (moto) with the broker's bucket; yields the environment tansu needs to use it."""
    port = free_port()
    log = workdir / "object-store.log"
    workdir.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)], stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.put(f"{url}/veille-broker", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(f"the object store did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield {
            "AWS_ENDPOINT": url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "veille-chaos",
            "AWS_SECRET_ACCESS_KEY": "veille-chaos",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextmanager
def durable_stack(root: Path) -> Iterator[Stack]:
    """The broker on S3 storage and a ClickHouse server of its own, in `root`."""
    with object_store(root / "s3") as s3_env, embedded_stack(root, DATABASE, "s3://veille-broker/", s3_env) as stack:
        yield stack


class Services:
    """The four services as `veille run` processes, each on its own HTTP port."""

    def __init__(self, stack: Stack, root: Path) -> None:
        self.ports = {service: free_port() for service in SERVICES}
        self.env = service_env(
            stack,
            root,
            clickhouse_database=DATABASE,
            webhook_token=TOKEN,
            **{f"{service}_http_port": str(port) for service, port in self.ports.items()},
        )
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, service: str) -> None:
        with (self.logs / f"{service}.log").open("ab") as log:
            command = [sys.executable, "-m", "veille.cli", "run", service]
            self.running[service] = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)

    def kill(self, service: str) -> None:
        process = self.running[service]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def ready(self, service: str) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.ports[service]}/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        waiting = set(SERVICES)
        while waiting:
            for service in sorted(waiting):
                if self.running[service].poll() is not None:
                    raise AssertionError(f"{service} exited: {self.log_tail(service)}")
                if self.ready(service):
                    waiting.discard(service)
            if waiting and time.monotonic() > deadline:
                raise AssertionError(f"not ready after {timeout_s:.0f} s: {sorted(waiting)}")
            time.sleep(0.3)

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.running.values()) and all(map(self.ready, SERVICES))

    def log_tail(self, service: str) -> str:
        return (self.logs / f"{service}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


class Chaos:
    """Sends the stream through the webhook and strikes the faults of `scale` along it."""

    def __init__(self, stack: Stack, services: Services, scale: Scale, report: Report) -> None:
        self.stack, self.services, self.scale, self.report = stack, services, scale, report
        self.started = time.monotonic()
        self.watchers: list[threading.Thread] = []  # recovery watchers and the timers that bring components back
        self.infra_lock = threading.Lock()
        self.bad: list[DeadLetter] = []

    def run(self, data: Stream) -> None:
        faults = sorted(self.scale.faults, key=lambda fault: fault.at)
        bad_at = sorted(self.scale.bad_at)
        url = f"http://127.0.0.1:{self.services.ports['ingest']}/webhook"
        count = len(data.posts)
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            for start in range(0, count, BATCH):
                batch_began = time.monotonic()
                while faults and start >= faults[0].at * count:
                    self._strike(faults.pop(0))
                while bad_at and start >= bad_at[0] * count:
                    bad_at.pop(0)
                    self._inject_bad_messages()
                self._deliver(client, url, {"source": SOURCE, "posts": data.posts[start : start + BATCH]})
                time.sleep(max(0.0, BATCH / self.scale.rate - (time.monotonic() - batch_began)))
        for watcher in self.watchers:
            watcher.join(timeout=180)

    def _deliver(self, client: httpx.Client, url: str, body: dict[str, Any]) -> None:
        """POST until the webhook takes the batch; anything but 202 or a passing outage is a failure."""
        deadline = time.monotonic() + 300
        while True:
            try:
                answer = client.post(url, json=body)
                if answer.status_code == 202:
                    return
                assert answer.status_code in (502, 503, 504), f"webhook refused: {answer.status_code} {answer.text}"
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"webhook unavailable for 300 s: {self.services.log_tail('ingest')}"
            self.report.webhook_retries += 1
            time.sleep(0.5)

    def _strike(self, fault: Fault) -> None:
        record = FaultRecord(fault.target, fault.at, round(time.monotonic() - self.started, 2))
        self.report.faults.append(record)
        if fault.target in SERVICES:
            self.services.kill(fault.target)
            self.services.start(fault.target)
            watcher = threading.Thread(target=self._watch_recovery, args=(record,), daemon=True)
            watcher.start()
            self.watchers.append(watcher)
        else:
            with self.infra_lock:
                self.stack.infra.kill(fault.target)
            comeback = threading.Timer(DOWN_S[fault.target], self._bring_back, args=(record,))
            comeback.start()
            self.watchers.append(comeback)

    def _watch_recovery(self, record: FaultRecord) -> None:
        began = time.monotonic()
        while time.monotonic() - began < 180:
            if self.services.ready(record.target):
                record.recovered_s = round(time.monotonic() - began, 2)
                return
            time.sleep(0.2)

    def _bring_back(self, record: FaultRecord) -> None:
        with self.infra_lock:
            self.stack.infra.restart(record.target)
        record.recovered_s = DOWN_S[record.target]

    def _inject_bad_messages(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.stack.settings.kafka_bootstrap_servers, acks="all", retries=20)
        try:
            for topic, readers in READERS.items():
                for payload in BAD_PAYLOADS:
                    sent = producer.send(topic, value=payload, key=b"chaos-bad").get(timeout=30)
                    self.report.bad_messages += 1
                    self.bad += [DeadLetter(topic, sent.partition, sent.offset, reader) for reader in readers]
        finally:
            producer.close()


def dead_letters(settings: VeilleSettings) -> list[DeadLetter]:
    """Every entry of every DLQ topic, by its origin."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False, consumer_timeout_ms=3000
    )
    try:
        partitions = [
            TopicPartition(f"{topic}-dlq", partition)
            for topic in READERS
            for partition in sorted(consumer.partitions_for_topic(f"{topic}-dlq") or ())
        ]
        consumer.assign(partitions)
        for partition in partitions:
            consumer.seek(partition, 0)
        found = []
        for record in consumer:
            headers = {name: value.decode() for name, value in record.headers}
            found.append(
                DeadLetter(
                    headers[HEADER_ORIGIN_TOPIC],
                    int(headers[HEADER_ORIGIN_PARTITION]),
                    int(headers[HEADER_ORIGIN_OFFSET]),
                    headers[HEADER_SERVICE],
                )
            )
        return found
    finally:
        consumer.close()


def wait_for(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s:.0f} s")
        time.sleep(1)
