"""Orders per stop move, counted from the simulator probe's accepted placements and cancels
(system/bench/orders.py): Binance moves new-first (a create and a cancel), Bybit amends in
place (recorded as a cancel and a placement of one client id at one instant)."""

from __future__ import annotations

from system.bench import orders


def _placed(sym: str, cid: str, t: float) -> dict:
    return {"symbol": sym, "client_algo_id": cid, "t_mono": t, "order_type": "STOP_MARKET",
            "trigger_price": "1", "quantity": "10"}


def _cancel(sym: str, cid: str, t: float) -> dict:
    return {"symbol": sym, "client_algo_id": cid, "t_mono": t}


def test_a_new_first_move_is_two_orders():
    # Each move: the new stop placed, then the previous one cancelled a moment later.
    placements = [_placed("A", f"pg-{n}", n + 0.00) for n in range(1, 4)]
    cancels = [_cancel("A", f"pg-{n - 1}", n + 0.01) for n in range(1, 4)]
    got = orders.per_move(placements, cancels, moves=3)
    assert got == {"creates": 3, "amends": 0, "cancels": 3, "orders": 6, "moves": 3,
                   "orders_per_move": 2.0}


def test_an_amend_in_place_is_one_order():
    placements = [_placed("A", "pg-1", t) for t in (1.0, 2.0, 3.0)]
    cancels = [_cancel("A", "pg-1", t) for t in (1.0, 2.0, 3.0)]
    got = orders.per_move(placements, cancels, moves=3)
    assert got == {"creates": 0, "amends": 3, "cancels": 0, "orders": 3, "moves": 3,
                   "orders_per_move": 1.0}


def test_a_cancel_of_another_symbol_or_instant_is_not_an_amend():
    placements = [_placed("A", "pg-1", 1.0), _placed("B", "pg-2", 1.0)]
    cancels = [_cancel("B", "pg-1", 1.0), _cancel("A", "pg-1", 1.5)]
    got = orders.count(placements, cancels)
    assert got == {"creates": 2, "amends": 0, "cancels": 2, "orders": 4}


def test_no_move_has_no_ratio_and_windows_merge():
    assert orders.per_move([], [], 0)["orders_per_move"] is None
    a = orders.per_move([_placed("A", "x", 1.0)], [_cancel("A", "x", 1.0)], 1)
    b = orders.per_move([_placed("A", "y", 2.0)], [_cancel("A", "x", 2.1)], 1)
    assert orders.merge([a, b]) == {"creates": 1, "amends": 1, "cancels": 1, "orders": 3,
                                    "moves": 2, "orders_per_move": 1.5}
    assert orders.merge([])["orders_per_move"] is None
