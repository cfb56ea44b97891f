"""Issue 13: every fault kind mixed on a seeded schedule, the invariants checked all along.

The whole system as an operator runs it: `posguard sim` and `posguard run` (paper mode
against that external simulator) as separate processes, 14 symbols with managed trailing,
driven by the real CLI. A seeded schedule injects one fault every 1-3 s in the CI run (2-6 s
in runs of two minutes or more): SIGKILL of symbol actors (also in the middle of a stop move),
the exchange pool, one or two workers at once, each stream actor, the supervisor (followed at
once by CLI commands, while the launcher re-creates it) and the launcher's process group
(then `posguard run` again); user-stream closes, listen-key expiry, silence, dropped,
duplicated, reordered and delayed events; 5xx/429 errors and withheld replies on placing and
cancelling stops, on market orders and on reconcile reads; price trends that move trailing
stops or fire them; CLI opens, closes and restarts.

Checked continuously against the simulator's state and posguard's answers
(tests/fixtures/chaos/invariants.py): no position uncovered for more than 2 s outside the
excuse windows of the faults injected meanwhile, no orphan or extra stop for more than 3 s
likewise, no symbol unsettled for more than 30 s; after the faults stop, `status --json`
equal to the exchange; after shutdown every process gone, every journal contiguous, no
launcher traceback.

The run is on one venue (tests/fixtures/venues.py), once per venue in CI, each with its own
schedule; the seed picks the venue (settings.py venue_of) as it picks exchange.workers, and
every fault kind is aimed at that venue's paths (tests/fixtures/chaos/paths.py). Bybit has no
listen key: its `stream_expire` is the venue refusing the private socket's auth. On both
venues the market-data sockets are cut and stalled too (market_close, market_silence).

POSGUARD_CHAOS_MINUTES=5 POSGUARD_CHAOS_SEED=N replays or lengthens a run (only the venue
test the seed names runs; the other is skipped saying so); the seed, the figures, and each
violation with the timeline of the faults before it are in the failure message, and
report.txt / timeline.txt / the logs stay in the test's tmp_path.
"""

from __future__ import annotations

import signal

import pytest

from system.sim.client import SimControl, SimControlError
from tests.fixtures.chaos import report
from tests.fixtures.chaos.invariants import CoverageCheck, StopCheck, Violations
from tests.fixtures.chaos.run import ChaosRun
from tests.fixtures.chaos.schedule import run_schedule
from tests.fixtures.chaos.settings import VENUES, from_env, seed_on, venue_of
from tests.fixtures.chaos.settle import finish, settle
from tests.fixtures.chaos.timeline import Timeline
from tests.fixtures.chaos.tracker import FaultTracker
from tests.fixtures.venues import BYBIT

SETTINGS = from_env()


@pytest.fixture(autouse=True)
def _no_sigpipe():
    """A killed system can break pipes under the CLI; never let SIGPIPE end the test run."""
    previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGPIPE, previous)


@pytest.mark.timeout(int(SETTINGS.minutes * 90) + 600)  # every wait inside is bounded too
@pytest.mark.parametrize("venue_name", VENUES)
def test_mixed_faults_never_leave_a_position_naked_or_a_symbol_wedged(tmp_path, venue_name):
    settings = SETTINGS.on(venue_name)
    if settings.venue != venue_name:
        pytest.skip(f"POSGUARD_CHAOS_SEED={settings.seed} replays a run on {settings.venue}")
    print(f"\nchaos: seed {settings.seed} ({settings.venue}), {settings.minutes:g} min; "
          f"replay with {settings.replay}; artifacts in {tmp_path}", flush=True)
    with ChaosRun(tmp_path, settings) as run:
        try:
            run_schedule(run)
            if run.fatal is None:
                settle(run, "end of the schedule")
            finish(run)
        finally:  # also when the harness itself failed: the timeline says how far it got
            report.write(run)
    message = report.failure_message(run)
    print(message)
    assert not run.violations.all(), message


# --------------------------------------------------------------------------- the harness itself
# A violation must be real: the budgets count only time outside the excuse windows, on the
# simulator's clock. These check that arithmetic on made-up states (no processes).

class _Clock:
    """A hand-moved clock for the harness's self-tests."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _timeline(now: float) -> tuple[Timeline, _Clock]:
    clock = _Clock(now)
    return Timeline(clock=clock), clock


def _state(now: float, positions=(), algos=(), fills=(), gaps=(), open_gaps=None) -> dict:
    return {"clock": {"monotonic": now, "now_ms": int(now * 1000)},
            "positions": [{"symbol": s, "positionAmt": a, "entryPrice": "1"} for s, a in positions],
            "open_algo_orders": list(algos), "fills": list(fills),
            "faults": {"http": [], "stream": []},
            "unprotected": {"gaps": list(gaps), "per_symbol": open_gaps or {}}}


def _stop(symbol: str, algo_id: int, created_s: float) -> dict:
    return {"symbol": symbol, "algoId": algo_id, "clientAlgoId": f"pg-1-{symbol}-sl-{algo_id}",
            "side": "SELL", "quantity": "1", "triggerPrice": "0.9",
            "createTime": int(created_s * 1000)}


def test_the_harness_counts_only_time_outside_the_excuse_windows_of_the_symbol():
    t, clock = _timeline(100.0)
    t.excuse(101.0, 103.0, "everyone")
    t.excuse(102.0, 105.0, "overlapping")
    t.fault("kill_symbol", "B only", "B", excuse_secs=None, scoped=True).start = 106.0
    assert t.unexcused(100.0, 110.0, "A") == pytest.approx(6.0)   # 101-105 excused
    clock.now = 108.0                                             # B's window still open
    assert t.unexcused(100.0, 110.0, "B") == pytest.approx(4.0)   # and 106-108


def test_the_harness_excuses_lost_cover_only_when_the_venue_took_the_stop():
    (t, _), v = _timeline(110.0), Violations()
    t.excuse(100.0, 109.0, "a pool kill")
    t.fault("venue_cancel", "D's stop", "D", excuse_secs=3.0, cover=True).start = 100.0
    gaps = [{"symbol": "A", "start": 100.0, "end": 102.5, "kind": "coverage_lost",
             "duration_ms": 2500.0},
            {"symbol": "B", "start": 100.0, "end": 110.0, "kind": "opened_uncovered",
             "duration_ms": 10000.0},
            {"symbol": "C", "start": 100.0, "end": 112.5, "kind": "opened_uncovered",
             "duration_ms": 12500.0},
            {"symbol": "D", "start": 100.0, "end": 104.0, "kind": "coverage_lost",
             "duration_ms": 4000.0}]
    CoverageCheck(t, v).check(_state(113.0, gaps=gaps))
    assert [(x.invariant, x.symbol) for x in v.all()] == [("uncovered", "A"), ("uncovered", "C")]


def test_the_harness_finds_an_orphan_and_an_extra_stop_after_the_grace_only():
    (t, _), v = _timeline(200.0), Violations()
    algos = [_stop("A", 1, 196.0), _stop("B", 2, 199.0),          # flat: orphan, too young
             _stop("C", 3, 190.0), _stop("C", 4, 196.5)]          # open: 3 is extra since 196.5
    StopCheck(t, v).check(_state(200.0, positions=[("C", "1")], algos=algos))
    assert sorted((x.invariant, x.symbol) for x in v.all()) == [("extra stop", "C"),
                                                                 ("orphan", "A")]


def test_the_harness_opens_a_fault_window_at_its_first_use_not_at_arming():
    t, clock = _timeline(300.0)
    tracker = FaultTracker(t)
    tracker.armed(("POST", "/fapi/v1/algoOrder"), "rest_fail_place", "503", 1.5)
    clock.now = 301.0
    pending = _state(301.0)
    pending["faults"]["http"] = [{"method": "POST", "path": "/fapi/v1/algoOrder"}]
    tracker.observe(pending, 301.0)
    assert not t.excuses
    clock.now = 305.0
    tracker.observe(_state(305.0), 305.0)                          # used between 301 and 305
    assert [(x.start, x.end) for x in t.excuses] == [(301.0, 306.5)]


def test_the_venue_cancel_hook_takes_a_stop_away_as_the_venue_would(ccxt_sync, sim_control):
    # system/sim/control.py c_cancel_algo, added for venue_cancel (faults.py).
    btc = "BTC/USDT:USDT"
    ccxt_sync.create_order(btc, "market", "buy", 0.01)
    stop = ccxt_sync.create_order(btc, "market", "sell", 0.01, None,
                                  {"stopPrice": 59000, "reduceOnly": True})

    said = sim_control.cancel_algo("BTCUSDT")

    assert str(said["algoId"]) == stop["id"]
    state = sim_control.state()
    assert state["open_algo_orders"] == []
    gap = state["unprotected"]["per_symbol"]["BTCUSDT"]["open_gap"]
    assert gap is not None and gap["kind"] == "coverage_lost"
    with pytest.raises(SimControlError, match="no resting algo order"):
        sim_control.cancel_algo("BTCUSDT")


def test_the_seed_picks_the_venue_and_a_ci_run_per_venue_keeps_its_seed_otherwise():
    assert [venue_of(s) for s in range(4)] == ["binanceusdm", "binanceusdm", "bybit", "bybit"]
    for venue in VENUES:
        for seed in (0, 1, 6, 2 ** 31 + 5):
            moved = seed_on(venue, seed)
            assert venue_of(moved) == venue and moved & ~2 == seed & ~2   # workers bit kept


def test_the_harness_matches_a_bybit_stop_only_fault_apart_from_a_market_one():
    # Bybit places market orders and stops on one path; a stop-only fault (with_param) is
    # used only by a stop, so its window must not open when the market order's fault goes.
    t, clock = _timeline(400.0)
    tracker = FaultTracker(t)
    create = "/v5/order/create"
    tracker.armed(("POST", create, "triggerPrice"), "rest_fail_place", "stop 10016", 1.5)
    tracker.armed(("POST", create), "rest_fault_market", "market 10016", 1.5)
    clock.now = 401.0
    pending = _state(401.0)
    pending["faults"]["http"] = [{"method": "POST", "path": create, "with_param": "triggerPrice"}]
    tracker.observe(pending, 401.0)                    # the market fault went, the stop's waits
    assert [x.why for x in t.excuses] == ["rest_fault_market"]
    assert [a.why for a in tracker.pending] == ["rest_fail_place"]


def test_the_venue_cancel_hook_takes_a_stop_away_on_bybit_too(ccxt_bybit, bybit_sim):
    btc = "BTC/USDT:USDT"
    control = SimControl(bybit_sim.url)
    ccxt_bybit.create_order(btc, "market", "buy", 0.01)
    stop = ccxt_bybit.create_order(btc, "market", "sell", 0.01, None,
                                   {"triggerPrice": 59000, "triggerDirection": "descending",
                                    "reduceOnly": True, "orderLinkId": "pg-main-1-BTC-sl-1"})

    said = control.cancel_algo("BTCUSDT")

    assert BYBIT.order_id(said["algoId"]) == stop["id"]
    state = control.state()
    assert state["open_algo_orders"] == []
    gap = state["unprotected"]["per_symbol"]["BTCUSDT"]["open_gap"]
    assert gap is not None and gap["kind"] == "coverage_lost"
    [row] = ccxt_bybit.fetch_canceled_and_closed_orders(btc, params={"orderFilter": "StopOrder"})
    assert row["id"] == stop["id"] and row["status"] == "canceled"
