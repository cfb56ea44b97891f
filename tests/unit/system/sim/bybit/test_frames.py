"""frames.translate over what the real engine drains on the Bybit front (no sockets)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from system.clock import ManualClock
from system.sim.bybit.frames import translate
from system.sim.bybit.ids import order_id
from system.sim.engine import Engine
from system.sim.engine_algos import AlgoRequest
from system.sim.settings import SimSettings, unthrottled


@pytest.fixture
def engine() -> Engine:
    e = Engine(unthrottled(SimSettings(venue="bybit")), ManualClock())
    e.place_market("BTCUSDT", "BUY", Decimal("0.010"), "open-1", False)
    e.drain()
    return e


def _rows(engine: Engine) -> list[tuple[str, dict]]:
    return [f for event in engine.drain() for f in translate(event, engine)]


def _stop(engine: Engine, link: str = "sl-1", trigger: str = "59000.0"):
    return engine.place_algo(AlgoRequest(
        "BTCUSDT", "SELL", "STOP_MARKET", Decimal("0.010"), Decimal(trigger), True, False,
        link, working_type="MARK_PRICE", trigger_direction=2))


def test_amend_pushes_the_same_order_id_untriggered_at_the_new_trigger_then_position(engine):
    a = _stop(engine)
    engine.drain()
    engine.amend_algo("BTCUSDT", a.algo_id, None, Decimal("59500.0"), None)
    rows = _rows(engine)
    assert [t for t, _ in rows] == ["order", "position"]
    order = rows[0][1]
    assert order["orderId"] == order_id(a.algo_id) and order["orderStatus"] == "Untriggered"
    assert Decimal(order["triggerPrice"]) == Decimal("59500")
    assert order["qty"] == "0.010" and order["leavesQty"] == "0.010"


def test_trading_stop_loss_is_an_attached_order_and_shows_on_the_position(engine):
    engine.set_trading_stop("BTCUSDT", Decimal("58000.0"), "MarkPrice", None, None)
    rows = _rows(engine)
    assert [t for t, _ in rows] == ["order", "position", "wallet"]
    order, position = rows[0][1], rows[1][1]
    assert (order["stopOrderType"], order["createType"], order["tpslMode"]) == (
        "StopLoss", "CreateByStopLoss", "Full")
    assert order["orderLinkId"] == "" and order["triggerBy"] == "MarkPrice"
    assert Decimal(position["stopLoss"]) == 58000 and position["trailingStop"] == "0"


def test_attached_trailing_stop_shows_its_distance_on_the_position(engine):
    engine.set_trading_stop("BTCUSDT", None, "", Decimal("300.0"), None)
    rows = _rows(engine)
    order = next(r for t, r in rows if t == "order")
    position = next(r for t, r in rows if t == "position")
    assert order["stopOrderType"] == "TrailingStop"
    assert order["createType"] == "CreateByTrailingStop"
    assert Decimal(order["triggerPrice"]) > 0  # tracking from placement: the stop level
    assert Decimal(position["trailingStop"]) == 300


def test_closing_the_position_deactivates_attached_stops_before_the_flat_position(engine):
    engine.set_trading_stop("BTCUSDT", Decimal("58000.0"), "MarkPrice", None, None)
    engine.drain()
    engine.place_market("BTCUSDT", "SELL", Decimal("0.010"), "close-1", True)
    rows = _rows(engine)
    gone = [i for i, (t, r) in enumerate(rows) if t == "order"
            and r["stopOrderType"] == "StopLoss"]
    flat = [i for i, (t, r) in enumerate(rows) if t == "position" and r["size"] == "0.000"]
    assert len(gone) == 1 and flat and gone[0] < flat[0]
    stop = rows[gone[0]][1]
    assert (stop["orderStatus"], stop["cancelType"]) == ("Deactivated", "CancelByTpSlTsClear")
    assert rows[flat[0]][1]["side"] == "" and rows[flat[0]][1]["stopLoss"] == "0"


def test_trigger_pushes_triggered_new_execution_filled_and_never_the_engine_child_id(engine):
    a = _stop(engine)
    engine.drain()
    engine.set_price("BTCUSDT", Decimal("58900"))
    events = engine.drain()
    child_ids = {e["o"]["i"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"}
    rows = [f for event in events for f in translate(event, engine)]
    orders = [r for t, r in rows if t == "order"]
    assert [r["orderStatus"] for r in orders] == ["Triggered", "New", "Filled"]
    assert {r["orderId"] for r in orders} == {order_id(a.algo_id)}
    assert not {order_id(i) for i in child_ids} & {r["orderId"] for _, r in rows
                                                   if "orderId" in r}
    assert [t for t, _ in rows] == ["order", "order", "execution", "order", "position",
                                    "wallet"]
    assert orders[-1]["cumExecQty"] == "0.010" and Decimal(orders[-1]["cumExecFee"]) > 0


def test_events_bybit_has_no_counterpart_for_push_nothing(engine):
    a = _stop(engine)
    engine.drain()
    engine.set_price("BTCUSDT", Decimal("58900"))
    events = engine.drain()
    silent = [e for e in events if e["e"] == "TRADE_LITE" or (
        e["e"] == "ALGO_UPDATE" and e["o"]["X"] in ("TRIGGERING", "FINISHED"))]
    assert len(silent) == 3
    assert all(translate(e, engine) == [] for e in silent)
    assert a.status == "FINISHED"
