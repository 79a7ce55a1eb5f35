"""Signed bodies: what is accepted and, with the reason, what is refused."""

from __future__ import annotations

import pytest

from veille_contracts.signatures import SignatureError, sign, verify

SECRET = "shared-secret"
BODY = b'{"text": "Service client injoignable depuis trois jours"}'
NOW = 1_790_000_000


def test_a_fresh_signature_of_the_same_body_is_accepted() -> None:
    verify(SECRET, BODY, sign(SECRET, BODY, NOW), now=NOW + 30)


@pytest.mark.parametrize(
    ("header", "body", "now", "reason"),
    [
        (None, BODY, NOW, "missing"),
        ("sha256=abc", BODY, NOW, "must read"),
        (sign(SECRET, BODY, NOW), BODY + b" ", NOW, "does not match"),
        (sign("other", BODY, NOW), BODY, NOW, "does not match"),
        (sign(SECRET, BODY, NOW), BODY, NOW + 301, "window"),
        (sign(SECRET, BODY, NOW + 400), BODY, NOW, "window"),
    ],
    ids=["missing", "malformed", "body-changed", "wrong-secret", "replayed-late", "from-the-future"],
)
def test_a_bad_signature_is_refused_with_its_reason(header: str | None, body: bytes, now: int, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(SECRET, body, header, now=now)
