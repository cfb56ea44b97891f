"""Builds and runs everything in one place (`posguard run`).

Order matters: the instance lock first (a second instance must fail before it touches the
exchange), then the store checks, the embedded simulator (paper mode), the actor system (from
a clean process bound to the configured address only, see system/actor_system.py), and the
supervisor (globalName "posguard"), which builds the exchange pool, the streams and one symbol
actor per symbol with live state in the store. The launcher then watches the supervisor,
re-creates it if it dies, and shuts everything down on SIGTERM / SIGINT / `posguard shutdown`
(the loop is system/run.py; what it prints, system/console.py).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import venues
from actors.messages import (
    ClosePosition,
    CommandResult,
    ExchangeSettings,
    OpenPosition,
    PoolInit,
    ShutdownAccepted,
    ShutdownRequest,
    StateQuery,
    StatusQuery,
    StreamSettings,
    SupervisorInit,
    SupervisorStatus,
    SymbolTimings,
    SymbolView,
    TimingsQuery,
    Where,
)
from ops.hub import Hub
from system import actor_system
from system.admin import SUPERVISOR, SUPERVISOR_NAME
from system.clock import Clock, SystemClock
from system.config import Config
from system.processes import (
    ACTOR_SYSTEM,
    LeftoverError,
    PidBook,
    RunRecord,
    end_leftovers,
    kill,
    system_pids,
)
from system.progress import Narrator, in_flight
from venue.hosts import VenueHosts, simulator

log = logging.getLogger("posguard.kernel")
ORPHAN_WAIT_SECS = 5.0
LEFTOVER_WAIT_SECS = 10.0


class KernelError(RuntimeError):
    """posguard could not start; the message says why and what to do."""


@dataclass
class Kernel:
    """The running engine: lock, simulator, actor system, supervisor."""

    config: Config
    clock: Clock = field(default_factory=SystemClock)
    lock: Any = None
    holder: Any = None
    sim: Any = None
    asys: Any = None
    supervisor: Any = None
    external_url: str | None = None
    pids: PidBook = field(default_factory=PidBook)
    supervisor_restarts: int = 0
    ops: Hub = field(default_factory=Hub)
    """ops.hub.Hub: alerts, metrics, status page (started once the engine runs)."""
    restarts: dict[tuple[str, str | None], int] = field(default_factory=dict)
    """(kind, symbol) -> restarts the supervisor counted; handed to its successor."""
    demo_opened: bool = False
    """The embedded simulator has opened its demo positions (once per run)."""

    @property
    def record(self) -> RunRecord:
        """This run's pids on disk, next to the actor log, per admin port (RunRecord)."""
        a = self.config.actor_system
        return RunRecord(Path(a.log_file).parent / f"posguard-{a.admin_port}.pids.json")

    @property
    def exchange_url(self) -> str | None:
        """The REST base posguard trades on; None while paper mode's simulator is unknown."""
        try:
            return self.hosts().rest_url
        except KernelError:
            return None

    def hosts(self) -> VenueHosts:
        """Where REST and the streams are: the simulator (paper) or the configured venue."""
        if self.config.mode == "live":
            return self.config.venue_hosts()
        url = self.sim.url if self.sim is not None else self.external_url
        if url is None:
            raise KernelError("paper mode: the simulator is not started")
        return simulator(url)

    def start(self) -> None:
        """Take the lock, check the store, start the simulator and the actors."""
        from persistence.factory import open_instance
        from persistence.store import StoreError
        try:
            self.lock, self.holder = open_instance(self.config.store_target(), self.clock)
        except StoreError as e:
            raise KernelError(str(e)) from e
        try:
            if self.config.mode == "live":
                self.config.api_keys()  # fail now, naming the variable, if keys are missing
            self._start_sim()
            self._start_actors()
        except BaseException:
            self.stop(grace_secs=0)
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

    def open_demo(self) -> list[Any]:
        """Paper mode: the embedded simulator opens the demo positions, once (system/sim/demo.py).

        Only the simulator this launcher embeds: an operator's `posguard sim` is never traded
        on. [] when there is none, the key is 0, or they were opened already.
        """
        s = self.config.exchange.simulator
        if self.sim is None or self.demo_opened or s.demo_positions == 0:
            return []
        self.demo_opened = True
        from system.sim.demo import open_demo_positions
        return list(self.sim.call(lambda sim: open_demo_positions(sim, s.demo_positions,
                                                                  s.demo_drift_pct)))

    def _start_actors(self) -> None:
        a = self.config.actor_system
        try:
            # We hold the instance lock, so an actor system of ours on this port is a leftover
            # of a launcher that was killed (its admin outlives the launcher's process group);
            # its actors' writes already fail on the epoch. Ended by pid, verified gone: a
            # graceful shutdown of it can hang (THESPIAN.md) and leave it running.
            ended = end_leftovers(a.admin_address, a.admin_port, self.record,
                                  LEFTOVER_WAIT_SECS, actor_system.port_answers)
        except LeftoverError as e:
            raise KernelError(str(e)) from e
        if ended:
            log.warning("ended the leftover actor system on port %d (pids %s)", a.admin_port,
                        ", ".join(map(str, ended)))
        actor_system.start(a.admin_address, a.admin_port, log_file=a.log_file)
        for pid in system_pids(a.admin_address, a.admin_port):
            self.pids.add(pid, ACTOR_SYSTEM)  # the admin and its logger
        self._save_record()
        self.asys = actor_system.connect(a.admin_address, a.admin_port)
        self._create_supervisor()

    def _save_record(self) -> None:
        if self.pids.dirty:
            self.pids.dirty = False
            self.record.write(self.pids, os.getpid())

    def _learn(self, status: SupervisorStatus) -> None:
        """Remember the status's pids (on disk too) and restart counts."""
        self.pids.learn(status)
        self._save_record()
        for e in status.actors:
            if e.kind != "exchange_worker":  # workers are anonymous: the pool's, not ours
                key = (e.kind, e.symbol)
                self.restarts[key] = max(self.restarts.get(key, 0), e.restarts)

    def supervisor_init(self) -> SupervisorInit:
        """Everything the supervisor needs, from the config (no secrets: env names only)."""
        from persistence.factory import StoreFactory
        ex, c = self.config.exchange, self.config
        hosts = self.hosts()
        # Live on a venue's own hosts: None, so ccxt's own venue switch picks the URLs.
        base = hosts.rest_url if c.mode == "paper" or ex.rest_url else None
        settings = ExchangeSettings(base, hosts.venue, ex.simulator.api_key,
                                    ex.simulator.api_secret, ex.api_key_env,
                                    ex.api_secret_env, ex.request_timeout_ms,
                                    venue=venues.adapter(ex.name),
                                    max_in_flight=ex.max_in_flight)
        pool = PoolInit(settings, ex.workers, ex.orders_per_10s, ex.orders_per_min)
        # The config's read-only mapping does not pickle; a plain dict copy crosses the wire.
        protection = dataclasses.replace(c.protection, symbols=dict(c.protection.symbols))
        carried = tuple((kind, symbol, n) for (kind, symbol), n in self.restarts.items() if n)
        return SupervisorInit(self.holder.epoch, StoreFactory(c.store_target()), pool, protection,
                              c.supervisor, self.stream_settings(),
                              c.reconcile.interval_secs, os.getpid(), c.mode, carried,
                              c.reconcile.stop_check_min_interval_secs,
                              # Fresher views cost the supervisor work: only for the metrics
                              # and the status page (mark, stop distance between state changes).
                              view_refresh_secs=c.metrics.refresh_secs
                              if c.metrics.port or c.status_page.port else 0.0,
                              clock=self.clock)

    def stream_settings(self) -> StreamSettings:
        """Where the stream actors connect (the simulator in paper mode)."""
        st, hosts = self.config.streams, self.hosts()
        paper_key = self.config.exchange.simulator.api_key if self.config.mode == "paper" \
            else None
        return StreamSettings(hosts.rest_url, hosts.stream_base, paper_key,
                              self.config.exchange.api_key_env,
                              st.listen_key_keepalive_secs, st.stream_silence_secs,
                              st.reconnect_backoff_min_ms, st.reconnect_backoff_max_ms,
                              venue=venues.adapter(self.config.exchange.name),
                              market_shards=st.market_shards)

    def init_supervisor(self) -> None:
        """Initialise a fresh, empty supervisor once the dead one's children are gone."""
        self.pids.wait_gone(self.pids.children_of_supervisor(), ORPHAN_WAIT_SECS)
        self.supervisor_restarts += 1
        self._create_supervisor()

    def _create_supervisor(self) -> None:
        from thespian.actors import ActorSystemException
        try:
            self.supervisor = self.asys.createActor(SUPERVISOR, globalName=SUPERVISOR_NAME)
            status = self.asys.ask(self.supervisor, self.supervisor_init(),
                                   timedelta(seconds=30))
        except ActorSystemException as e:
            raise KernelError(f"the supervisor could not be created: {type(e).__name__}: "
                              f"{e}") from e
        if not isinstance(status, SupervisorStatus):
            raise KernelError(f"the supervisor did not start (got {status!r})")
        self._learn(status)

    def start_ops(self) -> None:
        """Alerts, metrics and the status page (each one left out if it cannot start)."""
        from ops.build import OpsContext, build_hub
        self.ops = build_hub(OpsContext(self.config, self.config.store_target(),
                                        self.holder.epoch, self.exchange_url))
        self.ops.event("started", f"posguard started ({self.config.mode}, epoch "
                       f"{self.holder.epoch})")

    def stop_ops(self, rc: int) -> None:
        """Tell the services the engine stops, then close them (bounded)."""
        self.ops.event("stopped", "posguard stopped" + ("" if rc == 0 else f" (exit {rc})"))
        self.ops.close()
        self.ops = Hub()

    # ------------------------------------------------------------------ watching

    def status(self, timeout_secs: float | None = None) -> SupervisorStatus | None:
        """The supervisor's status (None: it did not answer in time or is dead)."""
        t = self.config.actor_system.ask_timeout_secs if timeout_secs is None else timeout_secs
        reply = self.asys.ask(self.supervisor, StatusQuery(), timedelta(seconds=t))
        if isinstance(reply, SupervisorStatus):
            self._learn(reply)
            return reply
        return None

    def recreate_supervisor(self) -> None:
        """The supervisor is gone: wait for its orphans to exit (or end them), start another."""
        alive = [p for p in self.pids.supervisor_pids() if self.pids.alive(p)]
        if alive:
            # Slow, not dead: its children are healthy and must not be killed. globalName hands
            # back the live one; a repeated SupervisorInit changes nothing.
            log.warning("the supervisor (pid %d) is alive but slow to answer", alive[0])
            return
        log.error("the supervisor is not answering; re-creating it")
        self.pids.wait_gone(self.pids.children_of_supervisor(), ORPHAN_WAIT_SECS)
        self.supervisor_restarts += 1
        self._create_supervisor()

    # ------------------------------------------------------------------ commands

    def ask(self, msg: Any, timeout_secs: float | None = None) -> Any:
        """Ask the supervisor (commands and queries are relayed to the symbol's actor)."""
        t = self.config.actor_system.ask_timeout_secs if timeout_secs is None else timeout_secs
        return self.asys.ask(self.supervisor, msg, timedelta(seconds=t))

    def symbol(self, symbol: str) -> Any:
        """The address of `symbol`'s actor, created (and recovered) if needed."""
        reply = self.ask(Where(symbol, create=True))
        if reply is None or reply.address is None:
            raise KernelError(f"no actor for {symbol}: {reply.detail if reply else 'no answer'}")
        return reply.address

    def address(self, symbol: str) -> Any:
        """The address of `symbol`'s actor if it runs, else None."""
        reply = self.ask(Where(symbol, create=False))
        return None if reply is None else reply.address

    def view(self, symbol: str, timeout_secs: float = 5.0) -> SymbolView | None:
        """One symbol's fresh view (None on timeout or when it has no running actor)."""
        reply = self.ask(StateQuery(symbol), timeout_secs)
        return reply if isinstance(reply, SymbolView) else None

    def timings(self, symbol: str, timeout_secs: float = 5.0) -> SymbolTimings | None:
        """One symbol's routing-latency samples (None on timeout or with no running actor)."""
        reply = self.ask(TimingsQuery(symbol), timeout_secs)
        return reply if isinstance(reply, SymbolTimings) else None

    def open(self, symbol: str, side: str, qty: Any, command_id: str) -> CommandResult | None:
        """Open a position (through the supervisor)."""
        from decimal import Decimal
        return self.ask(OpenPosition(symbol, side, Decimal(qty), command_id), 10)

    def close(self, symbol: str) -> CommandResult | None:
        """Close a position (through the supervisor)."""
        return self.ask(ClosePosition(symbol), 10)

    # ------------------------------------------------------------------ stopping

    def drain(self, grace_secs: float, narrator: Narrator | None = None) -> None:
        """Refuse new commands; wait (bounded) for requests in flight to settle."""
        deadline = time.monotonic() + grace_secs
        while self.supervisor is not None:
            reply = self.ask(ShutdownRequest("launcher"), max(min(grace_secs, 5.0), 0.5))
            if not isinstance(reply, ShutdownAccepted) or not reply.busy_symbols:
                return
            if time.monotonic() > deadline:
                log.warning("shutdown grace over; still in flight: %s",
                            ", ".join(reply.busy_symbols))
                return
            if narrator is not None:
                narrator.step(in_flight(reply.busy_symbols, deadline - time.monotonic()))
            time.sleep(0.1)

    def stop(self, grace_secs: float | None = None, narrator: Narrator | None = None) -> None:
        """Shut everything down; exchange stops stay where they are; no process left.

        `narrator` hears each step (`posguard run` says the slow ones: system/progress.py).
        """
        a = self.config.actor_system
        grace = a.shutdown_grace_secs if grace_secs is None else grace_secs
        say = narrator.step if narrator is not None else (lambda _text: None)
        if self.asys is not None:
            from thespian.actors import ActorSystemException
            try:
                if grace > 0 and self.supervisor is not None:
                    self.status(1.0)  # learn the latest pids before they go
                    self.drain(grace, narrator)
                say("ending the actor system")
                actor_system.shutdown(a.admin_address, a.admin_port)
            except (actor_system.ActorSystemError, ActorSystemException) as e:
                # Handled below: every process of the system is ended by pid either way.
                log.warning("graceful shutdown failed (%s: %s); ending the actor system by pid",
                            type(e).__name__, e)
            finally:
                self.asys = None
                alive = [p for p in self.pids.all() if self.pids.alive(p)]
                if alive:
                    say(f"waiting for {len(alive)} actor processes to exit")
                self.pids.wait_gone(self.pids.all(), ORPHAN_WAIT_SECS)
                for pid in system_pids(a.admin_address, a.admin_port):
                    log.warning("actor-system process %d still running; killing it", pid)
                    kill(pid)
                self.record.remove()
        if self.sim is not None:
            say("stopping the simulator")
            self.sim.stop()
            self.sim = None
        if self.lock is not None:
            say("releasing the instance lock")
            self.lock.release()
            self.lock = None
