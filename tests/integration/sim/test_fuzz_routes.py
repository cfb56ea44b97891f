"""Hypothesis over every (method, path) in ROUTES: random and malformed parameters, signed
correctly and not. The simulator must never answer 5xx (it has no fault injected here) and
every error must be Binance-shaped: `{"code": <int>, "msg": <str>}` with a 4xx status.

Each example resets the simulator and sends one request to every route; half the requests
are valid templates with a few mutations, so the engine's rules run, not only the parameter
checks. Examples are bounded (45) and the database is off, so nothing is written into the
tree; the run takes about ten seconds. Run against the previous simulator it found the 500
of v3 positionRisk for a symbol that never traded.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.sim.rest import ROUTES

GOOD = {
    "symbol": ["BTCUSDT"] * 4 + ["ETHUSDT", "RSRUSDT", "NOPEUSDT", "btcusdt"],
    "side": ["BUY", "SELL", "HOLD"],
    "type": ["MARKET", "LIMIT", "STOP_MARKET", "TRAILING_STOP_MARKET", "TAKE_PROFIT"],
    "algoType": ["CONDITIONAL", "VP"],
    "quantity": ["0.010", "0.001", "1", "0", "100000000"],
    "triggerPrice": ["59000", "61000", "59000.05", "0"],
    "activatePrice": ["60100", "59900", "0"],
    "callbackRate": ["1", "0.1", "10", "25", "0"],
    "reduceOnly": ["true", "false", "TRUE", "yes"],
    "closePosition": ["true", "false"],
    "priceProtect": ["true", "false", "x"],
    "workingType": ["MARK_PRICE", "CONTRACT_PRICE", "LAST"],
    "positionSide": ["BOTH", "LONG", "SHORT"],
    "dualSidePosition": ["false", "false", "true"],
    "leverage": ["1", "20", "125", "126", "0"],
    "orderId": ["8389765000", "1", "-1"],
    "algoId": ["4000000000", "4000000001", "1"],
    "fromId": ["5123456", "0"],
    "limit": ["1", "500", "1000", "1001", "0"],
    "startTime": ["0", "1795263300000", "99999999999999"],
    "endTime": ["0", "1795263300000", "1795868100001"],
    "newClientOrderId": ["pg-1-BTCUSDT-open-1", "dup", "bad id", "x" * 37],
    "clientAlgoId": ["pg-1-BTCUSDT-stop-1", "dup", "a/b:c.d", "x" * 40],
    "origClientOrderId": ["dup", "bad id"],
    "newOrderRespType": ["RESULT", "ACK"],
    "recvWindow": ["5000", "60001", "0", "-5"],
}
JUNK = st.one_of(
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "Infinity", "%ff", "%ZZ", "a%00b", "[]",
                     "{}", "null", "true", "0.0000000000000000000001",
                     "99999999999999999999.99999999999999999999", "9" * 30, "'; DROP"]),
    st.text(max_size=40),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str),
)
_ORDER = ["symbol", "side", "type", "quantity", "reduceOnly", "newClientOrderId",
          "positionSide", "closePosition", "newOrderRespType"]
_ALGO = ["symbol", "algoType", "side", "type", "quantity", "triggerPrice", "activatePrice",
         "callbackRate", "reduceOnly", "closePosition", "priceProtect", "workingType",
         "positionSide", "clientAlgoId"]
_HISTORY = ["symbol", "startTime", "endTime", "limit"]
PARAMS = {
    ("POST", "/fapi/v1/order"): _ORDER,
    ("GET", "/fapi/v1/order"): ["symbol", "orderId", "origClientOrderId"],
    ("DELETE", "/fapi/v1/order"): ["symbol", "orderId", "origClientOrderId"],
    ("POST", "/fapi/v1/algoOrder"): _ALGO,
    ("GET", "/fapi/v1/algoOrder"): ["symbol", "algoId", "clientAlgoId"],
    ("DELETE", "/fapi/v1/algoOrder"): ["symbol", "algoId", "clientAlgoId"],
    ("GET", "/fapi/v1/openAlgoOrders"): ["symbol", "algoType", "algoId"],
    ("GET", "/fapi/v1/allAlgoOrders"): _HISTORY + ["algoId"],
    ("GET", "/fapi/v1/userTrades"): _HISTORY + ["orderId", "fromId"],
    ("POST", "/fapi/v1/leverage"): ["symbol", "leverage"],
    ("POST", "/fapi/v1/positionSide/dual"): ["dualSidePosition"],
}
"""The parameters each route reads (others get `symbol`); most draws use these."""
_STOP = {"symbol": "BTCUSDT", "algoType": "CONDITIONAL", "side": "SELL", "type": "STOP_MARKET",
         "quantity": "0.010", "triggerPrice": "59000", "reduceOnly": "true",
         "workingType": "MARK_PRICE"}
TEMPLATES = {
    ("POST", "/fapi/v1/order"): [{"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                  "quantity": "0.010"}],
    ("POST", "/fapi/v1/algoOrder"): [
        _STOP, {**_STOP, "type": "TRAILING_STOP_MARKET", "triggerPrice": "", "callbackRate": "1",
                "activatePrice": "60100"},
        {**_STOP, "quantity": "", "reduceOnly": "", "closePosition": "true"}],
    ("GET", "/fapi/v1/order"): [{"symbol": "BTCUSDT", "orderId": "8389765000"}],
    ("DELETE", "/fapi/v1/order"): [{"symbol": "BTCUSDT", "orderId": "8389765000"}],
    ("GET", "/fapi/v1/algoOrder"): [{"algoId": "4000000000"}],
    ("DELETE", "/fapi/v1/algoOrder"): [{"algoId": "4000000000"}],
    ("POST", "/fapi/v1/leverage"): [{"symbol": "BTCUSDT", "leverage": "10"}],
    ("POST", "/fapi/v1/positionSide/dual"): [{"dualSidePosition": "false"}],
}
"""Valid requests; half the draws send one with a few mutations, to reach the deep rules."""
SIGNING = ["good"] * 7 + ["bad_signature", "unsigned", "stale", "no_key", "wrong_key"]
TAILS = [""] * 24 + ["%ff", "a=%ZZ", "=", "&&", "x", "symbol=BTCUSDT"]
SECRET, KEY = "paper-secret", "paper-key"


def _value(name: str):
    good = GOOD.get(name)
    if not good:
        return JUNK
    # Mostly plausible values, so the deep rules run, not only the parameter checks.
    return st.one_of(*[st.sampled_from(good)] * 5, JUNK)


def _mutated(data, route) -> list[tuple[str, str]]:
    base = data.draw(st.sampled_from(TEMPLATES.get(route, [{"symbol": "BTCUSDT"}])))
    params = {k: v for k, v in base.items() if v}
    for _ in range(data.draw(st.integers(0, 2))):
        name = data.draw(st.sampled_from(sorted(set(params) | set(PARAMS.get(route, [])))
                                         or ["symbol"]))
        if data.draw(st.booleans()) and name in params:
            del params[name]
        else:
            params[name] = data.draw(_value(name))
    return list(params.items())


def _pairs(data, route) -> list[tuple[str, str]]:
    if data.draw(st.booleans()):
        return _mutated(data, route)
    pairs = []
    for name in PARAMS.get(route, ["symbol"]):
        if data.draw(st.integers(0, 9)) < 8:  # each parameter sent 80 % of the time
            pairs.append((name, data.draw(_value(name))))
    if data.draw(st.integers(0, 9)) == 0:
        pairs.append(("recvWindow", data.draw(_value("recvWindow"))))
    if data.draw(st.integers(0, 3)) == 0:  # an unexpected or duplicated parameter
        pairs.append((data.draw(st.sampled_from(sorted(GOOD) + ["x", "timestamp"])),
                      data.draw(JUNK)))
    return data.draw(st.permutations(pairs))


def _encode(pairs, raw_tail: str) -> str:
    q = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    return "&".join(x for x in (q, raw_tail) if x)


def _sign(q: str, mode: str) -> str:
    if mode in ("unsigned", "no_key", "wrong_key"):
        return q
    ts = int(time.time() * 1000) - (120_000 if mode == "stale" else 0)
    q = "&".join(x for x in (q, f"timestamp={ts}") if x)
    sig = hmac.new(SECRET.encode(), q.encode(), hashlib.sha256).hexdigest()
    return q + "&signature=" + (sig if mode != "bad_signature" else sig[::-1])


def _send(port: int, route, q: str, mode: str, in_body: bool) -> tuple[int, bytes, str]:
    method, path = route
    headers = {} if mode == "no_key" else {"X-MBX-APIKEY": "nope" if mode == "wrong_key"
                                           else KEY}
    body = None
    target = f"{path}?{q}" if q else path
    if method in ("POST", "PUT") and in_body:  # the SDK sends query strings, ccxt form bodies
        body, target = q.encode(), path
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(), f"{method} {target} body={body!r}"
    finally:
        conn.close()


def _check(status: int, data: bytes, what: str) -> None:
    assert status < 500, (what, status, data)
    reply = json.loads(data)
    if status >= 400:
        assert status in (400, 401, 418, 429), (what, status, reply)
        assert isinstance(reply, dict) and set(reply) == {"code", "msg"}, (what, reply)
        assert isinstance(reply["code"], int) and isinstance(reply["msg"], str), (what, reply)


@settings(max_examples=45, deadline=10_000, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_no_input_makes_the_simulator_answer_5xx(sim, data):
    # Each example starts from a reset simulator and sends one request to every route, in
    # an order of its own (so orders exist before some lookups and cancels, not before all).
    sim.call(lambda s: s.reset())
    for route in data.draw(st.permutations(sorted(ROUTES))):
        mode = data.draw(st.sampled_from(SIGNING))
        q = _sign(_encode(_pairs(data, route), data.draw(st.sampled_from(TAILS))), mode)
        _check(*_send(sim.port, route, q, mode, data.draw(st.booleans())))
