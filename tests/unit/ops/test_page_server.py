"""The status page's HTTP server, real on an ephemeral loopback port, with a real SQLite store.

GET and HEAD only, every other method 405; input validated (400 with the reason, never a 500
or a traceback); a CSP that allows only the page's own inline blocks and this origin; a taken
port is logged naming status_page.port and leaves protection alone.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import re
import socket

import pytest

from ops.build import OpsContext, build_hub
from ops.page.journal import JournalReader
from ops.page.service import StatusPage, build
from ops.page.static import page_html
from persistence.factory import attach, open_instance
from persistence.store import StoreUnavailable
from system.clock import ManualClock, SystemClock
from system.config import from_data
from tests.unit.ops.test_page_status import NOW, entry, status, view


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    return from_data({"store": {"sqlite_path": str(folder / "posguard.sqlite3")},
                      "status_page": {"port": 0}}, base_dir=folder)


@pytest.fixture(scope="module")
def store_target(config):
    """A store with 120 journal rows for BTCUSDT (one with an exchange-made payload)."""
    target = config.store_target()
    lock, holder = open_instance(target, ManualClock())
    store = attach(target, holder.epoch, ManualClock(NOW))
    for seq in range(120):
        payload = {"n": seq, "price": "60000.5"}
        if seq == 119:
            payload = {"reason": "<img src=x onerror=alert(1)>"}
        store.append("BTCUSDT", expected_seq=seq, kind=f"k{seq + 1}", payload=payload,
                     state={"seq": seq + 1}, live=True, correlation_id=f"c{seq + 1}")
    store.close()
    lock.release()
    return target


def _page(store_target) -> StatusPage:
    p = StatusPage(0, JournalReader(lambda: attach(store_target, 0, SystemClock())),
                   clock_ms=lambda: NOW)
    p.observe(status(entry(view(seq=120)), entry(view("ETHUSDT", side="short", qty="0.1",
                     mark_price="2000", stop_price="2040", seq=0), "ETHUSDT")), NOW - 500)
    return p


@pytest.fixture(scope="module")
def page(store_target):
    """One server for the tests that only read (starting one per test costs ~0.2 s)."""
    p = _page(store_target)
    yield p
    p.close()


@pytest.fixture
def fresh_page(store_target):
    """A server of its own for a test that feeds it."""
    p = _page(store_target)
    yield p
    p.close()


def request(page: StatusPage, method: str, target: str, host: str | None = None,
            body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", int(page.url.rsplit(":", 1)[1].strip("/")),
                                      timeout=10)
    try:
        conn.putrequest(method, target, skip_host=True)
        conn.putheader("Host", host or page.url[len("http://"):].rstrip("/"))
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def get_json(page: StatusPage, target: str) -> tuple[int, dict]:
    code, headers, body = request(page, "GET", target)
    assert headers["content-type"] == "application/json"
    return code, json.loads(body)


def test_the_page_is_served_with_a_csp_allowing_only_its_own_inline_blocks_and_origin(page):
    code, headers, body = request(page, "GET", "/")

    assert code == 200 and headers["content-type"] == "text/html; charset=utf-8"
    csp = dict(d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["connect-src"] == "'self'"
    assert csp["form-action"] == "'none'" and csp["frame-ancestors"] == "'none'"
    html = body.decode()
    for kind in ("script", "style"):
        inline = re.search(rf"<{kind}>(.*?)</{kind}>", html, re.DOTALL).group(1)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert csp[f"{kind}-src"] == f"'sha256-{digest}'"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_the_page_loads_nothing_from_anywhere_and_never_parses_values_as_html():
    html = page_html().decode()

    assert re.findall(r"https?://[^\s\"']+", html) == ["http://www.w3.org/2000/svg"]  # a name
    assert not re.search(r"\b(src|href)=", html)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in html


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
                                    "FROB"])
def test_every_method_but_get_and_head_is_refused_with_405(page, method):
    code, headers, body = request(page, method, "/api/status", body=b'{"cmd": "close"}')

    assert code == 405 and headers["allow"] == "GET, HEAD"
    assert "read-only" in json.loads(body)["error"]
    assert "content-security-policy" in headers


def test_head_answers_the_get_headers_without_a_body(page):
    code, headers, body = request(page, "HEAD", "/api/status")

    assert code == 200 and body == b"" and int(headers["content-length"]) > 100


def test_status_has_one_row_per_symbol_with_the_page_columns(page):
    code, out = get_json(page, "/api/status")

    assert code == 200
    rows = {r["symbol"]: r for r in out["symbols"]}
    assert sorted(rows) == ["BTCUSDT", "ETHUSDT"]
    assert (rows["BTCUSDT"]["distance"], rows["ETHUSDT"]["distance"]) == ("305", "40")
    assert rows["ETHUSDT"]["side"] == "short"
    assert (out["observed_ms"], out["now_ms"], out["epoch"]) == (NOW - 500, NOW, 3)


def test_journal_gives_the_latest_rows_newest_first_with_payloads_as_data(page):
    code, out = get_json(page, "/api/journal?symbol=btcusdt&limit=5")

    assert code == 200 and out["symbol"] == "BTCUSDT"
    assert [r["seq"] for r in out["rows"]] == [120, 119, 118, 117, 116]
    assert out["rows"][0]["payload"] == {"reason": "<img src=x onerror=alert(1)>"}
    assert out["rows"][1]["payload"] == {"n": 118, "price": "60000.5"}
    assert out["rows"][0]["kind"] == "k120" and out["rows"][0]["created_at"].startswith("20")
    _, default = get_json(page, "/api/journal?symbol=BTCUSDT")
    assert len(default["rows"]) == 50


@pytest.mark.parametrize("reported_seq", [100, None])
def test_the_journal_reaches_rows_the_actor_has_not_reported_yet(store_target, reported_seq):
    reader = JournalReader(lambda: attach(store_target, 0, SystemClock()))

    rows = reader.recent("BTCUSDT", reported_seq, 5)  # the store is at 120

    assert [r["seq"] for r in rows] == [120, 119, 118, 117, 116]


def test_a_symbol_with_no_rows_has_an_empty_journal(page):
    assert get_json(page, "/api/journal?symbol=ETHUSDT") == (
        200, {"symbol": "ETHUSDT", "seq": 0, "rows": []})


@pytest.mark.parametrize(("target", "reason"), [
    ("/api/journal", "parameter 'symbol' is required"),
    ("/api/journal?symbol=", "is not a symbol"),
    ("/api/journal?symbol=BTC-USDT", "is not a symbol"),
    ("/api/journal?symbol=%3Cscript%3E", "is not a symbol"),
    ("/api/journal?symbol=" + "A" * 31, "is not a symbol"),
    ("/api/journal?symbol=BTCUSDT&limit=0", "from 1 to 500"),
    ("/api/journal?symbol=BTCUSDT&limit=501", "from 1 to 500"),
    ("/api/journal?symbol=BTCUSDT&limit=-1", "from 1 to 500"),
    ("/api/journal?symbol=BTCUSDT&limit=ten", "from 1 to 500"),
    ("/api/journal?symbol=BTCUSDT&symbol=ETHUSDT", "more than once"),
    ("/api/journal?symbol=BTCUSDT&close=1", "unknown parameter 'close'"),
    ("/api/history?symbol=%00", "is not a symbol"),
    ("/api/status?x=1", "unknown parameter 'x'"),
    ("/api/status?%zz", "malformed query"),
])
def test_bad_input_is_400_with_the_reason(page, target, reason):
    code, out = get_json(page, target)

    assert code == 400 and reason in out["error"]
    assert "Traceback" not in out["error"]


@pytest.mark.parametrize("target", ["/api/journal?symbol=XRPUSDT", "/api/history?symbol=XRPUSDT",
                                    "/api/nothing", "/../../etc/passwd"])
def test_an_unknown_symbol_or_page_is_404(page, target):
    code, out = get_json(page, target)

    assert code == 404 and out["error"]


def test_a_store_that_cannot_be_read_is_503_naming_the_store_error():
    def broken():
        raise StoreUnavailable("cannot open SQLite store /nowhere: disk gone")
    p = StatusPage(0, JournalReader(broken), clock_ms=lambda: NOW)
    try:
        p.observe(status(entry(view())), NOW)
        code, out = get_json(p, "/api/journal?symbol=BTCUSDT")
    finally:
        p.close()

    assert code == 503 and out["error"] == "store error: cannot open SQLite store /nowhere: " \
                                           "disk gone"


def test_a_bug_in_a_handler_is_a_500_without_a_traceback_and_is_logged(page, monkeypatch,
                                                                      caplog):
    def boom():
        raise ZeroDivisionError("secret detail")
    monkeypatch.setattr(page, "status", boom)

    with caplog.at_level(logging.ERROR, logger="posguard.ops.page"):
        code, out = get_json(page, "/api/status")

    assert code == 500 and out == {"error": "internal error (see the posguard log)"}
    assert any("ZeroDivisionError" in (r.exc_text or "") for r in caplog.records)


def test_history_gives_mark_and_stop_points_sampled_from_the_statuses(fresh_page):
    fresh_page.observe(status(entry(view(mark_price="61500", stop_price="61192"))), NOW + 6_000)

    code, out = get_json(fresh_page, "/api/history?symbol=BTCUSDT")

    assert code == 200 and out["step_ms"] == 5_000 and out["window_ms"] == 3_600_000
    assert out["points"] == [[NOW - 500, 61000.0, 60695.0], [NOW + 6_000, 61500.0, 61192.0]]


def test_a_request_naming_another_host_is_refused(page):
    code, _, body = request(page, "GET", "/api/status", host="evil.example:80")

    assert code == 403 and "Host" in json.loads(body)["error"]
    assert request(page, "GET", "/api/status", host=page.url[7:-1].replace(
        "127.0.0.1", "localhost"))[0] == 200


def test_the_server_listens_on_loopback_only_and_close_releases_the_port(store_target):
    p = StatusPage(0, JournalReader(lambda: attach(store_target, 0, SystemClock())))
    port = int(p.url.rstrip("/").rsplit(":", 1)[1])
    assert p.url == f"http://127.0.0.1:{port}/"
    assert p._server._server.server_address[0] == "127.0.0.1"

    p.close()
    p.close()  # idempotent

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))  # free again
    assert not p._server._thread.is_alive()


def _ctx(config, port: int) -> OpsContext:
    from dataclasses import replace
    cfg = replace(config, status_page=replace(config.status_page, port=port))
    return OpsContext(cfg, cfg.store_target(), 3, None)


def test_port_0_means_no_page(config):
    assert build(_ctx(config, 0)) is None


def test_a_port_in_use_is_logged_naming_the_key_and_the_port_and_the_hub_runs_on(config,
                                                                                 caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.INFO, logger="posguard.ops"):
            hub = build_hub(_ctx(config, port))
        hub.observe(status(entry(view())), NOW)  # the launcher's next status: no error

    assert [s.name for s in hub.services if s.name == "status_page"] == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and f"status_page.port {port}" in errors[0]
    assert "protection goes on" in errors[0]
    hub.close()


def test_a_free_port_serves_the_page_and_names_its_url(config, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with caplog.at_level(logging.INFO, logger="posguard.ops.page"):
        p = build(_ctx(config, port))
    try:
        assert p is not None and p.url == f"http://127.0.0.1:{port}/"
        assert any(p.url in r.getMessage() for r in caplog.records)
        assert request(p, "GET", "/")[0] == 200
    finally:
        p.close()
