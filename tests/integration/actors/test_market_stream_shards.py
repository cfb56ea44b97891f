"""The market stream as shards, in real actor processes against the simulator.

Three shards, each its own WebSocket with the symbols actors/market_shards.py assigns it:
every symbol gets its ticks (from the one shard that carries it), the status shows one market
stream with every subscription, and a shard killed with SIGKILL is re-created by the
supervisor, resubscribes, and its symbols tick again. A tick read after the kill cannot come
from the dead process, and no other shard subscribes those symbols, so it proves the
replacement.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import pytest

from actors.market_shards import shard_of
from tests.fixtures.engine import engine_config, start_engine, stop_engine
from tests.fixtures.sim import TEST_SETTINGS

SHARDS = 3
SYMBOLS = [f"SYM{i:04d}USDT" for i in range(1, 10)]
TIMEOUT_SECS = 30.0


@pytest.fixture
def sim_settings():
    return dataclasses.replace(TEST_SETTINGS, synthetic_symbols=len(SYMBOLS))


@pytest.fixture
def sharded(tmp_path, sim, sim_control):
    e = start_engine(engine_config(tmp_path, sim, f"streams.market_shards={SHARDS}",
                                   "supervisor.passivate_after_secs=0"), sim_control)
    try:
        yield e
    finally:
        stop_engine(e)


def _shard_pids(engine) -> dict[int, int]:
    """pid -> restarts of every market-stream shard the supervisor lists."""
    return {e.pid: e.restarts for e in engine.status().actors
            if e.kind == "market_stream" and e.pid}


def _ticked_since(engine, since: float) -> set[str]:
    """The symbols whose actor applied a tick the market stream read after `since`."""
    out = set()
    for sym in SYMBOLS:
        t = engine.kernel.timings(sym)
        if t is not None and any(rx > since for rx, _ in t.mark):
            out.add(sym)
    return out


def _market(engine):
    return next(s for s in engine.status().streams if s.kind == "market")


def test_every_symbol_ticks_through_its_shard_and_a_killed_shards_symbols_tick_again(sharded):
    assert {shard_of(s, SHARDS) for s in SYMBOLS} == set(range(SHARDS)), \
        "the test needs symbols on every shard"
    sharded.register(*SYMBOLS)
    start = time.monotonic()

    sharded.wait_for(lambda: _ticked_since(sharded, start) == set(SYMBOLS),
                     "every symbol to get ticks", TIMEOUT_SECS)
    market = sharded.wait_for(lambda: (m := _market(sharded)).state == "connected"
                              and m.subscriptions == len(SYMBOLS) and m,
                              "one market stream, connected, every symbol subscribed")
    assert len([s for s in sharded.status().streams if s.kind == "market"]) == 1
    pids = sharded.wait_for(lambda: len(p := _shard_pids(sharded)) == SHARDS and p,
                            f"{SHARDS} shards with pids")

    victim = sorted(pids)[0]
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()

    replaced = sharded.wait_for(
        lambda: len(p := _shard_pids(sharded)) == SHARDS and victim not in p and p,
        "the killed shard to be re-created", TIMEOUT_SECS)
    assert sorted(replaced.values()) == [0, 0, 1], "one shard restarted once, the others not"
    assert set(replaced) - {victim} >= set(pids) - {victim}, "the other shards kept running"
    sharded.wait_for(lambda: _ticked_since(sharded, killed) == set(SYMBOLS),
                     "every symbol, the killed shard's too, to tick again", TIMEOUT_SECS)
    after = sharded.wait_for(lambda: (m := _market(sharded)).state == "connected"
                             and m.subscriptions == len(SYMBOLS) and m,
                             "the market stream connected again with every subscription")
    assert after.reconnects > market.reconnects, "the replacement counts as a reconnect"
    assert after.frames >= market.frames, "the dead shard's frames stay counted"
