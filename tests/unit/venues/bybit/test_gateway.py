"""Gateway (venues/bybit/gateway.py) over a scripted ccxt.bybit (fake_client.py): the v5
bodies each operation sends (protocol/bybit-linear.md, Bybit's order/create-order.mdx,
amend-order.mdx, position/trading-stop.mdx), what the replies become, placements sent once,
reads retried, and each call's rate-limit report."""

from __future__ import annotations

import json
from decimal import Decimal

import ccxt
import pytest

from tests.unit.venues.bybit.fake_client import FakeBybit, ok
from venue.errors import FailureKind
from venue.interface import ExchangeError
from venue.requests import (
    AmendStop,
    CancelStop,
    FetchAccount,
    FetchLimits,
    FetchPositions,
    FetchSymbol,
    LookupOrder,
    PlaceMarket,
    PlaceStop,
    StopRef,
)
from venue.vocab import OrderKind, OrderStatus
from venues.bybit.gateway import Gateway

D = Decimal
STOP = PlaceStop("BTCUSDT", "SELL", D("0.010"), "pg-3-BTCUSDT-sl-2", "STOP_MARKET", D("58800"),
                 "MARK_PRICE")
TRAIL = PlaceStop("BTCUSDT", "SELL", D("0.010"), "pg-3-BTCUSDT-tr-3", "TRAILING_STOP_MARKET",
                  None, "MARK_PRICE", callback_rate_pct=D("1.5"), activate_price=D("61000"))
CLOSE = PlaceMarket("BTCUSDT", "SELL", D("0.010"), "pg-3-BTCUSDT-cl-4", reduce_only=True)
ACK = ok({"orderId": "2acea12b-1", "orderLinkId": "pg-3-BTCUSDT-sl-2"})
ROW = {"symbol": "BTCUSDT", "orderId": "2acea12b-1", "orderLinkId": "pg-3-BTCUSDT-sl-2",
       "side": "Sell", "orderType": "Market", "qty": "0.010", "orderStatus": "Untriggered",
       "stopOrderType": "Stop", "triggerPrice": "58800.0", "reduceOnly": True,
       "closeOnTrigger": True, "cumExecQty": "0", "avgPrice": "", "updatedTime": "5"}
POS = {"symbol": "BTCUSDT", "side": "Buy", "size": "0.010", "avgPrice": "60000",
       "markPrice": "60100", "positionIdx": 0}


def gateway(client: FakeBybit, sleeps: list[float] | None = None) -> Gateway:
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return Gateway(client, sleep=record, now_ms=lambda: 1_000)  # type: ignore[arg-type]


def failure_of(gw: Gateway, op: object) -> ExchangeError:
    gw.begin_call()
    with pytest.raises(ExchangeError) as caught:
        gw.execute(op)
    return caught.value


def bybit_error(code: int, msg: str) -> Exception:
    body = json.dumps({"retCode": code, "retMsg": msg, "result": {}})
    with pytest.raises(ccxt.BaseError) as caught:
        ccxt.bybit().handle_errors(200, "OK", "u", "POST", {}, body, json.loads(body), {}, "")
    return caught.value


# --------------------------------------------------------------------------- placements


def test_a_stop_is_a_reduce_only_conditional_market_order_with_our_link_id():
    client = FakeBybit().on("privatePostV5OrderCreate", ACK)

    info = gateway(client).execute(STOP)

    assert client.names() == ["privatePostV5OrderCreate"]
    assert client.body(0) == {
        "category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market",
        "qty": "0.010", "orderLinkId": "pg-3-BTCUSDT-sl-2", "triggerPrice": "58800",
        "triggerDirection": 2, "triggerBy": "MarkPrice", "reduceOnly": True,
        "closeOnTrigger": True, "positionIdx": 0}
    assert (info.order_id, info.client_id, info.order_type, info.status, info.algo) == \
        ("2acea12b-1", "pg-3-BTCUSDT-sl-2", OrderKind.STOP, OrderStatus.NEW, True)
    assert info.trigger_price == D("58800") and info.qty == D("0.010")


def test_a_short_positions_stop_buys_when_the_last_price_rises():
    client = FakeBybit().on("privatePostV5OrderCreate", ACK)
    op = PlaceStop("BTCUSDT", "BUY", D("1"), "c", "STOP_MARKET", D("61000.5"), "CONTRACT_PRICE")

    gateway(client).execute(op)

    body = client.body(0)
    assert (body["side"], body["triggerDirection"], body["triggerBy"], body["triggerPrice"]) \
        == ("Buy", 1, "LastPrice", "61000.5")


@pytest.mark.parametrize("error", [ccxt.RequestTimeout("bybit POST timed out"),
                                   ccxt.NetworkError("bybit connection reset")])
def test_a_placement_that_may_have_landed_is_sent_once_and_is_an_unknown_outcome(error):
    client = FakeBybit().on("privatePostV5OrderCreate", error)
    sleeps: list[float] = []

    err = failure_of(gateway(client, sleeps), STOP)

    assert err.failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert client.names() == ["privatePostV5OrderCreate"] and sleeps == []
    assert isinstance(err.__cause__, ccxt.BaseError)


def test_a_stop_past_the_price_would_trigger():
    client = FakeBybit().on("privatePostV5OrderCreate", bybit_error(
        110093, "expect Falling, but trigger_price[61000] >= current[60000]"))

    assert failure_of(gateway(client), STOP).failure.kind is FailureKind.WOULD_TRIGGER


def test_a_market_close_is_read_back_for_its_fill():
    filled = {**ROW, "orderLinkId": CLOSE.client_id, "stopOrderType": "", "triggerPrice": "0",
              "orderStatus": "Filled", "cumExecQty": "0.010", "avgPrice": "60010.5"}
    client = (FakeBybit().on("privatePostV5OrderCreate", ACK)
              .on("privateGetV5OrderRealtime", ok({"list": [filled]})))

    info = gateway(client).execute(CLOSE)

    assert client.body(0) == {"category": "linear", "symbol": "BTCUSDT", "side": "Sell",
                              "orderType": "Market", "qty": "0.010",
                              "orderLinkId": CLOSE.client_id, "reduceOnly": True,
                              "positionIdx": 0}
    assert client.body(1) == {"category": "linear", "symbol": "BTCUSDT",
                              "orderLinkId": CLOSE.client_id}
    assert (info.status, info.filled_qty, info.avg_price, info.algo) == \
        (OrderStatus.FILLED, D("0.010"), D("60010.5"), False)


def test_a_market_order_whose_read_back_fails_is_the_acknowledged_new_order():
    client = (FakeBybit().on("privatePostV5OrderCreate", ACK)
              .on("privateGetV5OrderRealtime", bybit_error(10005, "Permission denied")))

    info = gateway(client).execute(CLOSE)

    assert (info.status, info.filled_qty, info.order_id) == (OrderStatus.NEW, 0, "2acea12b-1")


def test_a_native_trailing_stop_is_the_position_attached_one_at_a_fixed_distance():
    system = {**ROW, "orderId": "ts-9", "orderLinkId": "", "stopOrderType": "TrailingStop",
              "triggerPrice": "61000"}
    client = (FakeBybit().on("privatePostV5PositionTradingStop", ok({}))
              .on("privateGetV5OrderRealtime", ok({"list": [ROW, system]})))

    info = gateway(client).execute(TRAIL)

    # 61000 * 1.5 % = 915.0, a whole number of 0.10 ticks
    assert client.body(0) == {"category": "linear", "symbol": "BTCUSDT", "tpslMode": "Full",
                              "positionIdx": 0, "trailingStop": "915.0",
                              "activePrice": "61000"}
    assert (info.order_id, info.client_id, info.order_type, info.status) == \
        ("ts-9", TRAIL.client_id, OrderKind.TRAILING, OrderStatus.NEW)
    assert (info.callback_rate_pct, info.activate_price) == (D("1.5"), D("61000"))


def test_a_trailing_stop_without_activation_trails_from_the_mark():
    op = PlaceStop("BTCUSDT", "SELL", D("0.010"), "tr", "TRAILING_STOP_MARKET", None,
                   "MARK_PRICE", callback_rate_pct=D("0.33"))
    client = (FakeBybit().on("privateGetV5PositionList", ok({"list": [POS]}))
              .on("privatePostV5PositionTradingStop", ok({}))
              .on("privateGetV5OrderRealtime", ok({"list": []})))

    gateway(client).execute(op)

    # 60100 * 0.33 % = 198.33 -> 198.3 (nearest tick)
    assert client.body(1)["trailingStop"] == "198.3" and "activePrice" not in client.body(1)


def test_not_modified_is_the_trailing_stop_already_resting_as_asked():
    # A re-send after an unknown outcome (same distance and activation): Bybit answers 34040;
    # the position's trailing stop is the one asked for, so the placement stands.
    system = {**ROW, "orderId": "ts-9", "orderLinkId": "", "stopOrderType": "TrailingStop",
              "triggerPrice": "61000"}
    client = (FakeBybit().on("privatePostV5PositionTradingStop",
                             bybit_error(34040, "not modified"))
              .on("privateGetV5OrderRealtime", ok({"list": [ROW, system]})))

    info = gateway(client).execute(TRAIL)

    assert (info.order_id, info.client_id, info.order_type) == \
        ("ts-9", TRAIL.client_id, OrderKind.TRAILING)
    assert client.names() == ["privatePostV5PositionTradingStop", "privateGetV5OrderRealtime"]


def test_not_modified_without_a_trailing_stop_resting_is_a_refusal():
    client = (FakeBybit().on("privatePostV5PositionTradingStop",
                             bybit_error(34040, "not modified"))
              .on("privateGetV5OrderRealtime", ok({"list": [ROW]})))

    err = failure_of(gateway(client), TRAIL)

    assert (err.failure.kind, err.failure.code) == (FailureKind.REJECTED, 34040)


def test_a_trading_stop_timeout_is_not_retried():
    client = FakeBybit().on("privatePostV5PositionTradingStop", ccxt.RequestTimeout("t"))

    err = failure_of(gateway(client), TRAIL)

    assert err.failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert client.names() == ["privatePostV5PositionTradingStop"]


# --------------------------------------------------------------------------- amend, cancel


def test_an_amend_moves_the_trigger_of_the_resting_order_by_its_id():
    client = FakeBybit().on("privatePostV5OrderAmend", ACK)
    op = AmendStop("BTCUSDT", "2acea12b-1", "pg-3-BTCUSDT-sl-2", D("59100.0"), D("0.020"))

    info = gateway(client).execute(op)

    assert client.body(0) == {"category": "linear", "symbol": "BTCUSDT",
                              "triggerPrice": "59100.0", "orderId": "2acea12b-1",
                              "qty": "0.020"}
    assert (info.order_id, info.client_id, info.status, info.trigger_price, info.qty,
            info.algo) == ("2acea12b-1", op.client_id, OrderStatus.NEW, D("59100.0"),
                           D("0.020"), True)


def test_an_amend_without_the_exchange_id_names_the_link_id():
    client = FakeBybit().on("privatePostV5OrderAmend", ACK)

    gateway(client).execute(AmendStop("BTCUSDT", None, "pg-3-BTCUSDT-sl-2", D("59100")))

    assert client.body(0) == {"category": "linear", "symbol": "BTCUSDT",
                              "triggerPrice": "59100", "orderLinkId": "pg-3-BTCUSDT-sl-2"}


def test_an_amend_of_a_stop_that_no_longer_rests_is_not_found_and_a_timeout_unknown():
    gone = FakeBybit().on("privatePostV5OrderAmend", bybit_error(110001, "Order does not exist"))
    lost = FakeBybit().on("privatePostV5OrderAmend", ccxt.RequestTimeout("t"))
    op = AmendStop("BTCUSDT", "2acea12b-1", "c", D("59100"))

    assert failure_of(gateway(gone), op).failure.kind is FailureKind.NOT_FOUND
    assert failure_of(gateway(lost), op).failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert lost.names() == ["privatePostV5OrderAmend"]


def test_a_cancel_by_id_and_a_cancel_of_what_is_gone():
    done = FakeBybit().on("privatePostV5OrderCancel", ACK)
    gone = FakeBybit().on("privatePostV5OrderCancel", bybit_error(110001, "too late"))

    info = gateway(done).execute(CancelStop("BTCUSDT", "2acea12b-1", "pg-3-BTCUSDT-sl-2"))

    assert done.body(0) == {"category": "linear", "symbol": "BTCUSDT", "orderId": "2acea12b-1"}
    assert info is not None and info.status == OrderStatus.CANCELED
    assert gateway(gone).execute(CancelStop("BTCUSDT", None, "c")) is None
    assert gone.body(0)["orderLinkId"] == "c"


# --------------------------------------------------------------------------- reads


def test_a_lookup_reads_realtime_then_history_by_link_id():
    done = {**ROW, "orderStatus": "Deactivated"}
    client = (FakeBybit().on("privateGetV5OrderRealtime", ok({"list": []}))
              .on("privateGetV5OrderHistory", ok({"list": [done]})))

    info = gateway(client).execute(LookupOrder("BTCUSDT", "pg-3-BTCUSDT-sl-2", algo=True))

    assert client.names() == ["privateGetV5OrderRealtime", "privateGetV5OrderHistory"]
    assert client.body(1)["orderLinkId"] == "pg-3-BTCUSDT-sl-2"
    assert info is not None and (info.status, info.trigger_price) == \
        (OrderStatus.CANCELED, D("58800.0"))


def test_a_lookup_of_an_order_nobody_knows_is_none():
    client = (FakeBybit().on("privateGetV5OrderRealtime", ok({"list": []}))
              .on("privateGetV5OrderHistory", ok({"list": []})))

    assert gateway(client).execute(LookupOrder("BTCUSDT", "c", algo=True)) is None


def test_a_symbols_snapshot_splits_plain_and_conditional_orders_and_drops_closed_ones():
    plain = {**ROW, "orderId": "p1", "stopOrderType": "", "triggerPrice": "0",
             "orderStatus": "New", "orderType": "Limit"}
    closed = {**ROW, "orderId": "x", "orderStatus": "Filled"}
    client = (FakeBybit().on("privateGetV5PositionList", ok({"list": [POS]}))
              .on("privateGetV5OrderRealtime", ok({"list": [ROW, plain, closed]})))

    snap = gateway(client).execute(FetchSymbol("BTCUSDT"))

    assert (snap.amount, snap.entry_price, snap.mark_price) == \
        (D("0.010"), D("60000"), D("60100"))
    assert [o.order_id for o in snap.open_orders] == ["p1"]
    assert [o.order_id for o in snap.open_algo_orders] == ["2acea12b-1"]
    assert snap.rules is not None and (snap.rules.tick_size, snap.rules.step_size) == \
        (D("0.10"), D("0.001"))


def test_a_flat_symbol_explains_its_stops_from_the_order_history():
    flat = {**POS, "side": "", "size": "0", "avgPrice": "0"}
    fired = {**ROW, "orderStatus": "Filled", "cumExecQty": "0.010", "avgPrice": "58790.5",
             "cumExecFee": "0.32", "updatedTime": "1795263300120"}
    client = (FakeBybit().on("privateGetV5PositionList", ok({"list": [flat]}))
              .on("privateGetV5OrderRealtime", ok({"list": []}))
              .on("privateGetV5OrderRealtime", ok({"list": [fired]})))

    snap = gateway(client).execute(
        FetchSymbol("BTCUSDT", (StopRef("pg-3-BTCUSDT-sl-2", "2acea12b-1", "STOP_MARKET"),)))

    [outcome] = snap.stop_history
    assert snap.amount == 0 and outcome.found and outcome.status == OrderStatus.FINISHED
    assert (outcome.fill_qty, outcome.fill_price, outcome.commission, outcome.fill_time_ms) \
        == (D("0.010"), D("58790.5"), D("0.32"), 1795263300120)


def test_positions_follow_the_cursor_and_keep_only_non_flat_one_way_rows():
    short = {**POS, "symbol": "ETHUSDT", "side": "Sell", "size": "2", "avgPrice": "3000"}
    flat = {**POS, "symbol": "SOLUSDT", "side": "", "size": "0"}
    client = (FakeBybit()
              .on("privateGetV5PositionList", ok({"list": [POS], "nextPageCursor": "p2"}))
              .on("privateGetV5PositionList", ok({"list": [short, flat],
                                                  "nextPageCursor": ""})))

    held = gateway(client).execute(FetchPositions())

    assert [(p.symbol, p.amount) for p in held] == [("BTCUSDT", D("0.010")),
                                                    ("ETHUSDT", D("-2"))]
    assert client.body(0) == {"category": "linear", "settleCoin": "USDT", "limit": 200}
    assert client.body(1)["cursor"] == "p2"


def test_the_account_sweep_lists_every_open_conditional_order():
    plain = {**ROW, "orderId": "p1", "stopOrderType": "", "triggerPrice": "0",
             "orderStatus": "New"}
    client = (FakeBybit().on("privateGetV5PositionList", ok({"list": [POS]}))
              .on("privateGetV5OrderRealtime", ok({"list": [ROW, plain]})))

    snap = gateway(client).execute(FetchAccount())

    assert [o.order_id for o in snap.algo_orders] == ["2acea12b-1"]
    assert snap.fetched_ms == 1_000 and len(snap.positions) == 1


def test_bybit_publishes_no_limits_to_read():
    client = FakeBybit()

    limits = gateway(client).execute(FetchLimits())

    assert client.calls == [] and limits.orders_per_10s is None


def test_a_read_is_retried_with_backoff_but_never_into_a_10006():
    flaky = (FakeBybit().on("privateGetV5PositionList", ccxt.NetworkError("reset"))
             .on("privateGetV5PositionList", ok({"list": []})))
    limited = FakeBybit().on("privateGetV5PositionList", bybit_error(10006, "Too many visits!"),
                             {"X-Bapi-Limit-Reset-Timestamp": "1800"})
    sleeps: list[float] = []

    assert gateway(flaky, sleeps).execute(FetchPositions()) == ()
    gw = gateway(limited)
    err = failure_of(gw, FetchPositions())

    assert len(sleeps) == 1 and len(limited.calls) == 1
    usage = gw.rate_usage()
    assert err.failure.http_status == 429
    assert usage is not None and (usage.http_status, usage.code) == (429, 10006)


def test_an_order_calls_headers_report_the_endpoints_use_this_second():
    client = FakeBybit().on("privatePostV5OrderCreate", ACK,
                            {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "6"})
    gw = gateway(client)
    gw.begin_call()

    gw.execute(STOP)

    usage = gw.rate_usage()
    assert usage is not None and usage.order_count_10s == 4


def test_an_unknown_symbol_is_refused_before_any_call():
    client = FakeBybit()

    err = failure_of(gateway(client), PlaceStop("XYZUSDT", "SELL", D("1"), "c", "STOP_MARKET",
                                                 D("1"), "MARK_PRICE"))

    assert err.failure.kind is FailureKind.REJECTED and client.calls == []
