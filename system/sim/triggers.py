"""When a conditional order fires: pure functions over one price tick."""

from __future__ import annotations

from decimal import Decimal

from system.sim.model import AlgoOrder

HUNDRED = Decimal(100)


def stop_fires(side: str, trigger: Decimal, price: Decimal) -> bool:
    """A SELL stop fires at or below its trigger, a BUY stop at or above."""
    return price <= trigger if side == "SELL" else price >= trigger


def activation_reached(side: str, activate: Decimal, price: Decimal) -> bool:
    """A SELL trailing stop activates at or above its activatePrice, a BUY one at or below."""
    return price >= activate if side == "SELL" else price <= activate


def trail_level(side: str, extreme: Decimal, rate_pct: Decimal) -> Decimal:
    """The stop level `rate_pct` % behind the extreme (below a peak for SELL)."""
    factor = (1 - rate_pct / HUNDRED) if side == "SELL" else (1 + rate_pct / HUNDRED)
    return extreme * factor


def observe(a: AlgoOrder, price: Decimal) -> bool:
    """Update a resting algo order with one price tick; True when it fires on this tick."""
    if a.order_type == "STOP_MARKET":
        return stop_fires(a.side, a.trigger_price, price)
    if not a.activated:
        if a.activate_price and not activation_reached(a.side, a.activate_price, price):
            return False
        a.activated = True
        a.extreme = price
    better = price > a.extreme if a.side == "SELL" else price < a.extreme
    if better:
        a.extreme = price
    a.trigger_price = trail_level(a.side, a.extreme, a.callback_rate)
    return stop_fires(a.side, a.trigger_price, price)


def fires_immediately(a: AlgoOrder, price: Decimal) -> bool:
    """Binance's -2021 check at placement: the order would fire on the current price."""
    if a.order_type == "STOP_MARKET":
        return stop_fires(a.side, a.trigger_price, price)
    if a.activate_price:
        # A SELL trailing stop must activate above the market, a BUY one below it.
        return activation_reached(a.side, a.activate_price, price)
    return False
