"""Deterministic client order ids: the origin of every order is provable from the exchange.

Format `pg-<epoch>-<SYMBOL>-<purpose>-<n>`, at most the venue's length
(venue.interface.Capabilities.client_id_max_len; Binance and Bybit: 36), in a charset every
venue takes (`[A-Za-z0-9-]`). `n` is a per-symbol counter persisted in the actor's snapshot before the
order is sent, so after a timeout or a crash the same id is looked up instead of placing a
second order (incident I-2). Symbols too long to fit are replaced by a stable 8-hex digest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum, unique

PREFIX = "pg-"
_PARSE = re.compile(r"^pg-(\d+)-([A-Z0-9]+)-([a-z]{2})-(\d+)$")


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


def make(epoch: int, symbol: str, purpose: Purpose, n: int, *, max_len: int) -> str:
    """Build the client id for the n-th order of `symbol` by instance `epoch`, at most
    `max_len` characters (the venue's limit)."""
    if epoch < 0 or n < 0:
        raise ValueError(f"epoch and n must be >= 0, got {epoch}, {n}")
    cid = f"{PREFIX}{epoch}-{symbol}-{purpose.value}-{n}"
    if len(cid) > max_len:
        cid = f"{PREFIX}{epoch}-{symbol_tag(symbol)}-{purpose.value}-{n}"
    if len(cid) > max_len:
        raise ValueError(f"client id {cid!r} exceeds {max_len} characters")
    return cid


def symbol_tag(symbol: str) -> str:
    """A stable 8-character stand-in for a symbol too long for the id."""
    return "H" + hashlib.sha256(symbol.encode()).hexdigest()[:7].upper()


def parse(client_id: str) -> ParsedClientId | None:
    """Split a posguard client id; None for ids posguard did not make."""
    m = _PARSE.match(client_id or "")
    if not m:
        return None
    try:
        purpose = Purpose(m.group(3))
    except ValueError:
        return None
    return ParsedClientId(int(m.group(1)), m.group(2), purpose, int(m.group(4)))


def is_ours(client_id: str, symbol: str) -> bool:
    """True if `client_id` was made by posguard (any epoch) for `symbol`."""
    parsed = parse(client_id)
    return parsed is not None and parsed.symbol_tag in (symbol, symbol_tag(symbol))
