"""The system under test: the simulator in this process, the actor system in its own.

The simulator runs in-process (SimServer, its own event-loop thread) so the bench can read its
probe (tick and order times on its clock) and its unprotected-window meter directly; the
engine is the production Kernel (actor system, supervisor, streams, exchange workers) pointed
at it, with a private store, log file and admin port, so a `posguard run` on the same machine
is not disturbed.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from system.bench import memory
from system.config import Config, load_config
from system.kernel import Kernel
from system.launched import free_port
from system.processes import system_pids

DSN_ENV = "POSGUARD_BENCH_PG_DSN"
OPEN_QTY = Decimal("10")  # synthetic symbols trade at ~1.0 USDT: 10 USDT notional each
# The bench lifts the account order budget (Binance: 1200 orders/min): N symbols each moving
# its stop every second would otherwise measure the budget's queue, not the engine. A Target
# with real_budget=True keeps the config's budget and the simulator's Binance order limits
# (the stop-lag section; `posguard bench --real-budget` for every section).
# On Bybit the engine's budget is also held to the adapter's own ceiling (8 orders a second,
# venues/bybit/adapter.py RateLimits.order_ceiling), which no config lifts: there the lifted
# sections still run at most 8 orders a second, and from 10 symbols on (10 moves a second
# wanted) Bybit's reaction includes the budget's wait.
UNLIMITED_ORDERS = (1_000_000, 6_000_000)
OPEN_ASK_SECS = 30.0
"""How long one open of an open burst waits for its acknowledgement."""


class BenchError(RuntimeError):
    """The bench could not set up or drive the system; the message says what failed."""


def synthetic(n: int) -> list[str]:
    """The first `n` synthetic symbols of the simulator (SYM0001USDT ...)."""
    return [f"SYM{i:04d}USDT" for i in range(1, n + 1)]


class Target:
    """Simulator + engine, started and stopped together; nothing is left running."""

    def __init__(self, config_path: str, overrides: Sequence[str], *, backend: str,
                 symbols: int, progress: Any, rtt_ms: float = 0.0,
                 real_budget: bool = False) -> None:
        self.rtt_ms = rtt_ms
        """The simulator's network round trip (system/bench/rtt.py); 0 = loopback."""
        self.real_budget = real_budget
        """Keep the order budget (engine and simulator) instead of lifting it."""
        self.config_path = config_path
        self.overrides = list(overrides)
        self.backend = backend
        self.max_symbols = symbols
        self.say = progress
        self.tmp = Path(tempfile.mkdtemp(prefix="posguard-bench-"))
        self.pg: Any = None
        self.sim: Any = None
        self.kernel: Kernel | None = None

    # ------------------------------------------------------------------ start / stop

    def start(self) -> None:
        """Store (PostgreSQL: a temp server), simulator, then the engine."""
        from system.bench.rtt import with_rtt
        from system.sim.server import SimServer
        from system.sim.settings import UNTHROTTLED, unthrottled
        if self.backend == "postgres":
            from persistence.pg_tempserver import PgTempServer
            self.say("starting a temporary PostgreSQL server ...")
            self.pg = PgTempServer().start()
            os.environ[DSN_ENV] = self.pg.dsn()
        base = load_config(self.config_path, self.overrides)
        sim = dataclasses.replace(
            base.exchange.simulator, host="127.0.0.1", port=0, embedded=False,
            synthetic_symbols=self.max_symbols, volatility_pct=0.0, drift_pct=0.2,
            walk_interval_ms=1000, mark_stream_interval_ms=1000, mark_stream_phase="spread",
            max_gaps_kept=max(base.exchange.simulator.max_gaps_kept,
                              4 * self.max_symbols + 1000))
        sim = with_rtt(sim, self.rtt_ms)
        # The engine's order budget is lifted below; lift the simulator's rate limits with it
        # (Binance: 2400 weight/min, 300 orders/10 s) so the figures stay the engine's. Under
        # the real budget the order limits stay Binance's; only request weight is lifted
        # (the budget is about orders, and the bench's own reads are not the engine's).
        sim = dataclasses.replace(sim, request_weight_per_min=UNTHROTTLED) \
            if self.real_budget else unthrottled(sim)
        self.sim = SimServer(sim)
        self.sim.start()
        from system.sim.probe import Probe

        def enable(s: Any) -> None:
            s.probe = Probe()
        self.sim.call(enable)
        self.kernel = self._kernel()

    def _kernel(self) -> Kernel:
        kernel = Kernel(self._config())
        kernel.start()
        self._wait(lambda: self._stream_connected(kernel), "the user stream to connect", 30)
        return kernel

    def _config(self) -> Config:
        sets = [*self.overrides, "mode=paper", f"store.backend={self.backend}",
                f"store.sqlite_path={self.tmp / 'bench.sqlite3'}",
                f"store.postgres_dsn_env={DSN_ENV}",
                f"actor_system.admin_port={free_port()}",
                f"actor_system.log_file={self.tmp / 'actors.log'}",
                "exchange.simulator.embedded=false", f"exchange.simulator.port={self.sim.port}",
                "protection.trailing.mode=managed",
                "protection.trailing.activation_pct=0.1",
                "protection.trailing.callback_pct=0.5"]
        cfg = load_config(self.config_path, sets)
        if self.real_budget:
            return cfg
        per_10s, per_min = UNLIMITED_ORDERS
        # The bench runs the first account only (config.exchange).
        return dataclasses.replace(cfg, accounts=(dataclasses.replace(
            cfg.exchange, orders_per_10s=per_10s, orders_per_min=per_min), *cfg.accounts[1:]))

    @staticmethod
    def _stream_connected(kernel: Kernel) -> bool:
        st = kernel.status(2.0)
        return st is not None and any(s.kind == "user" and s.state == "connected"
                                      for s in st.streams)

    def restart(self) -> float:
        """Cold restart: stop the whole engine, start it again; seconds until it answered."""
        self._stop_kernel()
        t0 = time.monotonic()
        self.kernel = self._kernel()
        return time.monotonic() - t0

    def stop(self) -> None:
        """Engine, simulator, PostgreSQL, temp dir: all gone afterwards."""
        try:
            self._stop_kernel()
        finally:
            if self.sim is not None:
                self.sim.stop()
                self.sim = None
            if self.pg is not None:
                self.pg.cleanup()
                self.pg = None
                os.environ.pop(DSN_ENV, None)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _stop_kernel(self) -> None:
        """Stop the engine; a failed graceful shutdown is reported, not raised.

        Safe: Kernel.stop kills every process of its actor system that is still running (by
        pid, this system's only) in its `finally`, and every state is durable.
        """
        kernel, self.kernel = self.kernel, None
        if kernel is None:
            return
        self.say("stopping the engine ...")
        try:
            kernel.stop(grace_secs=5)
        except Exception as e:  # noqa: BLE001 - see the docstring: nothing is left running
            self.say(f"the engine did not stop cleanly ({e}); its processes were killed")

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ driving

    @property
    def k(self) -> Kernel:
        """The running kernel."""
        if self.kernel is None:
            raise BenchError("the engine is not running")
        return self.kernel

    def create(self, symbols: list[str]) -> float:
        """Create the symbol actors; seconds until every one answers a state query."""
        t0 = time.monotonic()
        for sym in symbols:
            self.k.symbol(sym)
        pending = set(symbols)

        def answered() -> bool:
            for sym in list(pending):
                if self.k.view(sym, 2.0) is not None:
                    pending.discard(sym)
            return not pending
        self._wait(answered, f"{len(symbols)} symbol actors to answer", 60 + len(symbols) / 5)
        return time.monotonic() - t0

    def open(self, symbols: list[str]) -> None:
        """Open a long on each symbol (through the supervisor, as the CLI does)."""
        for sym in symbols:
            r = self.k.open(sym, "long", OPEN_QTY, f"bench-{uuid.uuid4().hex[:12]}")
            if r is None or r.outcome != "accepted":
                raise BenchError(f"open {sym}: {r.detail if r else 'no answer'}")

    def open_at_once(self, symbols: list[str]) -> dict:
        """Open a long on every symbol at the same moment, one thread per open (each its
        own private Thespian context): the opens all leave within a fraction of a second.

        {"spread_secs": first to last open sent, "acknowledged": n, "refused": [why]}.
        """
        from actors.messages import CommandResult, OpenPosition
        asys, sup = self.k.asys, self.k.supervisor
        gate = threading.Barrier(len(symbols) + 1)
        lock = threading.Lock()
        sent: list[float] = []
        refused: list[str] = []
        acked = [0]

        def one(sym: str) -> None:
            with asys.private() as ctx:
                msg = OpenPosition(sym, "long", OPEN_QTY, f"bench-{uuid.uuid4().hex[:12]}")
                gate.wait(30)
                with lock:
                    sent.append(time.monotonic())
                try:
                    r = ctx.ask(sup, msg, timedelta(seconds=OPEN_ASK_SECS))
                except Exception as e:  # noqa: BLE001 - reported as a refusal, not raised
                    r, why = None, f"{sym}: {e}"
                else:
                    why = f"{sym}: {getattr(r, 'detail', None) or 'no answer'}"
            with lock:
                if isinstance(r, CommandResult) and r.outcome == "accepted":
                    acked[0] += 1
                else:
                    refused.append(why)
        threads = [threading.Thread(target=one, args=(s,), daemon=True) for s in symbols]
        for t in threads:
            t.start()
        try:
            gate.wait(30)
        except threading.BrokenBarrierError:
            raise BenchError("the open burst could not start: an open's actor-system "
                             "context failed (see the threads' tracebacks)") from None
        for t in threads:
            t.join(OPEN_ASK_SECS + 30)
        return {"spread_secs": round(max(sent) - min(sent), 3) if sent else None,
                "acknowledged": acked[0], "refused": refused}

    def sim_now(self) -> float:
        """The simulator's monotonic clock (probe and meter times are on it)."""
        return self.sim.call(lambda s: s.clock.monotonic())

    def positions(self, symbols: list[str]) -> dict[str, dict]:
        """symbol -> {amt, entry, tick, step} as the simulator holds them (Decimals)."""
        def read(s: Any) -> dict:
            out = {}
            for sym in symbols:
                p, m = s.engine.ledger.position(sym), s.engine.market(sym)
                out[sym] = {"amt": p.amt, "entry": p.entry, "tick": m.tick, "step": m.step}
            return out
        return self.sim.call(read)

    def states(self) -> dict[str, str]:
        """symbol -> state from the supervisor's table (views pushed by the actors)."""
        st = self.k.status(5.0)
        if st is None:
            return {}
        return {e.symbol: (e.view.state if e.view else e.state)
                for e in st.actors if e.kind == "symbol" and e.symbol}

    def wait_protected(self, symbols: list[str], timeout_secs: float) -> None:
        """Until every symbol is PROTECTED (BenchError naming the ones that are not)."""
        def done() -> bool:
            states = self.states()
            return all(states.get(s) == "PROTECTED" for s in symbols)
        try:
            self._wait(done, f"{len(symbols)} symbols PROTECTED", timeout_secs)
        except BenchError:
            states = self.states()
            bad = {s: states.get(s) for s in symbols if states.get(s) != "PROTECTED"}
            raise BenchError(f"not PROTECTED after {timeout_secs:.0f} s: "
                             f"{dict(list(bad.items())[:10])}") from None

    def symbol_pids(self) -> dict[str, int]:
        """symbol -> pid of its running actor."""
        st = self.k.status(5.0)
        return {e.symbol: e.pid for e in (st.actors if st else ())
                if e.kind == "symbol" and e.symbol and e.pid}

    def memory(self) -> dict:
        """PSS of the symbol actors and of the whole actor system."""
        a = self.k.config.actor_system
        pids = self.symbol_pids()
        return {"symbol_actors": memory.group(pids.values()),
                "actor_system": memory.group(system_pids(a.admin_address, a.admin_port))}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) used so far, per component of the system."""
        import psutil
        st = self.k.status(5.0)
        if st is None:
            raise BenchError("the supervisor did not answer a status query")
        kinds: dict[int, str] = {os.getpid(): "simulator+bench", st.pid: "supervisor"}
        for e in st.actors:
            if e.pid:
                kinds[e.pid] = {"symbol": "symbol actors", "exchange_worker": "exchange pool",
                                "exchange_pool": "exchange pool"}.get(e.kind, e.kind)
        for s in st.streams:
            if s.pid:
                kinds[s.pid] = f"{s.kind} stream"
        a = self.k.config.actor_system
        for pid in system_pids(a.admin_address, a.admin_port):
            kinds.setdefault(pid, "admin+logger")
        out: dict[str, float] = {}
        for pid, kind in kinds.items():
            try:
                t = psutil.Process(pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            out[kind] = out.get(kind, 0.0) + t.user + t.system
        return out

    def probe(self) -> dict:
        """What the simulator's probe recorded since the last call (then cleared)."""
        return self.sim.call(lambda s: s.probe.take())

    def meter(self) -> dict:
        """The simulator's unprotected-window report."""
        return self.sim.call(lambda s: s.engine.meter.report(s.clock.monotonic()))

    def set_phase(self, phase: str) -> None:
        """aligned: every symbol ticks at the same instant; spread: over the second."""
        def switch(s: Any) -> None:
            s.market_streams.phase = phase
        self.sim.call(switch)

    def pause(self, paused: bool) -> None:
        """Stop / restart the price trend."""
        def flip(s: Any) -> None:
            s.paused = paused
        self.sim.call(flip)

    @staticmethod
    def _wait(pred: Any, what: str, timeout_secs: float) -> None:
        deadline = time.monotonic() + timeout_secs
        while not pred():
            if time.monotonic() > deadline:
                raise BenchError(f"timed out after {timeout_secs:.0f} s waiting for {what}")
            time.sleep(0.05)
