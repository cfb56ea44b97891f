"""Bench section 5: SIGKILL one symbol actor at a time, and a cold restart of everything.

Split out of system/bench/run.py (which runs the sections in order) to keep modules small.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from typing import Any

from system.bench import orders, stats
from system.bench.target import Target

Say = Callable[[str], None]

RECOVERY_SAY_EVERY = 5
"""The recovery section says how far it is every this many kills."""


def recovery(target: Target, active: list[str], opts: Any, say: Say) -> dict:
    """SIGKILL one symbol actor at a time; time until the replacement answers / reconciles."""
    say(f"{opts.recovery_trials} SIGKILLs of single symbol actors ...")
    target.pause(True)  # the trend is paused after every window: seq is stable when we kill
    rng = random.Random(opts.seed)
    victims = rng.sample(active, min(opts.recovery_trials, len(active)))
    restored: list[float] = []
    reconciled: list[float] = []
    seq_kept = 0
    failures: list[str] = []
    for n, sym in enumerate(victims, 1):
        if n % RECOVERY_SAY_EVERY == 0 and n < len(victims):
            say(f"SIGKILL {n}/{len(victims)} ...")
        before = target.k.view(sym, 5.0)
        if before is None or before.state != "PROTECTED":
            failures.append(f"{sym}: not PROTECTED before the kill ({before})")
            continue
        t0 = time.monotonic()
        os.kill(before.pid, signal.SIGKILL)
        got_restored = got_reconciled = None
        deadline = t0 + 10.0
        # A query forwarded to the dead actor before the supervisor heard of the death
        # (2-4 ms) is lost: wait that out, and never wait long for one answer.
        time.sleep(0.01)
        while time.monotonic() < deadline:
            v = target.k.view(sym, 0.2)
            if v is not None and v.pid != before.pid:
                now = time.monotonic()
                got_restored = got_restored or now - t0
                if v.state == "PROTECTED":
                    got_reconciled = now - t0
                    break
            time.sleep(0.003)
        if got_reconciled is None:
            failures.append(f"{sym}: not PROTECTED again within 10 s")
            continue
        restored.append(got_restored * 1000)
        reconciled.append(got_reconciled * 1000)
        seq_kept += _restored_from(target, sym, before.seq)
    return {"trials": len(victims), "restored": stats.summary(restored),
            "reconciled": stats.summary(reconciled), "seq_kept": seq_kept,
            "failures": failures,
            "samples": {"reconciled": [round(x, 3) for x in reconciled]}}


def _restored_from(target: Target, symbol: str, seq: int) -> int:
    """1 if the replacement continued the journal right after `seq` (nothing lost), else 0."""
    from persistence.factory import attach
    from system.clock import SystemClock
    store = attach(target.k.config.store_target(), 0, SystemClock())
    try:
        rows = store.journal(symbol, after_seq=seq - 1, limit=2)
    finally:
        store.close()
    return int(len(rows) == 2 and rows[0].seq == seq and rows[1].kind == "recovery_started")


def cold_restart(target: Target, active: list[str], say: Say) -> dict:
    """Stop the whole engine; start it again; time until every position is PROTECTED, and
    the orders the venue accepted on the way (what the venue's order ceiling paces)."""
    say(f"stopping the engine, starting it again, waiting for all {len(active)} PROTECTED ...")
    target.probe()  # what came before the restart is not the restart's
    t0 = time.monotonic()
    up = target.restart()
    target.wait_protected(active, 120)
    total = time.monotonic() - t0
    seen = target.probe()
    return {"positions": len(active), "system_up_secs": round(up, 2),
            "all_protected_secs": round(total, 2),
            "orders": orders.count(seen["placements"], seen["cancels"])}
