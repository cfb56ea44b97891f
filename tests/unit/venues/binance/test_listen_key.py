"""The user stream's session on Binance (venues/binance/listen_key.py, through the adapter):
POST /fapi/v1/listenKey for the key, PUT to keep it, only the API-key header, and every
refusal or unreadable reply a UserStreamKeyError (the stream actor reconnects on it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from venue.interface import UserStreamKeyError
from venues.binance import BinanceUsdm

TIMEOUT_SECS = 5.0


class _Binance(BaseHTTPRequestHandler):
    """Answers listenKey calls with what the test scripted; records each request."""

    replies: list[tuple[int, bytes]] = []
    seen: list[tuple[str, str, str | None]] = []

    def _answer(self) -> None:
        self.seen.append((self.command, self.path, self.headers.get("X-MBX-APIKEY")))
        status, body = self.replies.pop(0)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = _answer  # noqa: N815 - http.server's names

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    _Binance.replies, _Binance.seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Binance)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_a_session_is_a_posted_listen_key_kept_alive_with_put(server):
    _Binance.replies = [(200, json.dumps({"listenKey": "k1"}).encode()), (200, b"{}")]
    venue = BinanceUsdm()

    key = venue.open_user_stream(server, "api-key", TIMEOUT_SECS)
    venue.keep_user_stream(server, "api-key", key, TIMEOUT_SECS)

    assert key == "k1"
    assert _Binance.seen == [("POST", "/fapi/v1/listenKey", "api-key"),
                             ("PUT", "/fapi/v1/listenKey", "api-key")]


@pytest.mark.parametrize(("status", "body", "message"), [
    (401, b'{"code":-2015,"msg":"Invalid API-key"}', "POST listenKey: HTTP 401"),
    (200, b'{"nolistenKey": 1}', "POST listenKey: no key in the reply"),
    (200, b"<html>", "POST listenKey: "),
])
def test_a_refused_or_unreadable_post_is_a_user_stream_key_error(server, status, body, message):
    _Binance.replies = [(status, body)]

    with pytest.raises(UserStreamKeyError, match=message):
        BinanceUsdm().open_user_stream(server, "api-key", TIMEOUT_SECS)


def test_a_refused_keepalive_is_a_user_stream_key_error(server):
    _Binance.replies = [(400, b'{"code":-1125,"msg":"This listenKey does not exist."}')]

    with pytest.raises(UserStreamKeyError, match="PUT listenKey: HTTP 400"):
        BinanceUsdm().keep_user_stream(server, "api-key", "k1", TIMEOUT_SECS)


def test_no_answer_is_a_user_stream_key_error():
    with pytest.raises(UserStreamKeyError, match="POST listenKey"):
        BinanceUsdm().open_user_stream("http://127.0.0.1:9", "api-key", TIMEOUT_SECS)
