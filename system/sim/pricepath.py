"""Price paths: a seeded multiplicative random walk, or a CSV replay."""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path


class RandomWalk:
    """Each step multiplies every price by (1 + N(drift_pct/100, volatility_pct/100)).

    With volatility_pct 0 the path is a steady trend: every step moves every price by
    exactly drift_pct (before the engine rounds it to the tick). A symbol may have a drift of
    its own (set_drift: the demo positions' trend); its noise is the same draw either way.
    """

    def __init__(self, seed: int, volatility_pct: float, drift_pct: float = 0.0) -> None:
        self._rng = random.Random(seed)
        self._sigma = volatility_pct / 100.0
        self._mu = drift_pct / 100.0
        self._drifts: dict[str, float] = {}

    def set_drift(self, symbol: str, drift_pct: float) -> None:
        """`symbol` drifts by `drift_pct` per step instead of the walk's drift."""
        self._drifts[symbol] = drift_pct / 100.0

    def step(self, prices: dict[str, Decimal]) -> dict[str, Decimal]:
        """The next price of every symbol (unrounded; the engine rounds to the tick)."""
        out = {}
        for sym in sorted(prices):  # sorted: same seed -> same path whatever the dict order
            # gauss(mu, s) is mu + z * s: the same draw, shifted by the symbol's own drift.
            factor = 1.0 + (self._drifts.get(sym, self._mu) + self._rng.gauss(0.0, self._sigma))
            out[sym] = prices[sym] * Decimal(repr(max(factor, 0.5)))
        return out


class CsvReplay:
    """Replays `timestamp,price[,symbol]` rows, one row (or one timestamp group) per step.

    Rows without a symbol column move every symbol by the row's ratio to the first
    price of the file, so one series drives all markets from their own start prices.
    Rows with a symbol set that symbol's absolute price. At the end the path holds.
    """

    def __init__(self, path: str) -> None:
        self._groups: list[list[tuple[str | None, Decimal]]] = []
        self._first: Decimal | None = None
        self._pos = 0
        self._load(Path(path))

    def _load(self, path: Path) -> None:
        last_ts = None
        with path.open(newline="") as fh:
            for row in csv.reader(fh):
                if not row or not row[0].strip() or not row[0].strip()[0].isdigit():
                    continue  # header or blank line
                ts, price = row[0].strip(), Decimal(row[1].strip())
                sym = row[2].strip() if len(row) > 2 and row[2].strip() else None
                if self._first is None and sym is None:
                    self._first = price
                if ts != last_ts:
                    self._groups.append([])
                    last_ts = ts
                self._groups[-1].append((sym, price))
        if not self._groups:
            raise ValueError(f"price_csv {path}: no `timestamp,price` rows")

    def step(self, prices: dict[str, Decimal], starts: dict[str, Decimal] | None = None
             ) -> dict[str, Decimal]:
        """Prices after the next timestamp group."""
        if self._pos >= len(self._groups):
            return dict(prices)
        out = dict(prices)
        for sym, price in self._groups[self._pos]:
            if sym is not None:
                if sym in out:
                    out[sym] = price
            elif starts is not None and self._first:
                for s, start in starts.items():
                    out[s] = start * price / self._first
        self._pos += 1
        return out
