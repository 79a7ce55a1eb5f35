"""What every service's HTTP side shares: JSON answers, refusals that say why, bounded bodies, bearer tokens,
rate limits."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka.errors import KafkaError
from faststream.asgi import AsgiFastStream, AsgiResponse, Request, get, make_ping_asgi
from faststream.asgi.types import ASGIApp
from faststream.kafka import KafkaBroker
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import SecretStr

from veille_contracts.settings import VeilleSettings
from veille_contracts.streams import start_unread_partitions_at_the_beginning
from veille_contracts.telemetry import flush_telemetry

LOGGER = logging.getLogger(__name__)
# What a service waits out on start rather than exit for: the broker or a server it needs is not there yet.
OUTAGES: tuple[type[BaseException], ...] = (KafkaError, OSError, TimeoutError)


def json_response(status: int, payload: dict[str, Any]) -> AsgiResponse:
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return AsgiResponse(body, status, headers={"content-type": "application/json"})


def refusal(status: int, error: str) -> AsgiResponse:
    return json_response(status, {"error": error})


class RateLimit:
    """At most so many requests per client address in a moving window ("3000/minute", `limits`' notation)."""

    def __init__(self, rule: str) -> None:
        self.rule = parse(rule)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def refusal(self, request: Any) -> AsgiResponse | None:
        """None while the client is within its allowance, else a 429 that says when to come back."""
        # faststream's request keeps the ASGI scope, and with it the client's address, to itself
        client = (getattr(request, "_scope", {}).get("client") or ("unknown",))[0]
        if self.limiter.hit(self.rule, client):
            return None
        reset = self.limiter.get_window_stats(self.rule, client).reset_time
        wait_s = max(1, math.ceil(reset - time.time()))
        body = json.dumps({"error": f"more than {self.rule} from {client}; retry in {wait_s} s"}).encode()
        return AsgiResponse(body, 429, headers={"content-type": "application/json", "retry-after": str(wait_s)})


async def bounded_body(request: Any, limit: int) -> bytes | None:
    """The request body, or None as soon as it grows past `limit` bytes (the rest is not read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def bearer_matches(token: SecretStr | None, authorization: str | None) -> bool:
    """Whether `Authorization: Bearer …` carries the token; an unset or empty token matches nothing."""
    expected = token.get_secret_value() if token else ""
    given = (authorization or "").removeprefix("Bearer ").strip()
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def health_routes(broker: KafkaBroker, ready: dict[str, bool]) -> list[tuple[str, ASGIApp]]:
    """`GET /health` (204 while the broker answers) and `GET /ready` (200 once `ready["ready"]` is set)."""

    @get
    async def readiness(request: Request) -> AsgiResponse:
        return json_response(200 if ready["ready"] else 503, {"ready": ready["ready"]})

    return [("/health", make_ping_asgi(broker, timeout=5.0)), ("/ready", readiness)]


def _patiently(
    hook: Callable[[], Awaitable[None]], outages: tuple[type[BaseException], ...]
) -> Callable[[], Awaitable[None]]:
    """`hook`, tried again with a growing pause (up to 15 s) for as long as it fails with one of `outages`."""

    async def run() -> None:
        pause = 0.5
        while True:
            try:
                return await hook()
            except outages as error:
                LOGGER.warning("starting: %s failed (%s); next try in %.1f s", hook.__name__, error, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 15.0)

    run.__name__ = hook.__name__
    return run


def service_app(
    broker: KafkaBroker,
    settings: VeilleSettings,
    routes: Sequence[tuple[str, ASGIApp]] = (),
    on_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    ready: dict[str, bool] | None = None,
    *,
    transient: tuple[type[BaseException], ...] = (),
) -> tuple[AsgiFastStream, dict[str, bool]]:
    """A service as a faststream ASGI app: its routes plus health and readiness, ready once its consumers run.

    Before anything else on start, its consumer groups begin partitions they never read at offset 0 (see
    `start_unread_partitions_at_the_beginning`); then the service's own `on_startup` hooks run, then the
    broker's producer connects. A hook that
    fails for want of the broker (or of what `transient` names) is tried again until it passes, so a service
    started during an outage waits for it instead of exiting. `ready` is the flag the service's own routes
    read, if they need to know.
    """
    ready = {"ready": False} if ready is None else ready
    ready["ready"] = False

    async def start_unread_at_the_beginning() -> None:
        await start_unread_partitions_at_the_beginning(broker, settings)

    async def connect_to_the_broker() -> None:
        await broker.connect()  # faststream's own start reuses this connection, so it cannot fail on a lost broker

    outages = (*OUTAGES, *transient)
    hooks = (start_unread_at_the_beginning, *on_startup, connect_to_the_broker)
    app = AsgiFastStream(
        broker,
        asgi_routes=[*health_routes(broker, ready), *routes],
        on_startup=[_patiently(hook, outages) for hook in hooks],
    )

    @app.after_startup
    async def mark_ready() -> None:
        ready["ready"] = True

    @app.after_shutdown
    async def flush() -> None:
        flush_telemetry()

    return app, ready


async def serve(app: AsgiFastStream, settings: VeilleSettings, port: int) -> None:
    """Run a service and its HTTP endpoints until SIGTERM or Ctrl-C (uvicorn stops the broker gracefully)."""
    await app.run(run_extra_options={"host": settings.http_host, "port": str(port)})
