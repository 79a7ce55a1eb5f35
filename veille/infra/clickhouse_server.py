"""Run a real ClickHouse server from the chdb-core wheel, in this process, until told to stop.

chdb embeds ClickHouse; started with its listeners on, it serves HTTP and native
TCP like any server. The listeners live while one query blocks reading a named
pipe; a line written to that pipe ends the query and stops the server cleanly.
This relies on chdb's private `_chdb.query` entry point, so chdb-core is pinned
and a smoke test guards it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

STOP_PIPE = "stop.fifo"
CONFIG = "config.xml"


def write_config(workdir: Path, http_port: int, tcp_port: int, users_config: Path | None = None) -> None:
    users = f"<users_config>{users_config.resolve()}</users_config>" if users_config else ""
    (workdir / CONFIG).write_text(
        "<clickhouse>"
        "<listen_host>127.0.0.1</listen_host>"
        f"<http_port>{http_port}</http_port>"
        f"<tcp_port>{tcp_port}</tcp_port>"
        f"{users}"
        "</clickhouse>\n"
    )


def serve(workdir: Path, http_port: int, tcp_port: int, users_config: Path | None = None) -> None:
    """Serve until a line is written to `workdir/stop.fifo`; `users_config` replaces the built-in users."""
    import chdb._chdb as engine  # private entry point, pinned in pyproject

    workdir = workdir.resolve()
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    write_config(workdir, http_port, tcp_port, users_config)
    pipe = workdir / STOP_PIPE
    if pipe.exists():
        pipe.unlink()
    os.mkfifo(pipe)
    os.chdir(workdir)  # chdb reads config.xml from the working directory
    engine.query(  # type: ignore[attr-defined]
        f"SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; SELECT count() FROM file('{pipe}', 'LineAsString')",
        "TabSeparated",
        path=str(workdir / "data"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--tcp-port", type=int, required=True)
    parser.add_argument("--users-config", type=Path, help="users.xml (with users.d/ beside it), as in production")
    arguments = parser.parse_args()
    serve(arguments.workdir, arguments.http_port, arguments.tcp_port, arguments.users_config)


if __name__ == "__main__":
    main()
