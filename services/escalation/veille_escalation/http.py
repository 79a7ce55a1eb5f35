"""The escalation service's HTTP side: feedback from people, health, readiness and figures.

`POST /feedback` takes an `alert-feedback` payload with a bearer token, checks
it against the incident book (404 unknown alert, 409 forbidden change) and
publishes it to the `alert-feedback` topic, answering 202 once the broker has
it; the topic's consumer applies it, so feedback has one path whatever its
door.
"""

from __future__ import annotations

from collections.abc import Sequence

from faststream.asgi import AsgiResponse, Request, get, post
from faststream.asgi.types import ASGIApp
from faststream.kafka import KafkaBroker

from veille_contracts.codec import DecodeError, decode, encode
from veille_contracts.models import AlertFeedback
from veille_contracts.settings import VeilleSettings
from veille_contracts.web import RateLimit, bearer_matches, bounded_body, json_response, refusal
from veille_escalation.engine import Escalation
from veille_escalation.incidents import FeedbackError, UnknownAlertError

MAX_FEEDBACK_BYTES = 64 * 1024


def _gate(settings: VeilleSettings, authorization: str | None, rebuilt: bool) -> AsgiResponse | None:
    """The refusal owed before the body is read, if any: endpoint off, wrong token, state not rebuilt yet."""
    if settings.feedback_token is None or not settings.feedback_token.get_secret_value():
        return refusal(503, "feedback over HTTP is off: set VEILLE_FEEDBACK_TOKEN")
    if not bearer_matches(settings.feedback_token, authorization):
        return refusal(401, "missing or wrong bearer token")
    if not rebuilt:
        return refusal(503, "the service is still rebuilding its state; try again shortly")
    return None


def http_routes(
    settings: VeilleSettings, broker: KafkaBroker, engine: Escalation, ready: dict[str, bool]
) -> Sequence[tuple[str, ASGIApp]]:
    """The routes served next to the consumers."""
    rate_limit = RateLimit(settings.feedback_rate_limit)

    @post
    async def feedback(request: Request) -> AsgiResponse:
        refused = rate_limit.refusal(request) or _gate(settings, request.headers.get("authorization"), ready["ready"])
        if refused is not None:
            return refused
        body = await bounded_body(request, MAX_FEEDBACK_BYTES)
        if body is None:
            return refusal(413, f"body larger than {MAX_FEEDBACK_BYTES} bytes")
        try:
            verdict: AlertFeedback = decode("alert-feedback", body)
            alert = engine.book.check(verdict)
        except DecodeError as error:
            return refusal(422, str(error))
        except FeedbackError as error:
            return refusal(404 if isinstance(error, UnknownAlertError) else 409, str(error))
        await broker.publish(encode(verdict), topic="alert-feedback", key=verdict.alert_id.encode())
        return json_response(202, {"alert_id": alert.alert_id, "status": verdict.status.value, "accepted": True})

    @get
    async def stats(request: Request) -> AsgiResponse:
        return json_response(200, engine.book.stats())

    return [
        ("/stats", stats),
        ("/feedback", feedback),
    ]
