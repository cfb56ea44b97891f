"""Real HTTP servers on 127.0.0.1 for the alert channels: a webhook receiver and a fake of
Telegram's Bot API `sendMessage` (its paths, JSON shapes and errors).

Each runs http.server in a thread and records what it received; a test stops it (the
fixtures in conftest.py do).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.waiting import wait_for

TELEGRAM_MAX_CHARS = 4096


@dataclass(frozen=True)
class Received:
    """One request the server took."""

    path: str
    body: Any
    """The decoded JSON body (None if it was not JSON)."""
    content_type: str


Answer = tuple[int, Any]
"""(HTTP status, JSON body or str)."""


class Server:
    """A recording HTTP server; `answer(path, body)` decides each reply."""

    def __init__(self, answer: Callable[[str, Any], Answer], port: int = 0) -> None:
        self.answer = answer
        self.received: list[Received] = []
        self.hold = threading.Event()
        """While set, requests are read and recorded but not answered (until released)."""
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.received]

    def wait_for(self, pred: Callable[[list[Received]], Any], what: str,
                 timeout_secs: float = 15) -> Any:
        """Poll until pred(received so far) is truthy and return what it gave;
        AssertionError naming `what` and what was received."""
        got = wait_for(pred, timeout_secs, what, sample=self._received_so_far)
        return pred(got)  # pred is a pure function of the list: the same truthy answer

    def _received_so_far(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with server._lock:
                    server.received.append(Received(self.path, body,
                                                    self.headers.get("Content-Type", "")))
                if server.hold.is_set():
                    server.released.wait(30)
                status, reply = server.answer(self.path, body)
                data = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain" if isinstance(reply, str)
                                     else "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test, a killed sender)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def webhook(status: int = 200, reply: Any = "ok", port: int = 0) -> Server:
    """A webhook receiver answering every POST with `status` / `reply`."""
    return Server(lambda path, body: (status, reply), port)


def telegram(token: str, chat_id: str) -> Server:
    """A fake of the Bot API: POST /bot<token>/sendMessage with {chat_id, text}."""
    sent = [0]

    def answer(path: str, body: Any) -> Answer:
        match = re.fullmatch(r"/bot([^/]+)/sendMessage", path)
        if match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if match.group(1) != token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if not isinstance(body, dict) or str(body.get("chat_id")) != chat_id:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: chat not found"}
        text = body.get("text") or ""
        if not text:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: message text is empty"}
        if len(text) > TELEGRAM_MAX_CHARS:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: message is too long"}
        sent[0] += 1
        return 200, {"ok": True, "result": {"message_id": sent[0], "date": int(time.time()),
                                            "chat": {"id": int(chat_id), "type": "private"},
                                            "text": text}}

    return Server(answer)


def unused_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
