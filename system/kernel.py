"""Builds and runs everything in one place (`posguard run`).

Order matters: the instance lock first (a second instance must fail before it touches the
exchange), then the store checks (a store with live symbols of an account the config does
not list refuses the start: those positions would be unprotected), the embedded simulator of
each paper account, the actor system (from a clean process bound to the configured address
only, see system/actor_system.py), and one supervisor per account (globalName
`posguard:<account>`, system/account_run.py), each building its exchange pool, streams and one
symbol actor per symbol of its account with live state in the store. One store, one lock, one
epoch for all. The launcher then watches each supervisor, re-creates one that dies (the
others run on), and shuts everything down on SIGTERM / SIGINT / `posguard shutdown` (the loop
is system/run.py; what it prints, system/console.py).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from actors.messages import (
    ClosePosition,
    CommandResult,
    OpenPosition,
    ShutdownAccepted,
    ShutdownRequest,
    StateQuery,
    StatusQuery,
    SupervisorInit,
    SupervisorStatus,
    SymbolTimings,
    SymbolView,
    TimingsQuery,
    Where,
)
from ops.hub import Hub
from system import actor_system
from system.account_run import AccountError, AccountRun
from system.admin import SUPERVISOR
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
from venue.hosts import VenueHosts

log = logging.getLogger("posguard.kernel")
ORPHAN_WAIT_SECS = 5.0
LEFTOVER_WAIT_SECS = 10.0
WRITER_RETRY_SECS = 30.0
"""How often the run loop tries again to start a store writer that is not running."""


class KernelError(RuntimeError):
    """posguard could not start; the message says why and what to do."""


@dataclass
class Kernel:
    """The running engine: lock, simulators, actor system, one supervisor per account.

    Methods that act on one account take `account` (its name); None means the first
    configured one (the only one in a config with the single `exchange:` section).
    """

    config: Config
    clock: Clock = field(default_factory=SystemClock)
    lock: Any = None
    holder: Any = None
    asys: Any = None
    pids: PidBook = field(default_factory=PidBook)
    ops: Hub = field(default_factory=Hub)
    """ops.hub.Hub: alerts, metrics, status page (started once the engine runs)."""
    runs: dict[str, AccountRun] = field(default_factory=dict)
    """account -> its simulator and supervisor, in the config's order."""
    writer: Any = None
    """The SQLite store's writer process (persistence/writer_process.py), while it runs."""
    writer_retry_at: float = 0.0
    """keep_writer starts it again no sooner (monotonic secs)."""

    def __post_init__(self) -> None:
        if not self.runs:
            self.runs = {ex.account: AccountRun(self.config, ex) for ex in self.config.accounts}

    def run_of(self, account: str | None = None) -> AccountRun:
        """The account's run (None: the first account); KernelError for an unknown one."""
        if account is None:
            return next(iter(self.runs.values()))
        run = self.runs.get(account)
        if run is None:
            raise KernelError(f"account {account!r} is not configured; configured: "
                              f"{', '.join(self.runs)}")
        return run

    # The first account's parts, for the callers that run one account (tests, benches).
    sim = property(lambda self: self.run_of().sim,
                   lambda self, v: setattr(self.run_of(), "sim", v))
    external_url = property(lambda self: self.run_of().external_url,
                            lambda self, v: setattr(self.run_of(), "external_url", v))
    supervisor = property(lambda self: self.run_of().supervisor,
                          lambda self, v: setattr(self.run_of(), "supervisor", v))
    demo_opened = property(lambda self: self.run_of().demo_opened)

    @property
    def supervisor_restarts(self) -> int:
        """Supervisors the launcher re-created, every account's."""
        return sum(r.supervisor_restarts for r in self.runs.values())

    @property
    def record(self) -> RunRecord:
        """This run's pids on disk, next to the actor log, per admin port (RunRecord)."""
        a = self.config.actor_system
        return RunRecord(Path(a.log_file).parent / f"posguard-{a.admin_port}.pids.json")

    @property
    def exchange_url(self) -> str | None:
        """The first account's REST base; None while its simulator is unknown."""
        return self.run_of().exchange_url

    def hosts(self, account: str | None = None) -> VenueHosts:
        """Where the account's REST and streams are: its simulator (paper) or its venue."""
        try:
            return self.run_of(account).hosts()
        except AccountError as e:
            raise KernelError(str(e)) from e

    def start(self) -> None:
        """Take the lock, check the store, start the simulators and the actors."""
        from persistence.factory import open_instance
        from persistence.store import StoreError
        try:
            self.lock, self.holder = open_instance(self.config.store_target(), self.clock)
        except StoreError as e:
            raise KernelError(str(e)) from e
        try:
            self._check_store_accounts()
            self._start_writer()
            if self.config.mode == "live":
                for ex in self.config.accounts:  # fail now, naming the account and variable
                    self.config.api_keys(ex=ex)
            for run in self.runs.values():
                run.start_sim()
            self._start_actors()
        except AccountError as e:
            self.stop(grace_secs=0)
            raise KernelError(str(e)) from e
        except BaseException:
            self.stop(grace_secs=0)
            raise

    def _check_store_accounts(self) -> None:
        """Refuse a store holding live symbols of an account the config does not list:
        nothing would protect those positions."""
        from persistence.factory import attach
        from persistence.store import StoreError
        try:
            store = attach(self.config.store_target(), self.holder.epoch, self.clock)
            try:
                live = store.live_accounts()
            finally:
                store.close()
        except StoreError as e:
            raise KernelError(f"cannot read the store's accounts: {e}") from e
        unknown = {a: syms for a, syms in live.items() if a not in self.runs}
        if unknown:
            named = "; ".join(f"account {a!r}: {', '.join(syms)}" for a, syms in
                              sorted(unknown.items()))
            raise KernelError(f"the store has live positions of accounts the config does not "
                              f"list ({named}); add them to exchanges: (or close those "
                              f"positions with the config that had them) so they stay "
                              f"protected")

    def _start_writer(self) -> None:
        """SQLite with `store.sqlite_writer`: the process that commits every actor's appends
        in groups (persistence/writer_process.py). Not starting it is logged, never fatal:
        every process then appends directly, as with the setting off."""
        target = self.config.store_target()
        if target.backend == "sqlite" and target.sqlite_writer:
            from persistence import writer_process
            self.writer = writer_process.spawn(target.sqlite_path, target.busy_timeout_ms,
                                               log.warning)

    def keep_writer(self) -> None:
        """The run loop's check: a writer that exited is started again (every process
        appends directly meanwhile); at most one start every WRITER_RETRY_SECS."""
        target = self.config.store_target()
        if target.backend != "sqlite" or not target.sqlite_writer:
            return
        if self.writer is not None:
            if self.writer.poll() is None:
                return
            from persistence import writer_process
            log.warning("the store's writer exited (code %s); every process appends directly "
                        "until it runs again", self.writer.returncode)
            writer_process.end(self.writer, log.warning)
            self.writer = None
        if time.monotonic() >= self.writer_retry_at:
            self.writer_retry_at = time.monotonic() + WRITER_RETRY_SECS
            self._start_writer()
            if self.writer is not None:
                log.warning("the store's writer runs again (pid %d)", self.writer.pid)

    def _stop_writer(self) -> None:
        """After the actors: nobody appends any more."""
        if self.writer is not None:
            from persistence import writer_process
            if self.writer.poll() is not None:
                log.warning("the store's writer had exited (code %s) before the shutdown; "
                            "appends were made directly since", self.writer.returncode)
            writer_process.end(self.writer, log.warning)
            self.writer = None

    def open_demo(self, account: str | None = None) -> list[Any]:
        """Paper mode: the account's embedded simulator opens the demo positions, once
        (system/sim/demo.py). [] when it has none, the key is 0, or they were opened."""
        return self.run_of(account).open_demo()

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
        for run in self.runs.values():
            self._create_supervisor(run)

    def _save_record(self) -> None:
        if self.pids.dirty:
            self.pids.dirty = False
            self.record.write(self.pids, os.getpid())

    def _learn(self, status: SupervisorStatus, run: AccountRun | None = None) -> None:
        """Remember the status's pids (on disk too) and restart counts."""
        self.pids.learn(status)
        self._save_record()
        (run or self.runs.get(status.account) or self.run_of()).learn(status)

    def supervisor_init(self, account: str | None = None) -> SupervisorInit:
        """Everything the account's supervisor needs, from the config (no secrets)."""
        try:
            return self.run_of(account).supervisor_init(self.holder.epoch, self.clock)
        except AccountError as e:
            raise KernelError(str(e)) from e

    def stream_settings(self, account: str | None = None) -> Any:
        """Where the account's stream actors connect (its simulator in paper mode)."""
        return self.run_of(account).stream_settings()

    def init_supervisor(self, account: str | None = None) -> None:
        """Initialise a fresh, empty supervisor once the dead one's children are gone."""
        run = self.run_of(account)
        self.pids.wait_gone(self.pids.children_of_supervisor(run.name), ORPHAN_WAIT_SECS)
        run.supervisor_restarts += 1
        self._create_supervisor(run)

    def _create_supervisor(self, run: AccountRun) -> None:
        from thespian.actors import ActorSystemException
        try:
            run.supervisor = self.asys.createActor(SUPERVISOR, globalName=run.global_name)
            status = self.asys.ask(run.supervisor, self.supervisor_init(run.name),
                                   timedelta(seconds=30))
        except ActorSystemException as e:
            raise KernelError(f"account {run.name!r}: the supervisor could not be created: "
                              f"{type(e).__name__}: {e}") from e
        if not isinstance(status, SupervisorStatus):
            raise KernelError(f"account {run.name!r}: the supervisor did not start (got "
                              f"{status!r})")
        self._learn(status, run)

    def start_ops(self) -> None:
        """Alerts, metrics and the status page (each one left out if it cannot start)."""
        from ops.build import OpsContext, build_hub
        self.ops = build_hub(OpsContext(self.config, self.config.store_target(),
                                        self.holder.epoch, self.exchange_url))
        self.ops.event("started", f"posguard started ({self.config.mode}, epoch "
                       f"{self.holder.epoch}, accounts {', '.join(self.runs)})")

    def stop_ops(self, rc: int) -> None:
        """Tell the services the engine stops, then close them (bounded)."""
        self.ops.event("stopped", "posguard stopped" + ("" if rc == 0 else f" (exit {rc})"))
        self.ops.close()
        self.ops = Hub()

    # ------------------------------------------------------------------ watching

    def status(self, timeout_secs: float | None = None,
               account: str | None = None) -> SupervisorStatus | None:
        """The account's supervisor's status (None: it did not answer in time or is dead)."""
        run = self.run_of(account)
        t = self.config.actor_system.ask_timeout_secs if timeout_secs is None else timeout_secs
        reply = self.asys.ask(run.supervisor, StatusQuery(), timedelta(seconds=t))
        if isinstance(reply, SupervisorStatus):
            self._learn(reply, run)
            return reply
        return None

    def recreate_supervisor(self, account: str | None = None) -> None:
        """The account's supervisor is gone: wait for its orphans to exit (or end them),
        start another. The other accounts' supervisors and children are not touched."""
        run = self.run_of(account)
        alive = [p for p in self.pids.supervisor_pids(run.name) if self.pids.alive(p)]
        if alive:
            # Slow, not dead: its children are healthy and must not be killed. globalName hands
            # back the live one; a repeated SupervisorInit changes nothing.
            log.warning("the supervisor of account %s (pid %d) is alive but slow to answer",
                        run.name, alive[0])
            return
        log.error("the supervisor of account %s is not answering; re-creating it", run.name)
        self.pids.wait_gone(self.pids.children_of_supervisor(run.name), ORPHAN_WAIT_SECS)
        run.supervisor_restarts += 1
        self._create_supervisor(run)

    # ------------------------------------------------------------------ commands

    def ask(self, msg: Any, timeout_secs: float | None = None,
            account: str | None = None) -> Any:
        """Ask the account's supervisor (commands and queries go on to the symbol's actor)."""
        t = self.config.actor_system.ask_timeout_secs if timeout_secs is None else timeout_secs
        return self.asys.ask(self.run_of(account).supervisor, msg, timedelta(seconds=t))

    def symbol(self, symbol: str, account: str | None = None) -> Any:
        """The address of `symbol`'s actor, created (and recovered) if needed."""
        reply = self.ask(Where(symbol, create=True), account=account)
        if reply is None or reply.address is None:
            raise KernelError(f"no actor for {symbol}: {reply.detail if reply else 'no answer'}")
        return reply.address

    def address(self, symbol: str, account: str | None = None) -> Any:
        """The address of `symbol`'s actor if it runs, else None."""
        reply = self.ask(Where(symbol, create=False), account=account)
        return None if reply is None else reply.address

    def view(self, symbol: str, timeout_secs: float = 5.0,
             account: str | None = None) -> SymbolView | None:
        """One symbol's fresh view (None on timeout or when it has no running actor)."""
        reply = self.ask(StateQuery(symbol), timeout_secs, account)
        return reply if isinstance(reply, SymbolView) else None

    def timings(self, symbol: str, timeout_secs: float = 5.0,
                account: str | None = None) -> SymbolTimings | None:
        """One symbol's routing-latency samples (None on timeout or with no running actor)."""
        reply = self.ask(TimingsQuery(symbol), timeout_secs, account)
        return reply if isinstance(reply, SymbolTimings) else None

    def open(self, symbol: str, side: str, qty: Any, command_id: str,
             account: str | None = None) -> CommandResult | None:
        """Open a position (through the account's supervisor)."""
        from decimal import Decimal
        return self.ask(OpenPosition(symbol, side, Decimal(qty), command_id), 10, account)

    def close(self, symbol: str, account: str | None = None) -> CommandResult | None:
        """Close a position (through the account's supervisor)."""
        return self.ask(ClosePosition(symbol), 10, account)

    # ------------------------------------------------------------------ stopping

    def drain(self, grace_secs: float, narrator: Narrator | None = None) -> None:
        """Every account refuses new commands; wait (bounded) for requests in flight to
        settle, every account's (all are asked first, so they drain at the same time)."""
        deadline = time.monotonic() + grace_secs
        waiting = [r.name for r in self.runs.values() if r.supervisor is not None]
        while waiting:
            busy: list[str] = []
            for name in list(waiting):
                reply = self.ask(ShutdownRequest("launcher"), max(min(grace_secs, 5.0), 0.5),
                                 name)
                if not isinstance(reply, ShutdownAccepted) or not reply.busy_symbols:
                    waiting.remove(name)
                    continue
                prefix = "" if len(self.runs) == 1 else f"{name}:"
                busy.extend(prefix + s for s in reply.busy_symbols)
            if not busy:
                return
            if time.monotonic() > deadline:
                log.warning("shutdown grace over; still in flight: %s", ", ".join(busy))
                return
            if narrator is not None:
                narrator.step(in_flight(tuple(busy), deadline - time.monotonic()))
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
                if grace > 0:
                    for run in self.runs.values():
                        if run.supervisor is not None:
                            self.status(1.0, run.name)  # learn the latest pids before they go
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
        for run in self.runs.values():
            if run.sim is not None:
                say("stopping the simulator" + ("" if len(self.runs) == 1
                                                else f" of account {run.name}"))
                run.stop_sim()
        self._stop_writer()
        if self.lock is not None:
            say("releasing the instance lock")
            self.lock.release()
            self.lock = None
