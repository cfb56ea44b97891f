"""The operator commands' shared arguments and guard: symbols (with their account), the
account, quantities, command ids, --json / --timeout-secs / --account, and the exit codes."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from system.admin import Admin, AdminError, AmbiguousSymbol, SymbolRef
from system.config import ACCOUNT_RE, Config
from system.usage import UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def symbol_arg(text: str) -> SymbolRef:
    """An exchange symbol, upper-cased, optionally with its account: `BTCUSDT` or
    `by:BTCUSDT`."""
    account, sep, sym = text.strip().rpartition(":")
    sym = sym.upper()
    if not sym.isalnum() or not sym.isascii() or not 2 <= len(sym) <= 30:
        raise argparse.ArgumentTypeError(f"{text!r} is not a symbol (e.g. BTCUSDT, or "
                                         f"ACCOUNT:SYMBOL such as by:BTCUSDT)")
    if sep and not ACCOUNT_RE.match(account):
        raise argparse.ArgumentTypeError(f"{text!r}: {account!r} is not an account name "
                                         f"(lower case, e.g. main:BTCUSDT)")
    return SymbolRef(sym, account if sep else None)


def account_arg(text: str) -> str:
    """An account name (config `exchanges[].account`)."""
    if not ACCOUNT_RE.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an account name (a lower-case "
                                         f"letter, then up to 11 lower-case letters or digits)")
    return text


def ref_of(args: argparse.Namespace) -> SymbolRef:
    """The symbol argument with --account applied (UsageError when the two disagree)."""
    ref: SymbolRef = args.symbol
    account = getattr(args, "account", None)
    if account is None:
        return ref
    if ref.account is not None and ref.account != account:
        raise UsageError(f"{ref} names account {ref.account!r} but --account is {account!r}")
    return SymbolRef(ref.symbol, account)


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


def common_args(p: argparse.ArgumentParser, *, json_flag: bool = True,
            account_flag: bool = True) -> None:
    if json_flag:
        p.add_argument("--json", action="store_true", help="machine-readable output")
    if account_flag:
        p.add_argument("--account", type=account_arg, default=None,
                       help="the account (config exchanges[].account); may be left out with "
                            "one account, or given as ACCOUNT:SYMBOL")
    p.add_argument("--timeout-secs", type=float, default=None,
                   help="how long to wait for answers (default actor_system.ask_timeout_secs)")


def connect(args: argparse.Namespace, config: Config) -> Admin:
    return Admin(config, args.timeout_secs)


def guarded(fn: Any) -> Any:
    """Turn AdminError into a message and exit 1; a symbol whose account cannot be told
    into a message and exit 2 (bad usage: name the account)."""
    def run(args: argparse.Namespace, config: Config) -> int:
        try:
            return int(fn(args, config))
        except AdminError as e:
            print(f"posguard {args.command}: {e}", file=sys.stderr)
            return EXIT_FAILED
        except AmbiguousSymbol as e:
            print(f"posguard {args.command}: {e}", file=sys.stderr)
            return EXIT_USAGE
    run.__doc__ = fn.__doc__
    return run


def named(admin: Admin, account: str, symbol: str) -> str:
    """How output names a symbol: with its account when there are several."""
    return symbol if len(admin.accounts) == 1 else f"{account}:{symbol}"
