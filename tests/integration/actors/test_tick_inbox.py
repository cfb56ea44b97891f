"""Mark ticks reach the symbol actors as datagrams (actors/tick_inbox.py), in real actor
processes against the simulator: every symbol's ticks arrive through its inbox, and after
its actor is killed and replaced, through the replacement's new inbox."""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import pytest

from tests.fixtures.engine import engine_config, start_engine, stop_engine
from tests.fixtures.sim import TEST_SETTINGS

SYMBOLS = [f"SYM{i:04d}USDT" for i in range(1, 5)]
TIMEOUT_SECS = 30.0


@pytest.fixture
def sim_settings():
    return dataclasses.replace(TEST_SETTINGS, synthetic_symbols=len(SYMBOLS))


@pytest.fixture
def engine(tmp_path, sim, sim_control):
    e = start_engine(engine_config(tmp_path, sim, "supervisor.passivate_after_secs=0"),
                     sim_control)
    try:
        yield e
    finally:
        stop_engine(e)


def _inbox_ticks(engine, symbol: str) -> tuple[int, int] | None:
    """(pid, ticks its actor took from its inbox), or None without an answer."""
    t = engine.kernel.timings(symbol)
    return None if t is None else (t.pid, t.inbox_ticks)


def test_every_symbols_ticks_arrive_through_its_inbox_and_its_replacements(engine):
    engine.register(*SYMBOLS)
    engine.wait_for(lambda: all((n := _inbox_ticks(engine, s)) and n[1] >= 3 for s in SYMBOLS),
                    "3 ticks through the inbox of every symbol actor", TIMEOUT_SECS)

    victim = SYMBOLS[0]
    old_pid = _inbox_ticks(engine, victim)[0]
    os.kill(old_pid, signal.SIGKILL)
    killed = time.monotonic()
    engine.wait_for(lambda: (n := _inbox_ticks(engine, victim)) and n[0] != old_pid
                    and n[1] >= 2, "the replacement's inbox to get ticks", TIMEOUT_SECS)
    t = engine.kernel.timings(victim)
    assert any(rx > killed for rx, _ in t.mark), "no tick read after the kill was applied"


def test_actor_processes_run_with_room_for_200_transmits_in_flight(engine):
    """system/actor_system.py starts the admin with THESPIAN_MAX_PENDING_TRANSMITS=200 (the
    default 20 queued a shard's or the pool's sends behind each other: 500 aligned ticks were
    delivered p99 547-650 ms, 309-401 ms with 200). Forked actors keep the admin's
    environment, which /proc shows."""
    engine.register(SYMBOLS[0])
    pid = engine.wait_for(lambda: (n := _inbox_ticks(engine, SYMBOLS[0])) and n[0],
                          "the symbol actor's pid", TIMEOUT_SECS)
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
    assert env.get(b"THESPIAN_MAX_PENDING_TRANSMITS") == b"200"
