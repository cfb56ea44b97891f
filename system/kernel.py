"""Builds and runs everything in one place (`posguard run`).

Order matters: the instance lock first (a second instance must fail before it touches the
exchange), then the store checks, the embedded simulator (paper mode), the actor system (from
a clean process, see system/actor_system.py), the exchange pool, and finally one symbol actor
per symbol with live state in the store, each recovering from its snapshot and reconciling.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from actors.messages import (
    ExchangeSettings,
    PoolInit,
    Ready,
    StateQuery,
    SymbolInit,
    SymbolView,
)
from system import actor_system
from system.clock import Clock, SystemClock
from system.config import Config

log = logging.getLogger("posguard.kernel")
EXCHANGE_WORKERS = 4


class KernelError(RuntimeError):
    """posguard could not start; the message says why and what to do."""


@dataclass
class Kernel:
    """The running engine: lock, simulator, actor system, pool, symbol actors."""

    config: Config
    clock: Clock = field(default_factory=SystemClock)
    lock: Any = None
    holder: Any = None
    sim: Any = None
    asys: Any = None
    pool: Any = None
    symbols: list[tuple[str, Any]] = field(default_factory=list)
    external_url: str | None = None

    @property
    def exchange_url(self) -> str | None:
        """The simulator's URL in paper mode, None for live."""
        return self.sim.url if self.sim is not None else self.external_url

    def start(self) -> None:
        """Take the lock, check the store, start the simulator and the actors."""
        from persistence.factory import open_instance
        from persistence.store import StoreError
        try:
            self.lock, self.holder = open_instance(self.config.store_target(), self.clock)
        except StoreError as e:
            raise KernelError(str(e)) from e
        try:
            self._start_sim()
            self._start_actors()
            self._recover()
        except BaseException:
            self.stop()
            raise

    def _start_sim(self) -> None:
        sim_settings = self.config.exchange.simulator
        if self.config.mode == "paper":
            if not sim_settings.embedded:
                # A simulator the operator runs (`posguard sim`): it outlives engine restarts.
                if sim_settings.port == 0:
                    raise KernelError("exchange.simulator.embedded is false: set "
                                      "exchange.simulator.port to the running simulator's port")
                self.external_url = f"http://{sim_settings.host}:{sim_settings.port}"
                return
            from system.sim.server import SimServer
            self.sim = SimServer(sim_settings)
            self.sim.start()

    def _start_actors(self) -> None:
        a = self.config.actor_system
        if actor_system.port_answers(a.admin_address, a.admin_port):
            # We hold the instance lock, so no live posguard owns this system: it is a leftover
            # of a launcher that was killed. Its actors' writes already fail on the epoch.
            log.warning("stopping a leftover actor system on port %d", a.admin_port)
            actor_system.shutdown(a.admin_address, a.admin_port)
        actor_system.start(a.admin_address, a.admin_port)
        self.asys = actor_system.connect(a.admin_address, a.admin_port)
        from actors.exchange_worker import ExchangePool
        self.pool = self.asys.createActor(ExchangePool)
        ex = self.config.exchange
        settings = ExchangeSettings(self.exchange_url, ex.simulator.api_key,
                                    ex.simulator.api_secret, ex.api_key_env,
                                    ex.api_secret_env, ex.request_timeout_ms)
        if self.config.mode == "live":
            self.config.api_keys()  # fail now, with the variable's name, if keys are missing
        ready = self.asys.ask(self.pool, PoolInit(settings, EXCHANGE_WORKERS, ex.orders_per_10s,
                                                  ex.orders_per_min), timedelta(seconds=20))
        if ready is None:
            raise KernelError("the exchange pool did not start within 20 s")

    def _recover(self) -> None:
        from persistence.factory import attach
        store = attach(self.config.store_target(), self.holder.epoch, self.clock)
        try:
            live = store.live_symbols()
        finally:
            store.close()
        for symbol in live:
            self.symbol(symbol, reason="startup")

    def symbol(self, symbol: str, reason: str = "command") -> Any:
        """The address of `symbol`'s actor, created (and recovered) if needed."""
        known = self.address(symbol)
        if known is not None:
            return known
        from actors.symbol import SymbolActor
        addr = self.asys.createActor(SymbolActor)
        init = SymbolInit(symbol, self.holder.epoch, self.config.store_target(), self.pool,
                          self.config.protection.policy_for(symbol), reason)
        ready = self.asys.ask(addr, init, timedelta(seconds=10))
        if not isinstance(ready, Ready):
            raise KernelError(f"symbol actor {symbol} did not start (got {ready!r})")
        self.symbols.append((symbol, addr))
        return addr

    def address(self, symbol: str) -> Any:
        """The address of `symbol`'s actor if it exists (ActorAddress is unhashable: a list)."""
        return next((addr for name, addr in self.symbols if name == symbol), None)

    def view(self, symbol: str, timeout_secs: float = 5.0) -> SymbolView | None:
        """Ask one symbol actor for its state (None on timeout)."""
        reply = self.asys.ask(self.symbol(symbol), StateQuery(symbol),
                              timedelta(seconds=timeout_secs))
        return reply if isinstance(reply, SymbolView) else None

    def stop(self) -> None:
        """Shut everything down; exchange stops stay where they are."""
        a = self.config.actor_system
        if self.asys is not None:
            try:
                actor_system.shutdown(a.admin_address, a.admin_port)
            finally:
                self.asys = None
        if self.sim is not None:
            self.sim.stop()
            self.sim = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def status_line(k: Kernel) -> str:
    """One line for the terminal: what runs, where, how many symbols."""
    where = k.exchange_url or "binance"
    return (f"posguard {k.config.mode} | epoch {k.holder.epoch} | exchange {where} | store "
            f"{k.config.store.backend} | admin {k.config.actor_system.admin_address}:"
            f"{k.config.actor_system.admin_port} | symbols {len(k.symbols)}")


def run_kernel(config: Config, duration_secs: float | None = None) -> int:
    """`posguard run`: start, print status, run until SIGTERM/SIGINT (or the duration)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s", stream=sys.stderr)
    kernel = Kernel(config)
    try:
        kernel.start()
    except KernelError as e:
        print(f"posguard run: cannot start: {e}", file=sys.stderr)
        return 3
    done = threading.Event()
    previous = {s: signal.signal(s, lambda *_: done.set())
                for s in (signal.SIGTERM, signal.SIGINT)}
    started = time.monotonic()
    try:
        print(status_line(kernel), flush=True)
        while not done.wait(1.0):
            kernel.lock.check()
            if duration_secs is not None and time.monotonic() - started >= duration_secs:
                break
    finally:
        print("posguard: shutting down (exchange stops stay in place)", file=sys.stderr)
        kernel.stop()
        for s, h in previous.items():
            signal.signal(s, h)
    return 0
