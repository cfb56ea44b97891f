"""The metrics read from hand-built supervisor statuses (ops/metrics/reading.py, collector.py),
exposed in the text format and parsed back with prometheus_client's own parser."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from actors import tally
from actors.messages import (
    ActorEntry,
    PoolStatus,
    StreamStatus,
    SupervisorStatus,
    SymbolCounters,
    SymbolView,
)
from ops.metrics.collector import LatestCollector
from ops.metrics.reading import Tracker

T0 = 1_795_263_300_000


def counters(moves: int = 0, failures: tuple[tuple[str, int], ...] = (),
             appends: tuple[float, ...] = (), unprotected_ms: int = 0,
             since: int | None = None) -> SymbolCounters:
    c = tally.fresh()
    for secs in appends:
        c = tally.appended(c, secs)
    return dataclasses.replace(c, moves=moves, stop_failures=failures,
                               unprotected_ms=unprotected_ms, unprotected_since_ms=since)


def view(symbol: str, *, side: str | None = "long", qty: str = "0.010", mark: str | None = None,
         stop: str | None = None, state: str = "PROTECTED", pid: int = 100,
         c: SymbolCounters | None = None, unprotected: bool = False, quarantines: int = 0,
         at_ms: int = T0) -> SymbolView:
    return SymbolView(symbol, state, side, qty if side else "0", "60000" if side else None,
                      mark, stop, "4000" if stop else None, None, False, None, 5, None, 0, pid,
                      engine_ms=at_ms, unprotected=unprotected, counters=c or counters(),
                      quarantines=quarantines)


def entry(v: SymbolView | None, symbol: str | None = None, *, state: str | None = None,
          pid: int | None = -1, restarts: int = 0) -> ActorEntry:
    sym = symbol or (v.symbol if v else "?")
    return ActorEntry("symbol", sym, (v.pid if v else None) if pid == -1 else pid,
                      state or (v.state if v else "STARTING"), restarts, None, None, v)


def stream(kind: str = "market", *, frames: int = 10, reconnects: int = 0, pid: int = 300,
           state: str = "connected", last_ms: int = T0 - 2000, lag_ms: int | None = 40,
           subs: int = 2) -> StreamStatus:
    return StreamStatus(kind, state, frames, 1, reconnects, last_ms, None, subs, pid, lag_ms)


def pool(**changes: Any) -> PoolStatus:
    p = PoolStatus(250, 1000, 7, 30, 3, 12, 7, 30, 41, 45, 2400, 0, 0.0, 400)
    return dataclasses.replace(p, **changes)


def status(*entries: ActorEntry, streams: tuple[StreamStatus, ...] = (), sup_pid: int = 50,
           poison: int = 0, pool_status: PoolStatus | None = None) -> SupervisorStatus:
    others = (ActorEntry("exchange_pool", None, 400, "running", 1, None),
              ActorEntry("exchange_worker", None, 401, "running", 0, None),
              ActorEntry("exchange_worker", None, 402, "running", 0, None))
    return SupervisorStatus(True, False, others + entries, streams, poison, sup_pid, 7,
                            pool=pool_status)


class Scraper:
    """A Tracker and a collector in a private registry, scraped as Prometheus would."""

    def __init__(self) -> None:
        self.tracker = Tracker()
        self.now_ms = T0
        self.collector = LatestCollector(clock_ms=lambda: self.now_ms)
        self.registry = CollectorRegistry()
        self.registry.register(self.collector)

    def observe(self, st: SupervisorStatus, at_ms: int = T0) -> dict[tuple[str, frozenset], float]:
        self.now_ms = at_ms
        self.collector.reading = self.tracker.observe(st, at_ms)
        return self.scrape()

    def scrape(self) -> dict[tuple[str, frozenset], float]:
        text = generate_latest(self.registry).decode()
        return {(s.name, frozenset(s.labels.items())): s.value
                for fam in text_string_to_metric_families(text) for s in fam.samples}


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def names(samples: dict, name: str) -> list[dict[str, str]]:
    return [dict(labels) for n, labels in samples if n == name]


# --------------------------------------------------------------------------- per symbol


def test_state_side_size_and_the_stops_distance_from_the_mark_for_a_long_and_a_short():
    long = view("BTCUSDT", side="long", qty="0.010", mark="60000", stop="58800")
    short = view("ETHUSDT", side="short", qty="0.100", mark="3000", stop="3060")
    past = view("SOLUSDT", side="long", qty="1", mark="140", stop="141.4")

    m = Scraper().observe(status(entry(long), entry(short), entry(past)))

    assert value(m, "posguard_symbol_state", symbol="BTCUSDT", state="PROTECTED") == 1
    assert value(m, "posguard_position_side", symbol="BTCUSDT") == 1
    assert value(m, "posguard_position_side", symbol="ETHUSDT") == -1
    assert value(m, "posguard_position_size", symbol="ETHUSDT") == pytest.approx(0.1)
    assert value(m, "posguard_stop_distance_bps", symbol="BTCUSDT") == pytest.approx(200)
    assert value(m, "posguard_stop_distance_bps", symbol="ETHUSDT") == pytest.approx(200)
    assert value(m, "posguard_stop_distance_bps", symbol="SOLUSDT") == pytest.approx(-100), \
        "the mark is past the stop"


def test_a_flat_or_unprotected_symbol_has_no_distance_and_says_so():
    flat = view("BTCUSDT", side=None, state="FLAT", mark="60000")
    naked = view("ETHUSDT", side="short", mark="3000", state="OPEN_UNPROTECTED",
                 unprotected=True)

    m = Scraper().observe(status(entry(flat), entry(naked)))

    assert value(m, "posguard_position_side", symbol="BTCUSDT") == 0
    assert value(m, "posguard_position_size", symbol="BTCUSDT") == 0
    assert value(m, "posguard_position_unprotected", symbol="ETHUSDT") == 1
    assert value(m, "posguard_position_unprotected", symbol="BTCUSDT") == 0
    assert names(m, "posguard_stop_distance_bps") == []


def test_a_symbol_gone_from_the_status_loses_its_gauges_and_keeps_its_counters():
    s = Scraper()
    s.observe(status(entry(view("BTCUSDT", mark="60000", stop="58800", c=counters(moves=2))),
                     entry(view("ETHUSDT", mark="3000", stop="2940"))))

    m = s.observe(status(entry(view("ETHUSDT", mark="3000", stop="2940"))), T0 + 1000)

    assert [d["symbol"] for d in names(m, "posguard_symbol_state")] == ["ETHUSDT"]
    assert value(m, "posguard_stop_distance_bps", symbol="BTCUSDT") is None
    assert value(m, "posguard_stop_moves_total", symbol="BTCUSDT") == 2


# --------------------------------------------------------------------------- restarts


def test_counters_of_a_restarted_actor_add_to_what_the_old_process_had_reached():
    s = Scraper()
    old = view("BTCUSDT", pid=100, c=counters(moves=3, failures=(("temporary", 2),),
                                              appends=(0.002, 0.002, 0.2)))
    s.observe(status(entry(old), streams=(stream(frames=50, pid=300),)))
    # the supervisor restarts both: the new symbol actor is starting (no view yet), then runs
    s.observe(status(entry(None, "BTCUSDT", state="RESTARTING", pid=None, restarts=1),
                     streams=(stream(frames=0, pid=301, state="connecting"),)), T0 + 500)
    new = view("BTCUSDT", pid=200, c=counters(moves=1, failures=(("unknown", 1),),
                                              appends=(0.002,)))

    m = s.observe(status(entry(new, restarts=1), streams=(stream(frames=5, pid=301),)),
                  T0 + 1000)

    assert value(m, "posguard_stop_moves_total", symbol="BTCUSDT") == 4
    assert value(m, "posguard_stop_failures_total", symbol="BTCUSDT", kind="temporary") == 2
    assert value(m, "posguard_stop_failures_total", symbol="BTCUSDT", kind="unknown") == 1
    assert value(m, "posguard_stream_frames_total", stream="market") == 55
    assert value(m, "posguard_actor_restarts_total", kind="symbol", symbol="BTCUSDT") == 1
    assert value(m, "posguard_store_append_seconds_count") == 4
    assert value(m, "posguard_store_append_seconds_bucket", le="0.0025") == 3
    assert value(m, "posguard_store_append_seconds_bucket", le="+Inf") == 4
    assert value(m, "posguard_store_append_seconds_sum") == pytest.approx(0.206)


def test_a_new_supervisor_is_counted_and_its_poison_count_adds_to_the_old_ones():
    s = Scraper()
    s.observe(status(poison=2, sup_pid=50))

    m = s.observe(status(poison=1, sup_pid=51), T0 + 1000)

    assert value(m, "posguard_supervisor_restarts_total") == 1
    assert value(m, "posguard_poison_messages_total") == 3
    assert value(m, "posguard_actor_restarts_total", kind="exchange_pool", symbol="") == 1
    assert value(m, "posguard_actor_restarts_total", kind="exchange_worker", symbol="") == 0


def test_quarantines_by_the_actor_and_by_the_supervisor_are_counted_apart():
    s = Scraper()
    s.observe(status(entry(view("BTCUSDT", state="QUARANTINED", quarantines=1))))
    gone = view("BTCUSDT", state="QUARANTINED", quarantines=1)
    s.observe(status(entry(gone, state="QUARANTINED", pid=None)), T0 + 1000)

    m = s.observe(status(entry(gone, state="QUARANTINED", pid=None)), T0 + 2000)

    assert value(m, "posguard_quarantines_total", symbol="BTCUSDT", by="actor") == 1
    assert value(m, "posguard_quarantines_total", symbol="BTCUSDT", by="supervisor") == 1, \
        "seen twice, counted once"


# --------------------------------------------------------------------------- unprotected


def test_unprotected_seconds_count_the_stretch_under_way_and_never_go_back():
    s = Scraper()
    naked = view("BTCUSDT", state="OPEN_UNPROTECTED", unprotected=True,
                 c=counters(unprotected_ms=1500, since=T0 - 2000))

    m = s.observe(status(entry(naked)))
    assert value(m, "posguard_unprotected_seconds_total", symbol="BTCUSDT") == \
        pytest.approx(3.5), "1.5 s finished + 2 s under way"

    # The stretch ended at T0 + 500, but the view read at T0 + 3000 is older than that
    m = s.observe(status(entry(naked)), T0 + 3000)
    assert value(m, "posguard_unprotected_seconds_total", symbol="BTCUSDT") == \
        pytest.approx(6.5)

    # The fresh view counts it finished (4.0 s in all): the total holds, it never goes back
    covered = view("BTCUSDT", c=counters(unprotected_ms=4000))
    m = s.observe(status(entry(covered)), T0 + 3500)
    assert value(m, "posguard_unprotected_seconds_total", symbol="BTCUSDT") == \
        pytest.approx(6.5)


def test_an_unprotected_stretch_under_way_across_a_restart_is_counted_once():
    s = Scraper()
    since = T0 - 2000
    s.observe(status(entry(view("BTCUSDT", pid=100, unprotected=True, state="QUARANTINED",
                                c=counters(unprotected_ms=700, since=since)))))
    # the new actor restored the stretch's start from the snapshot; it has finished nothing
    new = view("BTCUSDT", pid=200, unprotected=True, state="QUARANTINED",
               c=counters(since=since))

    m = s.observe(status(entry(new)), T0 + 1000)

    assert value(m, "posguard_unprotected_seconds_total", symbol="BTCUSDT") == \
        pytest.approx(0.7 + 3.0)


# --------------------------------------------------------------------------- streams, pool


def test_streams_show_connection_frames_reconnects_age_and_lag():
    m = Scraper().observe(status(streams=(
        stream("user", frames=3, reconnects=2, last_ms=T0 - 4000, lag_ms=120, subs=0),
        stream("market", state="reconnecting", lag_ms=None))))

    assert value(m, "posguard_stream_connected", stream="user") == 1
    assert value(m, "posguard_stream_connected", stream="market") == 0
    assert value(m, "posguard_stream_reconnects_total", stream="user") == 2
    assert value(m, "posguard_stream_bad_frames_total", stream="user") == 1
    assert value(m, "posguard_stream_last_frame_age_seconds", stream="user") == 4.0
    assert value(m, "posguard_stream_event_lag_seconds", stream="user") == 0.12
    assert value(m, "posguard_stream_event_lag_seconds", stream="market") is None
    assert value(m, "posguard_stream_subscriptions", stream="market") == 2


def test_the_order_budget_is_shown_against_the_servers_counters():
    m = Scraper().observe(status(pool_status=pool(server_orders_10s=None, paused_secs=2.5)))

    assert value(m, "posguard_order_budget_limit", window="10s", account="main") == 250
    assert value(m, "posguard_order_budget_used", window="1m", account="main") == 30
    assert value(m, "posguard_order_budget_sent", window="1m", account="main") == 12
    assert value(m, "posguard_exchange_order_count", window="1m", account="main") == 30
    assert value(m, "posguard_exchange_order_count", window="10s", account="main") is None, \
        "no fresh reading"
    assert value(m, "posguard_exchange_used_weight_1m", account="main") == 41
    assert value(m, "posguard_request_weight_used_1m", account="main") == 45
    assert value(m, "posguard_request_weight_limit_1m", account="main") == 2400
    assert value(m, "posguard_pool_paused_seconds", account="main") == 2.5


def test_with_several_accounts_every_pool_metric_and_symbol_names_its_account():
    """The launcher merges the accounts' statuses (system/account_run.ops_status): each
    account's pool is its own series, and symbols and streams carry `account:` names."""
    from system.account_run import ops_status
    btc = ActorEntry("symbol", "BTCUSDT", 60, "running", 0, None)
    main = dataclasses.replace(status(btc, pool_status=pool()), account="main",
                               venue="binanceusdm")
    by = dataclasses.replace(status(btc, pool_status=pool(orders_limit_10s=8,
                                                          paused_secs=600.0)),
                             account="by", venue="bybit")
    m = Scraper().observe(ops_status({"main": main, "by": by}))

    assert value(m, "posguard_order_budget_limit", window="10s", account="main") == 250
    assert value(m, "posguard_order_budget_limit", window="10s", account="by") == 8
    assert value(m, "posguard_pool_paused_seconds", account="main") == 0.0
    assert value(m, "posguard_pool_paused_seconds", account="by") == 600.0
    assert {d["account"] for d in names(m, "posguard_pool_queued_requests")} == {"main", "by"}
    assert {d["symbol"] for d in names(m, "posguard_actor_restarts_total")
            if d["kind"] == "symbol"} == {"main:BTCUSDT", "by:BTCUSDT"}


def test_before_any_status_the_endpoint_has_its_families_and_no_samples():
    s = Scraper()
    text = generate_latest(s.registry).decode()

    families = list(text_string_to_metric_families(text))
    assert {f.name for f in families} >= {"posguard_symbol_state", "posguard_stop_moves",
                                          "posguard_store_append_seconds"}
    assert all(not f.samples for f in families)


def test_the_status_age_grows_until_the_next_status():
    s = Scraper()
    s.observe(status(), T0)
    s.now_ms = T0 + 2500

    assert value(s.scrape(), "posguard_status_age_seconds") == 2.5
    assert value(s.scrape(), "posguard_engine_info", mode="paper", epoch="7") == 1
