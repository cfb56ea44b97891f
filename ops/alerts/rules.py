"""Successive supervisor statuses and engine events -> alerts. Pure: no I/O, no clock.

Edge-triggered: one alert when a problem begins (or once it has lasted its threshold), one
"resolved" follow-up when it ends, nothing in between. Durations come from the `now_ms` the
launcher passes with each status (about once a second), so a problem shorter than a second
can be missed, except a quarantine: the symbol actor counts them (SymbolView.quarantines), so
one that began and ended between two reads is still reported.

How each event shows in the status (actors/messages/status.py):
- QUARANTINED by the symbol's actor (its retry caps): the entry runs (pid set) and its view's
  state is QUARANTINED; the view's `quarantines` grows. By the supervisor (restart
  intensity): the entry's state is QUARANTINED with no pid; `last_exit_reason` says why.
- a stop placement failed past its retries: an actor-level quarantine whose reason names the
  stop (`stop pg-...` or `trailing pg-...`, actors/machine/slot.py, stop.py, trailing.py).
- no resting stop: `view.unprotected` (or the state OPEN_UNPROTECTED), for longer than
  alerts.unprotected_secs.
- a stream down: its StreamStatus state is not `connected` for longer than
  alerts.stream_down_secs.
- a store failure: an actor's `last_exit_reason` begins `store ` (actors/symbol.py: "store
  write failed (...)", "store unavailable at start: ..."); the outbox's own store failing is
  StoreHealth's (the delivery thread reports it).
- engine started / stopped, the instance lock lost: launcher events (ops/hub.py).
- a stop fired (alerts.stop_fired): a position gone away is a StopProbe; the delivery thread
  reads the journal and `stop_fired` turns a stop fill found there into an alert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ops.alerts import model as m
from ops.alerts.model import Alert, Findings, StopProbe

STOP_REASON = re.compile(r"^(stop|trailing) pg-\S+: ")
STORE_REASON = re.compile(r"^store ")
ENGINE_SEVERITY = {m.STARTED: m.INFO, m.STOPPED: m.INFO, m.LOCK_LOST: m.CRITICAL,
                   m.STORE_FAILED: m.CRITICAL}
STOP_FILLS = {"stop_filled": "stop", "trailing_filled": "trailing stop"}


def is_stop_failure(reason: str | None) -> bool:
    """True when a quarantine's reason is a stop (or native trailing) that could not be placed."""
    return bool(reason and STOP_REASON.match(reason))


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The alerts.* keys the rules use, in ms."""

    unprotected_ms: int
    stream_down_ms: int
    stop_fired: bool

    @classmethod
    def from_config(cls, cfg: Any) -> Thresholds:
        """From an AlertsConfig."""
        return cls(int(cfg.unprotected_secs * 1000), int(cfg.stream_down_secs * 1000),
                   bool(cfg.stop_fired))


@dataclass
class _Symbol:
    """What the rules remember about one symbol between two statuses."""

    pid: int | None = None
    quarantines: int = 0
    level: str | None = None
    """'actor' or 'supervisor' while QUARANTINED and alerted; None otherwise."""
    naked_since: int | None = None
    naked_alerted: bool = False
    position_seq: int | None = None


@dataclass
class _Stream:
    down_since: int | None = None
    alerted: bool = False


class Rules:
    """Remembers the last statuses; turns what changed into alerts."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.t = thresholds
        self.symbols: dict[str, _Symbol] = {}
        self.streams: dict[str, _Stream] = {}
        self.store_exits: dict[tuple[str, str | None], str] = {}

    def observe(self, status: Any, now_ms: int) -> Findings:
        """Alerts (and stop-fill probes) from one SupervisorStatus seen at `now_ms`."""
        alerts: list[Alert] = []
        probes: list[StopProbe] = []
        for e in status.actors:
            if e.kind == "symbol" and e.symbol:
                memo = self.symbols.setdefault(e.symbol, _Symbol())
                alerts += self._quarantine(memo, e, now_ms)
                alerts += self._unprotected(memo, e, now_ms)
                probes += self._probe(memo, e, now_ms)
        alerts += self._store_exits(status.actors, now_ms)
        if not status.stopping:
            for st in status.streams:
                alerts += self._stream(self.streams.setdefault(st.kind, _Stream()), st, now_ms)
        return Findings(tuple(alerts), tuple(probes))

    def event(self, event: Any) -> Findings:
        """The one alert an engine event (ops.hub.EngineEvent) makes."""
        severity = ENGINE_SEVERITY.get(event.kind, m.WARNING)
        if event.kind == m.STOPPED and "(exit" in event.text:
            severity = m.WARNING
        return Findings((Alert(event.kind, severity, event.text, event.at_ms),))

    # ------------------------------------------------------------------ quarantine

    def _quarantine(self, memo: _Symbol, e: Any, now: int) -> list[Alert]:
        v = e.view
        fresh = 0
        if v is not None:
            fresh = v.quarantines - memo.quarantines if v.pid == memo.pid else v.quarantines
            memo.pid, memo.quarantines = v.pid, v.quarantines
        level = None
        if e.state == "QUARANTINED":
            level = "supervisor" if e.pid is None else "actor"
        if level is not None:
            if level == memo.level:
                return []
            memo.level = level
            return [_quarantined(e, level, now)]
        if memo.level is not None:
            memo.level = None
            return [Alert(m.QUARANTINED, m.INFO, f"{e.symbol} no longer QUARANTINED (now "
                          f"{e.state})", now, e.symbol, resolved=True)]
        if fresh > 0 and v is not None:
            reason = v.last_quarantine or v.last_error or "no reason given"
            kind = m.STOP_FAILED if is_stop_failure(reason) else m.QUARANTINED
            what = " (stop placement failed past its retries)" if kind == m.STOP_FAILED else ""
            times = "" if fresh == 1 else f" {fresh} times"
            return [Alert(kind, m.WARNING, f"{e.symbol} was QUARANTINED{times} by its actor"
                          f"{what}: {reason}; now {e.state}", now, e.symbol)]
        return []

    # ------------------------------------------------------------------ no resting stop

    def _unprotected(self, memo: _Symbol, e: Any, now: int) -> list[Alert]:
        v = e.view
        naked = e.state == "OPEN_UNPROTECTED" or (v is not None and v.unprotected)
        if not naked:
            was, since = memo.naked_alerted, memo.naked_since
            memo.naked_since, memo.naked_alerted = None, False
            if not was or since is None:
                return []
            if v is not None and v.side is not None:
                text = (f"{e.symbol} protected again after {_secs(now - since)} (stop "
                        f"{v.stop_price})")
            else:
                text = f"{e.symbol} no longer unprotected: no position (state {e.state})"
            return [Alert(m.UNPROTECTED, m.INFO, text, now, e.symbol, resolved=True)]
        if memo.naked_since is None:
            memo.naked_since = now
        if memo.naked_alerted or now - memo.naked_since < self.t.unprotected_ms:
            return []
        memo.naked_alerted = True
        what = f"{v.side} {v.qty}" if v is not None else "a position"
        error = f"; last error: {v.last_error}" if v is not None and v.last_error else ""
        return [Alert(m.UNPROTECTED, m.CRITICAL,
                      f"{e.symbol} UNPROTECTED for {_secs(now - memo.naked_since)}: {what} "
                      f"has no resting stop of ours (state {e.state}{error})", now, e.symbol)]

    # ------------------------------------------------------------------ stop fired

    def _probe(self, memo: _Symbol, e: Any, now: int) -> list[StopProbe]:
        v = e.view
        if v is None:
            return []
        had, memo.position_seq = memo.position_seq, v.seq if v.side is not None else None
        if self.t.stop_fired and had is not None and v.side is None:
            return [StopProbe(e.symbol, had, now)]
        return []

    # ------------------------------------------------------------------ store, streams

    def _store_exits(self, entries: Iterable[Any], now: int) -> list[Alert]:
        alerts, seen = [], {}
        for e in entries:
            reason = e.last_exit_reason
            if reason and STORE_REASON.match(reason):
                key = (e.kind, e.symbol)
                seen[key] = reason
                if self.store_exits.get(key) != reason:
                    who = e.symbol or e.kind
                    alerts.append(Alert(m.STORE_FAILED, m.CRITICAL,
                                        f"{who}: {reason} (its actor is restarted from the "
                                        "last durable snapshot)", now, e.symbol))
        self.store_exits = seen
        return alerts

    def _stream(self, memo: _Stream, st: Any, now: int) -> list[Alert]:
        if st.state == "connected":
            was, since = memo.alerted, memo.down_since
            memo.down_since, memo.alerted = None, False
            if not was or since is None:
                return []
            return [Alert(m.STREAM_DOWN, m.INFO, f"{st.kind} stream connected again after "
                          f"{_secs(now - since)}", now, resolved=True)]
        if memo.down_since is None:
            memo.down_since = now
        if memo.alerted or now - memo.down_since < self.t.stream_down_ms:
            return []
        memo.alerted = True
        why = f"; last error: {st.last_error}" if st.last_error else ""
        return [Alert(m.STREAM_DOWN, m.WARNING,
                      f"{st.kind} stream down for {_secs(now - memo.down_since)} (state "
                      f"{st.state}, {st.reconnects} reconnects{why})", now)]


def _quarantined(e: Any, level: str, now: int) -> Alert:
    v = e.view
    if level == "supervisor":
        reason = e.last_exit_reason or "no reason given"
        return Alert(m.QUARANTINED, m.CRITICAL,
                     f"{e.symbol} QUARANTINED by the supervisor: {reason}. Its exchange stop "
                     f"stays in place; `posguard restart {e.symbol}` when fixed", now, e.symbol)
    reason = (v.last_quarantine or v.last_error) if v is not None else None
    naked = " and UNPROTECTED (its stop keeps being placed)" if v is not None and v.unprotected \
        else ""
    if is_stop_failure(reason):
        return Alert(m.STOP_FAILED, m.CRITICAL,
                     f"{e.symbol} QUARANTINED{naked}: stop placement failed past its retries: "
                     f"{reason}", now, e.symbol)
    return Alert(m.QUARANTINED, m.CRITICAL, f"{e.symbol} QUARANTINED by its actor{naked}: "
                 f"{reason or 'no reason given'}", now, e.symbol)


def _secs(ms: int) -> str:
    return f"{ms / 1000:.0f} s"


# --------------------------------------------------------------------------- not from status


class StoreHealth:
    """The outbox's own store: one alert when it starts failing, one when it works again."""

    def __init__(self) -> None:
        self.failing = False

    def failed(self, detail: str, now_ms: int) -> Alert | None:
        """A store call of the outbox failed."""
        if self.failing:
            return None
        self.failing = True
        return Alert(m.STORE_FAILED, m.CRITICAL, f"the store is failing: {detail}", now_ms)

    def ok(self, now_ms: int) -> Alert | None:
        """A store call of the outbox worked."""
        if not self.failing:
            return None
        self.failing = False
        return Alert(m.STORE_FAILED, m.INFO, "the store works again", now_ms, resolved=True)


def stop_fired(symbol: str, rows: Iterable[Any], at_ms: int) -> list[Alert]:
    """stop_fired alerts for the stop fills among `symbol`'s journal rows (JournalRow)."""
    alerts = []
    for r in rows:
        p = r.payload
        what, away = STOP_FILLS.get(r.kind), ""
        if r.kind == "closed_while_away" and p.get("cause") in STOP_FILLS:
            what, away = STOP_FILLS[p["cause"]], " while posguard was away"
        if what is None:
            continue
        pnl = f" (pnl {p['pnl']})" if p.get("pnl") is not None else ""
        alerts.append(Alert(m.STOP_FIRED, m.INFO,
                            f"{symbol} {what} filled at {p.get('price')}{pnl}{away}", at_ms,
                            symbol))
    return alerts
