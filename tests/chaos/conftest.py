"""`--chaos-scale full` runs the long chaos stream of `make chaos`; the suite's default is the bounded one."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--chaos-scale", choices=("bounded", "full"), default="bounded", help="length of the chaos run")


@pytest.fixture
def chaos_scale(request: pytest.FixtureRequest) -> str:
    scale: str = request.config.getoption("--chaos-scale")
    return scale
