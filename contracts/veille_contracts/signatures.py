"""Signed HTTP bodies: HMAC-SHA256 over a timestamp and the body, with a replay window.

veille signs the webhooks it sends (alert notifiers) and checks the ones it
receives (the ingest webhook) the same way. The header reads
`t=<unix seconds>,v1=<hex digest>`, the digest covering `"<t>." + body`, so a
captured request cannot be replayed once the window has passed, nor its body
changed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Veille-Signature"
REPLAY_WINDOW_S = 300


class SignatureError(ValueError):
    """A signature that is missing, malformed, stale or wrong; the message says which."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for this body."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={_digest(secret, stamp, body)}"


def verify(
    secret: str, body: bytes, header: str | None, now: float | None = None, window_s: int = REPLAY_WINDOW_S
) -> None:
    """Raise `SignatureError` unless `header` signs `body` with `secret` within the replay window."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    stamp, given = fields.get("t", ""), fields.get("v1", "")
    if not stamp.isdigit() or not given:
        raise SignatureError(f"{SIGNATURE_HEADER} must read t=<unix seconds>,v1=<hex digest>")
    age = (time.time() if now is None else now) - int(stamp)
    if abs(age) > window_s:
        raise SignatureError(f"signature timestamp is {age:+.0f} s away from now; the window is ±{window_s} s")
    if not hmac.compare_digest(_digest(secret, int(stamp), body), given):
        raise SignatureError("signature does not match the body")
