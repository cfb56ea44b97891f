"""Gateway (venues/binance/gateway.py) over a scripted ccxt client: the venue's rate-limit headers,
429/418 never retried into, exchangeInfo's limits, and the history of a stop that fired."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from actors.messages import (
    AccountLimits,
    FailureKind,
    FetchLimits,
    FetchSymbol,
    LookupOrder,
    StopRef,
    SymbolSnapshot,
)
from venue.interface import ExchangeError
from venues.binance.gateway import Gateway
from tests.fakes.ccxt_client import FakeClient

D = Decimal
STOP_ID, TRAIL_ID = "pg-3-BTCUSDT-sl-2", "pg-3-BTCUSDT-tr-3"
W = {"X-MBX-USED-WEIGHT-1M": "42"}


def gateway(client: FakeClient) -> Gateway:
    return Gateway(client, sleep=lambda s: None, now_ms=lambda: 1_000)  # type: ignore[arg-type]


def refusal(status: int, code: int) -> ccxt.DDoSProtection:
    return ccxt.DDoSProtection(f'binanceusdm {status} Too Many Requests '
                               f'{{"code":{code},"msg":"Too many requests."}}')


def flat_reads(client: FakeClient) -> FakeClient:
    """Position gone, nothing open: what a reconcile reads after the stop fired."""
    return (client.on("fetch_positions", [], W).on("fetch_open_orders", [], W)
            .on("fetch_open_orders", [], W))


def algo(status: str, child: str = "", algo_id: str = "4000000002",
         cid: str = STOP_ID, order_type: str = "STOP_MARKET") -> dict:
    return {"info": {"algoId": int(algo_id), "clientAlgoId": cid, "orderType": order_type,
                     "algoStatus": status, "actualOrderId": child, "symbol": "BTCUSDT"}}


def trade(price: str, qty: str, pnl: str, time_ms: int, fee: str = "0.03") -> dict:
    return {"info": {"symbol": "BTCUSDT", "orderId": 8389765999, "price": price, "qty": qty,
                     "realizedPnl": pnl, "commission": fee, "commissionAsset": "USDT",
                     "time": time_ms, "side": "SELL"}}


# --------------------------------------------------------------------------- rate limits


def test_a_calls_rate_usage_is_read_from_the_last_response_headers():
    client = FakeClient().on("fetch_order", {"info": {"clientOrderId": "x"}}, {
        "X-MBX-USED-WEIGHT-1M": "1200", "X-MBX-ORDER-COUNT-10S": "7",
        "X-MBX-ORDER-COUNT-1M": "31"})
    gw = gateway(client)

    gw.begin_call()
    gw.execute(LookupOrder("BTCUSDT", "x", algo=False))
    usage = gw.rate_usage()

    assert usage is not None
    assert (usage.used_weight_1m, usage.order_count_10s, usage.order_count_1m) == (1200, 7, 31)
    assert usage.http_status is None


def test_a_429_on_a_read_is_not_retried_and_its_retry_after_reaches_the_pool():
    client = FakeClient().on("fetch_order", refusal(429, -1003),
                             {"Retry-After": "4", "X-MBX-USED-WEIGHT-1M": "2400"})
    gw = gateway(client)

    gw.begin_call()
    with pytest.raises(ExchangeError) as raised:
        gw.execute(LookupOrder("BTCUSDT", "x", algo=False))
    usage = gw.rate_usage()

    assert client.names() == ["fetch_order"]  # one attempt: never continue into a 418
    assert raised.value.failure.kind is FailureKind.TEMPORARY
    assert raised.value.failure.retry_after_ms == 4000
    assert usage is not None and (usage.http_status, usage.code, usage.retry_after_ms) == (
        429, -1003, 4000)


def test_a_418_on_a_read_is_not_retried_either():
    client = FakeClient().on("fetch_order", refusal(418, -1003), {"Retry-After": "300"})
    gw = gateway(client)

    gw.begin_call()
    with pytest.raises(ExchangeError):
        gw.execute(LookupOrder("BTCUSDT", "x", algo=False))

    assert client.names() == ["fetch_order"]
    usage = gw.rate_usage()
    assert usage is not None and (usage.http_status, usage.retry_after_ms) == (418, 300_000)


def test_other_temporary_read_failures_are_still_retried_with_backoff():
    client = (FakeClient().on("fetch_order", ccxt.ExchangeNotAvailable("binanceusdm 503"))
              .on("fetch_order", {"info": {"clientOrderId": "x"}}, W))
    gw = gateway(client)

    gw.begin_call()
    gw.execute(LookupOrder("BTCUSDT", "x", algo=False))

    assert client.names() == ["fetch_order", "fetch_order"]


def test_headers_of_an_earlier_call_are_never_reported_for_a_call_that_got_no_response():
    client = (FakeClient().on("fetch_order", {"info": {}}, {"X-MBX-USED-WEIGHT-1M": "9"})
              .on("create_order", ccxt.RequestTimeout("binanceusdm POST timed out")))
    gw = gateway(client)
    gw.begin_call()
    gw.execute(LookupOrder("BTCUSDT", "x", algo=False))
    from actors.messages import PlaceMarket

    gw.begin_call()
    with pytest.raises(ExchangeError):
        gw.execute(PlaceMarket("BTCUSDT", "BUY", D("0.01"), "pg-3-BTCUSDT-op-1", False))

    assert gw.rate_usage() is None


def test_the_exchanges_published_limits_are_read_from_exchange_info():
    client = FakeClient().on("fapiPublicGetExchangeInfo", {"rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
         "limit": 2400},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300}]})

    limits = gateway(client).execute(FetchLimits())

    assert limits == AccountLimits(orders_per_10s=300, orders_per_min=1200,
                                   weight_per_min=2400)


def test_limits_of_other_intervals_are_ignored():
    client = FakeClient().on("fapiPublicGetExchangeInfo", {"rateLimits": [
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000}]})

    assert gateway(client).execute(FetchLimits()) == AccountLimits(None, None, None)


# --------------------------------------------------------------------------- stop history


def test_a_flat_symbol_with_a_stop_to_explain_reads_the_algo_order_and_its_childs_trades():
    # Arrange: the stop fired; its child market order filled in two trades
    client = flat_reads(FakeClient())
    client.on("fetch_order", algo("FINISHED", child="8389765999"), W)
    client.on("fetch_my_trades", [trade("58790.0", "0.004", "-4.84", 1_795_263_300_100),
                                  trade("58780.0", "0.006", "-7.32", 1_795_263_300_120)], W)
    op = FetchSymbol("BTCUSDT", explain=(StopRef(STOP_ID, "4000000002", "STOP_MARKET"),))
    # Act
    snap = gateway(client).execute(op)
    # Assert
    assert isinstance(snap, SymbolSnapshot) and snap.amount == 0
    (out,) = snap.stop_history
    assert (out.found, out.status, out.child_order_id) == (True, "FINISHED", "8389765999")
    assert out.fill_qty == D("0.010") and out.trades == 2
    assert out.fill_price == D("58784")  # (58790 * 0.004 + 58780 * 0.006) / 0.010
    assert out.realized_pnl == D("-12.16") and out.commission == D("0.06")
    assert out.commission_asset == "USDT" and out.fill_time_ms == 1_795_263_300_120
    _, fo_args = client.calls[3]
    assert fo_args == ("4000000002", "BTC/USDT:USDT", {"trigger": True})  # by algoId
    _, trades_args = client.calls[4]
    assert trades_args == ("BTC/USDT:USDT", None, None, {"orderId": "8389765999"})


def test_a_stop_whose_algo_id_is_unknown_is_looked_up_by_its_client_id():
    client = flat_reads(FakeClient()).on("fetch_order", algo("CANCELED"), W)

    snap = gateway(client).execute(FetchSymbol("BTCUSDT", explain=(
        StopRef(STOP_ID, None, "STOP_MARKET"),)))

    assert client.calls[3][1] == (None, "BTC/USDT:USDT", {"trigger": True,
                                                           "clientAlgoId": STOP_ID})
    (out,) = snap.stop_history
    assert (out.found, out.status, out.child_order_id, out.trades) == (
        True, "CANCELED", None, 0)
    assert "fetch_my_trades" not in client.names()


def test_a_stop_the_exchange_no_longer_knows_is_reported_not_found_without_a_price():
    client = flat_reads(FakeClient()).on(
        "fetch_order", ccxt.OrderNotFound('binanceusdm {"code":-2013,"msg":"Order does not '
                                          'exist."}'), W)

    snap = gateway(client).execute(FetchSymbol("BTCUSDT", explain=(
        StopRef(STOP_ID, "4000000002", "STOP_MARKET"),)))

    (out,) = snap.stop_history
    assert out.found is False and out.fill_price is None and out.error is None


def test_a_history_that_cannot_be_read_is_reported_as_such_and_the_snapshot_still_returns():
    client = flat_reads(FakeClient()).on(
        "fetch_order", ccxt.ExchangeNotAvailable("binanceusdm 503"), times=4)

    snap = gateway(client).execute(FetchSymbol("BTCUSDT", explain=(
        StopRef(STOP_ID, "4000000002", "STOP_MARKET"),)))

    (out,) = snap.stop_history
    assert out.found is False and out.error is not None and "503" in out.error


def test_a_429_while_reading_the_history_fails_the_fetch_so_the_reconcile_waits_and_retries():
    client = flat_reads(FakeClient()).on("fetch_order", refusal(429, -1003),
                                         {"Retry-After": "2"})

    with pytest.raises(ExchangeError) as raised:
        gateway(client).execute(FetchSymbol("BTCUSDT", explain=(
            StopRef(STOP_ID, "4000000002", "STOP_MARKET"),)))

    assert raised.value.failure.http_status == 429


def test_every_stop_named_is_looked_up_fixed_and_trailing():
    client = flat_reads(FakeClient())
    client.on("fetch_order", algo("EXPIRED"), W)
    client.on("fetch_order", algo("FINISHED", child="77", algo_id="4000000003", cid=TRAIL_ID,
                                  order_type="TRAILING_STOP_MARKET"), W)
    client.on("fetch_my_trades", [trade("61200.5", "0.010", "12.0", 5)], W)

    snap = gateway(client).execute(FetchSymbol("BTCUSDT", explain=(
        StopRef(STOP_ID, "4000000002", "STOP_MARKET"),
        StopRef(TRAIL_ID, "4000000003", "TRAILING_STOP_MARKET"))))

    assert [(o.client_id, o.status, o.fill_price) for o in snap.stop_history] == [
        (STOP_ID, "EXPIRED", None), (TRAIL_ID, "FINISHED", D("61200.5"))]


def test_no_history_is_read_while_the_position_is_still_open():
    client = (FakeClient().on("fetch_positions", [{"info": {
        "symbol": "BTCUSDT", "positionSide": "BOTH", "positionAmt": "0.010",
        "entryPrice": "60000", "markPrice": "60100"}}], W)
        .on("fetch_open_orders", [], W).on("fetch_open_orders", [], W))

    snap = gateway(client).execute(FetchSymbol("BTCUSDT", explain=(
        StopRef(STOP_ID, "4000000002", "STOP_MARKET"),)))

    assert snap.stop_history == () and "fetch_order" not in client.names()


def test_a_single_trades_price_is_kept_exactly_as_the_exchange_wrote_it():
    client = flat_reads(FakeClient())
    client.on("fetch_order", algo("FINISHED", child="9"), W)
    client.on("fetch_my_trades", [trade("58900.00", "0.010", "-11.0", 7)], W)

    snap = gateway(client).execute(FetchSymbol("BTCUSDT", explain=(
        StopRef(STOP_ID, "4000000002", "STOP_MARKET"),)))

    assert str(snap.stop_history[0].fill_price) == "58900.00"
