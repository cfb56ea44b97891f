"""callback_pct as Bybit's trailing distance (venues/bybit/orders.trailing_distance): a price,
reference * pct / 100 to the nearest tick, at least one tick, fixed once placed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from venues.bybit.orders import trailing_distance

D = Decimal


@pytest.mark.parametrize("reference, pct, tick, distance", [
    ("60600", "0.5", "0.1", "303.0"),      # the activation price of 60000 +1 %
    ("66000", "0.5", "0.1", "330.0"),      # what Binance's 0.5 % would be at a 66000 peak
    ("3030", "0.3", "0.01", "9.09"),
    ("0.5123", "0.1", "0.0001", "0.0005"),  # 0.0005123 -> nearest tick
    ("1.00", "0.1", "0.01", "0.01"),       # 0.001 is below one tick: one tick
    ("60100", "0.33", "0.10", "198.3"),    # a tick written "0.10" still has one decimal
])
def test_the_distance_is_the_callback_of_the_reference_on_the_tick(reference, pct, tick,
                                                                   distance):
    got = trailing_distance(D(reference), D(pct), D(tick))
    assert got == D(distance) and str(got) == distance
