"""Demo positions: what the trader's own bot would have open when a newcomer starts posguard.

Paper mode's `posguard run` asks its embedded simulator to open them once the engine's user
stream is connected (system/kernel.py). They are MARKET orders on the account through the
engine's own matching and ledger, as any outside client's are, so the user stream carries
the frames Binance sends for them (ORDER_TRADE_UPDATE NEW, TRADE_LITE, ORDER_TRADE_UPDATE
TRADE, ACCOUNT_UPDATE) and posguard adopts them as it adopts any position it did not open.

The trader's stop policy stays as it is. With the default walk (0.05 % per 250 ms step) a
+1 % move, the default trailing activation, takes minutes and is as likely to go the wrong
way; so each demo symbol's walk drifts in its position's favour (`demo_drift_pct`), and the
trailing stop visibly engages within a minute or two. `posguard sim` and the tests'
simulators never open them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from system.sim.pricepath import RandomWalk
from system.sim.settings import MAX_DEMO_POSITIONS

DEMO_BOOK: tuple[tuple[str, str, str], ...] = (
    ("BTCUSDT", "BUY", "0.010"),
    ("ETHUSDT", "SELL", "0.200"),
    ("SOLUSDT", "BUY", "4.00"),
    ("BNBUSDT", "SELL", "1.00"),
    ("XRPUSDT", "BUY", "1000.0"),
)
"""(symbol, side, qty): ~600 USDT each at the start prices, within every symbol's filters."""
assert len(DEMO_BOOK) == MAX_DEMO_POSITIONS
CLIENT_ID_PREFIX = "demo-bot-"
"""The demo bot's client order ids (posguard's own start with `pg-`)."""


@dataclass(frozen=True, slots=True)
class DemoPosition:
    """One position the demo bot opened."""

    symbol: str
    """Exchange symbol."""
    side: str
    """long or short."""
    qty: Decimal
    """Base-asset quantity."""
    price: Decimal
    """The fill price."""
    client_id: str
    """The MARKET order's client id."""

    def describe(self) -> str:
        """`BTCUSDT long 0.010 at 60000.00`."""
        return f"{self.symbol} {self.side} {self.qty} at {self.price}"


def open_demo_positions(sim, count: int, drift_pct: float) -> list[DemoPosition]:
    """Open `count` positions as an outside client would; their walks drift in their favour.

    A symbol that already has a position is left alone (the next one in the book is taken).
    Runs on the simulator's loop (SimServer.call), which publishes the frames afterwards.
    """
    engine = sim.engine
    opened: list[DemoPosition] = []
    for symbol, side, qty in DEMO_BOOK:
        if len(opened) >= count:
            break
        if engine.ledger.position(symbol).amt:
            continue
        client_id = f"{CLIENT_ID_PREFIX}{len(opened) + 1}"
        order = engine.place_market(symbol, side, Decimal(qty), client_id, reduce_only=False)
        long = side == "BUY"
        if isinstance(sim.path, RandomWalk) and drift_pct:
            sim.path.set_drift(symbol, drift_pct if long else -drift_pct)
        opened.append(DemoPosition(symbol, "long" if long else "short", order.executed_qty,
                                   order.avg_price, client_id))
    return opened
