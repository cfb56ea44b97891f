"""The delivery thread: alerts into the outbox first, then to every channel, at least once.

`submit` (called by the launcher's loop through the hub) only appends to an in-memory queue
and returns: the launcher never waits for the store or a channel. On its own thread, each
`step`:
1. logs every new alert and writes it to the outbox (persistence: `add_alert`, one delivery
   row per configured channel). If the store fails, the alerts are sent directly, once, best
   effort, together with a store_failed alert, and the log says they were not durable;
2. per working channel, at most `alerts.max_per_minute` messages delivered (failed attempts
   are paced by the backoff instead): the due rows of the outbox
   (oldest first, up to MAX_GROUP) go out as one message once the oldest is
   `alerts.group_window_secs` old, so 30 symbols quarantined at once are one message;
3. marks them delivered on that channel, or, if the channel failed, counts the attempt and
   holds the channel until a jittered exponential backoff (`alerts.retry_min_secs` doubling
   to `retry_max_secs`; a refusal waits the longest, a Retry-After at least that long).

At least once: a crash between a send and its mark leaves the rows pending, and the next run
sends them again. Rows are per channel, so a failing channel never holds up another. A
channel named in the config but unusable (its variable unset) keeps its rows in the outbox
until a run where it works.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ops.alerts import rules
from ops.alerts.channels import ChannelError, ChannelRefused
from ops.alerts.formats import compose, label
from ops.alerts.model import CRITICAL, INFO, WARNING, Alert, Findings, StopProbe
from ops.alerts.pacing import RateLimit, backoff_ms, group_ready
from persistence.store import OutboxAlert, StoreError

log = logging.getLogger("posguard.alerts")
MAX_GROUP = 100
"""Rows one message carries at most (the rest go in the next)."""
QUEUE_MAX = 10_000
POLL_SECS = 0.5
RECHECK_MS = 5_000
"""How often a channel's outbox is read when nothing is known to be due (rows of a previous
run waiting for their retry time)."""
REOPEN_MS = 5_000
PROBE_ROWS = 200
LEVELS = {CRITICAL: logging.CRITICAL, WARNING: logging.WARNING, INFO: logging.INFO}


def wall_ms() -> int:
    """Epoch ms: the clock alerts and outbox rows are stamped with (the status's too)."""
    return time.time_ns() // 1_000_000


class Delivery:
    """Outbox writer and per-channel sender (see the module docstring)."""

    def __init__(self, cfg: Any, channels: Any, open_store: Callable[[], Any], *,
                 source: str, clock: Callable[[], int] = wall_ms,
                 rng: random.Random | None = None, account: str | None = None) -> None:
        self.cfg, self.channels, self.open_store = cfg, channels, open_store
        self.account = account
        """The one account's name (a symbol's alert is about it); None with several
        accounts, whose alerts name theirs in the symbol (`account:SYMBOL`, see
        system/account_run.ops_status)."""
        self.source, self.clock, self.rng = source, clock, rng or random.Random()
        self.store: Any = None
        self.open_error = "not opened yet"
        self.next_open_ms = 0
        self.health = rules.StoreHealth()
        names = list(channels.working)
        self.limits = {n: RateLimit(cfg.max_per_minute) for n in names}
        self.due = dict.fromkeys(names, 0)
        """When to read the channel's outbox next (epoch ms)."""
        self.held = dict.fromkeys(names, 0)
        """Backoff: no send to the channel before this."""
        self.queue: deque[Findings] = deque()
        self.dropped = 0
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    # ------------------------------------------------------------------ any thread

    def submit(self, findings: Findings) -> None:
        """Queue what the rules found; never blocks (the oldest is dropped past QUEUE_MAX)."""
        if not findings.alerts and not findings.probes:
            return
        with self.lock:
            if len(self.queue) >= QUEUE_MAX:
                self.queue.popleft()
                self.dropped += 1
            self.queue.append(findings)
        self.wake.set()

    def start(self) -> None:
        """Run the steps on a daemon thread (it never keeps the process alive)."""
        self.thread = threading.Thread(target=self._run, name="posguard-alerts", daemon=True)
        self.thread.start()

    def close(self, timeout_secs: float) -> None:
        """Flush (record what is queued, one send per channel) and stop, within the timeout."""
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout_secs)
            if self.thread.is_alive():
                log.warning("alerts: delivery still busy after %.0f s at shutdown; undelivered "
                            "alerts stay in the outbox for the next run", timeout_secs)

    def _run(self) -> None:
        while not self.stopping.is_set():
            wait = self._guarded(False)
            self.wake.wait(wait)
            self.wake.clear()
        self._guarded(True)
        if self.store is not None:
            self.store.close()

    def _guarded(self, final: bool) -> float:
        try:
            return self.step(final=final)
        except Exception:  # noqa: BLE001 - a bug here must not end alerting for the run
            # Logged with its traceback; the outbox still holds every recorded alert, and
            # the next step starts from it again.
            log.exception("alerts: a delivery step failed (alerts stay in the outbox)")
            return 1.0

    # ------------------------------------------------------------------ the thread

    def step(self, final: bool = False) -> float:
        """Record what was submitted, then send what is due; seconds until the next step."""
        now = self.clock()
        with self.lock:
            batches, self.queue = list(self.queue), deque()
            dropped, self.dropped = self.dropped, 0
        if dropped:
            log.error("alerts: %d findings dropped: the delivery thread fell behind", dropped)
        for f in batches:
            self._record(list(f.alerts), now)
            for probe in f.probes:
                self._probe(probe, now)
        waits = [POLL_SECS]
        for name, channel in self.channels.working.items():
            waits.append(self._deliver(name, channel, now, final))
        return max(0.01, min(waits))

    def _record(self, alerts: list[Alert], now: int) -> None:
        for a in alerts:
            log.log(LEVELS.get(a.severity, logging.WARNING), "ALERT [%s] %s", label(a), a.text)
        left = self._write(alerts, now)
        if left:
            self._direct(left, now)

    def _write(self, alerts: list[Alert], now: int) -> list[Alert]:
        """Add `alerts` to the outbox; those it could not add (+ a store_failed alert)."""
        if not alerts:
            return []
        store = self._store(now)
        if store is None:
            return alerts + self._failed(self.open_error, now)
        window = int(self.cfg.group_window_secs * 1000)
        for name in self.due:  # what is written below is looked at once its window is over
            self.due[name] = min(self.due[name], min(a.at_ms for a in alerts) + window)
        for n, a in enumerate(alerts):
            try:
                account, symbol = self._account_of(a.symbol)
                store.add_alert(kind=a.kind, severity=a.severity, symbol=symbol, text=a.text,
                                payload=a.payload(), created_at_ms=a.at_ms,
                                channels=self.channels.names, account=account)
            except StoreError as e:
                return alerts[n:] + self._failed(str(e), now)
        self._worked(now)
        return []

    def _account_of(self, symbol: str | None) -> tuple[str | None, str | None]:
        """(account, symbol) of an alert's symbol; (None, None): instance-wide."""
        if symbol is None:
            return None, None
        account, sep, bare = symbol.rpartition(":")
        return (account, bare) if sep else (self.account, symbol)

    def _direct(self, alerts: list[Alert], now: int) -> None:
        """Not durable: one send per channel, no retry."""
        if not alerts:
            return
        log.error("alerts: %d alert(s) not durable (the store is failing): sending them "
                  "directly, once", len(alerts))
        for name, channel in self.channels.working.items():
            try:
                channel.send(compose([(None, a) for a in alerts], source=self.source,
                                     max_chars=channel.max_chars))
            except ChannelError as e:
                log.error("%s: %s: %d alert(s) that were not durable are lost for %s",
                          channel.key, e, len(alerts), channel.describe())
            else:
                self.limits[name].sent(now)

    def _probe(self, probe: StopProbe, now: int) -> None:
        store = self._store(now)
        if store is None:
            return
        try:
            rows = store.journal(probe.symbol, after_seq=probe.after_seq, limit=PROBE_ROWS)
        except StoreError as e:
            self._direct(self._failed(str(e), now), now)
            return
        self._record(rules.stop_fired(probe.symbol, rows, probe.at_ms), now)

    # ------------------------------------------------------------------ sending

    def _deliver(self, name: str, channel: Any, now: int, final: bool) -> float:
        """One look at `name`'s outbox (when due); seconds until it should be looked at."""
        next_at = max(self.due[name], self.held[name])
        if now < next_at and not (final and now >= self.held[name]):
            return (next_at - now) / 1000
        limit = self.limits[name]
        store = self._store(now)
        if store is None or not limit.allow(now):
            self.due[name] = now + (REOPEN_MS if store is None else limit.wait_ms(now))
            return (self.due[name] - now) / 1000
        try:
            rows = store.pending_alerts(name, due_at_ms=now, limit=MAX_GROUP)
        except StoreError as e:
            self._direct(self._failed(str(e), now), now)
            self.due[name] = now + REOPEN_MS
            return REOPEN_MS / 1000
        self._worked(now)
        window = int(self.cfg.group_window_secs * 1000)
        if not rows:
            self.due[name] = now + RECHECK_MS
        elif not final and not group_ready(rows, now, window):
            self.due[name] = min(r.created_at_ms for r in rows) + window
        elif not self._send(name, channel, rows, now):
            self.due[name] = self.held[name]
        else:
            self.due[name] = now if len(rows) == MAX_GROUP else now + RECHECK_MS
        return max(0.0, (max(self.due[name], self.held[name]) - now) / 1000)

    def _send(self, name: str, channel: Any, rows: list[OutboxAlert], now: int) -> bool:
        """One message with `rows`; False if the channel did not take it."""
        ids = [r.id for r in rows]
        msg = compose([(r.id, _alert(r)) for r in rows], source=self.source,
                      max_chars=channel.max_chars)
        try:
            channel.send(msg)
        except ChannelError as e:
            attempts = max(r.attempts for r in rows) + 1
            delay = self._delay(e, attempts)
            self.held[name] = now + delay
            log.warning("%s: %s; %d alert(s) not delivered (attempt %d, next in %.0f s; they "
                        "stay in the outbox) [%s]", channel.key, e, len(rows), attempts,
                        delay / 1000, channel.describe())
            error = str(e)
            self._mark(lambda s: s.alert_attempt_failed(name, ids, error=error,
                                                        next_at_ms=now + delay), now)
            return False
        self.held[name] = 0
        self.limits[name].sent(now)
        log.info("alerts: %d alert(s) delivered to %s (outbox #%d..#%d)", len(rows), name,
                 ids[0], ids[-1])
        if not self._mark(lambda s: s.alerts_delivered(name, ids,
                                                       delivered_at_ms=self.clock()), now):
            log.warning("alerts: %s took alerts #%d..#%d but they could not be marked: they "
                        "will be sent again (at least once)", name, ids[0], ids[-1])
        return True

    def _delay(self, e: ChannelError, attempts: int) -> int:
        c = self.cfg
        if isinstance(e, ChannelRefused):
            delay = int(c.retry_max_secs * 1000 * self.rng.uniform(0.5, 1.0))
        else:
            delay = backoff_ms(attempts, c.retry_min_secs, c.retry_max_secs, self.rng)
        if e.retry_after_secs is not None:
            delay = max(delay, int(e.retry_after_secs * 1000))
        return delay

    # ------------------------------------------------------------------ the store

    def _store(self, now: int) -> Any:
        """The outbox's store, opened on first use (None while it cannot be opened)."""
        if self.store is None and now >= self.next_open_ms:
            try:
                self.store = self.open_store()
            except StoreError as e:
                self.open_error, self.next_open_ms = str(e), now + REOPEN_MS
        return self.store

    def _mark(self, call: Callable[[Any], None], now: int) -> bool:
        try:
            call(self.store)
        except StoreError as e:
            self._direct(self._failed(str(e), now), now)
            return False
        return True

    def _failed(self, detail: str, now: int) -> list[Alert]:
        """The store_failed alert, the first time in a row only (logged here)."""
        alert = self.health.failed(detail, now)
        if alert is None:
            return []
        log.critical("ALERT [%s] %s", label(alert), alert.text)
        return [alert]

    def _worked(self, now: int) -> None:
        back = self.health.ok(now)
        if back is not None:
            self.submit(Findings((back,)))


def _alert(r: OutboxAlert) -> Alert:
    return Alert(r.kind, r.severity, r.text, r.created_at_ms, r.symbol,
                 bool(r.payload.get("resolved")))
