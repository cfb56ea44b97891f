"""What the alert rules produce: frozen records, nothing else (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CRITICAL, WARNING, INFO = "critical", "warning", "info"
SEVERITIES = (CRITICAL, WARNING, INFO)

# Alert kinds. A "resolved" follow-up keeps its problem's kind (Alert.resolved).
QUARANTINED = "quarantined"
STOP_FAILED = "stop_failed"
"""A stop placement failed past its retries (the symbol is, or was, QUARANTINED for it)."""
UNPROTECTED = "unprotected"
STREAM_DOWN = "stream_down"
STORE_FAILED = "store_failed"
LOCK_LOST = "lock_lost"
STARTED, STOPPED = "started", "stopped"
STOP_FIRED = "stop_fired"
TEST = "test"


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing a person must hear about."""

    kind: str
    """What happened (the constants above; engine events keep their own kind)."""
    severity: str
    """critical, warning or info."""
    text: str
    """One line for a person, complete on its own."""
    at_ms: int
    """When it was seen (epoch ms, from the status or event time)."""
    symbol: str | None = None
    """The symbol it is about, if any."""
    resolved: bool = False
    """True for the follow-up that says the problem is over."""

    def payload(self) -> dict[str, Any]:
        """What the outbox keeps beside its columns."""
        return {"resolved": self.resolved}

    def as_json(self, alert_id: int | None = None) -> dict[str, Any]:
        """The alert as the generic webhook sends it."""
        return {"id": alert_id, "kind": self.kind, "severity": self.severity,
                "symbol": self.symbol, "resolved": self.resolved, "text": self.text,
                "at_ms": self.at_ms}


@dataclass(frozen=True, slots=True)
class StopProbe:
    """Read `symbol`'s journal after `after_seq`: did a stop of ours fill? (alerts.stop_fired)"""

    symbol: str
    """The symbol whose position went away."""
    after_seq: int
    """The journal seq of the last view that still had the position."""
    at_ms: int
    """When the position was seen gone."""


@dataclass(frozen=True, slots=True)
class Findings:
    """What one status or event produced."""

    alerts: tuple[Alert, ...] = ()
    """New alerts, in the order they were found."""
    probes: tuple[StopProbe, ...] = ()
    """Journal reads the delivery thread makes (they may add stop_fired alerts)."""
