"""The REST read of a symbol carries the venue's own time of the position's last change, so a
stream report older than the read is known to be stale (actors/machine/stream.py
refine_position). Real ccxt through each venue's adapter, against the simulator's front."""

from __future__ import annotations

import time
from decimal import Decimal

import venues
from venue.interface import Credentials
from venue.requests import FetchSymbol, PlaceMarket

SYM = "BTCUSDT"


def run(gw, op):
    gw.begin_call()
    return gw.execute(op)


def test_a_symbol_read_carries_the_time_the_position_last_changed(venue, sim):
    s = sim.settings
    gw = venues.adapter(venue.name).open_gateway(
        "simulator", sim.url, Credentials(s.api_key, s.api_secret), 5000)
    assert gw.warm_up() >= 1
    before = int(time.time() * 1000)
    run(gw, PlaceMarket(SYM, "BUY", Decimal("0.010"), "pg-1-BTCUSDT-op-1", reduce_only=False))
    after = int(time.time() * 1000)
    time.sleep(0.05)  # the read comes later than the change: its time is the change's

    snap = run(gw, FetchSymbol(SYM))

    assert snap.amount == Decimal("0.010")
    assert before <= snap.position_ms <= after, (before, snap.position_ms, after)
