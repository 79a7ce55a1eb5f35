"""veille's shared kernel: the topic catalog, payload models, codec and settings.

Every service depends on this package and on nothing else of veille's.
"""

from veille_contracts import ids
from veille_contracts.codec import DecodeError, decode, encode, validate
from veille_contracts.models import (
    Alert,
    AlertFeedback,
    Mention,
    ScoredMention,
)

__all__ = [
    "Alert",
    "AlertFeedback",
    "DecodeError",
    "Mention",
    "ScoredMention",
    "decode",
    "encode",
    "ids",
    "validate",
]
