"""One account's part of a running posguard: its simulator and its supervisor subtree.

Every account (config `exchanges:`) gets a supervisor of its own (globalName
`posguard:<account>`) with its own exchange pool, streams, sweep and symbol actors, all in
the one actor system, on the one store (scoped to the account: StoreFactory(target,
account=...)) and the one epoch. In paper mode each account has its own embedded simulator
serving its exchange's front (SimSettings.venue follows `name`). The launcher (system/kernel.py)
watches each supervisor on its own: one account's failure never stops another's.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import venues
from actors.messages import (
    ActorEntry,
    ExchangeSettings,
    PoolInit,
    StreamSettings,
    StreamStatus,
    SupervisorInit,
    SupervisorStatus,
)
from system.config import Config, ExchangeConfig
from venue.hosts import VenueHosts, simulator

SUPERVISOR_PREFIX = "posguard:"
"""An account's supervisor is registered as SUPERVISOR_PREFIX + account."""


def supervisor_name(account: str) -> str:
    """The Thespian globalName of `account`'s supervisor."""
    return f"{SUPERVISOR_PREFIX}{account}"


class AccountError(RuntimeError):
    """One account cannot run as configured; the message names the account and why."""


@dataclass
class AccountRun:
    """The running parts of one account."""

    config: Config
    """The whole config (mode, store, streams, protection are shared)."""
    ex: ExchangeConfig
    """This account's `exchanges[]` entry."""
    sim: Any = None
    """The embedded simulator (paper mode, simulator.embedded), else None."""
    external_url: str | None = None
    """An operator's `posguard sim` (paper mode, simulator.embedded false)."""
    supervisor: Any = None
    """The address of this account's supervisor."""
    supervisor_restarts: int = 0
    """How often the launcher re-created this supervisor."""
    restarts: dict[tuple[str, str | None], int] = field(default_factory=dict)
    """(kind, symbol) -> restarts the supervisor counted; handed to its successor."""
    demo_opened: bool = False
    """The embedded simulator has opened its demo positions (once per run)."""

    @property
    def name(self) -> str:
        """The account's name."""
        return self.ex.account

    @property
    def global_name(self) -> str:
        """The globalName of this account's supervisor."""
        return supervisor_name(self.ex.account)

    def hosts(self) -> VenueHosts:
        """Where REST and the streams are: the simulator (paper) or the configured venue."""
        if self.config.mode == "live":
            return self.config.venue_hosts(self.ex)
        url = self.sim.url if self.sim is not None else self.external_url
        if url is None:
            raise AccountError(f"account {self.name!r}: paper mode: the simulator is not "
                               f"started")
        return simulator(url)

    @property
    def exchange_url(self) -> str | None:
        """The REST base this account trades on; None while its simulator is unknown."""
        try:
            return self.hosts().rest_url
        except AccountError:
            return None

    def start_sim(self) -> None:
        """Paper mode: start the embedded simulator, or note the operator's one."""
        s = self.ex.simulator
        if self.config.mode != "paper":
            return
        if not s.embedded:
            # A simulator the operator runs (`posguard sim`): it outlives engine restarts.
            if s.port == 0:
                raise AccountError(f"account {self.name!r}: simulator.embedded is false: set "
                                   f"its simulator.port to the running simulator's port")
            self.external_url = f"http://{s.host}:{s.port}"
            return
        from system.sim.server import SimServer
        self.sim = SimServer(s)
        self.sim.start()

    def stop_sim(self) -> None:
        """Stop the embedded simulator (if any)."""
        if self.sim is not None:
            self.sim.stop()
            self.sim = None

    def open_demo(self) -> list[Any]:
        """Paper mode: the embedded simulator opens the demo positions, once
        (system/sim/demo.py). [] with no embedded simulator, the key 0, or done already."""
        s = self.ex.simulator
        if self.sim is None or self.demo_opened or s.demo_positions == 0:
            return []
        self.demo_opened = True
        from system.sim.demo import open_demo_positions
        return list(self.sim.call(lambda sim: open_demo_positions(sim, s.demo_positions,
                                                                  s.demo_drift_pct)))

    def supervisor_init(self, epoch: int, clock: Any) -> SupervisorInit:
        """Everything this account's supervisor needs (no secrets: env names only)."""
        from persistence.factory import StoreFactory
        ex, c = self.ex, self.config
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
        return SupervisorInit(epoch, StoreFactory(c.store_target(), account=ex.account), pool,
                              protection, c.supervisor, self.stream_settings(),
                              c.reconcile.interval_secs, os.getpid(), c.mode, carried,
                              c.reconcile.stop_check_min_interval_secs,
                              # Fresher views cost the supervisor work: only for the metrics
                              # and the status page (mark, stop distance between state changes).
                              view_refresh_secs=c.metrics.refresh_secs
                              if c.metrics.port or c.status_page.port else 0.0,
                              clock=clock, account=ex.account)

    def stream_settings(self) -> StreamSettings:
        """Where this account's stream actors connect (its simulator in paper mode)."""
        st, hosts, ex = self.config.streams, self.hosts(), self.ex
        paper = self.config.mode == "paper"
        return StreamSettings(hosts.rest_url, hosts.stream_base,
                              ex.simulator.api_key if paper else None, ex.api_key_env,
                              st.listen_key_keepalive_secs, st.stream_silence_secs,
                              st.reconnect_backoff_min_ms, st.reconnect_backoff_max_ms,
                              venue=venues.adapter(ex.name), market_shards=st.market_shards,
                              paper_secret=ex.simulator.api_secret if paper else None,
                              api_secret_env=ex.api_secret_env, account=ex.account)

    def learn(self, status: Any) -> None:
        """Remember the status's restart counts (handed to a successor supervisor)."""
        for e in status.actors:
            if e.kind != "exchange_worker":  # workers are anonymous: the pool's, not ours
                key = (e.kind, e.symbol)
                self.restarts[key] = max(self.restarts.get(key, 0), e.restarts)


def ops_status(statuses: Mapping[str, SupervisorStatus]) -> SupervisorStatus:
    """One status for the operator services (ops/: alerts, metrics, status page), which
    watch one status: one account's as it is; several merged, every symbol and stream named
    `account:NAME` (so an alert, a metric label and the page row name the account)."""
    if len(statuses) == 1:
        return next(iter(statuses.values()))
    actors: list[ActorEntry] = []
    streams: list[StreamStatus] = []
    for name, st in statuses.items():
        actors += [dataclasses.replace(e, symbol=f"{name}:{e.symbol}") if e.symbol else e
                   for e in st.actors]
        streams += [dataclasses.replace(x, kind=f"{name}:{x.kind}") for x in st.streams]
    first = next(iter(statuses.values()))
    return dataclasses.replace(
        first, stopping=any(st.stopping for st in statuses.values()), actors=tuple(actors),
        streams=tuple(streams), poison_messages=sum(st.poison_messages
                                                    for st in statuses.values()),
        exchange_url=", ".join(f"{n} {st.exchange_url or st.venue}"
                               for n, st in statuses.items()),
        account=",".join(statuses), pool=None,
        pools=tuple((n, st.pool) for n, st in statuses.items() if st.pool is not None))
