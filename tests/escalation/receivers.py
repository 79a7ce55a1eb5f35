"""Real local receivers for the notifiers: an HTTP server and an SMTP server, each answering from a script."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.processes import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """Answers each POST with the next scripted status (then 200), 400 to bodies holding `refuse`; keeps them all."""

    statuses: list[int] = field(default_factory=list)
    refuse: bytes | None = None
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self, body: bytes) -> int:
        if self.refuse and self.refuse in body:
            return 400
        return self.statuses.pop(0) if self.statuses else 200


@contextmanager
def http_receiver(statuses: list[int] | None = None, refuse: bytes | None = None) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(list(statuses or []), refuse)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            status = receiver.answer(body)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"no")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpReceiver:
    """Answers each DATA with the next scripted reply (then 250 OK) and keeps the accepted messages."""

    replies: list[str] = field(default_factory=list)
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        reply = self.replies.pop(0) if self.replies else "250 OK"
        if reply.startswith("250"):
            message = message_from_bytes(envelope.content, _class=EmailMessage, policy=policy.default)
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return reply


@contextmanager
def smtp_receiver(replies: list[str] | None = None) -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver(list(replies or []))
    receiver.port = free_port()
    controller = Controller(receiver, hostname="127.0.0.1", port=receiver.port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
