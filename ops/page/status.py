"""What `/api/status` returns, built from the supervisor's status (pure functions).

Each symbol row is `posguard status --json`'s row (system.admin.symbol_row, so the page and
the CLI cannot disagree on a value) plus what the page adds: the stop's distance from the
mark, the trailing state in words and the time of the last exchange event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from actors.messages import ActorEntry, SupervisorStatus, SymbolView
from system.admin import stream_json, symbol_row

PCT_PLACES = Decimal("0.01")


def status_json(st: SupervisorStatus | None, observed_ms: int | None, now_ms: int,
                trailing_mode: Callable[[str], str], engine_events: Iterable[Any] = ()
                ) -> dict[str, Any]:
    """The whole page state; `observed_ms` is when the launcher read `st` (None: not yet)."""
    events = [{"kind": e.kind, "text": e.text, "at_ms": e.at_ms} for e in engine_events]
    if st is None:
        return {"observed_ms": None, "now_ms": now_ms, "mode": None, "epoch": None,
                "exchange_url": None, "stopping": False, "stream": {}, "symbols": [],
                "engine_events": events}
    symbols = sorted((e for e in st.actors if e.kind == "symbol" and e.symbol),
                     key=lambda e: e.symbol or "")
    return {"observed_ms": observed_ms, "now_ms": now_ms, "mode": st.mode, "epoch": st.epoch,
            "exchange_url": st.exchange_url, "stopping": st.stopping,
            "stream": stream_json(st),
            "symbols": [page_row(e, trailing_mode((e.symbol or "").rpartition(":")[2]))
                        for e in symbols],
            "engine_events": events}


def page_row(entry: ActorEntry, mode: str) -> dict[str, Any]:
    """One symbol: status --json's row plus distance, trailing state and last event."""
    account, sep, bare = (entry.symbol or "").rpartition(":")
    # Several accounts: the launcher names each symbol account:SYMBOL (ops_status).
    row = symbol_row(None, dataclasses.replace(entry, symbol=bare) if sep else entry,
                     account if sep else None)
    v = entry.view
    distance, pct = stop_distance(row["side"], row["mark_price"], row["stop_price"])
    row.update(distance=distance, distance_pct=pct, trailing=trailing_state(v, mode),
               last_event_ms=(v.last_event_ms or None) if v else None)
    return row


def stop_distance(side: str | None, mark: str | None, stop: str | None
                  ) -> tuple[str | None, str | None]:
    """How far the mark may move against the position before the stop triggers, in price
    and in percent of the mark: positive while the stop is on the protective side (below the
    mark for a long, above it for a short), negative once the mark is past it."""
    if side not in ("long", "short") or mark is None or stop is None:
        return None, None
    try:
        m, s = Decimal(mark), Decimal(stop)
    except InvalidOperation:
        return None, None
    if not (m.is_finite() and s.is_finite()) or m <= 0:
        return None, None
    d = m - s if side == "long" else s - m
    return format(d, "f"), format((d * 100 / m).quantize(PCT_PLACES), "f")


def trailing_state(v: SymbolView | None, mode: str) -> str | None:
    """The trailing stop in words; None with no position."""
    if v is None or not v.side:
        return None
    if v.trailing_order_id:
        parts = ["native"]
        if v.trailing_callback_pct:
            parts.append(f"callback {v.trailing_callback_pct}%")
        if v.trailing_activate_price:
            parts.append(f"activates at {v.trailing_activate_price}")
        return ", ".join(parts)
    if mode == "off":
        return "off"
    if mode == "native":
        return "native, no trailing order resting"
    if v.trailing_active:
        return f"active, peak {v.peak_price}" if v.peak_price else "active"
    return "not yet active"


def seq_of(st: SupervisorStatus | None, symbol: str) -> tuple[bool, int | None]:
    """(the symbol is in the status, its latest journal seq as its actor last reported)."""
    if st is None:
        return False, None
    for e in st.actors:
        if e.kind == "symbol" and e.symbol == symbol:
            return True, (e.view.seq if e.view is not None else None)
    return False, None


def samples(st: SupervisorStatus) -> dict[str, tuple[str | None, str | None]]:
    """symbol -> (mark price, stop price) for the price history."""
    return {e.symbol: ((e.view.mark_price, e.view.stop_price) if e.view else (None, None))
            for e in st.actors if e.kind == "symbol" and e.symbol}
