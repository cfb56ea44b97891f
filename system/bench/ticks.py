"""Mark-tick delivery and graceful shutdown at many symbols: a measurement helper.

`python -m system.bench.ticks --symbols 100,500` starts the bench's target (the simulator in
this process, the production engine in its own actor system: system/bench/target.py), grows
it to each count of synthetic symbols (SYM0001USDT ...), optionally opens a long on each
(every tick then moves its trail and commits), and for each mark-stream phase reports:

- tick delivery: the market stream read the frame -> the symbol actor's handler started
  (SymbolTimings.mark_delivery), p50/p99/max;
- tick emitted -> handled: the simulator's probe time of the tick the stream read last before
  that frame (same monotonic clock), so a stream that falls behind reading shows here;
- CPU cores per component over the window (the market-stream shards by pid).

With --shutdown it then times the graceful shutdown of all of them (Kernel.stop, as SIGTERM /
`posguard shutdown` does), says whether the actor system closed within its timeout or had
to be ended by pid, and counts the stops still resting on the simulator afterwards.

Figures depend on the machine and on what else runs on it: measure, never assert them.
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import sys
import time
from collections import defaultdict
from typing import Any

from system.bench import stats
from system.bench.target import Target, synthetic


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def shard_pids(target: Target) -> list[int]:
    """Pids of the running market-stream actors."""
    st = target.k.status(5.0)
    return sorted(e.pid for e in (st.actors if st else ()) if e.kind == "market_stream"
                  and e.pid)


def _cpu(pids: list[int]) -> dict[int, float]:
    import psutil
    out = {}
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        out[pid] = t.user + t.system
    return out


def create(target: Target, symbols: list[str]) -> float:
    """Create the symbol actors (a slow answer is asked again); seconds until all answer."""
    from actors.messages import Where
    t0 = time.monotonic()
    for sym in symbols:
        for _ in range(5):
            reply = target.k.ask(Where(sym, create=True), 15.0)
            if reply is not None and reply.address is not None:
                break
        else:
            raise RuntimeError(f"no actor for {sym}: {reply.detail if reply else 'no answer'}")
    pending = set(symbols)
    deadline = time.monotonic() + 120 + len(symbols) / 2
    while pending:
        for sym in list(pending):
            if target.k.view(sym, 5.0) is not None:
                pending.discard(sym)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} symbol actors did not answer")
    return time.monotonic() - t0


def window(target: Target, symbols: list[str], phase: str, secs: float, moving: bool
           ) -> dict[str, Any]:
    """One measuring window in `phase` (the price trend on if `moving`); its figures."""
    target.set_phase(phase)
    target.pause(not moving)
    time.sleep(2.5)  # every stream is in the new phase
    target.probe()   # what came before the window is discarded
    pids = shard_pids(target)
    cpu0, comp0 = _cpu(pids), target.cpu_seconds()
    t0 = time.monotonic()
    time.sleep(secs)
    t1 = time.monotonic()
    cpu1, comp1 = _cpu(pids), target.cpu_seconds()
    emitted: dict[str, list[float]] = defaultdict(list)
    for t in target.probe()["ticks"]:
        emitted[t["symbol"]].append(t["t_mono"])
    delivery: list[float] = []
    end_to_end: list[float] = []
    applied: list[float] = []
    silent = []
    for sym in symbols:
        tm = target.k.timings(sym, 5.0)
        if tm is None:
            silent.append(sym)
            continue
        sent = sorted(emitted.get(sym, ()))
        n = 0
        for (rx, ms), d in zip(tm.mark, tm.mark_delivery, strict=True):
            if not t0 <= rx < t1:
                continue
            n += 1
            delivery.append(d)
            applied.append(ms)
            i = bisect.bisect_right(sent, rx) - 1
            if i >= 0:
                end_to_end.append((rx - sent[i]) * 1000 + d)
        if n == 0:
            silent.append(sym)
    elapsed = t1 - t0
    ticks_sent = sum(len(v) for v in emitted.values())
    return {
        "phase": phase, "window_secs": round(elapsed, 1), "symbols": len(symbols),
        "ticks_emitted": ticks_sent, "ticks_handled": len(delivery),
        "symbols_without_ticks": len(silent),
        "delivery_ms": stats.summary(delivery),
        "emitted_to_handled_ms": stats.summary(end_to_end),
        "emitted_to_applied_ms": stats.summary(applied),
        "market_stream_cpu_cores": {str(p): round((cpu1[p] - v) / elapsed, 3)
                                    for p, v in cpu0.items() if p in cpu1},
        "cpu_cores": {k: round((comp1[k] - v) / elapsed, 3) for k, v in
                      sorted(comp0.items(), key=lambda kv: -(comp1.get(kv[0], 0) - kv[1]))
                      if k in comp1},
    }


def resting_stops(target: Target) -> int:
    """Stops resting on the simulator now."""
    return target.sim.call(lambda s: len(s.engine.open_algos()))


def shutdown(target: Target) -> dict[str, Any]:
    """Time the graceful shutdown (Kernel.stop with the configured grace), as SIGTERM does."""
    kernel = target.k
    a = kernel.config.actor_system
    steps: list[tuple[float, str]] = []
    t0 = time.monotonic()

    class Steps:
        def step(self, text: str) -> None:
            steps.append((round(time.monotonic() - t0, 2), text))
    failed: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if any(s in text for s in ("graceful shutdown failed", "still running; killing it",
                                       "did not exit; killing it")):
                failed.append(text)
    catch = Catch()
    loggers = [logging.getLogger(n) for n in ("posguard.kernel", "posguard.processes")]
    for lg in loggers:
        lg.addHandler(catch)
    try:
        kernel.stop(narrator=Steps())  # type: ignore[arg-type]
    finally:
        for lg in loggers:
            lg.removeHandler(catch)
    target.kernel = None
    return {"secs": round(time.monotonic() - t0, 2), "steps": steps,
            "graceful": not failed, "fallback": failed,
            "grace_secs": a.shutdown_grace_secs, "stops_resting_after": resting_stops(target)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m system.bench.ticks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="config.yaml")
    p.add_argument("--set", action="append", default=[], dest="overrides")
    p.add_argument("--symbols", default="100,500", help="comma-separated counts, ascending")
    p.add_argument("--phases", default="spread,aligned")
    p.add_argument("--secs", type=float, default=10.0, help="measuring window per phase")
    p.add_argument("--load", choices=("flat", "open", "moving"), default="open",
                   help="flat: no positions; open: a long each, price trend paused (a tick "
                        "changes nothing); moving: trend on (a tick may move its stop)")
    p.add_argument("--shutdown", action="store_true", help="time the shutdown at the end")
    p.add_argument("--keep-log", default=None, help="copy the actors' log here at the end")
    a = p.parse_args(argv)
    levels = sorted(int(x) for x in a.symbols.split(","))
    out: dict[str, Any] = {"load": a.load, "levels": []}
    with Target(a.config, a.overrides, backend="sqlite", symbols=max(levels),
                progress=_say) as target:
        try:
            _measure(a, levels, target, out)
        finally:
            if a.keep_log:
                import shutil
                shutil.copy(target.tmp / "actors.log", a.keep_log)
    print(json.dumps(out, indent=1))
    return 0


def _measure(a: argparse.Namespace, levels: list[int], target: Target, out: dict) -> None:
    """Grow to each level, measure its windows; then the shutdown, if asked."""
    _say("starting the engine ...")
    target.start()
    active: list[str] = []
    for level in levels:
        new = synthetic(level)[len(active):]
        target.pause(True)  # every new position settles PROTECTED
        _say(f"creating {len(new)} symbol actors ...")
        secs = create(target, new)
        if a.load != "flat":
            _say(f"opening {len(new)} positions ...")
            target.open(new)
            target.wait_protected(active + new, 120 + len(new) / 2)
        active += new
        row: dict[str, Any] = {"symbols": level, "create_secs": round(secs, 1),
                               "shards": len(shard_pids(target)), "windows": []}
        for phase in a.phases.split(","):
            _say(f"{level} symbols, {phase}: measuring {a.secs:g} s ...")
            row["windows"].append(window(target, active, phase, a.secs,
                                         a.load == "moving"))
            _say(json.dumps(row["windows"][-1]))
        out["levels"].append(row)
    if a.shutdown:
        target.pause(True)
        if a.load != "flat":
            target.wait_protected(active, 120)
        out["stops_resting_before"] = resting_stops(target)
        _say(f"shutting down {len(active)} symbol actors ...")
        out["shutdown"] = shutdown(target)
        _say(json.dumps(out["shutdown"]))


if __name__ == "__main__":
    sys.exit(main())
