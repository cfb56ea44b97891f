"""Native trailing (`protection.trailing.mode: native`) end to end on every venue.

Binance: the exchange's TRAILING_STOP_MARKET (a percent callback, own client id) rests beside
the fixed stop; a size change places a new one for the new size, then cancels the old one.
Bybit: the position-attached trailing stop (/v5/position/trading-stop, a price distance of
callback_pct at placement; its system order has no orderLinkId): posguard recognises it as
its own by the order id the placement read back (actors/machine/trailing.py `claim`), and a
size change changes nothing on the exchange: Bybit sizes that stop with the position itself,
so posguard never cancels the only trailing stop (Capabilities.native_trailing_follows_position).
On both: a reconcile keeps the trailing order (not restored), the trail fires, the account
ends flat with nothing of ours resting and no moment without a stop (the simulator's meter).
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest

from actors.messages import ReconcileRequest
from tests.fixtures.engine import engine_config, start_engine, stop_engine

D = Decimal
SYM, QTY, HALF, ENTRY = "BTCUSDT", "0.010", "0.005", "60000"
PEAK, BETWEEN = "66000", "65680"
NATIVE = "protection.trailing.mode=native"


def _algos(truth: dict, kind: str | None = None) -> list[dict]:
    return [o for o in truth["open_algo_orders"] if o["symbol"] == SYM
            and (kind is None or o["orderType"] == kind)]


def _amount(truth: dict) -> Decimal:
    return sum((D(p["positionAmt"]) for p in truth["positions"] if p["symbol"] == SYM), D(0))


def _reconcile(engine) -> None:
    reply = engine.kernel.asys.ask(engine.address(SYM), ReconcileRequest(SYM, "test"),
                                   timedelta(seconds=10))
    assert reply is not None and reply.outcome == "accepted"


@pytest.mark.engine_config(NATIVE)
def test_native_trailing_rests_resizes_and_fires_on_every_venue(engine, venue):
    control = engine.control
    control.set_price(SYM, ENTRY, mark=ENTRY)
    control.partial_fill(SYM, 0.5, 1500)  # the entry fills half now, the rest in 1.5 s
    assert engine.open(SYM, "long", QTY, "cmd-native-venues").outcome == "accepted"

    first = engine.wait(SYM, lambda v: v.state == "PROTECTED" and v.trailing_order_id
                        and D(v.qty) == D(HALF), "both stops for the first half")
    [trail] = _algos(control.state(), "TRAILING_STOP_MARKET")
    assert venue.order_id(trail["algoId"]) == first.trailing_order_id
    assert first.trailing_client_id.startswith("pg-main-")
    bybit = venue.name == "bybit"
    # Binance carries our client id; Bybit's attached stop has none (its origin: the order id
    # our own trading-stop call read back).
    assert trail["clientAlgoId"] == ("" if bybit else first.trailing_client_id)

    truth = engine.wait_for(lambda: (t := control.state()) and all(
        D(o["quantity"]) == D(QTY) for o in _algos(t)) and len(_algos(t)) == 2 and t,
        "both orders resting for the whole position", 15)
    [trail] = _algos(truth, "TRAILING_STOP_MARKET")
    [_stop] = _algos(truth, "STOP_MARKET")
    full = engine.wait(SYM, lambda v: v.state == "PROTECTED" and D(v.qty) == D(QTY)
                       and v.trailing_order_id == venue.order_id(trail["algoId"]),
                       "the resize, as the exchange shows it", 15)
    # Bybit resized its own stop (same order); Binance got a new one, the old cancelled.
    assert (full.trailing_order_id == first.trailing_order_id) is bybit
    kinds = engine.journal_kinds(SYM)
    assert ("trailing_resized" in kinds) is not bybit, kinds

    _reconcile(engine)  # the exchange's truth: the trailing order is ours, kept as it is
    kept = engine.wait(SYM, lambda v: v.state == "PROTECTED" and v.trailing_order_id,
                       "reconciled")
    assert kept.trailing_order_id == full.trailing_order_id
    rows = [r for r in engine.journal(SYM) if r.kind.startswith("reconciled")
            or "on_reconcile" in r.kind]
    assert rows and rows[-1].payload.get("trailing") == "kept", rows[-1]
    assert len(_algos(control.state(), "TRAILING_STOP_MARKET")) == 1

    for price in ("60800", "61000", PEAK):  # past the activation (60600): the trail follows
        engine.tick(SYM, price)
    # callback_pct 0.5: Binance trails 0.5 % of the peak (330 below 66000: 65670); Bybit the
    # distance fixed at placement, 0.5 % of the activation price 60600 = 303.0 (65697).
    engine.tick(SYM, BETWEEN)
    left = _amount(control.state())
    assert left == (D(0) if bybit else D(QTY)), f"{venue.name}: {left} left at {BETWEEN}"
    if not bybit:
        engine.tick(SYM, "65600")

    engine.wait_state(SYM, "FLAT", 15)
    truth = engine.wait_for(lambda: (t := control.state()) and not _algos(t) and t,
                            "nothing of ours resting", 10)
    assert _amount(truth) == 0
    assert [o for o in truth.get("open_orders", []) if o["symbol"] == SYM] == []
    assert "trailing_filled" in engine.journal_kinds(SYM)
    assert truth["unprotected"]["coverage_lost_total_ms"] == 0, truth["unprotected"]


def test_a_restart_keeps_the_same_trailing_stop_on_every_venue(tmp_path, sim, sim_control,
                                                                venue):
    """The snapshot's trailing order is found on the exchange after a restart and kept (on
    Bybit matched by its order id: the attached stop has no client id); not placed again."""
    config = (NATIVE, *venue.overrides())
    sim_control.set_price(SYM, ENTRY, mark=ENTRY)
    engine = start_engine(engine_config(tmp_path, sim, *config), sim_control)
    try:
        assert engine.open(SYM, "long", QTY, "cmd-native-restart").outcome == "accepted"
        before = engine.wait(SYM, lambda v: v.state == "PROTECTED" and v.trailing_order_id,
                             "both stops")
    finally:
        stop_engine(engine)

    engine = start_engine(engine_config(tmp_path, sim, *config), sim_control)  # same store
    try:
        after = engine.wait(SYM, lambda v: v.state == "PROTECTED" and v.trailing_order_id,
                            "recovery")
        rows = [r for r in engine.journal(SYM) if r.kind.startswith("reconciled")
                or "trailing" in r.kind]
    finally:
        stop_engine(engine)
    assert (after.trailing_order_id, after.trailing_client_id) == \
        (before.trailing_order_id, before.trailing_client_id)
    [trail] = _algos(sim_control.state(), "TRAILING_STOP_MARKET")
    assert venue.order_id(trail["algoId"]) == before.trailing_order_id
    assert rows[-1].kind == "reconciled_protected" and rows[-1].payload.get("trailing") == \
        "kept", [(r.kind, r.payload) for r in rows]


@pytest.mark.engine_config(NATIVE, "exchange.request_timeout_ms=1500")
def test_a_trailing_placement_answered_only_by_the_stream_rests_once_on_every_venue(
        engine, venue):
    """The trailing placement lands but its REST answer never comes: the stream's NEW settles
    it (Bybit: the attached stop's update carries no client id; the placement in flight
    claims it, actors/machine/trailing.py), and the answer timing out later changes
    nothing (no second placement, no cancel of the only trailing stop)."""
    control = engine.control
    control.set_price(SYM, ENTRY, mark=ENTRY)
    if venue.name == "bybit":
        control.timeout_next("POST", "/v5/position/trading-stop")
    else:
        control.timeout_next("POST", "/fapi/v1/algoOrder", with_param="callbackRate")
    assert engine.open(SYM, "long", QTY, "cmd-native-unanswered").outcome == "accepted"

    view = engine.wait(SYM, lambda v: v.state == "PROTECTED" and v.trailing_order_id,
                       "the trailing stop settled", 20)
    placed = [r for r in engine.journal(SYM) if r.kind == "trailing_placed"]
    assert [r.payload["source"] for r in placed] == ["stream"], placed
    time.sleep(2.5)  # past exchange.request_timeout_ms: the unanswered request has failed

    truth = control.state()
    [trail] = _algos(truth, "TRAILING_STOP_MARKET")
    assert venue.order_id(trail["algoId"]) == view.trailing_order_id
    assert len(_algos(truth, "STOP_MARKET")) == 1
    after = engine.view(SYM)
    assert (after.state, after.trailing_order_id) == ("PROTECTED", view.trailing_order_id)
    kinds = engine.journal_kinds(SYM)
    assert kinds.count("trailing_placed") == 1 and "stale_stop_cancelled" not in kinds, kinds
    assert truth["unprotected"]["coverage_lost_total_ms"] == 0
