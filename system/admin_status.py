"""`posguard status` and `posguard actors`: every account's symbols and actors, each row
naming its account; an account that does not answer is said (exit 1), the others shown."""

from __future__ import annotations

import argparse
import contextlib
import json
from typing import Any

from actors.messages import ActorEntry, SupervisorStatus, SymbolView
from system.admin import (
    ACTOR_COLUMNS,
    STATUS_COLUMNS,
    Admin,
    AdminError,
    AmbiguousSymbol,
    stream_json,
    symbol_row,
    table,
)
from system.admin_args import EXIT_FAILED, EXIT_OK, common_args, connect, guarded, symbol_arg
from system.config import Config
from system.usage import UsageError

# --------------------------------------------------------------------------- status


def status_args(p: argparse.ArgumentParser) -> None:
    """status [[ACCOUNT:]SYM] [--account A] [--json]."""
    p.add_argument("symbol", nargs="?", type=symbol_arg, help="only this symbol")
    common_args(p)


@guarded
def status(args: argparse.Namespace, config: Config) -> int:
    """Per-symbol state of every account (or one), fresh from each symbol actor."""
    admin = connect(args, config)
    only = _only_account(args, admin)
    if args.symbol is not None and only is None:  # the symbol's account, or refused naming
        only, _ = admin.resolve(args.symbol, must_exist=True)
    statuses, failed = _statuses(admin, only)
    rows = []
    for name, st in statuses.items():
        entries = [e for e in st.actors if e.kind == "symbol"
                   and (args.symbol is None or e.symbol == args.symbol.symbol)]
        for e in entries:
            view = None
            # An actor that is exiting does not answer: its last pushed view is shown instead.
            with contextlib.suppress(AdminError):
                view = admin.view(e.symbol, name) if e.pid else None
            rows.append(symbol_row(view if isinstance(view, SymbolView) else None, e, name))
    if args.symbol is not None and not rows:
        raise AdminError(f"{args.symbol}: no actor for this symbol")
    rc = EXIT_FAILED if failed else EXIT_OK  # an account that did not answer is a failure
    first = next(iter(statuses.values()))
    if args.json:
        out: dict[str, Any] = {"mode": first.mode, "epoch": first.epoch,
                               "stopping": any(st.stopping for st in statuses.values()),
                               "accounts": [_account_json(n, statuses.get(n), failed.get(n))
                                            for n in admin.accounts if n in statuses
                                            or n in failed]}
        if len(admin.accounts) == 1:  # the contract before accounts: one exchange, one stream
            out.update(exchange_url=first.exchange_url, stream=stream_json(first))
        print(json.dumps({**out, "symbols": rows}, indent=1))
        return rc
    for name in admin.accounts:
        if name in failed:
            print(f"account {name}: {failed[name]}")
        elif name in statuses:
            st = statuses[name]
            streams = ", ".join(f"{s.kind} {s.state}" for s in st.streams) or "none"
            print(f"posguard {st.mode} | epoch {st.epoch} | account {name} ({st.venue or '?'})"
                  f" | exchange {st.exchange_url or st.venue or 'venue'} | streams: {streams}"
                  + (" | SHUTTING DOWN" if st.stopping else ""))
    print(table(rows, STATUS_COLUMNS) if rows else "no symbols")
    return rc


def _statuses(admin: Admin, only: str | None
              ) -> tuple[dict[str, SupervisorStatus], dict[str, str]]:
    """The answering accounts' statuses and why the others did not answer; AdminError if
    none answered (one account: exactly as before accounts)."""
    statuses: dict[str, SupervisorStatus] = {}
    failed: dict[str, str] = {}
    for name in admin.accounts:
        if only not in (None, name):
            continue
        try:
            statuses[name] = admin.status(name)
        except AdminError as e:
            if len(admin.accounts) == 1 or only is not None:
                raise
            failed[name] = str(e)
    if not statuses:
        raise AdminError("; ".join(failed.values()))
    return statuses, failed


def _only_account(args: argparse.Namespace, admin: Admin) -> str | None:
    """The one account a listing is limited to (--account, or ACCOUNT:SYMBOL), else None."""
    named = args.symbol.account if getattr(args, "symbol", None) is not None else None
    account = getattr(args, "account", None)
    if named is not None and account is not None and named != account:
        raise UsageError(f"{args.symbol} names account {named!r} but --account is "
                         f"{account!r}")
    account = account or named
    if account is not None and account not in admin.accounts:
        raise AmbiguousSymbol(f"account {account!r} is not configured; configured: "
                              f"{', '.join(admin.accounts)}")
    return account


def _account_json(name: str, st: SupervisorStatus | None, error: str | None
                  ) -> dict[str, Any]:
    if st is None:
        return {"account": name, "error": error, "stream": {}}
    return {"account": name, "venue": st.venue, "exchange_url": st.exchange_url,
            "stopping": st.stopping, "stream": stream_json(st)}


# --------------------------------------------------------------------------- actors


def actors_args(p: argparse.ArgumentParser) -> None:
    """actors [--account A] [--json]."""
    common_args(p)


@guarded
def actors(args: argparse.Namespace, config: Config) -> int:
    """Every actor of every account (or one): kind, symbol, pid, state, restarts, last exit."""
    admin = connect(args, config)
    only = _only_account(args, admin)
    rows = []
    for name in admin.accounts:
        if only not in (None, name):
            continue
        st = admin.status(name)
        sup = ActorEntry("supervisor", None, st.pid, "stopping" if st.stopping else "running",
                         0, None, None, None, st.poison_messages)
        rows += [{"account": name, "kind": e.kind, "symbol": e.symbol, "pid": e.pid,
                  "state": e.state, "restarts": e.restarts,
                  "last_exit_reason": e.last_exit_reason,
                  "poison_messages": e.poison_messages} for e in (sup, *st.actors)]
    print(json.dumps(rows, indent=1) if args.json else table(rows, ACTOR_COLUMNS))
    return EXIT_OK
