"""The USDT cross-margin account: wallet, positions, leverage, fills."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from system.sim.model import ZERO, Position

HUNDRED = Decimal(100)


class Ledger:
    """Applies fills to positions and the wallet; answers margin questions."""

    def __init__(self, balance: Decimal, fee_pct: Decimal, leverage: int, max_fills: int):
        self.wallet = balance
        self.fee_pct = fee_pct
        self.default_leverage = leverage
        self.positions: dict[str, Position] = {}
        self.leverage: dict[str, int] = {}
        self.fills: deque[dict] = deque(maxlen=max_fills)

    def position(self, symbol: str) -> Position:
        """The symbol's position (a flat one if it never traded)."""
        return self.positions.setdefault(symbol, Position(symbol))

    def leverage_of(self, symbol: str) -> int:
        """Leverage set for the symbol (or the default)."""
        return self.leverage.get(symbol, self.default_leverage)

    def fee(self, qty: Decimal, price: Decimal) -> Decimal:
        """Taker fee of a fill."""
        return qty * price * self.fee_pct / HUNDRED

    def unrealized(self, prices: dict[str, Decimal]) -> Decimal:
        """Sum of unrealized PnL over all positions."""
        return sum(((prices[p.symbol] - p.entry) * p.amt for p in self.positions.values()
                    if p.amt), ZERO)

    def initial_margin(self, prices: dict[str, Decimal]) -> Decimal:
        """Margin held by open positions at current prices."""
        return sum((abs(p.amt) * prices[p.symbol] / self.leverage_of(p.symbol)
                    for p in self.positions.values() if p.amt), ZERO)

    def available(self, prices: dict[str, Decimal]) -> Decimal:
        """Cross-margin balance free for new positions."""
        return self.wallet + self.unrealized(prices) - self.initial_margin(prices)

    def opening_qty(self, symbol: str, side: str, qty: Decimal) -> Decimal:
        """The part of an order that opens or grows exposure (needs margin)."""
        amt = self.position(symbol).amt
        signed = qty if side == "BUY" else -qty
        if amt == 0 or (amt > 0) == (signed > 0):
            return qty
        return max(ZERO, qty - abs(amt))

    def apply_fill(self, symbol: str, side: str, qty: Decimal, price: Decimal,
                   now_ms: int) -> tuple[Decimal, Decimal]:
        """Book a fill; returns (realized PnL, fee). Fee is taken from the wallet."""
        p = self.position(symbol)
        signed = qty if side == "BUY" else -qty
        realized = ZERO
        if p.amt == 0 or (p.amt > 0) == (signed > 0):
            new_amt = p.amt + signed
            p.entry = (p.entry * abs(p.amt) + price * qty) / abs(new_amt)
            p.amt = new_amt
        else:
            closed = min(qty, abs(p.amt))
            direction = 1 if p.amt > 0 else -1
            realized = (price - p.entry) * closed * direction
            p.amt += signed
            if p.amt == 0:
                p.entry = ZERO
            elif (p.amt > 0) != (direction > 0):
                p.entry = price  # flipped: the remainder opened at this price
        fee = self.fee(qty, price)
        p.realized += realized
        p.update_ms = now_ms
        self.wallet += realized - fee
        self.fills.append({"symbol": symbol, "side": side, "qty": str(qty),
                           "price": str(price), "realized_pnl": str(realized),
                           "fee": str(fee), "time": now_ms})
        return realized, fee
