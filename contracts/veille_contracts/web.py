"""What every service's HTTP side shares: JSON answers, refusals that say why, bounded bodies, bearer tokens."""

from __future__ import annotations

import hmac
import json
from typing import Any

from faststream.asgi import AsgiResponse
from pydantic import SecretStr


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
