"""The sentiment tests share the session's scorer (tests/scorer.py)."""

from tests.scorer import model_settings, scorer

__all__ = ["model_settings", "scorer"]
