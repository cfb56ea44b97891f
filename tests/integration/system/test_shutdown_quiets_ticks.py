"""A graceful stop first quiets the market stream, then ends every actor; the stops stay.

At 500 symbols the stop of `posguard run` overran its timeout (the actor system still
answered 15 s after Thespian's shutdown was asked for, and was ended by pid): the market
stream kept sending ticks to symbol actors that were exiting, every one became a dead letter
through the admin to the supervisor, queued ahead of the exit itself. So the supervisor, once
stopping (the launcher's drain, or Thespian's exit request without one), sends every market
shard an empty table: they unsubscribe and send nothing more. This tests that mechanism with
a few symbols in real processes (its speed at 500 is `python -m system.bench.ticks
--shutdown`'s to measure): the shards unsubscribe at the drain, the stop is graceful (no
process ended by pid), nothing is left running, and every stop still rests on the venue.
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from system.launched import pid_alive
from system.processes import system_pids
from tests.fixtures.engine import engine_config, start_engine
from tests.fixtures.sim import TEST_SETTINGS

SYMBOLS = [f"SYM{i:04d}USDT" for i in range(1, 7)]
OPENED = SYMBOLS[:3]
TIMEOUT_SECS = 30.0


@pytest.fixture
def sim_settings():
    return dataclasses.replace(TEST_SETTINGS, synthetic_symbols=len(SYMBOLS))


class _Fallbacks(logging.Handler):
    """Records the launcher's "ended by pid" warnings (a stop that was not graceful)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _market(engine):
    return next(s for s in engine.status().streams if s.kind == "market")


def test_the_drain_unsubscribes_every_shard_and_the_stop_is_graceful_with_stops_resting(
        tmp_path, sim, sim_control):
    engine = start_engine(engine_config(tmp_path, sim, "streams.market_shards=2",
                                        "supervisor.passivate_after_secs=0"), sim_control)
    kernel = engine.kernel
    a = kernel.config.actor_system
    stopped = False
    caught = _Fallbacks()
    try:
        engine.register(*SYMBOLS)
        for i, sym in enumerate(OPENED):
            assert engine.open(sym, "long", "10", f"quiet-{i}").outcome == "accepted"
        for sym in OPENED:
            engine.wait_state(sym, "PROTECTED", TIMEOUT_SECS)
        engine.wait_for(lambda: _market(engine).subscriptions == len(SYMBOLS),
                        "every symbol subscribed", TIMEOUT_SECS)
        resting = sim.call(lambda s: len(s.engine.open_algos()))
        assert resting == len(OPENED)
        kernel.status(5.0)  # the launcher knows every pid (as its stop does first)
        pids = [p for p in kernel.pids.all() if pid_alive(p)]

        kernel.drain(5.0)  # what `posguard shutdown` / SIGTERM does before ending the system
        engine.wait_for(lambda: _market(engine).subscriptions == 0,
                        "every shard to unsubscribe at the drain", TIMEOUT_SECS)

        for name in ("posguard.kernel", "posguard.processes"):
            logging.getLogger(name).addHandler(caught)
        kernel.stop()
        stopped = True
    finally:
        for name in ("posguard.kernel", "posguard.processes"):
            logging.getLogger(name).removeHandler(caught)
        if not stopped:
            kernel.stop(grace_secs=0)

    assert caught.lines == [], "the stop was not graceful"
    assert [p for p in pids if pid_alive(p)] == []
    assert system_pids(a.admin_address, a.admin_port) == []
    assert sim.call(lambda s: len(s.engine.open_algos())) == resting, "the stops stay"
