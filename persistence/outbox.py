"""The alert outbox's SQL, shared by both backends (placeholders are `%s`; SQLite's `?`).

Two tables (persistence/schema/*/0002_alert_outbox.sql): `alerts`, one row per alert, and
`alert_deliveries`, one row per (alert, channel) that must take it. A channel's delivery row
is marked once that channel took the alert, so channels fail and recover independently.
`alerts.account` (0003_accounts.sql) names the account an alert is about, NULL for an
instance-wide one. The outbox is store-wide: one delivery thread sends every account's alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from persistence import codec
from persistence.store import OutboxAlert, check_account

INSERT_ALERT = ("INSERT INTO alerts (kind, severity, symbol, text, payload, epoch, created_at_ms,"
                " account) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id")
INSERT_DELIVERY = ("INSERT INTO alert_deliveries (alert_id, channel, next_at_ms) "
                   "VALUES (%s, %s, %s)")
PENDING = (
    "SELECT a.id, d.channel, a.kind, a.severity, a.symbol, a.text, a.payload, a.epoch, "
    "a.created_at_ms, d.attempts, d.next_at_ms, d.last_error, a.account FROM alert_deliveries d "
    "JOIN alerts a ON a.id = d.alert_id WHERE d.channel = %s AND d.delivered_at_ms IS NULL "
    "AND d.next_at_ms <= %s ORDER BY d.alert_id LIMIT %s")
FAILED = ("UPDATE alert_deliveries SET attempts = attempts + 1, last_error = %s, "
          "next_at_ms = %s WHERE channel = %s AND delivered_at_ms IS NULL AND alert_id IN ({})")
DELIVERED = ("UPDATE alert_deliveries SET delivered_at_ms = %s WHERE channel = %s "
             "AND delivered_at_ms IS NULL AND alert_id IN ({})")
MAX_ERROR_CHARS = 500


def alert_params(kind: str, severity: str, symbol: str | None, text: str, payload: dict,
                 epoch: int, created_at_ms: int, account: str | None) -> tuple[Any, ...]:
    """The INSERT_ALERT parameters (payload encoded, account checked: CodecError or
    ValueError before anything is written)."""
    named = None if account is None else check_account(account)
    return (kind, severity, symbol, text, codec.encode(payload), epoch, int(created_at_ms),
            named)


def in_list(sql: str, ids: Sequence[int], mark: str = "%s") -> str:
    """`sql` with its `IN ({})` filled with one placeholder per id."""
    return sql.format(", ".join([mark] * len(ids)))


def error_text(error: str) -> str:
    """The error as stored: bounded (a channel may answer with a whole HTML page)."""
    return error if len(error) <= MAX_ERROR_CHARS else error[:MAX_ERROR_CHARS - 3] + "..."


def row(r: Sequence[Any]) -> OutboxAlert:
    """One PENDING row as an OutboxAlert."""
    return OutboxAlert(int(r[0]), r[1], r[2], r[3], r[4], r[5], codec.decode(bytes(r[6])),
                       int(r[7]), int(r[8]), int(r[9]), int(r[10]), r[11], r[12])
