"""Deterministic client order ids: the origin of every order is provable from the exchange.

Format `pg-<account>-<epoch>-<SYMBOL>-<purpose>-<n>`, at most the venue's length
(venue.interface.Capabilities.client_id_max_len; Binance and Bybit: 36), in a charset every
venue takes (`[A-Za-z0-9-]`). The account (config `exchanges[].account`, lower case) tells
two accounts' orders apart on the venue alone; ids made before accounts existed
(`pg-<epoch>-<SYMBOL>-<purpose>-<n>`) still parse, as the account `main`'s (the one account
there was). `n` is a per-symbol counter persisted in the actor's snapshot before the
order is sent, so after a timeout or a crash the same id is looked up instead of placing a
second order (incident I-2). Symbols too long to fit are replaced by a stable 8-character
digest, then (rarely: a 12-character account with large counters) the account by a
6-character one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum, unique

PREFIX = "pg-"
LEGACY_ACCOUNT = "main"
"""The account an id without one (made before accounts existed) belongs to."""
ACCOUNT_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
"""An account name (config `exchanges[].account`)."""
_PARSE = re.compile(r"^pg-(?:([a-z][a-z0-9]{0,11})-)?(\d+)-([A-Z0-9]+)-([a-z]{2})-(\d+)$")


@unique
class Purpose(Enum):
    """Why an order was placed (two letters in the id)."""

    OPEN = "op"
    STOP = "sl"
    TRAILING = "tr"
    CLOSE = "cl"


@dataclass(frozen=True, slots=True)
class ParsedClientId:
    """The parts of a posguard client id."""

    epoch: int
    """Instance epoch that placed the order."""
    symbol_tag: str
    """The symbol, or its digest when the symbol was too long."""
    purpose: Purpose
    """Why the order was placed."""
    n: int
    """Per-symbol order counter."""
    account_tag: str | None = None
    """The account (or its digest when it did not fit); None in an id made before accounts
    existed (the account `main`'s)."""


def make(epoch: int, symbol: str, purpose: Purpose, n: int, *, max_len: int,
         account: str | None = None) -> str:
    """Build the client id for the n-th order of `symbol` by instance `epoch` for `account`,
    at most `max_len` characters (the venue's limit). `account` None: the id without one
    (as made before accounts existed)."""
    if epoch < 0 or n < 0:
        raise ValueError(f"epoch and n must be >= 0, got {epoch}, {n}")
    if account is not None and not ACCOUNT_RE.match(account):
        raise ValueError(f"account {account!r} is not an account name ({ACCOUNT_RE.pattern})")
    tail = f"{epoch}-{{}}-{purpose.value}-{n}"
    # Shortened in this order: the symbol's digest first (the account's name is what an
    # operator reads on the venue), then the account's too.
    accounts = [None] if account is None else [account, account_tag(account)]
    cid = ""
    for acct in accounts:
        head = PREFIX if acct is None else f"{PREFIX}{acct}-"
        for sym in (symbol, symbol_tag(symbol)):
            cid = head + tail.format(sym)
            if len(cid) <= max_len:
                return cid
    raise ValueError(f"client id {cid!r} exceeds {max_len} characters")



def account_tag(account: str) -> str:
    """A stable 6-character stand-in for an account too long for the id."""
    return "h" + hashlib.sha256(account.encode()).hexdigest()[:5]


def symbol_tag(symbol: str) -> str:
    """A stable 8-character stand-in for a symbol too long for the id."""
    return "H" + hashlib.sha256(symbol.encode()).hexdigest()[:7].upper()


def parse(client_id: str) -> ParsedClientId | None:
    """Split a posguard client id; None for ids posguard did not make."""
    m = _PARSE.match(client_id or "")
    if not m:
        return None
    try:
        purpose = Purpose(m.group(4))
    except ValueError:
        return None
    return ParsedClientId(int(m.group(2)), m.group(3), purpose, int(m.group(5)), m.group(1))


def is_ours(client_id: str, symbol: str, account: str | None = None) -> bool:
    """True if `client_id` was made by posguard (any epoch) for `symbol` and, when `account`
    is given, for that account (an id without an account: the account `main`'s)."""
    parsed = parse(client_id)
    if parsed is None or parsed.symbol_tag not in (symbol, symbol_tag(symbol)):
        return False
    if account is None:
        return True
    if parsed.account_tag is None:
        return account == LEGACY_ACCOUNT
    return parsed.account_tag in (account, account_tag(account))
