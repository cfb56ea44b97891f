"""Random and malformed requests at every endpoint: never a 5xx, the server keeps answering."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import random
import time

from system.sim.control import CONTROL_ROUTES
from system.sim.rest import ROUTES

JUNK = ["", "0", "-1", "1e309", "NaN", "abc", "%ff", "%C3%A9", "%ZZ", "a%00b",
        "0.0000000000000000000001",
        "99999999999999999999999", "true", "BUY", "SELL", "BTCUSDT", "MARKET", "STOP_MARKET",
        "TRAILING_STOP_MARKET", "CONDITIONAL", "60000", "0.010", "[]", "{}", "'%20OR%201=1"]
NAMES = ["symbol", "side", "type", "quantity", "triggerPrice", "stopPrice", "callbackRate",
         "activatePrice", "reduceOnly", "closePosition", "orderId", "algoId", "clientAlgoId",
         "newClientOrderId", "origClientOrderId", "leverage", "algoType", "workingType",
         "positionSide", "recvWindow", "timestamp", "x"]


def _query(rng: random.Random, signed: bool, secret: str) -> str:
    pairs = [f"{rng.choice(NAMES)}={rng.choice(JUNK)}" for _ in range(rng.randint(0, 6))]
    if signed and rng.random() < 0.7:
        pairs.append(f"timestamp={int(time.time() * 1000)}")
        q = "&".join(pairs)
        sig = hmac.new(secret.encode(), q.encode(), hashlib.sha256).hexdigest()
        return q + "&signature=" + (sig if rng.random() < 0.8 else "zz")
    return "&".join(pairs)


def _request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


def test_fuzz_every_endpoint_no_5xx(sim):
    rng = random.Random(1234)
    host, port = "127.0.0.1", sim.port
    conn = http.client.HTTPConnection(host, port, timeout=5)
    key = {"X-MBX-APIKEY": "paper-key"}
    statuses = {}
    deadline = time.monotonic() + 25
    routes = list(ROUTES) + [(m, p) for m, p in CONTROL_ROUTES if p != "/_sim/reset"]
    for _ in range(1500):
        if time.monotonic() > deadline:
            break
        method, path = rng.choice(routes)
        if rng.random() < 0.1:
            method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
        q = _query(rng, True, "paper-secret")
        headers = dict(key) if rng.random() < 0.9 else {"X-MBX-APIKEY": rng.choice(JUNK)}
        body = None
        if path.startswith("/_sim/"):
            body = rng.choice([json.dumps({n: rng.choice(JUNK + [1, -5, 0.5, None, True])
                                           for n in rng.sample(
                                               ["symbol", "price", "pct", "delta", "kind",
                                                "count", "delay_ms", "method", "path", "code",
                                                "status", "fraction", "after_ms", "hold_ms"],
                                               4)}), "{bad json", "[1,2]", "", "\xff"])
            headers["Content-Type"] = "application/json"
            target = path
        elif method in ("POST", "PUT"):
            body = q.encode("utf-8", "surrogateescape") if rng.random() < 0.95 else b"\xff\xfe"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            target = path
        else:
            target = f"{path}?{q}" if q else path
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogateescape")
        if "timeout" in path:  # a real timeout fault would hold the next request: clear it
            status, _ = _request(conn, method, target, body, headers)
            _request(conn, "POST", "/_sim/fault/clear", b"{}", {})
        else:
            status, data = _request(conn, method, target, body, headers)
            if status >= 400 and not path.startswith("/_sim/"):
                assert "code" in json.loads(data), data
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (method, target, body, status)
    conn.close()
    assert sum(statuses.values()) >= 200 and 200 in statuses and 400 in statuses
    # still alive and consistent
    c2 = http.client.HTTPConnection(host, port, timeout=5)
    assert _request(c2, "GET", "/fapi/v1/time")[0] == 200
    assert _request(c2, "GET", "/_sim/state")[0] == 200
    c2.close()


def test_garbage_bytes_and_unknown_paths_do_not_break_the_server(sim):
    import socket
    for payload in (b"\x00\xff garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                    b"POST /fapi/v1/order HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nx"):
        with socket.create_connection(("127.0.0.1", sim.port), timeout=2) as s:
            s.sendall(payload)
            s.settimeout(2)
            with contextlib.suppress(TimeoutError, ConnectionResetError):
                s.recv(4096)  # the server may answer 400 or just drop nonsense
    c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    assert _request(c, "GET", "/nope")[0] == 404
    assert _request(c, "GET", "/fapi/v1/ping")[0] == 200
    c.close()
