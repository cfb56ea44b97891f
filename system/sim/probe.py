"""Probe: what the simulator sent and accepted, stamped on its own clock, for benches.

Enabled by `sim.probe = Probe()` on the simulator's loop (e.g. `SimServer.call`); while
`sim.probe` is None (the default) nothing is recorded and the hooks cost one `is None` test.
The hooks sit in MarketStreams (a mark tick, stamped right before `send_str`) and in
Engine.place_algo / cancel_algo (stamped once the engine has accepted the request), so
tick -> replacement stop is measured on one clock, `sim.clock.monotonic()`.

Under the latency model (latency.py) a tick is stamped when the venue emits it, before its
stream delay, and a stop when the venue handles it, after its request's inbound leg: the
bench's reaction is tick emitted -> order at the venue, the floor a real venue imposes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

MAX_RECORDS = 2_000_000
"""Records kept per kind; the oldest go first (and are counted in `dropped`)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """One markPrice update pushed to one connection."""

    symbol: str
    """The symbol of the update (one record per symbol of an `!markPrice@arr` frame)."""
    price: str
    """The mark price as sent (`p`)."""
    t_mono: float
    """Sim-clock monotonic seconds right before the frame was handed to `send_str`."""


@dataclass(frozen=True, slots=True)
class Placement:
    """One algo order the engine accepted."""

    symbol: str
    """The order's symbol."""
    t_mono: float
    """Sim-clock monotonic seconds when the engine accepted it."""
    order_type: str
    """STOP_MARKET or TRAILING_STOP_MARKET."""
    trigger_price: str
    """Trigger price as accepted; a trailing stop's tracked trigger (zero if not yet active)."""
    quantity: str
    """Quantity (zero for closePosition)."""
    client_algo_id: str
    """clientAlgoId of the order."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """One algo-order cancel the engine accepted."""

    symbol: str
    """The cancelled order's symbol."""
    t_mono: float
    """Sim-clock monotonic seconds when the engine accepted the cancel."""
    client_algo_id: str
    """clientAlgoId of the cancelled order."""


class Probe:
    """Bounded recorder of ticks, placements and cancels; `take()` hands them over."""

    def __init__(self, max_records: int = MAX_RECORDS) -> None:
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records}")
        self._ticks: deque[Tick] = deque(maxlen=max_records)
        self._placements: deque[Placement] = deque(maxlen=max_records)
        self._cancels: deque[Cancel] = deque(maxlen=max_records)
        self._dropped = {"ticks": 0, "placements": 0, "cancels": 0}

    def tick(self, symbol: str, price: str, t_mono: float) -> None:
        """Record a mark tick about to be sent."""
        self._add("ticks", self._ticks, Tick(symbol, price, t_mono))

    def placed(self, symbol: str, t_mono: float, order_type: str, trigger_price: str,
               quantity: str, client_algo_id: str) -> None:
        """Record an accepted algo order."""
        self._add("placements", self._placements, Placement(
            symbol, t_mono, order_type, trigger_price, quantity, client_algo_id))

    def cancelled(self, symbol: str, t_mono: float, client_algo_id: str) -> None:
        """Record an accepted algo cancel."""
        self._add("cancels", self._cancels, Cancel(symbol, t_mono, client_algo_id))

    def _add(self, kind: str, records: deque, record) -> None:
        if len(records) == records.maxlen:
            self._dropped[kind] += 1
        records.append(record)

    def take(self) -> dict:
        """Everything recorded since the last take, as JSON-able data, then clear.

        {"ticks": [{symbol, price, t_mono}], "placements": [{symbol, t_mono, order_type,
        trigger_price, quantity, client_algo_id}], "cancels": [{symbol, t_mono,
        client_algo_id}], "dropped": {"ticks": n, "placements": n, "cancels": n}};
        each list is in recording order, `dropped` counts records pushed out by the bound.
        """
        out = {
            "ticks": [_plain(r) for r in self._ticks],
            "placements": [_plain(r) for r in self._placements],
            "cancels": [_plain(r) for r in self._cancels],
            "dropped": dict(self._dropped),
        }
        self._ticks.clear()
        self._placements.clear()
        self._cancels.clear()
        self._dropped = dict.fromkeys(self._dropped, 0)
        return out


def _plain(record) -> dict:
    # Not dataclasses.asdict: that deep-copies field by field, far too slow for 2M records.
    return {name: getattr(record, name) for name in record.__slots__}
