"""`posguard status | actors | restart | open | close | shutdown`: the operator's commands.

Each talks to the running system through its supervisor (system/admin.py). Human output is a
table; `--json` is the stable contract documented in the README. Exit codes: 0 ok, 1 the
operation failed (not running, refused, timed out), 2 bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from actors.messages import (
    ActorEntry,
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
from system.admin import (
    ACTOR_COLUMNS,
    STATUS_COLUMNS,
    Admin,
    AdminError,
    protection,
    stream_json,
    symbol_row,
    table,
)
from system.config import Config
from system.progress import Narrator, in_flight

EXIT_OK, EXIT_FAILED = 0, 1


def symbol_arg(text: str) -> str:
    """An exchange symbol: letters and digits, upper-cased."""
    sym = text.strip().upper()
    if not sym.isalnum() or not 2 <= len(sym) <= 30:
        raise argparse.ArgumentTypeError(f"{text!r} is not a symbol (e.g. BTCUSDT)")
    return sym


def qty_arg(text: str) -> Decimal:
    """A positive decimal quantity."""
    try:
        q = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not q.is_finite() or q <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return q


def command_id_arg(text: str) -> str:
    """An operator command id: 1-64 printable characters without spaces."""
    if not 1 <= len(text) <= 64 or not text.isprintable() or " " in text:
        raise argparse.ArgumentTypeError(f"{text!r}: an id is 1-64 characters, no spaces")
    return text


def _common(p: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    if json_flag:
        p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--timeout-secs", type=float, default=None,
                   help="how long to wait for answers (default actor_system.ask_timeout_secs)")


def _admin(args: argparse.Namespace, config: Config) -> Admin:
    return Admin(config, args.timeout_secs)


def guarded(fn: Any) -> Any:
    """Turn AdminError into a message and exit 1."""
    def run(args: argparse.Namespace, config: Config) -> int:
        try:
            return int(fn(args, config))
        except AdminError as e:
            print(f"posguard {args.command}: {e}", file=sys.stderr)
            return EXIT_FAILED
    run.__doc__ = fn.__doc__
    return run


# --------------------------------------------------------------------------- status


def status_args(p: argparse.ArgumentParser) -> None:
    """status [SYM] [--json]."""
    p.add_argument("symbol", nargs="?", type=symbol_arg, help="only this symbol")
    _common(p)


@guarded
def status(args: argparse.Namespace, config: Config) -> int:
    """Per-symbol state, fresh from each symbol actor."""
    admin = _admin(args, config)
    st = admin.status()
    entries = [e for e in st.actors if e.kind == "symbol"
               and (args.symbol is None or e.symbol == args.symbol)]
    if args.symbol is not None and not entries:
        raise AdminError(f"{args.symbol}: no actor for this symbol")
    rows = []
    for e in entries:
        view = None
        # An actor that is exiting does not answer: its last pushed view is shown instead.
        with contextlib.suppress(AdminError):
            view = admin.view(e.symbol) if e.pid else None
        rows.append(symbol_row(view if isinstance(view, SymbolView) else None, e))
    if args.json:
        print(json.dumps({"mode": st.mode, "exchange_url": st.exchange_url, "epoch": st.epoch,
                          "stopping": st.stopping, "stream": stream_json(st),
                          "symbols": rows}, indent=1))
        return EXIT_OK
    streams = ", ".join(f"{s.kind} {s.state}" for s in st.streams) or "none"
    print(f"posguard {st.mode} | epoch {st.epoch} | exchange {st.exchange_url or 'binance'} | "
          f"streams: {streams}" + (" | SHUTTING DOWN" if st.stopping else ""))
    print(table(rows, STATUS_COLUMNS) if rows else "no symbols")
    return EXIT_OK


# --------------------------------------------------------------------------- actors


def actors_args(p: argparse.ArgumentParser) -> None:
    """actors [--json]."""
    _common(p)


@guarded
def actors(args: argparse.Namespace, config: Config) -> int:
    """Every actor: kind, symbol, pid, state, restarts, last exit reason."""
    st = _admin(args, config).status()
    sup = ActorEntry("supervisor", None, st.pid, "stopping" if st.stopping else "running", 0,
                     None, None, None, st.poison_messages)
    rows = [{"kind": e.kind, "symbol": e.symbol, "pid": e.pid, "state": e.state,
             "restarts": e.restarts, "last_exit_reason": e.last_exit_reason,
             "poison_messages": e.poison_messages} for e in (sup, *st.actors)]
    print(json.dumps(rows, indent=1) if args.json else table(rows, ACTOR_COLUMNS))
    return EXIT_OK


# --------------------------------------------------------------------------- restart


def restart_args(p: argparse.ArgumentParser) -> None:
    """restart SYM."""
    p.add_argument("symbol", type=symbol_arg, help="symbol whose actor to restart")
    _common(p)


@guarded
def restart(args: argparse.Namespace, config: Config) -> int:
    """Stop one symbol actor; the supervisor recreates it from its snapshot; print the state."""
    admin = _admin(args, config)
    done = admin.ask(RestartSymbol(args.symbol), admin.timeout_secs + 10)
    if not isinstance(done, RestartDone) or not done.ok:
        raise AdminError(f"{args.symbol}: restart failed: {getattr(done, 'detail', done)}")
    view = admin.wait_settled(args.symbol, admin.timeout_secs + 10)
    return _print_view(args, done.detail, view, restored_seq=done.seq)


def _print_view(args: argparse.Namespace, headline: str, view: Any, **extra: Any) -> int:
    if not isinstance(view, SymbolView):
        raise AdminError(f"{args.symbol}: {headline}; but no state answer ({view})")
    if getattr(args, "json", False):
        print(json.dumps({"result": headline, **extra, "view": _view_json(view)}, indent=1))
    else:
        print(f"{args.symbol}: {headline}")
        print(table([_view_json(view)], [c for c in STATUS_COLUMNS if c[1] != "restarts"]))
    return EXIT_OK


def _view_json(v: SymbolView) -> dict[str, Any]:
    return {"symbol": v.symbol, "state": v.state, "side": v.side, "qty": v.qty,
            "entry_price": v.entry_price, "mark_price": v.mark_price,
            "stop_price": v.stop_price, "stop_order_id": v.stop_order_id,
            "stop_client_id": v.stop_client_id, "trailing_active": v.trailing_active,
            "peak_price": v.peak_price, "seq": v.seq, "pid": v.pid,
            "last_error": v.last_error, "protection": protection(v)}


# --------------------------------------------------------------------------- open / close


def open_args(p: argparse.ArgumentParser) -> None:
    """open SYM --side long|short --qty Q [--id ID]."""
    p.add_argument("symbol", type=symbol_arg, help="symbol, e.g. BTCUSDT")
    p.add_argument("--side", required=True, choices=["long", "short"])
    p.add_argument("--qty", required=True, type=qty_arg, help="base-asset quantity")
    p.add_argument("--id", type=command_id_arg, default=None,
                   help="command id (a repeated id is reported as a duplicate, never a "
                        "second order); default: a fresh one")
    p.add_argument("--no-wait", action="store_true",
                   help="do not wait for the position to be PROTECTED")
    _common(p)


@guarded
def open_position(args: argparse.Namespace, config: Config) -> int:
    """Open at market; wait until the stop rests (PROTECTED)."""
    admin = _admin(args, config)
    cid = args.id or f"cli-{uuid.uuid4().hex[:12]}"
    result = admin.ask(OpenPosition(args.symbol, args.side, args.qty, cid),
                       admin.timeout_secs + 10)
    return _after_command(args, admin, result, ("PROTECTED", "FLAT", "QUARANTINED"),
                          "PROTECTED")


def close_args(p: argparse.ArgumentParser) -> None:
    """close SYM."""
    p.add_argument("symbol", type=symbol_arg, help="symbol, e.g. BTCUSDT")
    p.add_argument("--no-wait", action="store_true", help="do not wait for FLAT")
    _common(p)


@guarded
def close_position(args: argparse.Namespace, config: Config) -> int:
    """Close at market, then cancel the stops; wait until FLAT."""
    admin = _admin(args, config)
    result = admin.ask(ClosePosition(args.symbol), admin.timeout_secs + 10)
    return _after_command(args, admin, result, ("FLAT", "QUARANTINED"), "FLAT")


def _after_command(args: argparse.Namespace, admin: Admin, result: Any,
                   settled: tuple[str, ...], goal: str) -> int:
    if not isinstance(result, CommandResult):
        raise AdminError(f"{args.symbol}: {getattr(result, 'detail', result)}")
    headline = f"{result.outcome}: {result.detail}"
    if result.outcome == "rejected":
        raise AdminError(f"{args.symbol}: {headline}")
    if result.outcome == "duplicate" or args.no_wait:
        view = admin.view(args.symbol)
        return _print_view(args, headline, view) if isinstance(view, SymbolView) else EXIT_OK
    view = admin.wait_settled(args.symbol, admin.timeout_secs + 20, settled)
    _print_view(args, headline, view)
    if getattr(view, "state", None) != goal:
        print(f"posguard {args.command}: {args.symbol} ended {getattr(view, 'state', '?')}, "
              f"not {goal}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


# --------------------------------------------------------------------------- shutdown


def shutdown_args(p: argparse.ArgumentParser) -> None:
    """shutdown."""
    _common(p, json_flag=False)


@guarded
def shutdown(args: argparse.Namespace, config: Config) -> int:
    """Ask the running posguard to shut down gracefully; wait until it has."""
    admin = _admin(args, config)
    accepted = admin.ask(ShutdownRequest("posguard shutdown (CLI)"))
    if isinstance(accepted, CommandResult):  # refused (e.g. the supervisor is not ready)
        raise AdminError(accepted.detail)
    if not isinstance(accepted, ShutdownAccepted):
        raise AdminError(f"unexpected answer {accepted!r}")
    a = config.actor_system
    print(f"posguard: shutting down (in flight: {', '.join(accepted.busy_symbols) or 'none'}); "
          f"exchange stops stay in place", flush=True)

    def busy() -> tuple[str, ...] | None:
        # Asked again (it only repeats the answer): what the launcher's drain still waits for.
        try:
            reply = admin.ask(ShutdownRequest("posguard shutdown (CLI)"), 1.0)
        except AdminError:
            return None
        return reply.busy_symbols if isinstance(reply, ShutdownAccepted) else None

    wait_stopped(lambda: not actor_system.port_answers(a.admin_address, a.admin_port), busy,
                 a.shutdown_grace_secs, a.shutdown_grace_secs + 30,
                 Narrator(lambda text: print(f"posguard: {text}", flush=True)))
    print("posguard stopped")
    return EXIT_OK


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
