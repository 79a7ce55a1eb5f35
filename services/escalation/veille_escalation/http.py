"""The escalation service's HTTP side: feedback from people, health, readiness and figures.

`POST /feedback` takes an `alert-feedback` payload with a bearer token, checks
it against the incident book (404 unknown alert, 409 forbidden change) and
publishes it to the `alert-feedback` topic, answering 202 once the broker has
it; the topic's consumer applies it, so feedback has one path whatever its
door.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Any

from faststream.asgi import AsgiResponse, Request, get, make_ping_asgi, post
from faststream.asgi.types import ASGIApp
from faststream.kafka import KafkaBroker

from veille_contracts.codec import DecodeError, decode, encode
from veille_contracts.models import AlertFeedback
from veille_contracts.settings import VeilleSettings
from veille_escalation.engine import Escalation
from veille_escalation.incidents import FeedbackError, UnknownAlertError

MAX_FEEDBACK_BYTES = 64 * 1024


def _json(status: int, payload: dict[str, Any]) -> AsgiResponse:
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return AsgiResponse(body, status, headers={"content-type": "application/json"})


def _refusal(status: int, error: str) -> AsgiResponse:
    return _json(status, {"error": error})


async def _bounded_body(request: Any, limit: int) -> bytes | None:
    """The request body, or None as soon as it grows past `limit` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _gate(settings: VeilleSettings, authorization: str | None, rebuilt: bool) -> AsgiResponse | None:
    """The refusal owed before the body is read, if any: endpoint off, wrong token, state not rebuilt yet."""
    if settings.feedback_token is None or not settings.feedback_token.get_secret_value():
        return _refusal(503, "feedback over HTTP is off: set VEILLE_FEEDBACK_TOKEN")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), settings.feedback_token.get_secret_value().encode()):
        return _refusal(401, "missing or wrong bearer token")
    if not rebuilt:
        return _refusal(503, "the service is still rebuilding its state; try again shortly")
    return None


def http_routes(
    settings: VeilleSettings, broker: KafkaBroker, engine: Escalation, ready: dict[str, bool]
) -> Sequence[tuple[str, ASGIApp]]:
    """The routes served next to the consumers."""

    @post
    async def feedback(request: Request) -> AsgiResponse:
        refused = _gate(settings, request.headers.get("authorization"), ready["rebuilt"])
        if refused is not None:
            return refused
        body = await _bounded_body(request, MAX_FEEDBACK_BYTES)
        if body is None:
            return _refusal(413, f"body larger than {MAX_FEEDBACK_BYTES} bytes")
        try:
            verdict: AlertFeedback = decode("alert-feedback", body)
            alert = engine.book.check(verdict)
        except DecodeError as error:
            return _refusal(422, str(error))
        except FeedbackError as error:
            return _refusal(404 if isinstance(error, UnknownAlertError) else 409, str(error))
        await broker.publish(encode(verdict), topic="alert-feedback", key=verdict.alert_id.encode())
        return _json(202, {"alert_id": alert.alert_id, "status": verdict.status.value, "accepted": True})

    @get
    async def readiness(request: Request) -> AsgiResponse:
        return _json(200 if ready["rebuilt"] else 503, {"ready": ready["rebuilt"]})

    @get
    async def stats(request: Request) -> AsgiResponse:
        return _json(200, engine.book.stats())

    return [
        ("/health", make_ping_asgi(broker, timeout=5.0)),
        ("/ready", readiness),
        ("/stats", stats),
        ("/feedback", feedback),
    ]
