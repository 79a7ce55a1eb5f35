"""What every service's HTTP side shares: JSON answers, refusals that say why, bounded bodies, bearer tokens."""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Any

from faststream.asgi import AsgiFastStream, AsgiResponse, Request, get, make_ping_asgi
from faststream.asgi.types import ASGIApp
from faststream.kafka import KafkaBroker
from pydantic import SecretStr

from veille_contracts.settings import VeilleSettings
from veille_contracts.streams import start_unread_partitions_at_the_beginning
from veille_contracts.telemetry import flush_telemetry


def json_response(status: int, payload: dict[str, Any]) -> AsgiResponse:
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return AsgiResponse(body, status, headers={"content-type": "application/json"})


def refusal(status: int, error: str) -> AsgiResponse:
    return json_response(status, {"error": error})


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


def service_app(
    broker: KafkaBroker,
    settings: VeilleSettings,
    routes: Sequence[tuple[str, ASGIApp]] = (),
    on_startup: Sequence[Any] = (),
    ready: dict[str, bool] | None = None,
) -> tuple[AsgiFastStream, dict[str, bool]]:
    """A service as a faststream ASGI app: its routes plus health and readiness, ready once its consumers run.

    Before anything else on start, its consumer groups begin partitions they never read at offset 0 (see
    `start_unread_partitions_at_the_beginning`); then the service's own `on_startup` hooks run. `ready` is the
    flag the service's own routes read, if they need to know.
    """
    ready = {"ready": False} if ready is None else ready
    ready["ready"] = False

    async def start_unread_at_the_beginning() -> None:
        await start_unread_partitions_at_the_beginning(broker, settings)

    app = AsgiFastStream(
        broker,
        asgi_routes=[*health_routes(broker, ready), *routes],
        on_startup=[start_unread_at_the_beginning, *on_startup],
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
