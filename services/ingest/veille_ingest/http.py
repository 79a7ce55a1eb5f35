"""`POST /webhook` for tools that push posts, with health, readiness and figures.

The body is one post or `{"source": "...", "posts": [...]}`, at most
`VEILLE_WEBHOOK_MAX_BYTES`, within `VEILLE_WEBHOOK_RATE_LIMIT` per client
address, signed (`X-Veille-Signature`, HMAC-SHA256 of a timestamp and the
body with `VEILLE_WEBHOOK_SECRET`, five-minute window) or
carrying `Authorization: Bearer $VEILLE_WEBHOOK_TOKEN`. Each post is checked
on its own: the valid ones are ingested, the others listed with their index
and error. 202 means every accepted post is acknowledged by the broker.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from faststream.asgi import AsgiResponse, Request, get, post
from faststream.asgi.types import ASGIApp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from veille_contracts.models import SourceKind
from veille_contracts.settings import VeilleSettings
from veille_contracts.signatures import SIGNATURE_HEADER, SignatureError, verify
from veille_contracts.web import RateLimit, bearer_matches, bounded_body, json_response, refusal
from veille_ingest.delivery import Ingestor, PublishError
from veille_ingest.pipeline import RawItem
from veille_ingest.sources import Rejected

MAX_POSTS = 1_000


class WebhookAuthor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=500)
    followers: int | None = Field(default=None, ge=0)
    engagement: float | None = Field(default=None, ge=0)


class WebhookPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=2000, description="The post's id or URL at its origin.")
    text: str = Field(min_length=1, max_length=400_000, description="Plain text or HTML.")
    published_at: datetime
    author: WebhookAuthor
    url: str | None = Field(default=None, max_length=4000)
    title: str | None = Field(default=None, max_length=2000)
    lang: str | None = Field(default=None, max_length=10)
    rating: float | None = Field(default=None, ge=0, le=5, description="A review's star rating, out of 5.")


def _posts(document: Any) -> tuple[str, list[Any]]:
    if isinstance(document, dict) and "posts" in document:
        source = document.get("source") or "webhook"
        posts = document["posts"]
        if not isinstance(source, str) or not isinstance(posts, list):
            raise ValueError('"source" must be a string and "posts" a list')
        return source[:300], posts
    return "webhook", [document]


def _authenticate(settings: VeilleSettings, body: bytes, headers: dict[str, str]) -> AsgiResponse | None:
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if secret:
        try:
            verify(secret, body, headers.get(SIGNATURE_HEADER.lower()))
        except SignatureError as error:
            return refusal(401, str(error))
        return None
    if settings.webhook_token and settings.webhook_token.get_secret_value():
        return (
            None
            if bearer_matches(settings.webhook_token, headers.get("authorization"))
            else refusal(401, "missing or wrong bearer token")
        )
    return refusal(503, "the webhook is off: set VEILLE_WEBHOOK_SECRET or VEILLE_WEBHOOK_TOKEN")


async def _admitted(request: Request, settings: VeilleSettings, rate_limit: RateLimit) -> bytes | AsgiResponse:
    """The body of a request within the rate and size limits that proves who sent it, or the refusal."""
    limited = rate_limit.refusal(request)
    if limited is not None:
        return limited
    body = await bounded_body(request, settings.webhook_max_bytes)
    if body is None:
        return refusal(413, f"body larger than {settings.webhook_max_bytes:,} bytes")
    return _authenticate(settings, body, request.headers) or body


def _parse(body: bytes) -> tuple[str, list[Any]] | AsgiResponse:
    """The source name and the raw posts of a body, or the refusal that says what is wrong with it."""
    try:
        source, raw_posts = _posts(json.loads(body.decode("utf-8")))
    except UnicodeDecodeError as error:
        return refusal(400, f"the body is not UTF-8 (byte {error.start})")
    except (json.JSONDecodeError, RecursionError) as error:
        return refusal(400, f"the body is not JSON: {error}")
    except ValueError as error:
        return refusal(422, str(error))
    if len(raw_posts) > MAX_POSTS:
        return refusal(413, f"{len(raw_posts)} posts; at most {MAX_POSTS} per request")
    return source, raw_posts


def _items(source: str, raw_posts: list[Any]) -> list[RawItem | Rejected]:
    items: list[RawItem | Rejected] = []
    for index, raw in enumerate(raw_posts):
        try:
            checked = WebhookPost.model_validate(raw)
        except ValidationError as error:
            items.append(Rejected(f"post {index}", _problems(error)))
            continue
        items.append(
            RawItem(
                source_kind=SourceKind.WEBHOOK,
                source=source,
                item_id=checked.id,
                text=checked.text,
                published_at=checked.published_at,
                author_id=checked.author.id,
                title=checked.title,
                url=checked.url,
                followers=checked.author.followers,
                engagement=checked.author.engagement,
                lang=checked.lang,
                rating=checked.rating,
            )
        )
    return items


def _problems(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'post'}: {e['msg']}" for e in error.errors()[:3])


def http_routes(settings: VeilleSettings, ingestor: Ingestor) -> Sequence[tuple[str, ASGIApp]]:
    rate_limit = RateLimit(settings.webhook_rate_limit)

    @post
    async def webhook(request: Request) -> AsgiResponse:
        body = await _admitted(request, settings, rate_limit)
        if isinstance(body, AsgiResponse):
            return body
        parsed = _parse(body)
        if isinstance(parsed, AsgiResponse):
            return parsed
        items = _items(*parsed)
        if not any(isinstance(i, RawItem) for i in items):
            return json_response(422, {"error": "no valid post", "rejected": _rejected(items)})
        try:
            tally = await ingestor.ingest(items)
        except PublishError as error:
            return refusal(503, f"{error}; send the request again")
        return json_response(202, tally.as_dict())

    @get
    async def stats(request: Request) -> AsgiResponse:
        return json_response(200, ingestor.stats())

    return [
        ("/stats", stats),
        ("/webhook", webhook),
    ]


def _rejected(items: list[RawItem | Rejected]) -> list[dict[str, str]]:
    return [{"where": i.where, "error": i.error} for i in items if isinstance(i, Rejected)]
