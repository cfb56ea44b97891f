"""The status page as an operator service: fed by the launcher, read by a browser.

`observe` (the launcher's watch thread, about once a second) keeps the latest supervisor
status and samples the price history; the server's threads read them under one lock and
build the JSON on demand. Nothing here sends a message to an actor or writes to the store.
A port that cannot be bound is logged naming `status_page.port` and the page is left out;
protection goes on (ops/build.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from ops.page.history import PriceHistory
from ops.page.journal import JournalReader
from ops.page.server import HttpError, PageServer
from ops.page.status import samples, seq_of, status_json
from persistence.store import StoreError

log = logging.getLogger("posguard.ops.page")
ENGINE_EVENTS_KEPT = 10


class StatusPage:
    """The read-only status page (hub service `status_page`)."""

    name = "status_page"

    def __init__(self, port: int, journal: JournalReader,
                 trailing_mode: Callable[[str], str] = lambda _symbol: "managed",
                 history: PriceHistory | None = None,
                 clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._journal = journal
        self._trailing_mode = trailing_mode
        self._history = history or PriceHistory()
        self._now_ms = clock_ms
        self._lock = threading.Lock()
        self._status: Any = None
        self._observed_ms: int | None = None
        self._events: deque[Any] = deque(maxlen=ENGINE_EVENTS_KEPT)
        self._server = PageServer(port, self)  # OSError when the port cannot be bound
        self.url = self._server.url
        """Where an operator opens the page (the launcher may print it)."""

    # ------------------------------------------------------------------ hub service

    def observe(self, status: Any, now_ms: int) -> None:
        """Keep the supervisor's latest status; sample mark and stop for the chart."""
        with self._lock:
            self._status, self._observed_ms = status, now_ms
        self._history.record(now_ms, samples(status))

    def event(self, event: Any) -> None:
        """Keep the latest engine events (started, lock lost, supervisor re-created)."""
        with self._lock:
            self._events.append(event)

    def close(self) -> None:
        """Stop serving and release the port (bounded)."""
        self._server.close()

    # ------------------------------------------------------------------ the server's app

    def status(self) -> dict[str, Any]:
        """/api/status."""
        with self._lock:
            st, observed, events = self._status, self._observed_ms, list(self._events)
        return status_json(st, observed, self._now_ms(), self._trailing_mode, reversed(events))

    def journal(self, symbol: str, limit: int) -> dict[str, Any]:
        """/api/journal: the symbol's latest `limit` rows, newest first."""
        with self._lock:
            known, seq = seq_of(self._status, symbol)
        if not known:
            raise HttpError(HTTPStatus.NOT_FOUND, f"{symbol}: no such symbol in the running "
                            "system")
        try:
            rows = self._journal.recent(symbol, seq, limit)
        except StoreError as e:
            raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE, f"store error: {e}") from e
        return {"symbol": symbol, "seq": seq, "rows": rows}

    def history(self, symbol: str) -> dict[str, Any]:
        """/api/history: (time ms, mark, stop) over the last hour, oldest first."""
        points = self._history.points(symbol)
        if points is None:
            raise HttpError(HTTPStatus.NOT_FOUND, f"{symbol}: no price history (not in the "
                            "running system within the last hour)")
        return {"symbol": symbol, "window_ms": self._history.window_ms,
                "step_ms": self._history.step_ms, "points": points}


def build(ctx: Any) -> StatusPage | None:
    """The page for `ctx` (ops.build.OpsContext); None when off or its port is taken."""
    port = ctx.config.status_page.port
    if port == 0:
        return None
    from persistence.factory import attach
    from system.clock import SystemClock

    target = ctx.store_target
    reader = JournalReader(lambda: attach(target, 0, SystemClock()))
    policy = ctx.config.protection.policy_for
    try:
        page = StatusPage(port, reader, lambda symbol: policy(symbol).trailing.mode)
    except OSError as e:
        log.error("status page not started: status_page.port %d on 127.0.0.1: %s (choose a "
                  "free port or 0 for no page; protection goes on)", port, e.strerror or e)
        return None
    log.info("status page: %s (read-only)", page.url)
    return page
