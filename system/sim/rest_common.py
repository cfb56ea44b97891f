"""Parameter rules shared by the REST handlers (symbol, side, positionSide, ids, windows)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from system.sim.errors import SimError
from system.sim.params import Params

SIDES = ("BUY", "SELL")
DAY_MS = 86_400_000
MAX_WINDOW_MS = 7 * DAY_MS
"""startTime..endTime may span at most 7 days (allAlgoOrders, userTrades)."""
MAX_LIMIT = 1000
DEFAULT_LIMIT = 500


def check_window(sim, p: Params) -> None:
    """A signed request's timestamp and recvWindow (-1131, -1021), REST and ws-fapi alike."""
    ts = p.integer("timestamp")
    window = p.integer("recvWindow", required=False) or 5000
    if window <= 0 or window > sim.settings.recv_window_max_ms:
        raise SimError(-1131, f"recvWindow must be less than {sim.settings.recv_window_max_ms}.")
    now = sim.clock.now_ms()
    if ts > now + 1000 or now - ts > window:
        raise SimError(-1021, "Timestamp for this request is outside of the recvWindow.")


def symbol(sim, p: Params, required: bool = True) -> str | None:
    """The `symbol` parameter, checked against the markets (-1121)."""
    sym = p.text("symbol", required)
    if sym is not None:
        sim.engine.market(sym)
    return sym


def side(p: Params) -> str:
    """BUY or SELL (-1117)."""
    return p.choice("side", SIDES, -1117, "Invalid side.")


def position_side(sim, p: Params) -> None:
    """One-way mode takes BOTH (or nothing); hedge mode needs LONG/SHORT (-4061)."""
    ps = p.text("positionSide", required=False)
    if not sim.engine.dual_side:
        if ps not in (None, "BOTH"):
            raise SimError(-4061, "Order's position side does not match user's setting.")
        return
    if ps not in ("LONG", "SHORT"):
        raise SimError(-4061, "Order's position side does not match user's setting.")
    # Hedge mode is a switch the simulator keeps and reports, not a second position book.
    raise SimError(-1000, "The simulator does not trade hedge-mode (LONG/SHORT) positions; "
                          "switch back to one-way mode.")


def order_ref(p: Params, id_name: str, cid_name: str) -> tuple[int | None, str | None]:
    """An order named by id or client id; one of them is required (-1102)."""
    oid = p.integer(id_name, required=False)
    cid = p.client_id(cid_name)
    if oid is None and cid is None:
        raise SimError(-1102, f"Param '{cid_name}' or '{id_name}' must be sent, "
                              "but both were empty/null!")
    return oid, cid


def new_client_id(p: Params, name: str) -> str:
    """The client id sent (checked against Binance's rule) or a generated one."""
    return p.client_id(name) or "sim" + secrets.token_hex(10)


@dataclass(frozen=True, slots=True)
class Window:
    """A validated history query: time range and row limit."""

    start_ms: int
    end_ms: int
    limit: int


def window(sim, p: Params, *, default_recent: bool = True) -> Window:
    """startTime / endTime / limit as Binance checks them (-1023, -1127, -1130).

    Without either time the last 7 days are searched, as Binance does, unless the query
    is anchored on an id (`default_recent=False`).
    """
    now = sim.clock.now_ms()
    start = p.integer("startTime", required=False)
    end = p.integer("endTime", required=False)
    limit = p.integer("limit", required=False)
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise SimError(-1130, "Data sent for parameter 'limit' is not valid.")
    if start is not None and end is not None and start > end:
        raise SimError(-1023, "Start time is greater than end time.")
    limit = limit or DEFAULT_LIMIT
    if start is None and end is None:
        if not default_recent:  # an id-anchored query (fromId, algoId) has no time range
            return Window(0, now, limit)
        start, end = now - MAX_WINDOW_MS, now
    elif start is None:
        start = end - MAX_WINDOW_MS
    elif end is None:
        end = start + MAX_WINDOW_MS
    if end - start > MAX_WINDOW_MS:
        raise SimError(-1127, "More than 168 hours between startTime and endTime.")
    return Window(start, end, limit)
