"""Bench section 8: stop lag under the venue's real order budget (system/bench/stoplag.py).

Its own simulator and engine at `stop_lag_rtt_ms` (60 ms by default), with the order budget
NOT lifted: the engine keeps its configured budget (exchange.orders_per_10s / _per_min, in
the venue's own windows and held to the adapter's ceiling: Binance 250 / 10 s and 1,000 /
min; Bybit 8 / s and 480 / min) and the simulator enforces the venue's limits (Binance 300 /
10 s and 1,200 / min; Bybit 10 / s per endpoint: create, amend and cancel each). Every symbol ticks once a second
on a steady trend, so every tick wants a move; at 100 symbols that is far more than the
budget allows, and the question is how far the resting stops fall behind the policy.

The probe is read into one history from the engine's start (nothing is discarded), so each
position's ideal stop is computed over its whole price path since its fill, and its resting
stop from every placement and cancel the venue accepted. After each level's window, with
the trend still running, the first level also opens a burst of new positions: the busy
account of incident I-5, where a new position waits for its first stop behind the moves.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from actors.protection import MarketRules, Side
from system.bench import orders
from system.bench import rtt as rttmod
from system.bench import stats, stoplag
from system.bench.reaction import Placed, Tick, attribute
from system.bench.target import Target, synthetic

Say = Callable[[str], None]


class History:
    """Everything the probe recorded since the engine started, per symbol."""

    def __init__(self) -> None:
        self.marks: dict[str, list[stoplag.Mark]] = defaultdict(list)
        self.placed: dict[str, list[stoplag.StopPlaced]] = defaultdict(list)
        self.cancelled: dict[str, list[stoplag.StopCancelled]] = defaultdict(list)

    def add(self, data: dict) -> dict:
        """Keep one probe read (and hand it back)."""
        for t in data["ticks"]:
            self.marks[t["symbol"]].append(stoplag.Mark(t["t_mono"], Decimal(t["price"])))
        for p in data["placements"]:
            self.placed[p["symbol"]].append(stoplag.StopPlaced(
                p["t_mono"], p["client_algo_id"], Decimal(p["trigger_price"])))
        for c in data["cancels"]:
            self.cancelled[c["symbol"]].append(stoplag.StopCancelled(
                c["t_mono"], c["client_algo_id"]))
        return data


def stop_lag(config_path: str, overrides: list[str], opts: Any, fl: dict | None,
             progress: Any) -> dict:
    """Stop lag per level at `opts.stop_lag_rtt_ms` under the real budget (floor measured
    here unless the RTT sections measured one at this RTT: `fl`)."""
    from system.bench.run import _drain, _recover_if_collapsed, grow
    say = progress
    rtt = opts.stop_lag_rtt_ms
    levels = sorted(opts.stop_lag_levels)
    progress.section(f"stop lag {levels[0]}")
    if fl is None:
        fl = rttmod.floor(config_path, overrides, rtt, say)
    out: dict[str, Any] = {"rtt_ms": rtt, "floor": fl, "levels": []}
    burst_n = opts.open_burst
    with Target(config_path, overrides, backend=opts.store,
                symbols=max(max(levels), levels[0] + burst_n), progress=say, rtt_ms=rtt,
                real_budget=True) as target:
        say(f"starting the engine ({opts.store} store, real order budget) ...")
        target.start()
        out["budget"] = budget_of(target)
        hist = History()
        active: list[str] = []
        for n, level in enumerate(levels):
            progress.section(f"stop lag {level}")
            new = synthetic(level)[len(active):]
            grown = grow(target, active, new, level, say)
            active += new
            hist.add(target.probe())
            window = lag_window(target, active, opts.duration_secs, fl, hist, say)
            window.update(symbols=grown["symbols"], open_secs=grown["open_secs"])
            if n == 0 and burst_n:
                say(f"opening {burst_n} more positions at once while {len(active)} trail ...")
                burst = rttmod.burst_symbols(len(active), burst_n)
                window["open_burst"] = rttmod.open_burst(target, burst, fl, say)
                active += window["open_burst"].pop("opened")
                hist.add(target.probe())
            target.pause(True)
            window["drain_secs"] = _drain(target, active)
            if window["drain_secs"] is None:
                window["collapsed"] = "not every symbol PROTECTED again within 120 s"
            _recover_if_collapsed(target, active, window, say)
            out["levels"].append(window)
    return out


def budget_of(target: Target) -> dict:
    """The order budget in force on the target: the engine's (as configured, and as the pool
    applies it: held to the venue adapter's ceiling, in the venue's windows) and the
    simulator's venue limits."""
    import venues
    ex = target.k.config.exchange
    lim = venues.adapter(ex.name).limits
    short, long = lim.order_windows_secs
    per_short, per_long = ex.orders_per_10s, ex.orders_per_min
    if lim.order_ceiling is not None:
        per_short = min(per_short, lim.order_ceiling[0])
        per_long = min(per_long, lim.order_ceiling[1])
    sim = target.sim.settings
    if sim.venue == "bybit":
        venue = (f"{sim.bybit_order_limit_per_sec}/s per endpoint (create, amend, cancel "
                 "each)")
    else:
        venue = f"{sim.orders_per_10s}/10 s, {sim.orders_per_min}/min"
    return {"venue": ex.name,
            "engine_orders_per_10s": ex.orders_per_10s,
            "engine_orders_per_min": ex.orders_per_min,
            "engine_windows_secs": [short, long],
            "engine_effective": [per_short, per_long],
            "venue_limits": venue}


def lag_window(target: Target, active: list[str], secs: float, fl: dict, hist: History,
               say: Say) -> dict:
    """One window of the trend: stop lag of every active position, the floor's own lag (a
    perfect engine behind the reaction floor) and the window's reaction figures."""
    target.set_phase("spread")
    target.pause(False)
    time.sleep(2.5)  # the trend is under way
    hist.add(target.probe())
    t0 = target.sim_now()
    say(f"measuring stop lag {secs:.0f} s, {len(active)} symbols, real order budget ...")
    time.sleep(secs)
    t1 = target.sim_now()
    data = hist.add(target.probe())
    react = attribute([Tick(t["symbol"], float(t["price"]), t["t_mono"]) for t in data["ticks"]],
                      [Placed(p["symbol"], p["t_mono"], p["order_type"])
                       for p in data["placements"]])
    lags, floor_lags, uncovered, skipped = _lags(target, active, hist, t0, t1,
                                                 (fl["reaction_floor_ms"] or 0.0) / 1000)
    return {
        "window_secs": secs, "collapsed": None,
        "stop_lag": stoplag.summary_bps(lags),
        "floor_lag": stoplag.summary_bps(floor_lags),
        "uncovered_samples": uncovered, "positions_skipped": len(skipped),
        "skipped": skipped[:10],
        "ticks": react.ticks, "moves": react.moves, "missed": react.missed,
        "orders": orders.per_move(data["placements"], data["cancels"], react.moves),
        "reaction": stats.with_ratio(stats.summary(react.samples_ms), fl["reaction_floor_ms"]),
    }


def _lags(target: Target, active: list[str], hist: History, t0: float, t1: float,
          floor_secs: float) -> tuple[list[float], list[float], int, list[str]]:
    positions = target.positions(active)
    opened = _fill_times(target, active)
    lags: list[float] = []
    floor_lags: list[float] = []
    uncovered = 0
    skipped: list[str] = []
    for sym in active:
        p = positions[sym]
        placed = hist.placed.get(sym, [])
        start = opened.get(sym, placed[0].t if placed else None)
        if p["amt"] == 0 or start is None:
            skipped.append(sym)  # closed (a stop fired) or never opened: nothing to trail
            continue
        side = Side.LONG if p["amt"] > 0 else Side.SHORT
        rules = MarketRules(tick_size=p["tick"], step_size=p["step"], min_qty=p["step"])
        policy = target.k.config.protection.policy_for(sym)
        marks = hist.marks.get(sym, [])
        ideal = stoplag.ideal_stops(side, p["entry"], start, marks, policy, rules)
        resting = stoplag.resting_stops(side, placed, hist.cancelled.get(sym, []))
        lag = stoplag.sample(side, ideal, resting, marks, t0, t1)
        lags += lag.samples_bps
        uncovered += lag.uncovered
        floor_lags += stoplag.sample(side, ideal, stoplag.shifted(ideal, floor_secs), marks,
                                     t0, t1).samples_bps
    return lags, floor_lags, uncovered, skipped


def _fill_times(target: Target, symbols: list[str]) -> dict[str, float]:
    """symbol -> when its position was filled (the start of its latest open gap)."""
    wanted = set(symbols)
    out: dict[str, float] = {}
    for g in target.meter()["gaps"]:
        if g["kind"] == "opened_uncovered" and g["symbol"] in wanted:
            out[g["symbol"]] = max(out.get(g["symbol"], g["start"]), g["start"])
    return out
