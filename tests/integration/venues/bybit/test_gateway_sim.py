"""The Bybit adapter's gateways (venues/bybit/gateway.py, async_gateway.py) over unmodified
ccxt.bybit / ccxt.async_support.bybit against the simulator's Bybit v5 front (`bybit_sim`),
loopback only: every operation of venue/requests.py, and the errors a trader meets."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from system.sim.client import SimControl
from venue.errors import FailureKind
from venue.interface import Credentials, ExchangeError
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
from venues.bybit import Bybit

D = Decimal
SYM = "BTCUSDT"
OPEN = PlaceMarket(SYM, "BUY", D("0.010"), "pg-1-BTCUSDT-op-1", reduce_only=False)
STOP = PlaceStop(SYM, "SELL", D("0.010"), "pg-1-BTCUSDT-sl-2", "STOP_MARKET", D("59000"),
                 "MARK_PRICE")


@pytest.fixture
def gw(bybit_sim):
    s = bybit_sim.settings
    gateway = Bybit().open_gateway("simulator", bybit_sim.url,
                                   Credentials(s.api_key, s.api_secret), 5000)
    assert gateway.warm_up() >= 1
    return gateway


def run(gw, op):
    gw.begin_call()
    return gw.execute(op)


def failure(gw, op):
    gw.begin_call()
    with pytest.raises(ExchangeError) as caught:
        gw.execute(op)
    return caught.value.failure


def test_a_market_open_is_filled_and_the_symbol_shows_the_position(gw):
    info = run(gw, OPEN)
    snap = run(gw, FetchSymbol(SYM))

    assert (info.status, info.filled_qty, info.client_id) == \
        (OrderStatus.FILLED, D("0.010"), OPEN.client_id)
    assert info.avg_price is not None and info.avg_price > 0
    assert (snap.amount, snap.open_orders, snap.open_algo_orders) == (D("0.010"), (), ())
    assert snap.rules is not None and snap.rules.tick_size > 0


def test_a_stop_rests_moves_in_place_and_is_cancelled(gw):
    run(gw, OPEN)
    placed = run(gw, STOP)
    [resting] = run(gw, FetchSymbol(SYM)).open_algo_orders

    moved = run(gw, AmendStop(SYM, placed.order_id, STOP.client_id, D("59500")))
    found = run(gw, LookupOrder(SYM, STOP.client_id, algo=True))
    cancelled = run(gw, CancelStop(SYM, placed.order_id, STOP.client_id))

    assert (resting.order_id, resting.client_id, resting.order_type, resting.status) == \
        (placed.order_id, STOP.client_id, OrderKind.STOP, OrderStatus.NEW)
    assert resting.trigger_price == D("59000") and resting.side == "SELL"
    assert moved.order_id == placed.order_id and moved.trigger_price == D("59500")
    assert found is not None and (found.order_id, found.status, found.trigger_price) == \
        (placed.order_id, OrderStatus.NEW, D("59500"))
    assert cancelled is not None and run(gw, FetchSymbol(SYM)).open_algo_orders == ()
    assert run(gw, CancelStop(SYM, placed.order_id, STOP.client_id)) is None  # safe to repeat
    gone = failure(gw, AmendStop(SYM, placed.order_id, STOP.client_id, D("59600")))
    assert gone.kind is FailureKind.NOT_FOUND and gone.code == 110001


def test_an_amend_by_link_id_resizes_the_stop_too(gw):
    run(gw, OPEN)
    run(gw, STOP)
    run(gw, AmendStop(SYM, None, STOP.client_id, D("59100"), D("0.005")))

    found = run(gw, LookupOrder(SYM, STOP.client_id, algo=True))

    assert found is not None and (found.trigger_price, found.qty) == (D("59100"), D("0.005"))


def test_a_stop_that_fired_is_explained_from_the_history(gw, bybit_sim):
    run(gw, OPEN)
    placed = run(gw, STOP)
    SimControl(bybit_sim.url, timeout_secs=5.0).set_price(SYM, "58900")

    snap = run(gw, FetchSymbol(SYM, (StopRef(STOP.client_id, placed.order_id,
                                             "STOP_MARKET"),)))

    [outcome] = snap.stop_history
    assert snap.amount == 0 and outcome.found and outcome.status == OrderStatus.FINISHED
    assert outcome.fill_qty == D("0.010") and outcome.fill_price is not None


def test_a_native_trailing_stop_is_attached_to_the_position(gw):
    run(gw, OPEN)
    op = PlaceStop(SYM, "SELL", D("0.010"), "pg-1-BTCUSDT-tr-3", "TRAILING_STOP_MARKET", None,
                   "MARK_PRICE", callback_rate_pct=D("1"), activate_price=D("61000"))

    info = run(gw, op)
    [system] = run(gw, FetchSymbol(SYM)).open_algo_orders

    assert (info.client_id, info.order_type, info.status) == \
        (op.client_id, OrderKind.TRAILING, OrderStatus.NEW)
    assert info.order_id and info.order_id == system.order_id
    assert system.order_type == OrderKind.TRAILING and system.activate_price == D("61000")


def test_refusals_land_in_their_remedy_groups(gw):
    run(gw, OPEN)
    run(gw, STOP)

    past = failure(gw, PlaceStop(SYM, "SELL", D("0.010"), "pg-1-BTCUSDT-sl-9", "STOP_MARKET",
                                 D("61000"), "MARK_PRICE"))
    again = failure(gw, STOP)

    assert past.kind is FailureKind.WOULD_TRIGGER and past.code == 110093
    assert again.kind is FailureKind.UNKNOWN_OUTCOME and again.code == 110072


def test_a_wrong_secret_halts(bybit_sim):
    bad = Bybit().open_gateway("simulator", bybit_sim.url,
                               Credentials(bybit_sim.settings.api_key, "wrong"), 5000)
    bad.warm_up()

    f = failure(bad, FetchPositions())

    assert f.kind is FailureKind.HALT and f.code == 10004


def test_an_injected_10006_is_a_rate_limit_refusal_the_pool_sees(gw, bybit_sim):
    SimControl(bybit_sim.url, timeout_secs=5.0).fail_next(
        "POST", "/v5/order/create", code=10006, status=200, msg="Too many visits!")

    f = failure(gw, OPEN)
    usage = gw.rate_usage()

    assert f.code == 10006 and f.http_status == 429
    assert usage is not None and (usage.http_status, usage.code) == (429, 10006)


def test_the_account_sweep_and_the_positions(gw):
    run(gw, OPEN)
    run(gw, STOP)

    held = run(gw, FetchPositions())
    acct = run(gw, FetchAccount())

    assert [(p.symbol, p.amount) for p in held] == [(SYM, D("0.010"))]
    assert [o.client_id for o in acct.algo_orders] == [STOP.client_id]
    assert run(gw, FetchLimits()).orders_per_10s is None


def test_the_async_gateway_runs_the_same_operations(bybit_sim):
    s = bybit_sim.settings

    async def flow():
        agw = await Bybit().open_async_gateway("simulator", bybit_sim.url,
                                               Credentials(s.api_key, s.api_secret), 5000)
        try:
            await agw.warm_up()
            opened = await agw.run(OPEN)
            placed = await agw.run(STOP)
            moved, snap = await asyncio.gather(
                agw.run(AmendStop(SYM, placed.result.order_id, STOP.client_id, D("59300"))),
                agw.run(FetchPositions()))
            found = await agw.run(LookupOrder(SYM, STOP.client_id, algo=True))
            return opened, placed, moved, snap, found
        finally:
            await agw.close()

    opened, placed, moved, snap, found = asyncio.run(asyncio.wait_for(flow(), timeout=30))

    assert opened.failure is None and opened.result.filled_qty == D("0.010")
    assert placed.failure is None and moved.failure is None
    assert snap.result[0].amount == D("0.010")
    assert found.result.trigger_price == D("59300")
    assert moved.usage is not None and moved.usage.order_count_10s is not None


def test_an_amend_whose_answer_never_comes_is_unknown_and_a_lookup_settles_it(bybit_sim):
    s = bybit_sim.settings
    gw = Bybit().open_gateway("simulator", bybit_sim.url, Credentials(s.api_key, s.api_secret),
                              1000)
    gw.warm_up()
    run(gw, OPEN)
    placed = run(gw, STOP)
    SimControl(bybit_sim.url, timeout_secs=5.0).timeout_next("POST", "/v5/order/amend",
                                                            hold_ms=3000)

    lost = failure(gw, AmendStop(SYM, placed.order_id, STOP.client_id, D("59200")))
    found = run(gw, LookupOrder(SYM, STOP.client_id, algo=True))

    assert lost.kind is FailureKind.UNKNOWN_OUTCOME
    # the venue applied it (the fault withholds only the answer): the trigger says so
    assert found is not None and found.trigger_price == D("59200")


def test_the_attached_trailing_stop_is_cancelled_by_its_system_order_id(gw):
    run(gw, OPEN)
    op = PlaceStop(SYM, "SELL", D("0.010"), "pg-1-BTCUSDT-tr-3", "TRAILING_STOP_MARKET", None,
                   "MARK_PRICE", callback_rate_pct=D("1"))
    info = run(gw, op)

    cancelled = run(gw, CancelStop(SYM, info.order_id, op.client_id))

    assert cancelled is not None and run(gw, FetchSymbol(SYM)).open_algo_orders == ()
