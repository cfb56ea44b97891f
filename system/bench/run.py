"""The bench's sections, in order; each returns plain data for the report (and --json).

1 floor        REST round trip and order -> user-stream event, on a bare simulator
2 reaction     mark tick emitted -> replacement stop arrived (simulator clock), per level
3 unprotected  the simulator's meter over every managed move of the run; open burst
4 routing      user-stream frame read -> state applied in the symbol actor, per level
5 recovery     SIGKILL one symbol actor -> restored / reconciled; cold restart of everything
6 durability   whole-system SIGKILL trials per store backend; store append latency
7 scale        actor creation time and memory per level (up to the largest level)
8 stop lag     ideal stop - resting stop under the real order budget (system/bench/budget.py)

Sections 1-4 and the open burst run once per --rtt-ms value, each RTT on its own simulator
and engine (system/bench/rtt.py); recovery, cold restart and aligned ticks at the first.

Sections 1-6 and 8 run once per venue of --venues (default both: binanceusdm, bybit), each
venue on its own simulator front (the config's account with `exchange.name` set to it) and
engine; the store appends (venue-free) run once. The result's "venues" holds one entry per
venue; its top-level keys of before (floor, levels, rtt, recovery, ...) are the first
venue's, so a reader of the old JSON reads what it always read.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from system.bench import orders, stats
from system.bench import rtt as rttmod
from system.bench.progress import RECOVERY_LEVEL, Progress, recovery_level
from system.bench.reaction import Placed, Tick, attribute
from system.bench.recovery import cold_restart, recovery
from system.bench.report_targets import evaluate
from system.bench.target import BenchError, Target, synthetic

__all__ = ["RECOVERY_LEVEL", "VENUES", "Options", "run", "venue_overrides"]

VENUES = ("binanceusdm", "bybit")
"""The venues the bench can run on (their simulator fronts: system/sim/settings.SIM_VENUES)."""
PER_VENUE = ("rtt", "floor", "levels", "unprotected", "recovery", "cold_restart", "stop_lag",
             "durability", "orders_per_move")
"""Result keys measured per venue; at the top level they are the first venue's."""


def venue_overrides(venue: str) -> list[str]:
    """`--set` values that make the config's (first) account trade on `venue`: the engine's
    adapter and the simulator's front both follow exchange.name."""
    if venue not in VENUES:
        raise ValueError(f"{venue!r}: the bench runs on {', '.join(VENUES)}")
    return [f"exchange.name={venue}"]


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    """What to run; the defaults are the full bench."""

    levels: tuple[int, ...] = (1, 10, 100, 300, 500)
    duration_secs: float = 20.0
    store: str = "sqlite"
    recovery_trials: int = 20
    durability_trials: int = 6
    appends: int = 500
    writers: int = 100
    """Writer processes of the contended-append measurement (0: none)."""
    seed: int = 1
    quick: bool = False
    rtt_ms: tuple[float, ...] = (0.0,)
    """Network round trips the RTT sections run at (the simulator's latency model)."""
    open_burst: int = 100
    """Positions opened in the same second, per RTT (0: no open burst)."""
    real_budget: bool = False
    """Keep Binance's order budget in the RTT sections too (the stop-lag section always does)."""
    stop_lag_levels: tuple[int, ...] = (100, 300)
    """Symbol counts of the stop-lag section (empty: not run)."""
    stop_lag_rtt_ms: float = 60.0
    """The RTT of the stop-lag section."""
    venues: tuple[str, ...] = ("binanceusdm",)
    """The venues every per-venue section runs on, in this order (the first one's figures
    are also the result's top-level keys). `posguard bench` defaults to both (VENUES)."""

    @staticmethod
    def quick_run(store: str = "sqlite", seed: int = 1) -> Options:
        """About a minute per venue: two small levels, few trials, a 10-position burst, stop
        lag at 10 symbols (a smoke run, not figures)."""
        return Options(levels=(1, 10), duration_secs=4.0, store=store, recovery_trials=3,
                       durability_trials=1, appends=100, writers=20, seed=seed, quick=True,
                       open_burst=10, stop_lag_levels=(10,), stop_lag_rtt_ms=0.0)


Say = Callable[[str], None]


def run(opts: Options, config_path: str, overrides: list[str], say: Say) -> dict:
    """Everything, in order; the result dict is what --json prints.

    `say` hears which section runs and how far the run is (system/bench/progress.py).
    "venues" holds one entry per venue (venue_section); per venue, "rtt" one entry per RTT
    and "floor", "levels" and "unprotected" the first RTT's (the bench without --rtt-ms: RTT
    0, as before). The top-level keys of PER_VENUE are the first venue's.
    """
    started = time.time()
    progress = Progress(say, opts)
    result: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average": _load()},
        "options": dataclasses.asdict(opts),
        "command": "posguard " + " ".join(sys.argv[1:]) if sys.argv else "posguard bench",
        "venues": [],
    }
    for venue in opts.venues:
        progress.venue = venue
        result["venues"].append(venue_section(opts, venue, config_path,
                                              [*overrides, *venue_overrides(venue)], progress))
    progress.venue = None
    first = result["venues"][0]
    result.update({k: first[k] for k in PER_VENUE if k in first})
    progress.section("store")
    result["store_append"] = store_append(opts, progress)
    result["targets"] = [{**t, "venue": v["venue"]} for v in result["venues"]
                         for t in evaluate(v)]
    result["machine"]["load_average_end"] = _load()
    result["elapsed_secs"] = round(time.time() - started, 1)
    return result


def _load() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages now (the bench shares the machine)."""
    return [round(x, 2) for x in os.getloadavg()]


def venue_section(opts: Options, venue: str, config_path: str, overrides: list[str],
                  progress: Progress) -> dict:
    """Every per-venue section on `venue` (`overrides` already name it)."""
    from system.bench.budget import stop_lag
    out: dict[str, Any] = {"venue": venue, "load_average": _load(), "rtt": []}
    for i, rtt in enumerate(opts.rtt_ms):
        progress.rtt = rtt
        out["rtt"].append(rtt_section(opts, rtt, i == 0, config_path, overrides, out,
                                      progress))
    first = out["rtt"][0]
    out.update(floor=first["floor"], levels=first["levels"], unprotected=first["unprotected"])
    if opts.stop_lag_levels:
        progress.rtt = None
        fl = next((r["floor"] for r in out["rtt"] if r["rtt_ms"] == opts.stop_lag_rtt_ms),
                  None)
        out["stop_lag"] = stop_lag(config_path, overrides, opts, fl, progress)
    progress.rtt = None
    out["orders_per_move"] = orders_per_move(out)
    progress.section("durability")
    out["durability"] = durability(config_path, opts, progress, venue)
    out["load_average_end"] = _load()
    return out


def orders_per_move(v: dict) -> dict:
    """Orders the venue accepted per stop move over the venue's windows: with the budget
    lifted (the reaction windows of every RTT) and under the real budget (stop lag)."""
    lifted = [w["orders"] for x in v["rtt"] for lv in x["levels"]
              for w in (lv, lv.get("burst")) if w and "orders" in w]
    real = [lv["orders"] for lv in (v.get("stop_lag") or {}).get("levels", ())
            if "orders" in lv]
    return {"budget_lifted": orders.merge(lifted), "real_budget": orders.merge(real)}


def rtt_section(opts: Options, rtt: float, first: bool, config_path: str,
                overrides: list[str], result: dict, progress: Progress) -> dict:
    """Floor, reaction and routing per level and the open burst at one RTT; at the first
    RTT also recovery, cold restart and aligned ticks (into `result`)."""
    say = progress
    progress.section("floor")
    fl = rttmod.floor(config_path, overrides, rtt, say)
    out: dict[str, Any] = {"rtt_ms": rtt, "floor": fl, "levels": []}
    levels: list[dict] = out["levels"]
    # A quick run measures only its largest level at the later RTTs (a smoke run's time).
    counts = opts.levels if first or not opts.quick else (max(opts.levels),)
    rec_level = recovery_level(counts)
    with Target(config_path, overrides, backend=opts.store,
                symbols=max(max(opts.levels), rec_level + opts.open_burst), progress=say,
                rtt_ms=rtt, real_budget=opts.real_budget) as target:
        progress.level(min(counts))
        say(f"starting the engine ({opts.store} store) ...")
        target.start()
        active: list[str] = []
        for level in sorted(counts):
            progress.level(level)
            new = synthetic(level)[len(active):]
            levels.append(grow(target, active, new, level, say))
            active += new
            levels[-1].update(measure(target, active, opts.duration_secs, "spread", fl, say))
            levels[-1]["target"] = rttmod.reaction_target(levels[-1]["symbols"], rtt, fl,
                                                          levels[-1])
            _recover_if_collapsed(target, active, levels[-1], say)
            if level != rec_level:
                continue
            if first:
                progress.section("recovery")
                result["recovery"] = recovery(target, active, opts, say)
                progress.section("cold restart")
                result["cold_restart"] = cold_restart(target, active, say)
                progress.section("burst")
                levels[-1]["burst"] = measure(target, active, opts.duration_secs, "aligned",
                                              fl, say)
                _recover_if_collapsed(target, active, levels[-1]["burst"], say)
                target.set_phase("spread")
            if opts.open_burst:
                progress.section("open burst")
                burst = rttmod.burst_symbols(len(active), opts.open_burst)
                out["open_burst"] = rttmod.open_burst(target, burst, fl, say)
                active += out["open_burst"].pop("opened")
        out["unprotected"] = unprotected(target)
    return out


# ---------------------------------------------------------------------------- 2-4, 7


def grow(target: Target, active: list[str], new: list[str], level: int, say: Say) -> dict:
    """Create and open `new` symbols; creation time and memory at this level."""
    target.pause(True)  # no trend while growing: every new position settles PROTECTED
    say(f"creating {len(new)} symbol actors ...")
    created = target.create(new) if new else 0.0
    say(f"opening {len(new)} positions, waiting for all {level} PROTECTED ...")
    t0 = time.monotonic()
    target.open(new)
    target.wait_protected(active + new, 60 + len(new) / 2)
    opened = time.monotonic() - t0
    return {"symbols": len(active) + len(new), "created": len(new),
            "create_secs": round(created, 2),
            "create_ms_per_actor": round(created * 1000 / len(new), 1) if new else None,
            "open_secs": round(opened, 2), "memory": target.memory()}


def measure(target: Target, active: list[str], secs: float, phase: str, fl: dict,
            say: Say) -> dict:
    """One window of ticking at 1 Hz: reaction and routing samples, with their ratios to the
    RTT's floors (system/bench/rtt.py)."""
    target.set_phase(phase)
    target.pause(False)
    time.sleep(2.5)  # the trend is under way in the new phase
    target.probe()   # discard what came before the window
    say(f"measuring {secs:.0f} s, ticks {phase} ...")
    cpu0 = target.cpu_seconds()
    t0 = time.monotonic()
    time.sleep(secs)
    data = target.probe()
    elapsed = time.monotonic() - t0
    try:
        cpu1 = target.cpu_seconds()  # the window's CPU, before the drain
    except BenchError as e:
        cpu1, cpu_error = {}, str(e)
    else:
        cpu_error = None
    target.pause(True)
    drained = _drain(target, active)
    collapsed = cpu_error if drained is not None else \
        "not every symbol PROTECTED again within 120 s of the trend stopping"
    if any(data["dropped"].values()):
        raise BenchError(f"the simulator's probe overflowed: {data['dropped']}")
    react = attribute([Tick(t["symbol"], float(t["price"]), t["t_mono"]) for t in data["ticks"]],
                      [Placed(p["symbol"], p["t_mono"], p["order_type"])
                       for p in data["placements"]])
    route: list[float] = []
    mark: list[float] = []
    route_delivery: list[float] = []
    mark_delivery: list[float] = []
    for sym in active if collapsed is None else ():
        tm = target.k.timings(sym, 5.0)
        if tm is None:
            collapsed = f"{sym}: no answer to a timings query"
            break
        route += [ms for (rx, ms) in tm.route if rx >= t0]
        mark += [ms for (rx, ms) in tm.mark if rx >= t0]
        route_delivery += [d for (rx, _), d in zip(tm.route, tm.route_delivery, strict=True)
                           if rx >= t0]
        mark_delivery += [d for (rx, _), d in zip(tm.mark, tm.mark_delivery, strict=True)
                          if rx >= t0]
    cpu = {k: round((cpu1[k] - v) / elapsed, 3) for k, v in cpu0.items() if k in cpu1}
    return {
        "phase": phase, "window_secs": secs, "drain_secs": drained, "collapsed": collapsed,
        "orders": orders.per_move(data["placements"], data["cancels"], react.moves),
        "ticks": react.ticks,
        "moves": react.moves,
        "missed": react.missed, "unattributed": react.unattributed,
        "reaction": stats.with_ratio(stats.summary(react.samples_ms), fl["reaction_floor_ms"]),
        "routing": stats.with_ratio(stats.summary(route), fl["routing_floor_ms"]),
        "mark_routing": stats.summary(mark),
        "profile": {
            "tick_delivery": stats.summary(mark_delivery),
            "event_delivery": stats.summary(route_delivery),
            "cpu_cores": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
            "cpu_ms_per_move": round(sum(cpu.values()) * elapsed * 1000 / react.moves, 2)
            if react.moves else None,
        },
        "samples": {"reaction": [round(x, 3) for x in react.samples_ms],
                    "routing": [round(x, 3) for x in route]},
    }


def _recover_if_collapsed(target: Target, active: list[str], window: dict, say: Say) -> None:
    """The engine fell behind and did not catch up: restart it, as an operator would."""
    if not window.get("collapsed"):
        return
    say(f"the engine did not keep up ({window['collapsed']}); restarting it ...")
    t0 = time.monotonic()
    target.restart()
    target.wait_protected(active, 120)
    window["restart_secs"] = round(time.monotonic() - t0, 2)


def _drain(target: Target, active: list[str]) -> float | None:
    """Seconds until every symbol is PROTECTED again once the trend stops (None: > 120 s).

    Near 0 when the engine kept up; when it fell behind this is its backlog.
    """
    t0 = time.monotonic()
    try:
        target.wait_protected(active, 120)
    except BenchError:
        return None
    return round(time.monotonic() - t0, 2)


def unprotected(target: Target) -> dict:
    """The meter over the whole run: coverage lost (must be 0) and open -> protect gaps."""
    rep = target.meter()
    per = rep["per_symbol"].values()
    lost = [p["total_ms_by_kind"]["coverage_lost"] for p in per]
    opened = [g["duration_ms"] for g in rep["gaps"] if g["kind"] == "opened_uncovered"]
    return {"symbols": len(lost),
            "coverage_lost_total_ms": rep["coverage_lost_total_ms"],
            "coverage_lost_gaps": sum(p["count_by_kind"]["coverage_lost"] for p in per),
            "open_to_protected": stats.summary(opened)}


# ---------------------------------------------------------------------------- 6 durability


def durability(config_path: str, opts: Options, say: Say, venue: str = "binanceusdm"
               ) -> list[dict]:
    """Whole-system SIGKILL trials on each store backend, on `venue`: acknowledged vs
    found."""
    from system.bench.durability import Trial, run_trial
    from system.bench.target import DSN_ENV
    out = []
    rng = random.Random(opts.seed)
    for backend in ("sqlite", "postgres"):
        say(f"{opts.durability_trials} whole-system SIGKILL trials on {backend} ({venue}) ...")
        pg = None
        base = Path(tempfile.mkdtemp(prefix="posguard-bench-dur-"))
        trials: list[Trial] = []
        try:
            extra: tuple[str, ...] = tuple(venue_overrides(venue))
            if backend == "postgres":
                pg = _pg_server()
                extra += ("store.backend=postgres", f"store.postgres_dsn_env={DSN_ENV}")
            for n in range(opts.durability_trials):
                if pg is not None:
                    os.environ[DSN_ENV] = _fresh_database(pg)
                say(f"trial {n + 1}/{opts.durability_trials} ({backend}) ...")
                # The first trial (and every second) counts its kill from the first
                # acknowledged open: a run of one trial then proves something about an
                # acknowledged open (its kill cannot land before every acknowledgement).
                trial = Trial(n, backend, rng.uniform(0.2, 2.5), after_first_ack=n % 2 == 0)
                run_trial(trial, base / f"trial{n}", Path(config_path).resolve(), rng,
                          extra=extra, venue=venue)
                trials.append(trial)
        finally:
            if pg is not None:
                pg.cleanup()
                os.environ.pop(DSN_ENV, None)
            shutil.rmtree(base, ignore_errors=True)
        out.append({
            "backend": backend, "venue": venue, "trials": len(trials),
            "acknowledged": sum(len(t.acked) for t in trials),
            "found": sum(len(t.acked) - len(t.lost) for t in trials),
            "lost": sum(len(t.lost) for t in trials),
            "not_refused_as_duplicate": sum(len(t.not_duplicate) for t in trials),
            "unsettled": [t.unsettled for t in trials if t.unsettled],
            "positions_restored": sum(t.positions for t in trials),
            "recovered": stats.summary(t.recovered_secs * 1000 for t in trials),
            "stop": stats.summary(t.stop_secs * 1000 for t in trials if t.stop_secs is not None),
            "unclean_stops": [f"trial {t.n}: exit {t.exit_code}" for t in trials
                              if t.exit_code != 0],
        })
    return out


def _pg_server() -> Any:
    from persistence.pg_tempserver import PgTempServer
    return PgTempServer().start()


def _fresh_database(pg: Any) -> str:
    import psycopg
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return str(pg.dsn(name))


def store_append(opts: Options, say: Say) -> list[dict]:
    """Durable append latency per backend: one writer (as a symbol actor commits), then
    `opts.writers` processes appending at the same instants (one aligned tick's commits)."""
    from system.bench.store import bench_contended, bench_store
    out = []
    for backend in ("sqlite", "postgres"):
        say(f"{opts.appends} durable appends on {backend} ...")
        row = bench_store(backend, appends=opts.appends)
        if opts.writers:
            say(f"{opts.writers} writers appending at once on {backend}, 10 rounds ...")
        row["contended"] = bench_contended(backend, writers=opts.writers) \
            if opts.writers else None
        if opts.writers and backend == "sqlite":
            say(f"{opts.writers} writers appending at once on sqlite through the store's "
                "writer, 10 rounds ...")
        row["contended_writer"] = bench_contended(backend, writers=opts.writers,
                                                  group_writer=True) \
            if opts.writers and backend == "sqlite" else None
        out.append(row)
    return out
