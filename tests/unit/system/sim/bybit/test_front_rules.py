"""Bybit front pieces without a server: signing, limits, parameters, ids, error translation."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

import pytest

from system.sim.bybit import auth
from system.sim.bybit.errors import BybitError, IpBanned, from_engine
from system.sim.bybit.ids import order_id, parse_order_id
from system.sim.bybit.limits import BybitLimiter
from system.sim.bybit.params import BParams, parse
from system.sim.errors import SimError
from system.sim.settings import SimSettings

S = dataclasses.replace(SimSettings(), venue="bybit", bybit_order_limit_per_sec=2,
                        bybit_ip_limit_per_5s=3, bybit_ip_ban_secs=60)
NOW = 1_795_263_300_000


def _headers(payload: str, ts: int = NOW, secret: str = "paper-secret") -> dict:
    sign = hmac.new(secret.encode(), f"{ts}paper-key5000{payload}".encode(),
                    hashlib.sha256).hexdigest()
    return {"X-BAPI-API-KEY": "paper-key", "X-BAPI-TIMESTAMP": str(ts),
            "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": sign}


def _code(fn) -> int:
    with pytest.raises(BybitError) as exc:
        fn()
    return exc.value.code


def test_signature_window_and_key():
    q = "category=linear&symbol=BTCUSDT"
    auth.check(S, _headers(q), NOW, q)
    assert _code(lambda: auth.check(S, _headers(q), NOW, q + "&x=1")) == 10004
    assert _code(lambda: auth.check(S, _headers(q, secret="x"), NOW, q)) == 10004
    assert _code(lambda: auth.check(S, _headers(q, ts=NOW - 5001), NOW, q)) == 10002
    auth.check(S, _headers(q, ts=NOW - 5000), NOW, q)  # the window's edge is inside
    assert _code(lambda: auth.check(S, _headers(q, ts=NOW + 1000), NOW, q)) == 10002
    assert _code(lambda: auth.check(S, {**_headers(q), "X-BAPI-API-KEY": "k"}, NOW, q)) \
        == 10003


def test_endpoint_limits_are_per_path_per_second():
    lim = BybitLimiter(S)
    lim.admit("/v5/order/create", "order", NOW)
    lim.admit("/v5/order/create", "order", NOW + 999 - NOW % 1000)
    assert _code(lambda: lim.admit("/v5/order/create", "order", NOW)) == 10006
    lim.admit("/v5/order/amend", "order", NOW)  # its own counter
    assert lim.headers("/v5/order/create", "order", NOW) == {
        "X-Bapi-Limit": "2", "X-Bapi-Limit-Status": "0",
        "X-Bapi-Limit-Reset-Timestamp": str(NOW - NOW % 1000 + 1000)}
    lim.admit("/v5/order/create", "order", NOW - NOW % 1000 + 1000)


def test_ip_limit_bans_for_the_ban_period():
    lim = BybitLimiter(S)
    for _ in range(3):
        lim.admit_ip("1.2.3.4", NOW)
    with pytest.raises(IpBanned):
        lim.admit_ip("1.2.3.4", NOW)
    lim.admit_ip("5.6.7.8", NOW)  # per IP
    with pytest.raises(IpBanned):
        lim.admit_ip("1.2.3.4", NOW + 59_999)
    lim.admit_ip("1.2.3.4", NOW + 60_000)


def test_params_accept_ccxt_and_pybit_types():
    ccxt_style = BParams(parse("POST", "", '{"qty":"0.01","triggerDirection":2,'
                                           '"reduceOnly":true}'))
    pybit_style = BParams(parse("POST", "", '{"qty": "0.01", "triggerDirection": 2, '
                                            '"reduceOnly": true}'))
    for p in (ccxt_style, pybit_style):
        assert (str(p.decimal("qty")), p.integer("triggerDirection"), p.boolean("reduceOnly")) \
            == ("0.01", 2, True)
    q = BParams(parse("GET", "category=linear&symbol=BTCUSDT", ""))
    assert q.text("symbol") == "BTCUSDT" and q.text("orderId", required=False) is None
    assert _code(lambda: q.text("orderId")) == 10001
    assert _code(lambda: parse("POST", "", "[1]")) == 10001


def test_order_ids_round_trip_and_foreign_ids_are_none():
    assert parse_order_id(order_id(4_000_000_123)) == 4_000_000_123
    assert parse_order_id("not-an-id") is None


def test_engine_codes_translate():
    assert from_engine(SimError(-2013, "Order does not exist.")).code == 110001
    assert from_engine(SimError(-4164, "notional")).code == 110094
    assert from_engine(SimError(110093, "expect Falling")).code == 110093
    assert from_engine(SimError(-9999, "odd")).code == 10016
