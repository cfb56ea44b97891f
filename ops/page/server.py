"""The page's HTTP server: standard library only, 127.0.0.1 only, GET and HEAD only.

Routes: `/` (the page), `/api/status`, `/api/journal?symbol=SYM&limit=N`,
`/api/history?symbol=SYM`. Any other method is 405 (nothing here changes anything: commands
stay in the CLI). Bad input is 400 with the reason as JSON, an unknown symbol 404, a store
that cannot be read 503; a bug in a handler is logged and answered 500 without a traceback.
Requests whose Host is not this loopback address are refused (403), so a web page in the
operator's browser cannot read the status through a DNS name pointed at 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from ops.page.static import content_security_policy, page_html

log = logging.getLogger("posguard.ops.page")

HOST = "127.0.0.1"
SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,30}$")
DEFAULT_JOURNAL_ROWS = 50
MAX_JOURNAL_ROWS = 500
ALLOWED = "GET, HEAD"


class HttpError(Exception):
    """An answer other than 200: the status code and a reason for a person."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class PageApp(Protocol):
    """What the server asks of the service (each raises HttpError for a non-200)."""

    def status(self) -> dict[str, Any]: ...

    def journal(self, symbol: str, limit: int) -> dict[str, Any]: ...

    def history(self, symbol: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: status, content type, body."""

    status: HTTPStatus
    content_type: str
    body: bytes


def route(app: PageApp, target: str) -> Reply:
    """The answer to GET `target` (path and query)."""
    url = urlsplit(target)
    try:
        if url.path == "/":
            _params(url.query, {})
            return Reply(HTTPStatus.OK, "text/html; charset=utf-8", page_html())
        if url.path == "/favicon.ico":  # asked for by every browser: nothing, not a 404
            return Reply(HTTPStatus.NO_CONTENT, "image/x-icon", b"")
        if url.path == "/api/status":
            _params(url.query, {})
            return _json(HTTPStatus.OK, app.status())
        if url.path == "/api/journal":
            q = _params(url.query, {"symbol": True, "limit": False})
            return _json(HTTPStatus.OK, app.journal(_symbol(q), _limit(q)))
        if url.path == "/api/history":
            q = _params(url.query, {"symbol": True})
            return _json(HTTPStatus.OK, app.history(_symbol(q)))
        raise HttpError(HTTPStatus.NOT_FOUND, f"no such page: {url.path[:100]!r}")
    except HttpError as e:
        return _json(e.status, {"error": e.reason})


def _json(status: HTTPStatus, payload: dict[str, Any]) -> Reply:
    return Reply(status, "application/json", json.dumps(payload, default=str).encode())


def _params(query: str, allowed: dict[str, bool]) -> dict[str, str]:
    """The query's parameters: each at most once, only those `allowed` (name -> required)."""
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query),
                          max_num_fields=10)
    except ValueError as e:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"malformed query string: {e}") from None
    unknown = sorted(set(parsed) - set(allowed))
    if unknown:
        names = ", ".join(repr(n[:40]) for n in unknown)
        expected = ", ".join(allowed) or "none"
        raise HttpError(HTTPStatus.BAD_REQUEST,
                        f"unknown parameter {names} (expected: {expected})")
    for name, values in parsed.items():
        if len(values) > 1:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"parameter {name!r} given more than once")
    for name, required in allowed.items():
        if required and name not in parsed:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"parameter {name!r} is required")
    return {name: values[0] for name, values in parsed.items()}


def _symbol(q: dict[str, str]) -> str:
    text = q["symbol"].strip().upper()
    if not SYMBOL_RE.match(text):
        raise HttpError(HTTPStatus.BAD_REQUEST, f"symbol {q['symbol'][:40]!r} is not a symbol "
                        "(2-30 letters and digits, e.g. BTCUSDT)")
    return text


def _limit(q: dict[str, str]) -> int:
    text = q.get("limit")
    if text is None:
        return DEFAULT_JOURNAL_ROWS
    if not text.isdigit() or not 1 <= int(text) <= MAX_JOURNAL_ROWS:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"limit {text[:40]!r} must be a whole number "
                        f"from 1 to {MAX_JOURNAL_ROWS}")
    return int(text)


class _Handler(BaseHTTPRequestHandler):
    """GET and HEAD through route(); every other method 405."""

    server: _Server
    server_version = "posguard-status-page"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        """Answer a GET."""
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        """Answer a HEAD: the GET's headers, no body."""
        self._answer(head=True)

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD>; every method but GET and HEAD lands here.
        if name.startswith("do_"):
            return self._refuse
        raise AttributeError(name)

    def _refuse(self) -> None:
        self.close_connection = True  # its body (if any) is never read
        reason = f"method {self.command[:20]} not allowed: this page is read-only (commands stay " \
                 "in the CLI)"
        self._send(_json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": reason}), head=False,
                   extra={"Allow": ALLOWED})

    def _answer(self, head: bool) -> None:
        if self.headers.get("Host") not in self.server.hosts:
            reply = _json(HTTPStatus.FORBIDDEN, {"error": "wrong Host header: open the page "
                                                 f"at http://{self.server.hosts[0]}/"})
        else:
            try:
                reply = route(self.server.app, self.path)
            except Exception:  # noqa: BLE001 - a bug answers 500, logged; protection goes on
                log.exception("status page: %s failed", self.path[:200])
                reply = _json(HTTPStatus.INTERNAL_SERVER_ERROR,
                              {"error": "internal error (see the posguard log)"})
        self._send(reply, head)

    def _send(self, reply: Reply, head: bool, extra: dict[str, str] | None = None) -> None:
        self.send_response(reply.status)
        headers = {"Content-Type": reply.content_type, "Content-Length": str(len(reply.body)),
                   "Content-Security-Policy": content_security_policy(),
                   "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                   "X-Frame-Options": "DENY", "Cross-Origin-Resource-Policy": "same-origin",
                   "Cache-Control": "no-store", **(extra or {})}
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        log.debug("status page %s: " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, app: PageApp) -> None:
        super().__init__((HOST, port), _Handler)
        self.app = app
        bound = self.server_address[1]
        self.hosts = (f"{HOST}:{bound}", f"localhost:{bound}")


class PageServer:
    """The server on its own daemon thread; `port` is the bound port."""

    def __init__(self, port: int, app: PageApp) -> None:
        self._server = _Server(port, app)  # OSError (port in use) before any thread starts
        self.port: int = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="status-page", daemon=True)
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        """Where an operator opens the page."""
        return f"http://{HOST}:{self.port}/"

    def close(self, timeout_secs: float = 2.0) -> None:
        """Stop serving, release the port, join the thread (bounded); idempotent."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout_secs)
