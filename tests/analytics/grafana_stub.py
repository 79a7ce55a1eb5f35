"""A local HTTP server that answers the Grafana API endpoints provisioning uses, with Grafana's JSON shapes."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "glsa_test_token"


@dataclass
class GrafanaState:
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)


def _handler(state: GrafanaState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            loaded: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            return loaded

        def _route(self, method: str) -> None:
            state.requests.append((method, self.path))
            if self.path == "/api/health":
                return self._reply(200, {"database": "ok", "version": "12.2.0"})
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._reply(401, {"message": "Unauthorized"})
            body = self._body() if method in ("POST", "PUT") else {}
            if match := re.fullmatch(r"/api/datasources/uid/([\w-]+)", self.path):
                uid = match[1]
                if method == "GET":
                    found = state.datasources.get(uid)
                    return self._reply(200, found) if found else self._reply(404, {"message": "not found"})
                if uid not in state.datasources:
                    return self._reply(404, {"message": "Data source not found"})
                state.datasources[uid] = {**body, "id": state.datasources[uid]["id"]}
                return self._reply(200, {"message": "Datasource updated", "datasource": state.datasources[uid]})
            if self.path == "/api/datasources" and method == "POST":
                if body["uid"] in state.datasources:
                    return self._reply(409, {"message": "data source with the same uid already exists"})
                state.datasources[body["uid"]] = {**body, "id": len(state.datasources) + 1}
                return self._reply(200, {"message": "Datasource added", "datasource": state.datasources[body["uid"]]})
            if match := re.fullmatch(r"/api/folders/([\w-]+)", self.path):
                uid = match[1]
                if method == "GET":
                    found = state.folders.get(uid)
                    return self._reply(200, found) if found else self._reply(404, {"message": "folder not found"})
                state.folders[uid]["title"] = body.get("title", state.folders[uid]["title"])
                return self._reply(200, state.folders[uid])
            if self.path == "/api/folders" and method == "POST":
                if body["uid"] in state.folders:
                    return self._reply(409, {"message": "a folder with the same uid already exists"})
                state.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "id": len(state.folders) + 1}
                return self._reply(200, state.folders[body["uid"]])
            if match := re.fullmatch(r"/api/dashboards/uid/([\w-]+)", self.path):
                found = state.dashboards.get(match[1])
                return self._reply(200, found) if found else self._reply(404, {"message": "Dashboard not found"})
            if self.path == "/api/dashboards/db" and method == "POST":
                dashboard, folder = body["dashboard"], body.get("folderUid")
                if folder not in state.folders:
                    return self._reply(400, {"message": "folder not found"})
                previous = state.dashboards.get(dashboard["uid"])
                if previous and not body.get("overwrite"):
                    return self._reply(412, {"status": "version-mismatch"})
                version = (previous["dashboard"]["version"] + 1) if previous else 1
                state.dashboards[dashboard["uid"]] = {
                    "dashboard": {**dashboard, "version": version},
                    "meta": {"folderUid": folder},
                }
                return self._reply(
                    200,
                    {"status": "success", "uid": dashboard["uid"], "version": version, "url": f"/d/{dashboard['uid']}"},
                )
            return self._reply(404, {"message": "Not found"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:
            self._route("PUT")

    return Handler


@contextmanager
def grafana_stub() -> Iterator[tuple[str, GrafanaState]]:
    """A running stub on a free loopback port; yields its URL and its state."""
    state = GrafanaState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
