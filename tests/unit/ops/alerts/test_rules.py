"""Alert rules: successive supervisor statuses and engine events -> alerts, edge-triggered."""

from __future__ import annotations

import pytest

from actors.messages import ActorEntry, StreamStatus, SupervisorStatus, SymbolView
from ops.alerts.model import StopProbe
from ops.alerts.rules import Rules, StoreHealth, Thresholds, stop_fired
from ops.hub import EngineEvent
from persistence.store import JournalRow

T0 = 1_700_000_000_000
RULES = Thresholds(unprotected_ms=10_000, stream_down_ms=60_000, stop_fired=True)


def view(symbol="BTCUSDT", state="PROTECTED", *, pid=101, side="long", qty="0.010",
         stop="58800.0", seq=5, last_error=None, unprotected=False, quarantines=0,
         last_quarantine=None) -> SymbolView:
    return SymbolView(symbol, state, side, qty if side else "0", "60000", "60000",
                      stop if side and not unprotected else None, "9" if stop else None, None,
                      False, None, seq, last_error, 0, pid, unprotected=unprotected,
                      quarantines=quarantines, last_quarantine=last_quarantine)


def entry(v: SymbolView | None, *, state=None, pid="view", reason=None, kind="symbol",
          symbol=None) -> ActorEntry:
    return ActorEntry(kind, symbol or (v.symbol if v else None),
                      (v.pid if v else 7) if pid == "view" else pid,
                      state or (v.state if v else "running"), 0, reason, None, v)


def stream(kind="user", state="connected", *, last_error=None) -> StreamStatus:
    return StreamStatus(kind, state, 10, 0, 0, T0, last_error)


def status(*entries: ActorEntry, streams=(), stopping=False) -> SupervisorStatus:
    return SupervisorStatus(True, stopping, tuple(entries), tuple(streams), 0, 1, 3)


def kinds(findings) -> list[tuple[str, str | None, bool]]:
    return [(a.kind, a.symbol, a.resolved) for a in findings.alerts]


# --------------------------------------------------------------------------- quarantine


def test_a_symbol_quarantined_by_its_actor_alerts_once_then_once_when_released():
    rules = Rules(RULES)
    rules.observe(status(entry(view())), T0)
    quarantined = view(state="QUARANTINED", quarantines=1,
                       last_error="lookup pg-3-BTCUSDT-sl-2: timeout (failed 5 times in a row, "
                                  "gave up)",
                       last_quarantine="lookup pg-3-BTCUSDT-sl-2: timeout (failed 5 times "
                                       "in a row, gave up)")

    first = rules.observe(status(entry(quarantined)), T0 + 1_000)
    again = [rules.observe(status(entry(quarantined)), T0 + 1_000 * i) for i in range(2, 6)]
    released = rules.observe(status(entry(view(quarantines=1))), T0 + 7_000)

    assert kinds(first) == [("quarantined", "BTCUSDT", False)]
    (alert,) = first.alerts
    assert alert.severity == "critical" and alert.at_ms == T0 + 1_000
    assert "BTCUSDT QUARANTINED by its actor" in alert.text
    assert "gave up" in alert.text
    assert all(f.alerts == () for f in again)
    assert kinds(released) == [("quarantined", "BTCUSDT", True)]
    assert "no longer QUARANTINED" in released.alerts[0].text
    assert "PROTECTED" in released.alerts[0].text


def test_a_symbol_quarantined_by_the_supervisor_names_the_restart_intensity():
    rules = Rules(RULES)
    v = view()
    rules.observe(status(entry(v)), T0)
    why = "restarted 3 times within 30 s; last exit: crashed on MarkPrice: boom"

    found = rules.observe(status(entry(v, state="QUARANTINED", pid=None, reason=why)), T0 + 1_000)
    later = rules.observe(status(entry(v, state="QUARANTINED", pid=None, reason=why)), T0 + 2_000)

    assert kinds(found) == [("quarantined", "BTCUSDT", False)]
    assert "QUARANTINED by the supervisor" in found.alerts[0].text and why in found.alerts[0].text
    assert later.alerts == ()


def test_a_quarantine_that_ended_between_two_status_reads_is_still_alerted():
    rules = Rules(RULES)
    rules.observe(status(entry(view())), T0)
    reason = "stop pg-3-BTCUSDT-sl-1: ReduceOnly Order is rejected."

    found = rules.observe(status(entry(view(quarantines=1, last_quarantine=reason))), T0 + 1_000)
    again = rules.observe(status(entry(view(quarantines=1, last_quarantine=reason))), T0 + 2_000)

    assert kinds(found) == [("stop_failed", "BTCUSDT", False)]
    assert "was QUARANTINED" in found.alerts[0].text and "now PROTECTED" in found.alerts[0].text
    assert again.alerts == ()


def test_a_restarted_actor_counts_its_quarantines_from_zero():
    rules = Rules(RULES)
    rules.observe(status(entry(view(pid=1, quarantines=2, last_quarantine="reconcile: x"))), T0)

    same = rules.observe(status(entry(view(pid=2, quarantines=0))), T0 + 1_000)
    new = rules.observe(status(entry(view(pid=2, quarantines=1, last_quarantine="reconcile: y"))),
                        T0 + 2_000)

    assert same.alerts == ()
    assert kinds(new) == [("quarantined", "BTCUSDT", False)]


@pytest.mark.parametrize("reason", [
    "stop pg-3-BTCUSDT-sl-4: Internal error; unable to process your request.",
    "trailing pg-3-BTCUSDT-tr-2: Service unavailable (failed 3 times in a row, gave up)",
])
def test_a_quarantine_because_the_stop_could_not_be_placed_is_a_stop_failure(reason):
    rules = Rules(RULES)
    v = view(state="QUARANTINED", unprotected=True, quarantines=1, last_error=reason,
             last_quarantine=reason)

    found = rules.observe(status(entry(v)), T0)

    assert ("stop_failed", "BTCUSDT", False) in kinds(found)
    text = next(a.text for a in found.alerts if a.kind == "stop_failed")
    assert "stop placement failed past its retries" in text and reason in text


def test_the_stop_failure_rule_reads_the_reason_the_symbol_machine_really_writes():
    # The rule parses the quarantine reason the actor's state machine builds: drive the real
    # machine through three refused stops so a change of that wording fails here.
    from decimal import Decimal

    from actors.messages import FailureKind, OpenPosition, PlaceMarket, PlaceStop
    from actors.machine.core import MAX_STOP_FAILURES, Trigger
    from actors.symbol_state import State
    from ops.alerts.rules import is_stop_failure
    from tests.fakes.machine import SYMBOL, Driver, failure, filled, only, reply
    d = Driver()
    market = only(d.apply(Trigger.OPEN, OpenPosition(SYMBOL, "long", Decimal("0.01"), "c")),
                  PlaceMarket)
    stop = only(d.apply(Trigger.MARKET_REPLY, filled(market)), PlaceStop)
    down = failure(FailureKind.TEMPORARY, -1001, "Internal error")
    for _ in range(MAX_STOP_FAILURES):
        step = d.apply(Trigger.STOP_REPLY, reply(stop, fail=down), advance_ms=100)
        if step.state.state is not State.QUARANTINED:
            stop = only(d.apply(Trigger.RETRY, stop, advance_ms=100), PlaceStop)

    assert d.s.state is State.QUARANTINED
    assert is_stop_failure(d.s.quarantine_reason), d.s.quarantine_reason
    assert not is_stop_failure("lookup pg-7-ETHUSDT-sl-3: timeout (failed 5 times in a row)")
    assert not is_stop_failure("reconcile: positions unreadable")


# --------------------------------------------------------------------------- unprotected


def test_a_position_without_a_resting_stop_alerts_only_past_unprotected_secs():
    rules = Rules(RULES)
    naked = entry(view(state="OPEN_UNPROTECTED", unprotected=True, last_error="stop refused"))

    early = [rules.observe(status(naked), T0 + s * 1_000) for s in range(0, 10)]
    late = rules.observe(status(naked), T0 + 10_000)
    later = rules.observe(status(naked), T0 + 30_000)
    healed = rules.observe(status(entry(view())), T0 + 31_000)

    assert all(f.alerts == () for f in early)
    assert kinds(late) == [("unprotected", "BTCUSDT", False)]
    text = late.alerts[0].text
    assert "BTCUSDT UNPROTECTED for 10 s" in text and "long 0.010" in text
    assert "stop refused" in text
    assert later.alerts == ()
    assert kinds(healed) == [("unprotected", "BTCUSDT", True)]
    assert "protected again after 31 s" in healed.alerts[0].text


def test_a_short_unprotected_stretch_raises_nothing_at_all():
    rules = Rules(RULES)
    rules.observe(status(entry(view(state="OPENING", unprotected=True))), T0)

    healed = rules.observe(status(entry(view())), T0 + 2_000)
    again = rules.observe(status(entry(view(state="OPEN_UNPROTECTED", unprotected=True))),
                          T0 + 3_000)
    soon = rules.observe(status(entry(view(state="OPEN_UNPROTECTED", unprotected=True))),
                         T0 + 12_000)

    assert healed.alerts == () and again.alerts == ()
    assert soon.alerts == ()  # the second stretch began at T0 + 3 s: 9 s so far


def test_unprotected_secs_zero_alerts_on_the_first_status_that_shows_it():
    rules = Rules(Thresholds(unprotected_ms=0, stream_down_ms=60_000, stop_fired=False))

    found = rules.observe(status(entry(view(state="OPEN_UNPROTECTED", unprotected=True))), T0)

    assert kinds(found) == [("unprotected", "BTCUSDT", False)]


def test_a_naked_position_that_is_closed_is_resolved_as_closed():
    rules = Rules(Thresholds(unprotected_ms=0, stream_down_ms=60_000, stop_fired=False))
    rules.observe(status(entry(view(state="OPEN_UNPROTECTED", unprotected=True))), T0)

    closed = rules.observe(status(entry(view(state="FLAT", side=None, stop=None))), T0 + 5_000)

    assert kinds(closed) == [("unprotected", "BTCUSDT", True)]
    assert "no position" in closed.alerts[0].text


# --------------------------------------------------------------------------- streams


def test_a_stream_down_alerts_past_stream_down_secs_and_again_when_connected():
    rules = Rules(RULES)
    rules.observe(status(streams=[stream()]), T0)
    down = stream(state="reconnecting", last_error="connection closed by the server")

    early = rules.observe(status(streams=[down]), T0 + 30_000)
    late = rules.observe(status(streams=[down]), T0 + 90_000)
    later = rules.observe(status(streams=[down]), T0 + 120_000)
    back = rules.observe(status(streams=[stream()]), T0 + 125_000)

    assert early.alerts == ()
    assert kinds(late) == [("stream_down", None, False)]
    assert "user stream down for 60 s" in late.alerts[0].text
    assert "connection closed by the server" in late.alerts[0].text
    assert later.alerts == ()
    assert kinds(back) == [("stream_down", None, True)]
    assert "user stream connected again after 95 s" in back.alerts[0].text


def test_streams_are_not_judged_while_the_system_shuts_down():
    rules = Rules(Thresholds(unprotected_ms=0, stream_down_ms=0, stop_fired=False))

    found = rules.observe(status(streams=[stream(state="stopped")], stopping=True), T0)

    assert found.alerts == ()


# --------------------------------------------------------------------------- the store


def test_an_actor_that_exited_on_a_store_failure_alerts_once_per_failure():
    rules = Rules(RULES)
    why = "store write failed (stop_placed): SQLite store x: append failed: disk I/O error"
    failing = entry(view(), state="RESTARTING", pid=None, reason=why)

    first = rules.observe(status(failing), T0)
    same = rules.observe(status(failing), T0 + 1_000)
    healthy = rules.observe(status(entry(view())), T0 + 2_000)
    again = rules.observe(status(failing), T0 + 3_000)

    assert kinds(first) == [("store_failed", "BTCUSDT", False)]
    assert why in first.alerts[0].text
    assert same.alerts == () and healthy.alerts == ()
    assert kinds(again) == [("store_failed", "BTCUSDT", False)]


def test_the_outbox_store_failing_alerts_once_and_once_more_when_it_works_again():
    health = StoreHealth()

    first = health.failed("PostgreSQL at host x: add_alert failed: server closed", T0)
    second = health.failed("still down", T0 + 1_000)
    back = health.ok(T0 + 5_000)
    quiet = health.ok(T0 + 6_000)

    assert first is not None and first.kind == "store_failed" and not first.resolved
    assert "server closed" in first.text
    assert second is None and quiet is None
    assert back is not None and back.resolved and "works again" in back.text


# --------------------------------------------------------------------------- engine events


@pytest.mark.parametrize("kind,severity", [("started", "info"), ("stopped", "info"),
                                           ("lock_lost", "critical"),
                                           ("store_failed", "critical"),
                                           ("supervisor_recreated", "warning"),
                                           ("something_new", "warning")])
def test_every_engine_event_becomes_one_alert(kind, severity):
    rules = Rules(RULES)

    found = rules.event(EngineEvent(kind, f"posguard {kind}", T0))

    assert [(a.kind, a.severity, a.text, a.at_ms) for a in found.alerts] == [
        (kind, severity, f"posguard {kind}", T0)]


def test_a_stop_after_a_failure_is_a_warning():
    found = Rules(RULES).event(EngineEvent("stopped", "posguard stopped (exit 1)", T0))
    assert found.alerts[0].severity == "warning"


# --------------------------------------------------------------------------- stop fired


def test_a_position_gone_flat_asks_for_its_journal_only_when_stop_fired_is_on():
    on, off = Rules(RULES), Rules(Thresholds(10_000, 60_000, stop_fired=False))
    for rules in (on, off):
        rules.observe(status(entry(view(seq=8))), T0)

    probes_on = on.observe(status(entry(view(state="FLAT", side=None, stop=None, seq=11))),
                           T0 + 1_000).probes
    probes_off = off.observe(status(entry(view(state="FLAT", side=None, stop=None, seq=11))),
                             T0 + 1_000).probes

    assert probes_on == (StopProbe("BTCUSDT", 8, T0 + 1_000),)
    assert probes_off == ()


def _row(seq, kind, payload):
    return JournalRow("BTCUSDT", seq, 3, kind, payload, "c", T0, T0)


def test_a_stop_fill_in_the_journal_becomes_a_stop_fired_alert():
    rows = [_row(9, "stop_moved", {}),
            _row(10, "stop_filled", {"price": "58790.1", "pnl": "-12.1",
                                     "client_id": "pg-3-BTCUSDT-sl-2"}),
            _row(11, "stop_cancelled", {})]

    (alert,) = stop_fired("BTCUSDT", rows, T0)

    assert (alert.kind, alert.symbol, alert.severity) == ("stop_fired", "BTCUSDT", "info")
    assert "BTCUSDT stop filled at 58790.1" in alert.text and "-12.1" in alert.text


def test_a_close_while_away_by_our_stop_is_a_stop_fired_alert_and_a_market_close_is_not():
    away = _row(4, "closed_while_away", {"cause": "trailing_filled", "price": "61000",
                                         "pnl": "5", "explained": True})
    market = _row(5, "closed_at_market", {"price": "60000"})

    assert [a.text for a in stop_fired("BTCUSDT", [away], T0)] == [
        "BTCUSDT trailing stop filled at 61000 (pnl 5) while posguard was away"]
    assert stop_fired("BTCUSDT", [market], T0) == []
