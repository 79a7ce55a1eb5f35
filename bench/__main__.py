"""Run every benchmark (`make bench`), or the ones named: `python -m bench broker`."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "broker",
    "ingest",
    "webhook",
    "analytics",
    "sentiment",
    "escalation",
    "alert_quality",
    "pipeline",
    "soak",
)


def main() -> None:
    for name in sys.argv[1:] or BENCHMARKS:
        importlib.import_module(f"bench.bench_{name}").main()


if __name__ == "__main__":
    main()
