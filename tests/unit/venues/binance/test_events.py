"""Unit tests for the Binance USDT-M stream frame parser (venues/binance/events.py).

The three samples are copied verbatim from /work/shared/protocol/binance-usdm.md.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from venue.events import AlgoUpdate, MarkPrice, OrderUpdate, PositionUpdate
from venue.interface import FrameError, UserStreamExpired
from venues.binance.events import parse_frame

D = Decimal
RECV = 1_795_263_300_200

ACCOUNT_UPDATE = """{"e":"ACCOUNT_UPDATE","E":1795263300123,"T":1795263300120,
 "a":{"m":"ORDER","B":[{"a":"USDT","wb":"949.27505000","cw":"949.27505000","bc":"0"}],
  "P":[{"s":"BTCUSDT","pa":"0","ep":"0.0","bep":"0","cr":"-50.10000000","up":"0",
        "mt":"cross","iw":"0","ps":"BOTH"}]}}"""

ORDER_TRADE_UPDATE = """{"e":"ORDER_TRADE_UPDATE","E":1795263300123,"T":1795263300120,
 "o":{"s":"BTCUSDT","c":"x-cvBPrNm97b8f79aee1fdb87b5e8e2f","S":"SELL","o":"MARKET","f":"GTC",
  "q":"0.010","p":"0","ap":"59990","sp":"60000","x":"TRADE","X":"FILLED","i":8389765999,
  "l":"0.010","z":"0.010","L":"59990","N":"USDT","n":"0.29995000","T":1795263300120,"t":5123456,
  "b":"0","a":"0","m":false,"R":true,"wt":"CONTRACT_PRICE","ot":"STOP_MARKET","ps":"BOTH",
  "cp":true,"rp":"-50.10000000","pP":false,"si":0,"ss":0,"V":"EXPIRE_MAKER","pm":"NONE","gtd":0}}"""

ALGO_UPDATE = """{"e":"ALGO_UPDATE","T":1795263300119,"E":1795263300125,
 "o":{"caid":"x-cvBPrNm97b8f79aee1fdb87b5e8e2f","aid":4000000000,"at":"CONDITIONAL","o":"STOP_MARKET",
  "s":"BTCUSDT","S":"SELL","ps":"BOTH","f":"GTC","q":"0.000","X":"FINISHED","ai":"8389765999",
  "ap":"59990.00","aq":"0.010","act":"MARKET","tp":"60000","p":"0","V":"EXPIRE_MAKER",
  "wt":"CONTRACT_PRICE","pm":"NONE","cp":true,"pP":false,"R":false,"tt":1795263300118,"gtd":0,"rm":""}}"""

MARK = {"e": "markPriceUpdate", "E": 1795263300500, "s": "BTCUSDT", "p": "60012.3",
        "i": "60010.0", "P": "60011.0", "r": "0.0001", "T": 1795267200000}


def one(raw: str | bytes):
    events = parse_frame(raw, RECV)
    assert len(events) == 1
    return events[0]


# --------------------------------------------------------------------------- the samples


def test_account_update_sample_parses_field_by_field():
    ev = one(ACCOUNT_UPDATE)
    assert isinstance(ev, PositionUpdate)
    assert (ev.symbol, ev.amount, ev.entry_price, ev.reason) == ("BTCUSDT", D(0), D(0), "ORDER")
    assert (ev.event_ms, ev.tx_ms, ev.engine_ms) == (1795263300123, 1795263300120, RECV)


def test_order_trade_update_sample_parses_field_by_field():
    ev = one(ORDER_TRADE_UPDATE)
    assert isinstance(ev, OrderUpdate)
    assert (ev.symbol, ev.client_id, ev.order_id) == (
        "BTCUSDT", "x-cvBPrNm97b8f79aee1fdb87b5e8e2f", "8389765999")
    assert (ev.order_type, ev.side, ev.exec_type, ev.status) == (
        "STOP_MARKET", "SELL", "TRADE", "FILLED")
    assert (ev.last_qty, ev.cum_qty, ev.avg_price, ev.realized_pnl) == (
        D("0.010"), D("0.010"), D("59990"), D("-50.10000000"))
    assert (ev.reduce_only, ev.close_position) == (True, True)
    assert (ev.event_ms, ev.tx_ms, ev.engine_ms) == (1795263300123, 1795263300120, RECV)


def test_algo_update_sample_parses_field_by_field():
    ev = one(ALGO_UPDATE)
    assert isinstance(ev, AlgoUpdate)
    assert (ev.symbol, ev.client_id, ev.algo_id) == (
        "BTCUSDT", "x-cvBPrNm97b8f79aee1fdb87b5e8e2f", "4000000000")
    assert (ev.order_type, ev.side, ev.status) == ("STOP_MARKET", "SELL", "FINISHED")
    assert (ev.trigger_price, ev.qty, ev.close_position, ev.reject_reason) == (
        D("60000"), D("0.000"), True, "")
    assert (ev.event_ms, ev.engine_ms) == (1795263300125, RECV)


def test_mark_price_update_parses():
    ev = one(json.dumps(MARK))
    assert isinstance(ev, MarkPrice)
    assert (ev.symbol, ev.price, ev.event_ms, ev.engine_ms) == (
        "BTCUSDT", D("60012.3"), 1795263300500, RECV)


def test_frames_may_arrive_as_bytes_and_event_time_as_a_string():
    frame = json.loads(ACCOUNT_UPDATE)
    frame["E"] = "1795263300123"
    ev = one(json.dumps(frame).encode())
    assert ev.event_ms == 1795263300123


def test_account_update_lists_every_changed_position_and_skips_hedge_legs():
    frame = json.loads(ACCOUNT_UPDATE)
    p = frame["a"]["P"][0]
    frame["a"]["P"] = [p, {**p, "s": "ETHUSDT", "pa": "-1.5", "ep": "3000.5"},
                       {**p, "s": "SOLUSDT", "pa": "2", "ps": "LONG"}]
    events = parse_frame(json.dumps(frame), RECV)
    assert [(e.symbol, e.amount, e.entry_price) for e in events] == [
        ("BTCUSDT", D(0), D(0)), ("ETHUSDT", D("-1.5"), D("3000.5"))]


# --------------------------------------------------------------------------- wrappers


def test_combined_stream_wrapper_is_unwrapped():
    ev = one(json.dumps({"stream": "btcusdt@markPrice@1s", "data": MARK}))
    assert isinstance(ev, MarkPrice) and ev.price == D("60012.3")


def test_subscribe_acknowledgement_yields_no_events():
    assert parse_frame('{"result":null,"id":1}', RECV) == []


def test_events_posguard_does_not_use_yield_no_events():
    assert parse_frame('{"e":"TRADE_LITE","E":1,"s":"BTCUSDT"}', RECV) == []


def test_listen_key_expired_raises_listen_key_expired():
    with pytest.raises(UserStreamExpired, match="abc123"):
        parse_frame('{"e":"listenKeyExpired","E":1795263300123,"listenKey":"abc123"}', RECV)


# --------------------------------------------------------------------------- malformed


def _mutate(sample: str, path: tuple, value=None, delete: bool = False) -> str:
    d = json.loads(sample)
    target = d
    for k in path[:-1]:
        target = target[k]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(d)


MALFORMED = {
    "not json": "{not json",
    "truncated": ORDER_TRADE_UPDATE[:80],
    "invalid utf-8": b"\xff\xfe{",
    "a json array": "[1, 2]",
    "a json string": '"hello"',
    "no event type": '{"E": 1}',
    "account: no a": _mutate(ACCOUNT_UPDATE, ("a",), delete=True),
    "account: a is a list": _mutate(ACCOUNT_UPDATE, ("a",), []),
    "account: position not an object": _mutate(ACCOUNT_UPDATE, ("a", "P"), [1]),
    "account: no pa": _mutate(ACCOUNT_UPDATE, ("a", "P", 0, "pa"), delete=True),
    "account: pa not a number": _mutate(ACCOUNT_UPDATE, ("a", "P", 0, "pa"), "abc"),
    "account: pa NaN": _mutate(ACCOUNT_UPDATE, ("a", "P", 0, "pa"), "NaN"),
    "account: empty symbol": _mutate(ACCOUNT_UPDATE, ("a", "P", 0, "s"), ""),
    "account: no E": _mutate(ACCOUNT_UPDATE, ("E",), delete=True),
    "account: E not a number": _mutate(ACCOUNT_UPDATE, ("E",), "soon"),
    "order: no o": _mutate(ORDER_TRADE_UPDATE, ("o",), delete=True),
    "order: o is a string": _mutate(ORDER_TRADE_UPDATE, ("o",), "x"),
    "order: no order id": _mutate(ORDER_TRADE_UPDATE, ("o", "i"), delete=True),
    "order: no status": _mutate(ORDER_TRADE_UPDATE, ("o", "X"), delete=True),
    "order: cum qty a list": _mutate(ORDER_TRADE_UPDATE, ("o", "z"), [1]),
    "order: avg price Infinity": _mutate(ORDER_TRADE_UPDATE, ("o", "ap"), "Infinity"),
    "order: symbol a number": _mutate(ORDER_TRADE_UPDATE, ("o", "s"), 5),
    "algo: no caid": _mutate(ALGO_UPDATE, ("o", "caid"), delete=True),
    "algo: trigger not a number": _mutate(ALGO_UPDATE, ("o", "tp"), "6e4x"),
    "mark: no price": json.dumps({k: v for k, v in MARK.items() if k != "p"}),
    "mark: price NaN": json.dumps({**MARK, "p": "NaN"}),
    "mark: bare NaN literal": json.dumps(MARK).replace('"60012.3"', "NaN"),
    "mark: E Infinity literal": json.dumps(MARK).replace("1795263300500", "Infinity"),
    "mark: E NaN literal": json.dumps(MARK).replace("1795263300500", "NaN"),
    "wrapper around a list": json.dumps({"stream": "x", "data": [1]}),
}


@pytest.mark.parametrize("raw", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_frames_raise_frame_error(raw):
    with pytest.raises(FrameError):
        parse_frame(raw, RECV)
