"""Stream names, the request protocol and the /private query, without a server."""

from __future__ import annotations

import json

import pytest
from multidict import MultiDict

from system.sim import streamnames, wscontrol
from system.sim.user_streams import bindings


@pytest.mark.parametrize("name,category,shown", [
    ("btcusdt@markPrice@1s", "market", "btcusdt@markPrice@1s"),
    ("BTCUSDT@markprice", "market", "btcusdt@markPrice"),
    ("!markPrice@arr@1s", "market", "!markPrice@arr@1s"),
    ("btcusdt@aggTrade", "market", "btcusdt@aggTrade"),
    ("btcusdt_perpetual@continuousKline_1m", "market", "btcusdt_perpetual@continuousKline_1m"),
    ("!contractInfo", "market", "!contractInfo"),
    ("btcusdt@bookTicker", "public", "btcusdt@bookTicker"),
    ("btcusdt@depth20@100ms", "public", "btcusdt@depth20@100ms"),
    ("!bookTicker", "public", "!bookTicker"),
])
def test_sdk_stream_names_parse_to_their_entry_point_and_binances_spelling(
        name, category, shown):
    n = streamnames.parse(name)

    assert (n.category, n.shown, n.key) == (category, shown, name.lower())


@pytest.mark.parametrize("name", ["not a stream", "btcusdt@foo", "btcusdt@markPrice@3s",
                                  "@markPrice", "", 7, None])
def test_anything_else_is_an_invalid_stream(name):
    assert streamnames.parse(name) is None


def test_only_mark_price_streams_have_data_and_arrays_have_no_symbol():
    names = {n: streamnames.parse(n) for n in ("ethusdt@markPrice", "!markPrice@arr",
                                                "ethusdt@aggTrade")}

    assert [v.is_mark_price for v in names.values()] == [True, True, False]
    assert [v.symbol for v in names.values()] == ["ETHUSDT", None, "ETHUSDT"]


class _Subs:
    combined = False

    def __init__(self):
        self.items: list = []

    def resolve(self, params):
        return None if "bad" in params else list(params)

    def add(self, items):
        self.items += items

    def remove(self, items):
        self.items = [i for i in self.items if i not in items]

    def listed(self):
        return list(self.items)


def _ask(subs, req) -> dict:
    return wscontrol.answer(req if isinstance(req, str) else json.dumps(req), subs)


def test_subscribe_list_unsubscribe_and_the_combined_property():
    s = _Subs()

    assert _ask(s, {"method": "SUBSCRIBE", "params": ["a", "b"], "id": 1}) == {
        "result": None, "id": 1}
    assert _ask(s, {"method": "UNSUBSCRIBE", "params": ["a"], "id": 2})["result"] is None
    assert _ask(s, {"method": "LIST_SUBSCRIPTIONS", "id": 3}) == {"result": ["b"], "id": 3}
    assert _ask(s, {"method": "SET_PROPERTY", "params": ["combined", True], "id": 4}) == {
        "result": None, "id": 4}
    assert s.combined is True
    assert _ask(s, {"method": "GET_PROPERTY", "params": ["combined"], "id": "x"}) == {
        "result": True, "id": "x"}


@pytest.mark.parametrize("req,code,msg", [
    ("{oops", 3, "Invalid JSON: expected value at line 1 column 2"),
    ({"params": [], "id": 1}, 2, "Invalid request: missing field `method`"),
    ({"method": "subscribe", "id": 1}, 2, "Invalid request: unknown variant `subscribe`"),
    ({"method": "SUBSCRIBE", "params": ["bad"], "id": 1}, 2, "Invalid request: invalid stream"),
    ({"method": "SUBSCRIBE", "params": "a", "id": 1}, 2, "Invalid request: invalid stream"),
    ({"method": "SUBSCRIBE", "params": [], "id": 1.5}, 2,
     "Invalid request: request ID must be an unsigned integer"),
    ({"method": "SUBSCRIBE", "params": [], "id": True}, 2,
     "Invalid request: request ID must be an unsigned integer"),
    ({"method": "GET_PROPERTY", "params": ["speed"], "id": 1}, 0, "Unknown property"),
    ({"method": "SET_PROPERTY", "params": ["combined", 1], "id": 1}, 1,
     "Invalid value type: expected Boolean"),
    ({"method": "SET_PROPERTY", "params": [], "id": 1}, 2,
     "Invalid request: property name must be a string"),
])
def test_bad_requests_get_binances_error_codes(req, code, msg):
    reply = _ask(_Subs(), req)

    assert reply["error"]["code"] == code and reply["error"]["msg"].startswith(msg), reply


def test_private_query_pairs_each_listen_key_with_its_events():
    q = MultiDict([("listenKey", "K1"), ("events", "ORDER_TRADE_UPDATE/ACCOUNT_UPDATE"),
                   ("listenKey", "K2"), ("events", ""), ("listenKey", "K3")])

    assert bindings(q) == {"K1": frozenset({"ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"}),
                           "K2": None, "K3": None}
    assert bindings(MultiDict()) == {}
