"""The delivery loop, one step at a time on a manual clock: outbox first, grouping, rate
limit, backoff, the store failing. The store and channels here are in-memory fakes; the real
ones are in tests/integration/ops/alerts and tests/integration/persistence."""

from __future__ import annotations

import logging
import random

import pytest

from ops.alerts.channels import ChannelRefused, Channels, ChannelUnavailable
from ops.alerts.delivery import Delivery
from ops.alerts.model import Alert, Findings, StopProbe
from ops.alerts.settings import AlertsConfig
from persistence.store import JournalRow, OutboxAlert, StoreUnavailable

T0 = 1_700_000_000_000


class FakeStore:
    """The outbox part of persistence.store.Store, in memory."""

    def __init__(self) -> None:
        self.alerts: dict[int, dict] = {}
        self.deliveries: dict[tuple[int, str], dict] = {}
        self.failing = False
        self.journal_rows: list[JournalRow] = []

    def _check(self) -> None:
        if self.failing:
            raise StoreUnavailable("SQLite store x: add_alert failed: disk I/O error")

    def add_alert(self, *, kind, severity, symbol, text, payload, created_at_ms, channels,
                  account=None):
        self._check()
        alert_id = len(self.alerts) + 1
        self.alerts[alert_id] = dict(kind=kind, severity=severity, symbol=symbol, text=text,
                                     payload=payload, created_at_ms=created_at_ms,
                                     account=account)
        for c in channels:
            self.deliveries[(alert_id, c)] = dict(attempts=0, next_at_ms=created_at_ms,
                                                  last_error=None, delivered_at_ms=None)
        return alert_id

    def pending_alerts(self, channel, *, due_at_ms, limit=100):
        self._check()
        rows = []
        for (i, c), d in sorted(self.deliveries.items()):
            if c == channel and d["delivered_at_ms"] is None and d["next_at_ms"] <= due_at_ms:
                a = self.alerts[i]
                rows.append(OutboxAlert(i, c, a["kind"], a["severity"], a["symbol"], a["text"],
                                        a["payload"], 3, a["created_at_ms"], d["attempts"],
                                        d["next_at_ms"], d["last_error"]))
        return rows[:limit]

    def alert_attempt_failed(self, channel, ids, *, error, next_at_ms):
        self._check()
        for i in ids:
            d = self.deliveries[(i, channel)]
            d.update(attempts=d["attempts"] + 1, last_error=error, next_at_ms=next_at_ms)

    def alerts_delivered(self, channel, ids, *, delivered_at_ms):
        self._check()
        for i in ids:
            self.deliveries[(i, channel)]["delivered_at_ms"] = delivered_at_ms

    def journal(self, symbol, after_seq=0, limit=None):
        self._check()
        return [r for r in self.journal_rows if r.symbol == symbol and r.seq > after_seq]

    def close(self):
        pass

    def undelivered(self, channel):
        return [i for (i, c), d in self.deliveries.items()
                if c == channel and d["delivered_at_ms"] is None]


class FakeChannel:
    """A channel that records messages, or fails with the error it is given."""

    max_chars = 4000

    def __init__(self, name: str) -> None:
        self.name, self.key = name, f"alerts.{name}"
        self.sent: list = []
        self.error: Exception | None = None

    def describe(self) -> str:
        return self.name

    def send(self, msg) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(msg)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def world():
    store, clock = FakeStore(), Clock()
    hook, bot = FakeChannel("webhook"), FakeChannel("telegram")

    def make(cfg=None, names=("webhook", "telegram"), working=None, store_opens=True):
        chans = Channels(tuple(names), working if working is not None else
                         {c.name: c for c in (hook, bot) if c.name in names}, ())
        opener = (lambda: store) if store_opens else _no_store
        return Delivery(cfg or AlertsConfig(), chans, opener, source="test", clock=clock,
                        rng=random.Random(3))
    return store, clock, hook, bot, make


def _no_store():
    raise StoreUnavailable("PostgreSQL unreachable or not ready at host x")


def _alert(i=0, severity="critical", kind="quarantined"):
    return Alert(kind, severity, f"SYM{i}USDT QUARANTINED", T0, f"SYM{i}USDT")


def test_an_alert_is_in_the_outbox_before_anything_is_sent(world):
    store, clock, hook, bot, make = world
    d = make()
    d.submit(Findings((_alert(),)))

    d.step()

    assert list(store.alerts) == [1]
    assert store.undelivered("webhook") == [1] and store.undelivered("telegram") == [1]
    assert hook.sent == [] and bot.sent == [], "the group window has not passed"
    clock.now += 2_000
    d.step()
    assert [m.alerts[0]["id"] for m in hook.sent] == [1] == [m.alerts[0]["id"] for m in bot.sent]
    assert store.undelivered("webhook") == [] == store.undelivered("telegram")


def test_thirty_alerts_at_once_are_one_message_per_channel(world):
    store, clock, hook, bot, make = world
    d = make()
    d.submit(Findings(tuple(_alert(i) for i in range(30))))
    d.step()
    clock.now += 2_000

    d.step()

    assert len(hook.sent) == 1 and len(bot.sent) == 1
    assert len(hook.sent[0].alerts) == 30
    assert hook.sent[0].text.splitlines()[0].endswith("30 alerts: 30 critical")


def test_past_max_per_minute_alerts_wait_and_go_out_grouped(world):
    store, clock, hook, bot, make = world
    d = make(AlertsConfig(max_per_minute=2, group_window_secs=0))
    for i in range(5):
        d.submit(Findings((_alert(i),)))
        d.step()
        clock.now += 1_000

    assert [len(m.alerts) for m in hook.sent] == [1, 1]
    clock.now = T0 + 60_000
    d.step()
    assert [len(m.alerts) for m in hook.sent] == [1, 1, 3]
    assert store.undelivered("webhook") == []


def test_a_failing_channel_is_retried_with_growing_backoff_and_the_other_delivers(world):
    store, clock, hook, bot, make = world
    d = make(AlertsConfig(group_window_secs=0, retry_min_secs=1, retry_max_secs=60))
    hook.error = ChannelUnavailable("cannot connect to 127.0.0.1:9 (Connection refused)")
    d.submit(Findings((_alert(),)))

    nexts = []
    for _ in range(4):
        d.step()
        nexts.append(store.deliveries[(1, "webhook")]["next_at_ms"] - clock.now)
        clock.now = store.deliveries[(1, "webhook")]["next_at_ms"]

    assert len(bot.sent) == 1 and store.undelivered("telegram") == []
    row = store.deliveries[(1, "webhook")]
    assert row["attempts"] == 4 and "Connection refused" in row["last_error"]
    assert [500 <= n <= 1_000 for n in nexts[:1]] == [True]
    assert 4_000 <= nexts[3] <= 8_000
    hook.error = None
    d.step()
    assert store.undelivered("webhook") == [] and len(hook.sent) == 1


def test_no_send_before_the_retry_time(world):
    store, clock, hook, bot, make = world
    d = make(AlertsConfig(group_window_secs=0), names=("webhook",))
    hook.error = ChannelUnavailable("HTTP 500")
    d.submit(Findings((_alert(),)))
    d.step()
    hook.error = None
    due = store.deliveries[(1, "webhook")]["next_at_ms"]

    clock.now = due - 1
    d.step()
    assert hook.sent == []
    clock.now = due
    d.step()
    assert len(hook.sent) == 1


def test_a_refused_channel_waits_the_longest_backoff_and_a_retry_after_is_honoured(world):
    store, clock, hook, bot, make = world
    d = make(AlertsConfig(group_window_secs=0, retry_min_secs=1, retry_max_secs=100))
    hook.error = ChannelRefused("Telegram refused sendMessage: 401 Unauthorized")
    bot.error = ChannelUnavailable("429", retry_after_secs=30)
    d.submit(Findings((_alert(),)))

    d.step()

    assert 50_000 <= store.deliveries[(1, "webhook")]["next_at_ms"] - T0 <= 100_000
    assert store.deliveries[(1, "telegram")]["next_at_ms"] - T0 == 30_000


def test_a_misconfigured_channel_keeps_its_alerts_in_the_outbox(world):
    store, clock, hook, bot, make = world
    d = make(AlertsConfig(group_window_secs=0), working={"telegram": bot})
    d.submit(Findings((_alert(),)))

    d.step()

    assert len(bot.sent) == 1
    assert store.undelivered("webhook") == [1] and hook.sent == []


def test_a_failing_store_sends_the_alert_directly_once_with_a_store_alert(world, caplog):
    store, clock, hook, bot, make = world
    d = make(names=("webhook",))
    store.failing = True
    d.submit(Findings((_alert(),)))

    with caplog.at_level(logging.WARNING, logger="posguard.alerts"):
        d.step()

    (msg,) = hook.sent
    assert [a["kind"] for a in msg.alerts] == ["quarantined", "store_failed"]
    assert [a["id"] for a in msg.alerts] == [None, None]
    assert "not durable" in caplog.text
    store.failing = False
    clock.now += 5_000
    d.step()
    clock.now += 2_000
    d.step()
    assert [a["text"] for a in hook.sent[-1].alerts] == ["the store works again"]


def test_a_store_that_cannot_be_opened_still_lets_alerts_out_directly(world):
    store, clock, hook, bot, make = world
    d = make(names=("webhook",), store_opens=False)
    d.submit(Findings((_alert(),)))

    d.step()

    assert [a["kind"] for a in hook.sent[0].alerts] == ["quarantined", "store_failed"]
    assert "PostgreSQL unreachable" in hook.sent[0].alerts[1]["text"]


def test_closing_flushes_queued_alerts_without_waiting_the_group_window(world):
    store, clock, hook, bot, make = world
    d = make()
    d.submit(Findings((Alert("stopped", "info", "posguard stopped", T0),)))

    d.step(final=True)

    assert [m.alerts[0]["kind"] for m in hook.sent] == ["stopped"]


def test_a_probe_that_finds_a_stop_fill_in_the_journal_raises_stop_fired(world):
    store, clock, hook, bot, make = world
    store.journal_rows = [JournalRow("BTCUSDT", 9, 3, "stop_filled",
                                     {"price": "58790", "pnl": "-1"}, "c", T0, T0)]
    d = make(AlertsConfig(group_window_secs=0), names=("webhook",))
    d.submit(Findings(probes=(StopProbe("BTCUSDT", 8, T0),)))

    d.step()

    assert [a["kind"] for a in hook.sent[0].alerts] == ["stop_fired"]


def test_every_alert_is_logged_with_its_severity(world, caplog):
    store, clock, hook, bot, make = world
    d = make(names=())
    with caplog.at_level(logging.INFO, logger="posguard.alerts"):
        d.submit(Findings((_alert(1, "critical"), _alert(2, "info", "started"))))
        d.step()
    levels = [(r.levelno, r.getMessage()) for r in caplog.records if "ALERT" in r.getMessage()]
    assert [lvl for lvl, _ in levels] == [logging.CRITICAL, logging.INFO]
    assert "SYM1USDT QUARANTINED" in levels[0][1]
    assert list(store.alerts) == [1, 2], "kept in the outbox with no channel configured"


def test_an_alert_row_names_its_account(world):
    store, clock, hook, bot, make = world
    one = make()
    one.account = "main"  # one account configured: a symbol's alert is about it
    several = make()      # several: the launcher names symbols account:SYMBOL
    one.submit(Findings((_alert(1),)))
    several.submit(Findings((Alert("quarantined", "critical", "by:SYM2USDT QUARANTINED", T0,
                                   "by:SYM2USDT"),
                             Alert("lock_lost", "critical", "lock lost", T0))))

    one.step()
    several.step()

    assert [(a["account"], a["symbol"]) for a in store.alerts.values()] == [
        ("main", "SYM1USDT"), ("by", "SYM2USDT"), (None, None)]
