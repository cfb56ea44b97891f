"""The bench at a network round trip: the simulator's latency, the floors, the open burst.

`posguard bench --rtt-ms 0,20,60,150` runs the reaction, open-to-protected and routing
sections once per RTT, each on its own simulator whose latency model (system/sim/latency.py)
adds the RTT to every REST call and half of it, one way, to every stream frame. Each RTT's
floor is measured in the same run on a bare simulator with the same latency, and every
latency is reported with its ratio to that floor:

- reaction floor = stream one-way delay + half a REST round trip: a mark tick leaves the
  venue, reaches the engine, and the replacement stop travels back and arrives (the
  simulator's probe stamps the tick on emission and the stop on arrival).
- routing floor = stream one-way delay (an order's event reaches the engine).
- open -> first stop floor = min(half a REST round trip, stream one-way delay) + half a REST
  round trip: the open's fill is stamped at the venue; the engine hears of it by the
  order's reply or the user stream, whichever is first, and the stop then travels to the
  venue. With stream delay = RTT / 2 that is one REST round trip.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from system.bench import stats

MAX_RTT_MS = 2000.0
"""Largest --rtt-ms: beyond two seconds a round trip is an outage, not latency."""
OPEN_BURST_TARGET_SLACK_MS = 25.0
"""Target: open -> first stop resting p99 <= 2 x RTT + this (the issue's Targets)."""
REACTION_SLACK_MS = {100: 25.0, 300: 50.0}
"""Target: reaction p99 <= floor + this at that many symbols (100: every RTT; 300: RTT 60)."""


def parse_rtts(text: str) -> tuple[float, ...]:
    """`0,20,60,150` -> (0.0, 20.0, 60.0, 150.0), ascending, each once (ValueError: why not)."""
    try:
        values = sorted({float(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise ValueError(f"{text!r}: give round trips in ms like 0,20,60,150") from None
    if not values:
        raise ValueError(f"{text!r}: give at least one round trip in ms, like 0,20,60,150")
    bad = [v for v in values if not 0 <= v <= MAX_RTT_MS]  # also refuses nan and inf
    if bad or any(v != v for v in values):
        raise ValueError(f"{text!r}: each round trip must be between 0 and {MAX_RTT_MS:g} ms")
    return tuple(values)


def latency_for(rtt_ms: float) -> Any:
    """The simulator's latency model at `rtt_ms`: REST round trip, half of it one way on the
    streams, no jitter (a fixed RTT keeps the ratios to the floor readable)."""
    from system.sim.latency import Latency
    return Latency(rest_rtt_ms=rtt_ms, stream_delay_ms=rtt_ms / 2)


def with_rtt(settings: Any, rtt_ms: float) -> Any:
    """Simulator settings at `rtt_ms` (the settings as they are at 0: loopback)."""
    if rtt_ms == 0:
        return settings
    return dataclasses.replace(settings, latency=latency_for(rtt_ms))


def floor(config_path: str, overrides: list[str], rtt_ms: float, say: Any) -> dict:
    """REST round trips and order -> user-stream events on a bare simulator at `rtt_ms`, on
    the front of the config's venue (Binance: system/sim/bench.py; Bybit: floor_bybit.py).

    300 round trips at loopback (as before); 100 under latency, where each takes the RTT.
    """
    from system.config import load_config
    from system.sim.bench import bench_sim
    requests = 300 if rtt_ms == 0 else 100
    settings = dataclasses.replace(load_config(config_path, overrides).exchange.simulator,
                                   host="127.0.0.1", port=0)
    say(f"{requests} REST round trips and 100 user-stream events on a bare simulator "
        f"({settings.venue}) ...")
    if settings.venue == "bybit":  # the front follows exchange.name (system/config_accounts)
        from system.bench.floor_bybit import bench_bybit
        r = bench_bybit(with_rtt(settings, rtt_ms), requests=requests, events=100)
    else:
        r = bench_sim(with_rtt(settings, rtt_ms), requests=requests, events=100)
    return floors(rtt_ms, r["rest_round_trip"], r["user_stream_latency"])


def floors(rtt_ms: float, rest: dict, stream: dict) -> dict:
    """The floor section: the two measurements and the three floors derived from their p50."""
    rest_p50, stream_p50 = rest["p50_ms"], stream["p50_ms"]
    known = rest_p50 is not None and stream_p50 is not None
    half = rest_p50 / 2 if known else None
    return {
        "rtt_ms": rtt_ms, "rest_round_trip": rest, "user_stream": stream,
        "reaction_floor_ms": round(stream_p50 + half, 3) if known else None,
        "routing_floor_ms": stream_p50,
        "open_floor_ms": round(min(half, stream_p50) + half, 3) if known else None,
    }


# ---------------------------------------------------------------------------- open burst


def open_burst(target: Any, symbols: list[str], fl: dict, say: Any) -> dict:
    """Open `symbols` within one second; each open's fill -> its first stop resting.

    Both ends are the simulator's own: its unprotected-window meter opens a gap when the
    fill makes the position non-zero and closes it when a stop covers it, so the gap is
    exactly fill -> first stop resting, on one clock. The actors are created first (not
    timed: the burst is about protecting, not about spawning processes).
    """
    say(f"creating {len(symbols)} symbol actors for the open burst ...")
    target.create(symbols)
    since = target.sim_now()
    say(f"opening {len(symbols)} positions at once ...")
    sent = target.open_at_once(symbols)
    gaps = _first_stops(target, symbols, since, 60 + len(symbols) / 2)
    rest_p50 = fl["rest_round_trip"]["p50_ms"]
    held = [s for s, p in target.positions(symbols).items() if p["amt"] != 0]
    return {
        "positions": len(symbols), "sent_within_secs": sent["spread_secs"],
        # An open refused or never answered may have no position: only these are tracked on.
        "opened": held, "holding": len(held),
        "acknowledged": sent["acknowledged"], "refused": sent["refused"][:5],
        "open_to_stop": stats.with_ratio(stats.summary(gaps), fl["open_floor_ms"]),
        "floor_ms": fl["open_floor_ms"],
        # 2 x RTT, the RTT as measured in this run (0.7 ms, not 0, at loopback).
        "target_ms": round(2 * rest_p50 + OPEN_BURST_TARGET_SLACK_MS, 3)
        if rest_p50 is not None else None,
        "samples": [round(x, 3) for x in gaps],
    }


def _first_stops(target: Any, symbols: list[str], since: float, timeout_secs: float
                 ) -> list[float]:
    """The closed open -> first stop gaps of `symbols` since `since`, once every symbol has
    one (or the timeout passed: the missing ones are then absent, and the report's N says so).

    Not "every symbol PROTECTED": while the trend runs, stops move all the time, and all of
    them PROTECTED at one instant may take a minute to happen.
    """
    wanted = set(symbols)
    deadline = time.monotonic() + timeout_secs
    while True:
        gaps = {g["symbol"]: g["duration_ms"] for g in target.meter()["gaps"]
                if g["kind"] == "opened_uncovered" and g["symbol"] in wanted
                and g["start"] >= since}
        if len(gaps) == len(wanted) or time.monotonic() > deadline:
            return list(gaps.values())
        time.sleep(0.1)


def burst_symbols(first: int, n: int) -> list[str]:
    """The `n` synthetic symbols after the first `first` (the burst opens fresh symbols)."""
    from system.bench.target import synthetic
    return synthetic(first + n)[first:]


def reaction_target(level: int, rtt_ms: float, fl: dict, window: dict) -> dict | None:
    """The issue's reaction target for this window, if one applies: p99 <= floor + slack with
    0 missed ticks (100 symbols at every RTT; 300 symbols at RTT 60)."""
    slack = REACTION_SLACK_MS.get(level)
    if slack is None or (level == 300 and rtt_ms != 60) or fl.get("reaction_floor_ms") is None:
        return None
    limit = round(fl["reaction_floor_ms"] + slack, 3)
    p99 = window["reaction"]["p99_ms"]
    missed = window["missed"] if level == 100 else 0
    return {"limit_ms": limit, "p99_ms": p99, "missed": window["missed"],
            "met": p99 is not None and p99 <= limit and missed == 0 and not window["collapsed"]}
