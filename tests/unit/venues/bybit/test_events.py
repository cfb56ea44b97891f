"""Bybit stream frames -> typed events (venues/bybit/events.py), from the frames of
protocol/bybit-linear.md (Bybit's websocket/private/*.mdx and public/ticker.mdx)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from venue.events import AlgoUpdate, MarkPrice, OrderUpdate, PositionUpdate
from venue.interface import FrameError, StreamAuthError
from venue.vocab import ExecType, OrderKind, OrderStatus
from venues.bybit.events import parse_frame

D = Decimal

POSITION = {"id": "100307601", "topic": "position", "creationTime": 1795263300123, "data": [{
    "category": "linear", "symbol": "BTCUSDT", "side": "Buy", "size": "0.010", "positionIdx": 0,
    "entryPrice": "60000", "markPrice": "60100", "positionValue": "600", "leverage": "10",
    "unrealisedPnl": "1", "curRealisedPnl": "-0.33", "positionIM": "60", "positionMM": "3",
    "liqPrice": "", "takeProfit": "0", "stopLoss": "59000", "trailingStop": "0",
    "tpslMode": "Full", "positionStatus": "Normal", "createdTime": "1694402496913",
    "updatedTime": "1795263300120", "seq": 8327597863}]}

STOP_ROW = {"category": "linear", "symbol": "BTCUSDT", "orderId": "2acea12b-1",
            "orderLinkId": "sl-1", "side": "Sell", "orderType": "Market", "price": "56050.0",
            "qty": "0.010", "orderStatus": "Filled", "stopOrderType": "Stop",
            "createType": "CreateByStopOrder", "triggerPrice": "59000.0",
            "triggerBy": "MarkPrice", "triggerDirection": 2, "reduceOnly": True,
            "closeOnTrigger": True, "avgPrice": "58990.0", "cumExecQty": "0.010",
            "cumExecValue": "589.9", "leavesQty": "0", "timeInForce": "IOC",
            "cancelType": "UNKNOWN", "rejectReason": "EC_NoError", "positionIdx": 0,
            "tpslMode": "", "cumFeeDetail": {"USDT": "0.32"}, "createdTime": "1795263000000",
            "updatedTime": "1795263300120"}


def order_frame(**changes: object) -> str:
    return json.dumps({"id": "5923240c", "topic": "order", "creationTime": 1795263300124,
                       "data": [{**STOP_ROW, **changes}]})


def test_a_long_position_is_a_positive_amount_with_its_entry_and_times():
    [ev] = parse_frame(json.dumps(POSITION), received_ms=5, received_mono=1.5)

    assert isinstance(ev, PositionUpdate)
    assert (ev.symbol, ev.amount, ev.entry_price) == ("BTCUSDT", D("0.010"), D("60000"))
    assert (ev.event_ms, ev.tx_ms, ev.engine_ms, ev.received_mono) == \
        (1795263300123, 1795263300120, 5, 1.5)


def test_a_short_is_negative_and_a_flat_row_is_zero():
    short = {**POSITION, "data": [{**POSITION["data"][0], "side": "Sell"}]}
    flat = {**POSITION, "data": [{**POSITION["data"][0], "side": "", "size": "0",
                                  "entryPrice": "0"}]}

    assert parse_frame(json.dumps(short))[0].amount == D("-0.010")
    assert parse_frame(json.dumps(flat))[0].amount == 0


def test_rows_of_other_categories_and_hedge_legs_are_not_posguards():
    rows = [{**POSITION["data"][0], "category": "inverse"},
            {**POSITION["data"][0], "positionIdx": 1}]

    assert parse_frame(json.dumps({**POSITION, "data": rows})) == []


def test_a_conditional_stop_resting_is_an_algo_update_new():
    [ev] = parse_frame(order_frame(orderStatus="Untriggered", cumExecQty="0", avgPrice="",
                                   price="0"))

    assert isinstance(ev, AlgoUpdate)
    assert (ev.client_id, ev.algo_id, ev.order_type, ev.side, ev.status) == \
        ("sl-1", "2acea12b-1", OrderKind.STOP, "SELL", OrderStatus.NEW)
    assert (ev.trigger_price, ev.qty, ev.close_position) == (D("59000.0"), D("0.010"), False)


@pytest.mark.parametrize(("bybit", "engine"), [
    ("Untriggered", OrderStatus.NEW), ("New", OrderStatus.TRIGGERED),
    ("Triggered", OrderStatus.TRIGGERED), ("Deactivated", OrderStatus.CANCELED),
    ("Cancelled", OrderStatus.CANCELED), ("Rejected", OrderStatus.REJECTED)])
def test_conditional_statuses_map_onto_the_engines(bybit, engine):
    [ev] = parse_frame(order_frame(orderStatus=bybit, cumExecQty="0"))

    assert isinstance(ev, AlgoUpdate) and ev.status == engine


def test_a_stop_that_filled_gives_its_fill_then_its_algo_update_finished():
    fill, done = parse_frame(order_frame())

    assert isinstance(fill, OrderUpdate) and isinstance(done, AlgoUpdate)
    assert (fill.client_id, fill.order_type, fill.exec_type, fill.status) == \
        ("sl-1", OrderKind.STOP, ExecType.TRADE, OrderStatus.FILLED)
    assert (fill.cum_qty, fill.avg_price, fill.reduce_only) == (D("0.010"), D("58990.0"), True)
    assert done.status == OrderStatus.FINISHED


def test_the_attached_trailing_stops_system_order_is_a_trailing_algo_order():
    [ev] = parse_frame(order_frame(orderStatus="Untriggered", stopOrderType="TrailingStop",
                                   orderLinkId="", cumExecQty="0", triggerPrice="61000"))

    assert isinstance(ev, AlgoUpdate)
    assert (ev.order_type, ev.status, ev.trigger_price) == \
        (OrderKind.TRAILING, OrderStatus.NEW, D("61000"))


def test_a_plain_market_order_that_filled_is_an_order_update_trade():
    [ev] = parse_frame(order_frame(stopOrderType="", triggerPrice="0", orderLinkId="op-1",
                                   side="Buy", reduceOnly=False, closeOnTrigger=False))

    assert isinstance(ev, OrderUpdate)
    assert (ev.order_type, ev.side, ev.exec_type, ev.status, ev.cum_qty) == \
        (OrderKind.MARKET, "BUY", ExecType.TRADE, OrderStatus.FILLED, D("0.010"))


def test_a_plain_order_cancelled_unfilled_is_canceled_not_a_trade():
    [ev] = parse_frame(order_frame(stopOrderType="UNKNOWN", triggerPrice="", cumExecQty="0",
                                   orderStatus="Cancelled", avgPrice=""))

    assert (ev.exec_type, ev.status, ev.cum_qty) == (ExecType.CANCELED, OrderStatus.CANCELED, 0)


def test_execution_and_wallet_pushes_carry_nothing_the_engine_reads():
    assert parse_frame('{"topic":"execution","id":"1","creationTime":1,"data":[{}]}') == []
    assert parse_frame('{"topic":"wallet","id":"1","creationTime":1,"data":[{}]}') == []


def test_a_ticker_snapshot_and_a_delta_with_mark_price_are_mark_prices():
    snap = {"topic": "tickers.BTCUSDT", "type": "snapshot", "cs": 1, "ts": 1760325052630,
            "data": {"symbol": "BTCUSDT", "lastPrice": "66666.60", "markPrice": "66666.60",
                     "openInterestValue": "1"}}
    delta = {"topic": "tickers.BTCUSDT", "type": "delta", "cs": 2, "ts": 1760325052730,
             "data": {"symbol": "BTCUSDT", "markPrice": "66650.10"}}

    [a] = parse_frame(json.dumps(snap))
    [b] = parse_frame(json.dumps(delta))

    assert isinstance(a, MarkPrice) and (a.symbol, a.price, a.event_ms) == \
        ("BTCUSDT", D("66666.60"), 1760325052630)
    assert (b.price, b.event_ms) == (D("66650.10"), 1760325052730)


def test_a_delta_without_mark_price_leaves_it_unchanged():
    delta = {"topic": "tickers.BTCUSDT", "type": "delta", "cs": 2, "ts": 1,
             "data": {"symbol": "BTCUSDT", "lastPrice": "66650.10"}}

    assert parse_frame(json.dumps(delta)) == []


@pytest.mark.parametrize("frame", [
    '{"success":true,"ret_msg":"","op":"auth","conn_id":"cejreaspqfh3sjdnldmg-p"}',
    '{"success":true,"ret_msg":"","op":"subscribe","conn_id":"cejreassvfrsfvb9v1a0-2m"}',
    '{"req_id":"test","op":"pong","args":["1675418560633"],"conn_id":"cfcb4ocsvfriu23r3er0-1b"}',
    '{"success":true,"ret_msg":"pong","conn_id":"x","req_id":"","op":"ping"}',
])
def test_acknowledgements_and_pongs_are_no_events(frame):
    assert parse_frame(frame) == []


def test_an_auth_refusal_raises_stream_auth_error_with_the_venues_reason():
    with pytest.raises(StreamAuthError, match="Invalid apikey"):
        parse_frame('{"success":false,"ret_msg":"error:Invalid apikey","op":"auth",'
                    '"conn_id":"c"}')


def test_an_auth_refusal_echoing_the_request_is_an_auth_refusal_too():
    with pytest.raises(StreamAuthError, match="expired"):
        parse_frame('{"success":false,"ret_msg":"error:request expired",'
                    '"request":{"op":"auth","args":["k",1,"s"]}}')


def test_a_refused_subscription_is_a_frame_error_naming_the_reason():
    with pytest.raises(FrameError, match="unknown topic"):
        parse_frame('{"success":false,"ret_msg":"error:unknown topic","op":"subscribe"}')


@pytest.mark.parametrize("raw", [
    "not json", "[1]", '{"what":1}', '{"topic":"order","creationTime":1,"data":{}}',
    '{"topic":"position","creationTime":1,"data":[{"symbol":"BTCUSDT","side":"Buy"}]}',
    '{"topic":"position","creationTime":1,"data":[{"symbol":"BTCUSDT","side":"Up","size":"1"}]}',
    '{"topic":"order","creationTime":1,"data":[{"symbol":"BTCUSDT","orderStatus":"New"}]}',
    '{"topic":"tickers.BTCUSDT","type":"snapshot","ts":1,"data":{"symbol":"BTCUSDT"}}',
    '{"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"markPrice":"1e99"}}',
    '{"topic":"position","creationTime":1,"data":[{"positionIdx":"x"}]}',
])
def test_a_malformed_frame_is_a_frame_error(raw):
    with pytest.raises(FrameError):
        parse_frame(raw)


def test_the_orders_closed_pnl_rides_its_final_push_only():
    partial = order_frame(orderStatus="PartiallyFilled", cumExecQty="0.004", closedPnl="-4")
    final = order_frame(closedPnl="-10.1")

    fill, _ = parse_frame(partial)
    last, _ = parse_frame(final)

    assert (fill.exec_type, fill.status, fill.realized_pnl) == \
        (ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, 0)
    assert (last.status, last.realized_pnl) == (OrderStatus.FILLED, D("-10.1"))


def test_a_market_order_cancelled_after_a_partial_fill_reports_that_fill():
    [ev] = parse_frame(order_frame(stopOrderType="", triggerPrice="0", orderStatus="Cancelled",
                                   cumExecQty="0.004", closedPnl="-3.5"))

    assert (ev.exec_type, ev.status, ev.cum_qty, ev.realized_pnl) == \
        (ExecType.TRADE, OrderStatus.CANCELED, D("0.004"), D("-3.5"))


def test_the_filled_push_answering_a_cancel_that_came_too_late_counts_no_pnl_again():
    fill, _ = parse_frame(order_frame(closedPnl="-10.1", cancelType="CancelByUser",
                                      rejectReason="EC_OrigClOrdIDDoesNotExist"))

    assert fill.status == OrderStatus.FILLED and fill.realized_pnl == 0
