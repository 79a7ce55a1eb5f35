"""One scorer per test session: the served model (built by `make setup`) and its heads; import its fixtures."""

from __future__ import annotations

import pytest

from veille_contracts.settings import VeilleSettings
from veille_sentiment.encoder import load_encoder
from veille_sentiment.heads import load_heads
from veille_sentiment.scoring import Scorer


@pytest.fixture(scope="session")
def model_settings() -> VeilleSettings:
    return VeilleSettings(model="")


@pytest.fixture(scope="session")
def scorer(model_settings: VeilleSettings) -> Scorer:
    return Scorer(load_encoder(model_settings), load_heads())
