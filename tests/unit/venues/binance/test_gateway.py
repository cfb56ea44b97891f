"""Gateway (venues/binance/gateway.py) over a scripted ccxt client (tests/fakes/ccxt_client.py):
a placement is sent exactly once whatever happens, reads retry with jittered exponential
backoff, every ccxt error comes back in its remedy group, orders carry Binance's params, and
each call reports the venue's rate-limit counters."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from venue.errors import FailureKind, RateUsage
from venue.interface import ExchangeError
from venue.requests import CancelStop, FetchPositions, LookupOrder, PlaceMarket, PlaceStop
from venues.binance.gateway import Gateway
from tests.fakes.ccxt_client import FakeClient

D = Decimal
STOP = PlaceStop("BTCUSDT", "SELL", D("0.010"), "pg-3-BTCUSDT-sl-2", "STOP_MARKET", D("58800"),
                 "MARK_PRICE")
TRAIL = PlaceStop("BTCUSDT", "SELL", D("0.010"), "pg-3-BTCUSDT-tr-3", "TRAILING_STOP_MARKET",
                  None, "CONTRACT_PRICE", callback_rate_pct=D("1.5"), activate_price=D("61000"))
CLOSE = PlaceMarket("BTCUSDT", "SELL", D("0.010"), "pg-3-BTCUSDT-cl-4", reduce_only=True)
LOOKUP = LookupOrder("BTCUSDT", "pg-3-BTCUSDT-sl-2", algo=True)
ACCEPTED = {"info": {"algoId": 4000000002, "clientAlgoId": "pg-3-BTCUSDT-sl-2",
                     "orderType": "STOP_MARKET", "algoStatus": "NEW", "symbol": "BTCUSDT",
                     "quantity": "0.010", "triggerPrice": "58800", "reduceOnly": True}}


def gateway(client: FakeClient, sleeps: list[float] | None = None) -> Gateway:
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return Gateway(client, sleep=record, now_ms=lambda: 1_000)  # type: ignore[arg-type]


def failure_of(gw: Gateway, op: object) -> ExchangeError:
    gw.begin_call()
    with pytest.raises(ExchangeError) as caught:
        gw.execute(op)
    return caught.value


# --------------------------------------------------------------------------- placement


@pytest.mark.parametrize("error", [
    ccxt.RequestTimeout("binanceusdm POST https://fapi.binance.com/fapi/v1/algoOrder timed out"),
    ccxt.ExchangeNotAvailable("binanceusdm 503 Service Unavailable"),
    ccxt.NetworkError("binanceusdm connection reset"),
])
def test_a_placement_that_may_have_landed_is_sent_once_and_reported_as_unknown_outcome(error):
    client = FakeClient().on("create_order", error)
    sleeps: list[float] = []
    gw = gateway(client, sleeps)

    err = failure_of(gw, STOP)

    assert err.failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert client.names() == ["create_order"] and sleeps == []
    assert isinstance(err.__cause__, ccxt.BaseError)  # raised from the ccxt error


def test_a_duplicate_client_id_means_an_earlier_attempt_landed():
    client = FakeClient().on("create_order", ccxt.InvalidOrder(
        'binanceusdm {"code":-4116,"msg":"ClientOrderId is duplicated."}'))

    err = failure_of(gateway(client), STOP)

    assert (err.failure.kind, err.failure.code) == (FailureKind.UNKNOWN_OUTCOME, -4116)
    assert client.names() == ["create_order"]


@pytest.mark.parametrize(("error", "kind", "code"), [
    (ccxt.OrderImmediatelyFillable(
        'binanceusdm {"code":-2021,"msg":"Order would immediately trigger."}'),
     FailureKind.WOULD_TRIGGER, -2021),
    (ccxt.InsufficientFunds('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}'),
     FailureKind.REJECTED, -2019),
    (ccxt.AuthenticationError('binanceusdm {"code":-2015,"msg":"Invalid API-key."}'),
     FailureKind.HALT, -2015),
])
def test_a_refused_placement_comes_back_in_its_remedy_group_without_a_retry(error, kind, code):
    client = FakeClient().on("create_order", error)

    err = failure_of(gateway(client), STOP)

    assert (err.failure.kind, err.failure.code) == (kind, code)
    assert client.names() == ["create_order"]


def test_a_fixed_stop_is_a_reduce_only_algo_order_at_its_trigger_price():
    client = FakeClient().on("create_order", ACCEPTED, {"X-MBX-ORDER-COUNT-10S": "3"})
    gw = gateway(client)

    gw.begin_call()
    info = gw.execute(STOP)

    (_, args), = client.calls
    assert args == ("BTC/USDT:USDT", "market", "sell", 0.01, None, {
        "clientOrderId": "pg-3-BTCUSDT-sl-2", "reduceOnly": True, "workingType": "MARK_PRICE",
        "triggerPrice": "58800"})
    assert (info.order_id, info.status, info.algo, info.trigger_price) == (
        "4000000002", "NEW", True, D("58800"))


def test_a_trailing_stop_carries_its_callback_rate_and_activation_price():
    client = FakeClient().on("create_order", ACCEPTED)
    gw = gateway(client)

    gw.begin_call()
    gw.execute(TRAIL)

    (_, args), = client.calls
    assert args[-1] == {"clientOrderId": "pg-3-BTCUSDT-tr-3", "reduceOnly": True,
                        "workingType": "CONTRACT_PRICE", "callbackRate": "1.5",
                        "activationPrice": "61000"}


def test_a_close_is_a_reduce_only_market_order_asking_for_the_full_result():
    client = FakeClient().on("create_order", {"info": {"orderId": 8389765999, "status": "FILLED",
                                                       "avgPrice": "60000.1"}})
    gw = gateway(client)

    gw.begin_call()
    info = gw.execute(CLOSE)

    (_, args), = client.calls
    assert args[-1] == {"clientOrderId": "pg-3-BTCUSDT-cl-4", "newOrderRespType": "RESULT",
                        "reduceOnly": True}
    assert (info.status, info.avg_price, info.algo) == ("FILLED", D("60000.1"), False)


# --------------------------------------------------------------------------- reads


def test_a_read_is_retried_with_growing_jittered_backoff_and_then_given_up():
    client = FakeClient().on("fetch_positions", ccxt.NetworkError("reset"), times=4)
    sleeps: list[float] = []
    gw = gateway(client, sleeps)

    err = failure_of(gw, FetchPositions())

    assert err.failure.kind is FailureKind.TEMPORARY
    assert client.names() == ["fetch_positions"] * 4  # read_attempts
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):  # 0.2 s * 2^n * (0.5 .. 1.5)
        assert 0.1 * 2 ** attempt <= delay <= 0.3 * 2 ** attempt


def test_a_read_that_timed_out_is_retried_and_its_second_answer_returned():
    client = (FakeClient().on("fetch_order", ccxt.RequestTimeout("timed out"))
              .on("fetch_order", ACCEPTED))
    gw = gateway(client)

    gw.begin_call()
    info = gw.execute(LOOKUP)

    assert client.names() == ["fetch_order", "fetch_order"] and info.status == "NEW"


def test_a_read_refused_for_good_is_not_retried():
    client = FakeClient().on("fetch_positions", ccxt.PermissionDenied(
        'binanceusdm {"code":-2015,"msg":"Invalid API-key, IP, or permissions."}'))
    sleeps: list[float] = []

    err = failure_of(gateway(client, sleeps), FetchPositions())

    assert err.failure.kind is FailureKind.HALT
    assert client.names() == ["fetch_positions"] and sleeps == []


def test_an_order_the_exchange_does_not_know_is_none_for_a_lookup_and_for_a_cancel():
    gone = ccxt.OrderNotFound('binanceusdm {"code":-2013,"msg":"Order does not exist."}')
    client = FakeClient().on("fetch_order", gone).on("cancel_order", gone)
    gw = gateway(client)

    gw.begin_call()
    assert gw.execute(LOOKUP) is None
    gw.begin_call()
    assert gw.execute(CancelStop("BTCUSDT", None, "pg-3-BTCUSDT-sl-2")) is None
    assert client.names() == ["fetch_order", "cancel_order"]
    assert client.calls[1][1][2] == {"trigger": True, "clientAlgoId": "pg-3-BTCUSDT-sl-2"}


def test_an_unknown_operation_is_a_type_error_not_a_call():
    client = FakeClient()
    gw = gateway(client)

    with pytest.raises(TypeError, match="unknown exchange operation str"):
        gw.execute("FetchEverything")
    assert client.calls == []


# --------------------------------------------------------------------------- rate usage


def test_a_placement_reports_the_order_counters_of_its_response():
    client = FakeClient().on("create_order", ACCEPTED, {
        "x-mbx-used-weight-1m": "12", "x-mbx-order-count-10s": "4",
        "x-mbx-order-count-1m": "31"})
    gw = gateway(client)

    gw.begin_call()
    gw.execute(STOP)

    assert gw.rate_usage() == RateUsage(12, 4, 31)


def test_a_refused_placement_reports_the_refusal_with_its_retry_after():
    client = FakeClient().on("create_order", ccxt.DDoSProtection(
        'binanceusdm 429 Too Many Requests {"code":-1015,"msg":"Too many new orders."}'),
        {"Retry-After": "3", "X-MBX-ORDER-COUNT-10S": "300"})
    gw = gateway(client)

    err = failure_of(gw, STOP)

    assert err.failure.kind is FailureKind.UNKNOWN_OUTCOME and err.failure.http_status == 429
    assert gw.rate_usage() == RateUsage(None, 300, None, 429, -1015, 3000)
    assert client.names() == ["create_order"]
