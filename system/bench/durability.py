"""SIGKILL trials: the whole system killed at a random moment loses nothing acknowledged.

One trial: a fresh simulator and store; a real `posguard run` launcher; three opens go out
concurrently while prices move (trailing moves) and, in some trials, the simulator holds a
REST reply (widening the windows between persist, exchange call and reply); at a random
moment every process of the system (launcher, admin, supervisor, actors, workers) is
SIGKILLed at once. Then `posguard run` again on the same store and exchange, and the trial
reads the exchange's truth and the journal: every acknowledged open (CommandResult accepted
at seq S) must be in the journal at seq S, every position must end PROTECTED by exactly one
resting stop, and re-sending an acknowledged open must be refused as a duplicate.

Used by the I-1 scenario test (which asserts) and by `posguard bench` (which counts), on
either venue (`run_trial(..., venue="bybit")`: the simulator serves Bybit's front, `extra`
must then set exchange.name=bybit, the held reply is on Bybit's order path, and the resting
stop is matched by Bybit's orderId).
"""

from __future__ import annotations

import dataclasses
import random
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from actors.messages import CommandResult, OpenPosition
from system.admin import Admin
from system.config import load_config
from system.launched import Launched
from system.sim.client import SimControl
from system.sim.server import SimServer
from system.sim.settings import SimSettings

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
QTY = {"BTCUSDT": "0.010", "ETHUSDT": "0.100", "SOLUSDT": "1"}
SETTLE_SECS = 60.0
STOP_WAIT_SECS = 60.0
"""How long the second launcher may take to stop after SIGTERM: its own stop is bounded by
the drain (actor_system.shutdown_grace_secs, 10 s, plus one 5 s ask), Thespian's shutdown, the
15 s wait for the admin port to close and the 5 s wait for orphans (system/kernel.py), i.e.
well over the 30 s this used to wait (a trial failed with a traceback at 30 s in CI)."""
FIRST_ACK_WAIT_SECS = 30.0
"""How long an after-first-ack trial waits for its first acknowledged open (each ask is
bounded at 5 s; a system that acknowledges nothing in 30 s fails the trial)."""
SIM_SETTINGS = SimSettings(walk_interval_ms=3_600_000, mark_stream_interval_ms=50)
HELD_PATHS = {"binanceusdm": ("/fapi/v1/order", "/fapi/v1/algoOrder"),
              # Bybit places market orders and stops on one path; amends move the stops.
              "bybit": ("/v5/order/create", "/v5/order/amend")}
"""Per venue, the REST paths whose reply a trial may hold (the outcome unknown at the kill)."""


def venue_order_id(venue: str, sim_id: int | str) -> str:
    """The venue's id (the engine's stop_order_id) of the simulator's order `sim_id`."""
    if venue == "bybit":
        from system.sim.bybit.ids import order_id
        return order_id(int(sim_id))
    return str(sim_id)


@dataclasses.dataclass
class Trial:
    """One crash trial's record."""

    n: int
    backend: str
    kill_after_s: float
    after_first_ack: bool = False
    """kill_after_s counts from the first acknowledged open, not from the opens going out:
    counted from the opens alone, every kill of a run can land before the first
    acknowledgement on a loaded machine (CI had 6 trials with none acknowledged), and the
    trial then proves nothing about acknowledged opens."""
    first_ack_secs: float | None = None
    """Opens sent -> the first one acknowledged (None: none was before the kill)."""
    held_reply: str | None = None
    """The REST path whose reply the simulator held (None: no fault)."""
    acked: dict[str, tuple[str, int]] = dataclasses.field(default_factory=dict)
    """symbol -> (command id, seq) for every open acknowledged before the kill."""
    lost: list[str] = dataclasses.field(default_factory=list)
    """Acknowledged opens not found at their seq in the journal (must stay empty)."""
    not_duplicate: list[str] = dataclasses.field(default_factory=list)
    """Acknowledged opens that, re-sent, were not refused as duplicates (must stay empty)."""
    unsettled: str | None = None
    """Why the restarted system did not reach 'every position protected' (None: it did)."""
    positions: int = 0
    """Positions on the exchange after recovery (all protected when unsettled is None)."""
    recovered_secs: float = 0.0
    """Second launch -> every position PROTECTED by exactly one stop."""
    exit_code: int | None = None
    """The second launcher's exit code after SIGTERM (0: clean shutdown; None: it did not
    exit within STOP_WAIT_SECS and was killed by pid)."""
    stop_secs: float | None = None
    """SIGTERM -> the second launcher exited."""

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing doubled, everything protected."""
        return (not self.lost and not self.not_duplicate and self.unsettled is None
                and self.exit_code == 0)


def _open_all(admin: Admin, trial: Trial, lock: threading.Lock) -> list[threading.Thread]:
    # The config's one account's supervisor, looked up here, outside the threads: a failure
    # to find it is the trial's error, not an open the kill went unanswered.
    sup = admin.sups[admin.accounts[0]]
    if sup is None:
        raise RuntimeError(f"account {admin.accounts[0]}: no supervisor registered")

    def one(sym: str, cid: str) -> None:
        try:
            with admin.asys.private() as ctx:
                r = ctx.ask(sup, OpenPosition(sym, "long", Decimal(QTY[sym]), cid),
                            timedelta(seconds=5))
        except Exception:  # noqa: BLE001 - the system was killed under the ask: no ack
            return
        if isinstance(r, CommandResult) and r.outcome == "accepted":
            with lock:
                trial.acked[sym] = (cid, r.seq)
                if trial.first_ack_secs is None:
                    trial.first_ack_secs = time.monotonic() - sent
    sent = time.monotonic()
    threads = [threading.Thread(target=one, args=(s, f"i1-{trial.n}-{s}-{uuid.uuid4().hex[:6]}"),
                                daemon=True) for s in SYMBOLS]
    for t in threads:
        t.start()
    return threads


def _move_prices(control: SimControl, rng: random.Random, until: float, *,
                 until_true: Callable[[], bool] = lambda: False) -> None:
    """Push prices up in steps so trailing activates and stops move (until the kill, or
    until `until_true()` holds)."""
    while time.monotonic() < until and not until_true():
        sym = rng.choice(SYMBOLS)
        try:
            control.step_price(sym, pct=rng.uniform(0.3, 1.2))
        except OSError:
            return
        time.sleep(rng.uniform(0.02, 0.15))


def unsettled(admin: Admin, control: SimControl, venue: str = "binanceusdm") -> str | None:
    """None when the exchange and posguard agree everything is protected, else what is not."""
    truth = control.state()
    st = admin.status()
    rows = {e.symbol: e for e in st.actors if e.kind == "symbol"}
    for sym in SYMBOLS:
        amount = sum((Decimal(p["positionAmt"]) for p in truth["positions"]
                      if p["symbol"] == sym), Decimal(0))
        stops = [o for o in truth["open_algo_orders"] if o["symbol"] == sym]
        row = rows.get(sym)
        view = admin.view(sym) if row is not None and row.pid else None
        state = getattr(view, "state", None)
        if amount != 0 and (state != "PROTECTED" or len(stops) != 1
                            or venue_order_id(venue, stops[0]["algoId"]) != view.stop_order_id):
            return f"{sym}: position {amount}, state {state}, {len(stops)} resting stops"
        if amount == 0 and stops:
            return f"{sym}: no position but {len(stops)} resting stops"
    return None


def run_trial(trial: Trial, workdir: Path, config_path: Path, rng: random.Random, *,
              extra: tuple[str, ...] = (), cwd: Path | None = None,
              hold_replies: bool = True, venue: str = "binanceusdm") -> Trial:
    """Run one trial (see the module doc); fills in and returns `trial`.

    `extra` are --set values for both launches (e.g. the store backend). The trial's own
    failures to run (a launch that never came up) raise LaunchError; what it measures is in
    the returned record.
    """
    sim = SimServer(dataclasses.replace(SIM_SETTINGS, seed=trial.n, venue=venue))
    sim.start()
    control = SimControl(sim.url, timeout_secs=5.0)
    workdir.mkdir(parents=True, exist_ok=True)
    first = Launched(workdir, config_path, sim.port, extra, cwd=cwd)
    # The same store and exchange. A new admin port: this process's Thespian transport
    # remembers the killed admin's address as dead and would refuse to reach the new one.
    second = Launched(workdir, config_path, sim.port, extra, cwd=cwd)
    try:
        first.start()
        admin = Admin(load_config(config_path, first.sets), 5)
        if hold_replies and rng.random() < 0.5:  # the outcome is unknown when the kill lands
            trial.held_reply = rng.choice(HELD_PATHS[venue])
            control.timeout_next("POST", trial.held_reply, hold_ms=rng.randint(200, 1500))
        lock = threading.Lock()
        threads = _open_all(admin, trial, lock)
        if trial.after_first_ack:
            _move_prices(control, rng, time.monotonic() + FIRST_ACK_WAIT_SECS,
                         until_true=lambda: bool(trial.acked))
            if not trial.acked:
                raise TimeoutError(f"no open acknowledged within {FIRST_ACK_WAIT_SECS:g} s")
        _move_prices(control, rng, time.monotonic() + trial.kill_after_s)
        with lock:
            acked = dict(trial.acked)
        first.kill_all()
        for t in threads:
            t.join(6)
        trial.acked = acked

        t0 = time.monotonic()
        second.start()
        admin2 = Admin(load_config(config_path, second.sets), 5)
        deadline = time.monotonic() + SETTLE_SECS
        while ((why := unsettled(admin2, control, venue)) is not None
               and time.monotonic() < deadline):
            time.sleep(0.1)
        trial.unsettled = why
        trial.recovered_secs = time.monotonic() - t0
        journal = _journal(load_config(config_path, second.sets))
        for sym, (cid, seq) in acked.items():
            rows = [r for r in journal[sym] if r.correlation_id == cid]
            if [(r.kind, r.seq) for r in rows[:1]] != [("open_requested", seq)]:
                trial.lost.append(f"{sym}: acknowledged open {cid} at seq {seq}; journal: "
                                  f"{[(r.seq, r.kind, r.correlation_id) for r in journal[sym]]}")
            again = admin2.ask(OpenPosition(sym, "long", Decimal(QTY[sym]), cid), 10)
            if getattr(again, "outcome", None) != "duplicate":
                trial.not_duplicate.append(f"{sym}: re-sent {cid}: {again}")
        trial.positions = sum(1 for p in control.state()["positions"]
                              if Decimal(p["positionAmt"]) != 0)
        t1 = time.monotonic()
        try:
            trial.exit_code = second.terminate(STOP_WAIT_SECS)
            trial.stop_secs = time.monotonic() - t1
        except subprocess.TimeoutExpired:
            trial.exit_code = None  # a failed trial, reported as such; cleanup() kills it
        return trial
    finally:
        first.cleanup()
        second.cleanup()
        sim.stop()


def _journal(config: Any) -> dict[str, list[Any]]:
    from persistence.factory import attach
    from system.clock import SystemClock
    store = attach(config.store_target(), 0, SystemClock())
    try:
        return {s: store.journal(s) for s in SYMBOLS}
    finally:
        store.close()
