"""Reconcile requests (the operator's, a restart's, the periodic sweep's) and the release of
a quarantine: every road to RECONCILING that starts outside the machine.

Opening and closing at market are in actors/machine/market.py.
"""

from __future__ import annotations

from actors.machine.core import Context, Step, payload, start_reconcile
from actors.machine.coverage import differences
from actors.messages import ReconcileRequest, StopCheck
from actors.symbol_state import SymbolState


def reconcile(s: SymbolState, req: ReconcileRequest, ctx: Context) -> Step:
    """Fetch the exchange's truth and repair what differs."""
    return start_reconcile(s, "reconcile_started", payload(reason=req.reason, was=s.state.value))


def release(s: SymbolState, req: ReconcileRequest, ctx: Context) -> Step:
    """QUARANTINED: the operator's release is a reconcile, and the stop gets
    MAX_STOP_FAILURES fresh attempts."""
    return start_reconcile(s, "reconcile_started", payload(reason=req.reason, was=s.state.value),
                           fresh_stop_attempts=True)


def stop_check(s: SymbolState, chk: StopCheck, ctx: Context) -> Step | None:
    """The sweep's read of our stops (FLAT, PROTECTED): reconcile if it shows a difference
    that is real. Only the actor can judge: only it knows what is in flight, and a read older
    than our last change cannot show it (`orders_changed_ms`)."""
    if s.orders_changed_ms >= chk.fetched_ms:
        return None
    return _differs(s, chk, [text for _, text in differences(s, chk, ctx)], fresh=False)


def stop_check_while_quarantined(s: SymbolState, chk: StopCheck, ctx: Context) -> Step | None:
    """QUARANTINED: the operator decides about extra stops; a position left uncovered cannot
    wait, so any other difference releases the quarantine into a reconcile."""
    if s.orders_changed_ms >= chk.fetched_ms:
        return None
    found = [text for kind, text in differences(s, chk, ctx) if kind != "extra"]
    return _differs(s, chk, found, fresh=True)


def _differs(s: SymbolState, chk: StopCheck, found: list[str], *, fresh: bool) -> Step | None:
    if not found:
        return None
    return start_reconcile(s, "reconcile_started",
                           payload(reason="sweep: stops differ", was=s.state.value,
                                   differs=found), fresh_stop_attempts=fresh)
