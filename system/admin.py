"""The CLI's side of the admin interface: reach the running system, ask, format the answers.

The CLI never starts an actor system: it checks that the admin port answers first (Thespian's
ActorSystem() would otherwise start a new, empty one) and says "posguard is not running
(admin port N)". It never creates the supervisor either: it looks the name up, and until the
launcher's supervisor is registered and initialised every command says "posguard is
starting ... try again" (exit 1). Every ask has an explicit timeout; None means no answer.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from actors.messages import (
    ActorEntry,
    Located,
    StateQuery,
    StatusQuery,
    SupervisorStatus,
    SymbolView,
)
from actors.supervisor_admin import NOT_READY
from system import actor_system
from system.config import Config

SUPERVISOR = "actors.supervisor.Supervisor"
SUPERVISOR_NAME = "posguard"
SETTLED = ("FLAT", "PROTECTED", "QUARANTINED")


class AdminError(Exception):
    """The operation could not be done (exit 1); the message says why."""


class Admin:
    """A connection to the running system's supervisor."""

    def __init__(self, config: Config, timeout_secs: float | None = None) -> None:
        a = config.actor_system
        self.port = a.admin_port
        self.timeout_secs = a.ask_timeout_secs if timeout_secs is None else timeout_secs
        if not actor_system.port_answers(a.admin_address, a.admin_port):
            raise AdminError(f"posguard is not running (admin port {a.admin_port})")
        try:
            self.asys = actor_system.connect(a.admin_address, a.admin_port)
            # Looked up, never created: with none registered the launcher is (re-)creating it.
            self.sup = actor_system.lookup(self.asys, SUPERVISOR_NAME, self.timeout_secs)
        except actor_system.ActorSystemError as e:
            where = f"admin port {a.admin_port}"
            raise AdminError(str(e) if where in str(e) else f"{e} ({where})") from e
        if self.sup is None:
            raise AdminError(NOT_READY)

    def ask(self, msg: Any, timeout_secs: float | None = None) -> Any:
        """The supervisor's answer, or AdminError naming the timeout."""
        t = self.timeout_secs if timeout_secs is None else timeout_secs
        reply = self.asys.ask(self.sup, msg, timedelta(seconds=t))
        if reply is None:
            raise AdminError(f"no answer from posguard within {t:g} s "
                             f"({type(msg).__name__}; admin port {self.port})")
        return reply

    def status(self) -> SupervisorStatus:
        """The supervisor's status (AdminError if it is not initialised)."""
        st = self.ask(StatusQuery())
        if not isinstance(st, SupervisorStatus):
            raise AdminError(f"unexpected answer {type(st).__name__}")
        if not st.initialized:
            raise AdminError(NOT_READY)
        return st

    def view(self, symbol: str) -> SymbolView | ActorEntry | Located:
        """A symbol's fresh view, or its table entry when no actor runs."""
        return self.ask(StateQuery(symbol))

    def wait_settled(self, symbol: str, timeout_secs: float,
                     settled: tuple[str, ...] = SETTLED) -> Any:
        """Poll the symbol until its state is in `settled` (or the timeout)."""
        deadline = time.monotonic() + timeout_secs
        v = self.view(symbol)
        while getattr(v, "state", None) not in settled and time.monotonic() < deadline:
            time.sleep(0.1)
            v = self.view(symbol)
        return v


# --------------------------------------------------------------------------- formatting


def symbol_row(view: SymbolView | None, entry: ActorEntry) -> dict[str, Any]:
    """One symbol for `status --json` (the DESIGN.md contract, extended)."""
    v = view if isinstance(view, SymbolView) else entry.view
    return {
        "symbol": entry.symbol, "state": v.state if v and entry.pid else entry.state,
        "side": v.side if v else None, "qty": v.qty if v else "0",
        "entry_price": v.entry_price if v else None, "mark_price": v.mark_price if v else None,
        "stop_price": v.stop_price if v else None,
        "stop_order_id": v.stop_order_id if v else None,
        "stop_client_id": v.stop_client_id if v else None,
        "trailing_active": v.trailing_active if v else False,
        "peak_price": v.peak_price if v else None, "seq": v.seq if v else None,
        "restarts": entry.restarts, "pid": entry.pid,
        "last_error": (v.last_error if v and v.last_error else None) or entry.last_exit_reason,
        "protection": protection(v),
    }


def protection(v: SymbolView | None) -> str | None:
    """UNPROTECTED (in capitals, wherever it is true: a position and no stop of ours resting,
    whatever the state, QUARANTINED included), protected, or None with no position."""
    if v is None or not v.side:
        return None
    return "UNPROTECTED" if v.unprotected else "protected"


def stream_json(st: SupervisorStatus) -> dict[str, Any]:
    """The streams' health for `status --json`."""
    return {s.kind: {"state": s.state, "frames": s.frames, "bad_frames": s.bad_frames,
                     "reconnects": s.reconnects, "last_frame_ms": s.last_frame_ms,
                     "last_error": s.last_error, "subscriptions": s.subscriptions,
                     "pid": s.pid} for s in st.streams}


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """A plain-text table: (header, key) columns, '-' for missing values."""
    cells = [[h for h, _ in columns]] + [
        ["-" if r.get(k) is None else str(r.get(k)) for _, k in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)


STATUS_COLUMNS = [("SYMBOL", "symbol"), ("STATE", "state"), ("SIDE", "side"), ("QTY", "qty"),
                  ("ENTRY", "entry_price"), ("MARK", "mark_price"), ("STOP", "stop_price"),
                  ("STOP_ID", "stop_order_id"), ("TRAIL", "trailing_active"),
                  ("PEAK", "peak_price"), ("SEQ", "seq"), ("RESTARTS", "restarts"),
                  ("PID", "pid"), ("PROTECTION", "protection"), ("LAST_ERROR", "last_error")]
ACTOR_COLUMNS = [("KIND", "kind"), ("SYMBOL", "symbol"), ("PID", "pid"), ("STATE", "state"),
                 ("RESTARTS", "restarts"), ("POISON", "poison_messages"),
                 ("LAST_EXIT_REASON", "last_exit_reason")]
