"""`posguard restart | open | close | shutdown`: the operator's commands (status and actors:
system/admin_status.py; the shared arguments: system/admin_args.py).

Each talks to the running system through its account's supervisor (system/admin.py). Human
output is a table; `--json` is the stable contract documented in the README. Exit codes: 0 ok,
1 the operation failed (not running, refused, timed out), 2 bad usage (an account that must be
named, or one not configured).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from actors.messages import (
    ClosePosition,
    CommandResult,
    OpenPosition,
    RestartDone,
    RestartSymbol,
    ShutdownAccepted,
    ShutdownRequest,
    SymbolView,
)
from system import actor_system
from system.admin import STATUS_COLUMNS, Admin, AdminError, AmbiguousSymbol, protection, table
from system.admin_args import (  # noqa: F401 - symbol_arg, account_arg, ref_of: re-exported
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    account_arg,
    command_id_arg,
    common_args,
    connect,
    guarded,
    named,
    qty_arg,
    ref_of,
    symbol_arg,
)
from system.admin_status import actors, actors_args, status, status_args
from system.config import Config
from system.progress import Narrator, in_flight

# --------------------------------------------------------------------------- restart


def restart_args(p: argparse.ArgumentParser) -> None:
    """restart [ACCOUNT:]SYM [--account A]."""
    p.add_argument("symbol", type=symbol_arg, help="symbol whose actor to restart")
    common_args(p)


@guarded
def restart(args: argparse.Namespace, config: Config) -> int:
    """Stop one symbol actor; the supervisor recreates it from its snapshot; print the state."""
    admin = connect(args, config)
    account, symbol = admin.resolve(ref_of(args), must_exist=True)
    done = admin.ask(RestartSymbol(symbol), admin.timeout_secs + 10, account)
    if not isinstance(done, RestartDone) or not done.ok:
        raise AdminError(f"{named(admin, account, symbol)}: restart failed: "
                         f"{getattr(done, 'detail', done)}")
    view = admin.wait_settled(symbol, admin.timeout_secs + 10, account=account)
    return _print_view(args, admin, account, done.detail, view, restored_seq=done.seq)


def _print_view(args: argparse.Namespace, admin: Admin, account: str, headline: str,
                view: Any, **extra: Any) -> int:
    name = named(admin, account, args.symbol.symbol)
    if not isinstance(view, SymbolView):
        raise AdminError(f"{name}: {headline}; but no state answer ({view})")
    if getattr(args, "json", False):
        print(json.dumps({"result": headline, "account": account, **extra,
                          "view": _view_json(view, account)}, indent=1))
    else:
        print(f"{name}: {headline}")
        print(table([_view_json(view, account)],
                    [c for c in STATUS_COLUMNS if c[1] != "restarts"]))
    return EXIT_OK


def _view_json(v: SymbolView, account: str) -> dict[str, Any]:
    return {"account": account, "symbol": v.symbol, "state": v.state, "side": v.side, "qty": v.qty,
            "entry_price": v.entry_price, "mark_price": v.mark_price,
            "stop_price": v.stop_price, "stop_order_id": v.stop_order_id,
            "stop_client_id": v.stop_client_id, "trailing_active": v.trailing_active,
            "peak_price": v.peak_price, "seq": v.seq, "pid": v.pid,
            "last_error": v.last_error, "protection": protection(v)}


# --------------------------------------------------------------------------- open / close


def open_args(p: argparse.ArgumentParser) -> None:
    """open ACCOUNT:SYM --side long|short --qty Q [--id ID] (SYM alone with one account)."""
    p.add_argument("symbol", type=symbol_arg, help="symbol, e.g. BTCUSDT")
    p.add_argument("--side", required=True, choices=["long", "short"])
    p.add_argument("--qty", required=True, type=qty_arg, help="base-asset quantity")
    p.add_argument("--id", type=command_id_arg, default=None,
                   help="command id (a repeated id is reported as a duplicate, never a "
                        "second order); default: a fresh one")
    p.add_argument("--no-wait", action="store_true",
                   help="do not wait for the position to be PROTECTED")
    common_args(p)


@guarded
def open_position(args: argparse.Namespace, config: Config) -> int:
    """Open at market; wait until the stop rests (PROTECTED)."""
    admin = connect(args, config)
    ref = ref_of(args)
    if ref.account is None and len(admin.accounts) > 1:
        # Never guessed, not even from which account has the symbol: real money moves.
        raise AmbiguousSymbol(f"{ref.symbol}: several accounts are configured "
                              f"({', '.join(admin.accounts)}): name the one to open on, e.g. "
                              f"{admin.accounts[0]}:{ref.symbol} or --account "
                              f"{admin.accounts[0]}")
    account, symbol = admin.resolve(ref)
    cid = args.id or f"cli-{uuid.uuid4().hex[:12]}"
    result = admin.ask(OpenPosition(symbol, args.side, args.qty, cid),
                       admin.timeout_secs + 10, account)
    return _after_command(args, admin, account, result, ("PROTECTED", "FLAT", "QUARANTINED"),
                          "PROTECTED")


def close_args(p: argparse.ArgumentParser) -> None:
    """close [ACCOUNT:]SYM [--account A]."""
    p.add_argument("symbol", type=symbol_arg, help="symbol, e.g. BTCUSDT")
    p.add_argument("--no-wait", action="store_true", help="do not wait for FLAT")
    common_args(p)


@guarded
def close_position(args: argparse.Namespace, config: Config) -> int:
    """Close at market, then cancel the stops; wait until FLAT."""
    admin = connect(args, config)
    account, symbol = admin.resolve(ref_of(args), must_exist=True)
    result = admin.ask(ClosePosition(symbol), admin.timeout_secs + 10, account)
    return _after_command(args, admin, account, result, ("FLAT", "QUARANTINED"), "FLAT")


def _after_command(args: argparse.Namespace, admin: Admin, account: str, result: Any,
                   settled: tuple[str, ...], goal: str) -> int:
    symbol = args.symbol.symbol
    name = named(admin, account, symbol)
    if not isinstance(result, CommandResult):
        raise AdminError(f"{name}: {getattr(result, 'detail', result)}")
    headline = f"{result.outcome}: {result.detail}"
    if result.outcome == "rejected":
        raise AdminError(f"{name}: {headline}")
    if result.outcome == "duplicate" or args.no_wait:
        view = admin.view(symbol, account)
        return (_print_view(args, admin, account, headline, view)
                if isinstance(view, SymbolView) else EXIT_OK)
    view = admin.wait_settled(symbol, admin.timeout_secs + 20, settled, account)
    _print_view(args, admin, account, headline, view)
    if getattr(view, "state", None) != goal:
        print(f"posguard {args.command}: {name} ended {getattr(view, 'state', '?')}, "
              f"not {goal}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


# --------------------------------------------------------------------------- shutdown


def shutdown_args(p: argparse.ArgumentParser) -> None:
    """shutdown (every account: one instance)."""
    common_args(p, json_flag=False, account_flag=False)


@guarded
def shutdown(args: argparse.Namespace, config: Config) -> int:
    """Ask the running posguard (every account) to shut down gracefully; wait until it has."""
    admin = connect(args, config)
    accepted = _ask_shutdown(admin, None)
    a = config.actor_system
    print(f"posguard: shutting down (in flight: {', '.join(accepted) or 'none'}); "
          f"exchange stops stay in place", flush=True)

    def busy() -> tuple[str, ...] | None:
        # Asked again (it only repeats the answer): what the launcher's drain still waits for.
        try:
            return _ask_shutdown(admin, 1.0)
        except AdminError:
            return None

    wait_stopped(lambda: not actor_system.port_answers(a.admin_address, a.admin_port), busy,
                 a.shutdown_grace_secs, a.shutdown_grace_secs + 30,
                 Narrator(lambda text: print(f"posguard: {text}", flush=True)))
    print("posguard stopped")
    return EXIT_OK


def _ask_shutdown(admin: Admin, timeout_secs: float | None) -> tuple[str, ...]:
    """Every account's supervisor stops taking commands; the symbols still in flight (named
    ACCOUNT:SYMBOL when there are several accounts)."""
    busy: list[str] = []
    failures: list[str] = []
    for name in admin.accounts:
        # One account that takes it is enough: the launcher stops the whole instance then.
        try:
            accepted = admin.ask(ShutdownRequest("posguard shutdown (CLI)"), timeout_secs, name)
        except AdminError as e:
            failures.append(str(e))
            continue
        if isinstance(accepted, CommandResult):  # refused (e.g. the supervisor is not ready)
            failures.append(accepted.detail)
        elif not isinstance(accepted, ShutdownAccepted):
            failures.append(f"unexpected answer {accepted!r}")
        else:
            prefix = "" if len(admin.accounts) == 1 else f"{name}:"
            busy += [prefix + sym for sym in accepted.busy_symbols]
    if len(failures) == len(admin.accounts):
        raise AdminError("; ".join(failures))
    return tuple(busy)


ASK_EVERY_SECS = 1.0
"""While it waits, `posguard shutdown` asks what is still in flight this often."""


def wait_stopped(gone: Callable[[], bool], busy: Callable[[], tuple[str, ...] | None],
                 grace_secs: float, bound_secs: float, narrator: Narrator,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """Until the system is gone (AdminError past `bound_secs`), telling `narrator` what it
    waits for: the symbols in flight (`busy`, None once the supervisor no longer answers),
    then the actor system's end. The narrator says nothing of a stop over within a second."""
    t0 = clock()
    next_ask, supervisor_gone = t0, False
    while not gone():
        now = clock()
        if now - t0 > bound_secs:
            raise AdminError(f"still running {bound_secs:g} s after the request")
        if not supervisor_gone and now >= next_ask:
            next_ask = now + ASK_EVERY_SECS
            symbols = busy()
            supervisor_gone = symbols is None
            narrator.step(in_flight(symbols, t0 + grace_secs - now) if symbols
                          else "ending the actor system")
        narrator.poll()
        sleep(0.2)


COMMANDS = {
    "status": ("per-symbol state of the running system", status_args, status),
    "actors": ("every actor: kind, symbol, pid, state, restarts", actors_args, actors),
    "restart": ("restart one symbol actor from its snapshot", restart_args, restart),
    "open": ("open a position at market and protect it", open_args, open_position),
    "close": ("close a position at market", close_args, close_position),
    "shutdown": ("shut the running system down gracefully", shutdown_args, shutdown),
}
