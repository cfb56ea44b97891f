"""Journal and snapshot SQL shared by both backends (placeholders `%s`; SQLite's `?`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from persistence import codec
from persistence.store import JournalRow

SELECT_ROWS = ("SELECT symbol, seq, epoch, kind, payload, correlation_id, created_at_ms, "
               "recorded_at_ms, account FROM journal")
"""Journal rows in the column order journal_row() reads; the caller adds WHERE / ORDER BY."""


SYMBOL_ACCOUNTS = (
    # A loose index scan: the journal's key is (account, symbol, seq), so walking its few
    # distinct accounts with MIN(account) > previous and probing (account, symbol) for each
    # touches a handful of index pages, where WHERE symbol = ? alone reads the whole journal.
    "WITH RECURSIVE accts(a) AS (SELECT MIN(account) FROM journal UNION ALL "
    "SELECT (SELECT MIN(account) FROM journal WHERE account > a) FROM accts WHERE a IS NOT NULL)"
    " SELECT a FROM accts WHERE a IS NOT NULL AND EXISTS (SELECT 1 FROM journal "
    "WHERE account = a AND symbol = %s) ORDER BY a")
"""The accounts (sorted) with journal rows for one symbol (Store.symbol_accounts)."""


def journal_row(r: Sequence[Any]) -> JournalRow:
    """One SELECT_ROWS row as a JournalRow (payload decoded)."""
    return JournalRow(r[0], r[1], r[2], r[3], codec.decode(bytes(r[4])), r[5], r[6], r[7],
                      r[8])


def accounts_of(rows: Sequence[Sequence[Any]]) -> dict[str, list[str]]:
    """(account, symbol) rows, already sorted, as account -> [symbol, ...] (live_accounts)."""
    found: dict[str, list[str]] = {}
    for account, symbol in rows:
        found.setdefault(account, []).append(symbol)
    return found
