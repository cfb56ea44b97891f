"""Engine builders for unit tests: a manual clock, no server."""

from __future__ import annotations

from decimal import Decimal

from system.clock import ManualClock
from system.sim.engine import AlgoRequest, Engine
from system.sim.settings import SimSettings


def make_engine(**overrides) -> tuple[Engine, ManualClock]:
    """An engine on a ManualClock with the default markets."""
    clock = ManualClock()
    return Engine(SimSettings(**overrides), clock), clock


def stop(symbol="BTCUSDT", side="SELL", qty="0.010", trigger="59000", *, reduce_only=True,
         close_position=False, cid="s1") -> AlgoRequest:
    """A STOP_MARKET request."""
    return AlgoRequest(symbol, side, "STOP_MARKET", Decimal(qty if not close_position else 0),
                       Decimal(trigger), reduce_only and not close_position, close_position,
                       cid)


def trailing(symbol="BTCUSDT", side="SELL", qty="0.010", rate="1", activate="0", *,
             cid="t1") -> AlgoRequest:
    """A TRAILING_STOP_MARKET request."""
    return AlgoRequest(symbol, side, "TRAILING_STOP_MARKET", Decimal(qty), Decimal(0), True,
                       False, cid, activate_price=Decimal(activate),
                       callback_rate=Decimal(rate))


def d(x) -> Decimal:
    """Decimal from anything."""
    return Decimal(str(x))
