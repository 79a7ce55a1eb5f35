"""Deterministic identities: the same post or incident always gets the same id."""

from __future__ import annotations

import hashlib
from datetime import datetime

_SEPARATOR = "\x1f"


def _digest(*parts: str) -> str:
    return hashlib.sha256(_SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:32]


def mention_id(source: str, source_item_id: str) -> str:
    """Id of a mention: hash of the source name and the source's own id or URL."""
    return _digest("mention", source, source_item_id)


def alert_id(brand: str, kind: str, window_start: datetime, scope: str = "") -> str:
    """Id of an incident: brand, kind, the start of its window and an optional scope (author, aspect)."""
    return _digest("alert", brand, kind, window_start.isoformat(), scope)
