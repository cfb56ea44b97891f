"""The launcher's fan-out to the operator services, guarded so none can hurt protection.

The launcher calls `observe` with every supervisor status it reads (about once a second) and
`event` for what only it sees (engine started or stopped, the instance lock lost, the
supervisor re-created). A service that raises is logged (at most once a minute per service)
and called again next time; nothing it does reaches the actors.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("posguard.ops")
RAISE_LOG_EVERY_SECS = 60.0


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """Something the launcher saw that no actor reports."""

    kind: str
    """started, stopped, lock_lost, store_failed, supervisor_recreated."""
    text: str
    """One line for a person."""
    at_ms: int
    """When (epoch ms)."""


class Service(Protocol):
    """One operator service (alerts, metrics, status page)."""

    name: str

    def observe(self, status: Any, now_ms: int) -> None:
        """The supervisor's latest status (actors.messages.SupervisorStatus)."""

    def event(self, event: EngineEvent) -> None:
        """An engine event only the launcher sees."""

    def close(self) -> None:
        """Stop serving; release ports and threads (bounded)."""


class Hub:
    """Calls every service, each under its own guard."""

    def __init__(self, services: list[Any] | None = None) -> None:
        self.services: list[Any] = list(services or [])
        self._last_logged: dict[str, float] = {}

    def add(self, service: Any) -> None:
        self.services.append(service)

    def urls(self) -> list[tuple[str, str]]:
        """(service name, URL) of every service that serves one (status page, metrics)."""
        return [(s.name, s.url) for s in self.services if getattr(s, "url", None)]

    def observe(self, status: Any, now_ms: int | None = None) -> None:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        for s in self.services:
            self._guard(s, "observe", status, now)

    def event(self, kind: str, text: str, at_ms: int | None = None) -> None:
        e = EngineEvent(kind, text, int(time.time() * 1000) if at_ms is None else at_ms)
        for s in self.services:
            self._guard(s, "event", e)

    def close(self) -> None:
        for s in reversed(self.services):
            self._guard(s, "close")
        self.services = []

    def _guard(self, service: Any, method: str, *args: Any) -> None:
        try:
            getattr(service, method)(*args)
        except Exception:  # a service's bug must never reach protection
            name = getattr(service, "name", type(service).__name__)
            now = time.monotonic()
            if now - self._last_logged.get(name, -RAISE_LOG_EVERY_SECS) >= RAISE_LOG_EVERY_SECS:
                self._last_logged[name] = now
                log.exception("operator service %s failed in %s (protection goes on)", name,
                              method)
