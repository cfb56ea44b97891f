"""The page's read of a symbol's recent journal: its own short-lived store connection.

A connection per read, as `posguard journal` does: SQLite connections belong to the thread
that opened them and the page answers on many threads, and a PostgreSQL session held open
by a page nobody looks at would be wasted. The page reads the journal of the one symbol it
shows, when its seq moves and every few seconds, so this is a few connections a minute per
open page. Reads are serialised (one connection at a time) and never write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from persistence.store import JournalRow, Store, iso_ms

SLACK_ROWS = 1000
"""Rows read past the seq the actor last reported: the store may be ahead of that view (it
is pushed to the supervisor on state changes, not on every row); the newest `limit` of what
was read are returned."""


class JournalReader:
    """Recent journal rows of one symbol, newest first (StoreError when the store fails)."""

    def __init__(self, open_store: Callable[[], Store]) -> None:
        self._open = open_store
        self._lock = threading.Lock()

    def recent(self, symbol: str, seq: int | None, limit: int) -> list[dict[str, Any]]:
        """The last `limit` rows from about `seq` on (None: not known, asked of the store)."""
        with self._lock:
            store = self._open()
            try:
                top = seq if seq is not None else store.load(symbol).seq
                rows = store.journal(symbol, after_seq=max(0, top - limit),
                                     limit=limit + SLACK_ROWS)
            finally:
                store.close()
        return [row_json(r) for r in reversed(rows[-limit:])]


def row_json(r: JournalRow) -> dict[str, Any]:
    """One journal row as `posguard journal --json` prints it (payloads are plain JSON
    values: the store's codec takes nothing else)."""
    return {"symbol": r.symbol, "seq": r.seq, "epoch": r.epoch, "kind": r.kind,
            "payload": r.payload, "correlation_id": r.correlation_id,
            "created_at_ms": r.created_at_ms, "recorded_at_ms": r.recorded_at_ms,
            "created_at": iso_ms(r.created_at_ms), "recorded_at": iso_ms(r.recorded_at_ms)}
