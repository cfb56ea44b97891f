"""Progress lines: what `posguard run` says while it starts, and what a slow stop waits for."""

from __future__ import annotations

from actors.messages import ActorEntry, StreamStatus, SupervisorStatus
from system.progress import (
    START_HOLD_SECS,
    Narrator,
    StartProgress,
    in_flight,
)


def _status(markets: int | None = 8, recovering: tuple[str, ...] | None = (),
            **states: str) -> SupervisorStatus:
    entries = tuple(ActorEntry("symbol", sym, 1, state, 0, None) for sym, state in states.items())
    streams = (StreamStatus("user", "connected", 0, 0, 0, 0, None),)
    return SupervisorStatus(True, False, entries, streams, 0, 1, 1, markets=markets,
                            recovering=recovering)


def test_start_progress_says_markets_then_recovery_then_each_count_once():
    p = StartProgress()

    first = p.update(_status(None, ("BTCUSDT", "ETHUSDT", "SOLUSDT"), BTCUSDT="STARTING",
                             ETHUSDT="STARTING", SOLUSDT="STARTING"), 0.5)
    second = p.update(_status(8, ("BTCUSDT", "ETHUSDT", "SOLUSDT"), BTCUSDT="PROTECTED",
                              ETHUSDT="RECONCILING", SOLUSDT="STARTING"), 1.0)
    same = p.update(_status(8, ("BTCUSDT", "ETHUSDT", "SOLUSDT"), BTCUSDT="PROTECTED",
                            ETHUSDT="RECONCILING", SOLUSDT="STARTING"), 1.5)
    done_before = p.done
    last = p.update(_status(8, ("BTCUSDT", "ETHUSDT", "SOLUSDT"), BTCUSDT="PROTECTED",
                            ETHUSDT="FLAT", SOLUSDT="PROTECTED"), 2.0)

    assert first == ["recovering 3 symbols from the store: BTCUSDT, ETHUSDT, SOLUSDT"]
    assert second == ["markets loaded (8 symbols)", "1/3 recovered and reconciled (1 PROTECTED)"]
    assert same == [] and not done_before
    assert last == ["3/3 recovered and reconciled (2 PROTECTED, 1 FLAT)"] and p.done


def test_an_empty_store_is_said_plainly_and_the_start_is_done_once_markets_are_loaded():
    p = StartProgress()

    lines = p.update(_status(8, ()), 1.0)

    assert lines == ["markets loaded (8 symbols)", "nothing to recover: no open positions in "
                     "the store"]
    assert p.done


def test_a_symbol_quarantined_while_recovering_counts_as_settled_and_is_named():
    p = StartProgress()

    lines = p.update(_status(8, ("BTCUSDT", "ETHUSDT"), BTCUSDT="PROTECTED",
                             ETHUSDT="QUARANTINED"), 1.0)

    assert lines[-1] == "2/2 recovered and reconciled (1 PROTECTED, 1 QUARANTINED: ETHUSDT)"


def test_nothing_is_said_before_the_supervisor_has_read_the_store():
    p = StartProgress()

    assert p.update(_status(None, None), 1.0) == []
    assert not p.done


def test_a_long_start_lets_the_status_line_run_and_goes_on_saying_its_progress():
    p = StartProgress()
    p.update(_status(None, ("BTCUSDT", "ETHUSDT"), BTCUSDT="PROTECTED", ETHUSDT="RECONCILING"),
             1.0)
    held = p.status_due

    late = p.update(_status(None, ("BTCUSDT", "ETHUSDT"), BTCUSDT="PROTECTED",
                            ETHUSDT="RECONCILING"), START_HOLD_SECS + 0.1)
    later = p.update(_status(None, ("BTCUSDT", "ETHUSDT"), BTCUSDT="PROTECTED",
                             ETHUSDT="RECONCILING"), START_HOLD_SECS + 1.1)
    last = p.update(_status(8, ("BTCUSDT", "ETHUSDT"), BTCUSDT="PROTECTED", ETHUSDT="FLAT"),
                    START_HOLD_SECS + 2.1)

    assert not held
    assert late == [f"still starting after {START_HOLD_SECS:g} s: the market list is "
                    "not loaded yet; 1/2 recovered (waiting for ETHUSDT RECONCILING); the live "
                    "status follows"]
    assert p.status_due and later == []
    assert last == ["markets loaded (8 symbols)",
                    "2/2 recovered and reconciled (1 FLAT, 1 PROTECTED)"] and p.done


def test_in_flight_names_the_symbols_and_the_time_left():
    assert in_flight(("BTCUSDT", "ETHUSDT"), 7.6) == (
        "waiting for 2 symbols with requests in flight: BTCUSDT, ETHUSDT (8 s left)")
    assert in_flight(("BTCUSDT",), 0.2) == (
        "waiting for 1 symbol with a request in flight: BTCUSDT (0 s left)")


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_stop_that_is_over_within_the_quiet_time_says_nothing():
    said: list[str] = []
    clock = _Clock()
    n = Narrator(said.append, quiet_secs=1.0, clock=clock)

    n.step("ending the actor system")
    clock.now += 0.5
    n.poll()
    n.finish()

    assert said == []


def test_a_slow_stop_says_the_step_it_is_in_then_every_later_step_then_done():
    said: list[str] = []
    clock = _Clock()
    n = Narrator(said.append, quiet_secs=1.0, clock=clock)

    n.step("waiting for 1 symbol with a request in flight: BTCUSDT (9 s left)")
    clock.now += 0.4
    n.step("waiting for 1 symbol with a request in flight: BTCUSDT (9 s left)")
    clock.now += 0.7
    n.poll()
    n.step("waiting for 1 symbol with a request in flight: BTCUSDT (8 s left)")
    n.step("ending the actor system")
    n.finish()

    assert said == ["waiting for 1 symbol with a request in flight: BTCUSDT (9 s left)",
                    "waiting for 1 symbol with a request in flight: BTCUSDT (8 s left)",
                    "ending the actor system", "done"]
