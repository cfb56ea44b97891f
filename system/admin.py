"""The CLI's side of the admin interface: reach the running system, ask, format the answers.

The CLI never starts an actor system: it checks that the admin port answers first (Thespian's
ActorSystem() would otherwise start a new, empty one) and says "posguard is not running
(admin port N)". It never creates a supervisor either: it looks each account's up
(`posguard:<account>`), and until the launcher's supervisor is registered and initialised a
command to it says "posguard is starting ... try again" (exit 1). Every ask has an explicit
timeout; None means no answer. A symbol is named per account (ACCOUNT:SYMBOL, `--account`);
with one account configured the account may be left out (SymbolRef, resolve()).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
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
from system.account_run import supervisor_name
from system.config import Config
from system.usage import UsageError

SUPERVISOR = "actors.supervisor.Supervisor"
SETTLED = ("FLAT", "PROTECTED", "QUARANTINED")


class AdminError(Exception):
    """The operation could not be done (exit 1); the message says why."""


class AmbiguousSymbol(UsageError):
    """A symbol whose account cannot be told, or an account not configured (exit 2)."""


@dataclass(frozen=True, slots=True)
class SymbolRef:
    """A symbol as the operator named it: `SYMBOL` or `ACCOUNT:SYMBOL`."""

    symbol: str
    """The exchange symbol, upper-cased."""
    account: str | None = None
    """The account named with it (ACCOUNT:SYMBOL or --account); None: not named."""

    def __str__(self) -> str:
        return self.symbol if self.account is None else f"{self.account}:{self.symbol}"


class Admin:
    """A connection to the running system: every configured account's supervisor."""

    def __init__(self, config: Config, timeout_secs: float | None = None) -> None:
        a = config.actor_system
        self.port = a.admin_port
        self.accounts = tuple(ex.account for ex in config.accounts)
        """The configured accounts, in the config's order."""
        self.timeout_secs = a.ask_timeout_secs if timeout_secs is None else timeout_secs
        if not actor_system.port_answers(a.admin_address, a.admin_port):
            raise AdminError(f"posguard is not running (admin port {a.admin_port})")
        try:
            self.asys = actor_system.connect(a.admin_address, a.admin_port)
            # Looked up, never created: with none registered the launcher is (re-)creating it.
            self.sups = {name: actor_system.lookup(self.asys, supervisor_name(name),
                                                   self.timeout_secs)
                         for name in self.accounts}
        except actor_system.ActorSystemError as e:
            where = f"admin port {a.admin_port}"
            raise AdminError(str(e) if where in str(e) else f"{e} ({where})") from e
        if all(sup is None for sup in self.sups.values()):
            raise AdminError(NOT_READY)

    def _account(self, account: str | None) -> str:
        if account is None:
            if len(self.accounts) > 1:
                raise AmbiguousSymbol(f"several accounts are configured "
                                      f"({', '.join(self.accounts)}): name one")
            return self.accounts[0]
        if account not in self.accounts:
            raise AmbiguousSymbol(f"account {account!r} is not configured; configured: "
                                  f"{', '.join(self.accounts)}")
        return account

    def ask(self, msg: Any, timeout_secs: float | None = None,
            account: str | None = None) -> Any:
        """The account's supervisor's answer (account None: the only account), or
        AdminError naming the timeout."""
        name = self._account(account)
        sup = self.sups.get(name)
        if sup is None:
            raise AdminError(f"account {name}: {NOT_READY}")
        t = self.timeout_secs if timeout_secs is None else timeout_secs
        reply = self.asys.ask(sup, msg, timedelta(seconds=t))
        if reply is None:
            where = "" if len(self.accounts) == 1 else f"account {name}; "
            raise AdminError(f"no answer from posguard within {t:g} s "
                             f"({type(msg).__name__}; {where}admin port {self.port})")
        return reply

    def status(self, account: str | None = None) -> SupervisorStatus:
        """The account's supervisor's status (AdminError if it is not initialised)."""
        st = self.ask(StatusQuery(), account=account)
        if not isinstance(st, SupervisorStatus):
            raise AdminError(f"unexpected answer {type(st).__name__}")
        if not st.initialized:
            raise AdminError(NOT_READY if len(self.accounts) == 1
                             else f"account {self._account(account)}: {NOT_READY}")
        return st

    def statuses(self) -> dict[str, SupervisorStatus]:
        """Every account's status, in the config's order (AdminError if one has none)."""
        return {name: self.status(name) for name in self.accounts}

    def resolve(self, ref: SymbolRef, *, must_exist: bool = False) -> tuple[str, str]:
        """(account, symbol) of what the operator named. Without an account: the only
        account, or the one account whose supervisor knows the symbol; a symbol several
        accounts have (or, with `must_exist` false, none has) is AmbiguousSymbol naming
        the accounts."""
        if ref.account is not None or len(self.accounts) == 1:
            return self._account(ref.account), ref.symbol
        having = [name for name, st in self.statuses().items()
                  if any(e.kind == "symbol" and e.symbol == ref.symbol for e in st.actors)]
        if len(having) == 1:
            return having[0], ref.symbol
        if having:
            raise AmbiguousSymbol(f"{ref.symbol} is on several accounts ({', '.join(having)}): "
                                  f"name one, e.g. {having[0]}:{ref.symbol} or --account "
                                  f"{having[0]}")
        if must_exist:
            raise AdminError(f"{ref.symbol}: no account has an actor for this symbol "
                             f"(accounts: {', '.join(self.accounts)})")
        raise AmbiguousSymbol(f"{ref.symbol}: several accounts are configured "
                              f"({', '.join(self.accounts)}) and none has it yet: name one, "
                              f"e.g. {self.accounts[0]}:{ref.symbol} or --account "
                              f"{self.accounts[0]}")

    def view(self, symbol: str, account: str | None = None
             ) -> SymbolView | ActorEntry | Located:
        """A symbol's fresh view, or its table entry when no actor runs."""
        return self.ask(StateQuery(symbol), account=account)

    def wait_settled(self, symbol: str, timeout_secs: float,
                     settled: tuple[str, ...] = SETTLED, account: str | None = None) -> Any:
        """Poll the symbol until its state is in `settled` (or the timeout)."""
        deadline = time.monotonic() + timeout_secs
        v = self.view(symbol, account)
        while getattr(v, "state", None) not in settled and time.monotonic() < deadline:
            time.sleep(0.1)
            v = self.view(symbol, account)
        return v


# --------------------------------------------------------------------------- formatting


def symbol_row(view: SymbolView | None, entry: ActorEntry,
               account: str | None = None) -> dict[str, Any]:
    """One symbol for `status --json` (the DESIGN.md contract, extended: "account")."""
    v = view if isinstance(view, SymbolView) else entry.view
    return {
        "account": account, "symbol": entry.symbol,
        "state": v.state if v and entry.pid else entry.state,
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


STATUS_COLUMNS = [("ACCOUNT", "account"), ("SYMBOL", "symbol"), ("STATE", "state"),
                  ("SIDE", "side"), ("QTY", "qty"),
                  ("ENTRY", "entry_price"), ("MARK", "mark_price"), ("STOP", "stop_price"),
                  ("STOP_ID", "stop_order_id"), ("TRAIL", "trailing_active"),
                  ("PEAK", "peak_price"), ("SEQ", "seq"), ("RESTARTS", "restarts"),
                  ("PID", "pid"), ("PROTECTION", "protection"), ("LAST_ERROR", "last_error")]
ACTOR_COLUMNS = [("ACCOUNT", "account"), ("KIND", "kind"), ("SYMBOL", "symbol"),
                 ("PID", "pid"), ("STATE", "state"),
                 ("RESTARTS", "restarts"), ("POISON", "poison_messages"),
                 ("LAST_EXIT_REASON", "last_exit_reason")]
