"""A symbol actor's counters for the metrics (issue 17): pure functions, no I/O.

The shell (actors/symbol.py) calls `stepped` after each transition it committed and `appended`
after each journal append, and sends the counters with its view (SymbolView.counters). They
count from the actor process's start: a restarted actor starts again from zero and the
launcher adds what the old one had reached (ops/metrics/totals.py). What each one counts:

- moves: a managed trailing move accepted (step kind `stop_moved`, whether the acceptance came
  by REST, stream or lookup: actors/machine/slot.py Slot.accepted is the one place; or
  `stop_amended`, a move made in place on a venue that amends: actors/machine/amend.py);
- stop_failures: a stop placement (STOP_MARKET or TRAILING_STOP_MARKET) answered with a
  failure, by FailureKind (an expired request deadline is an `unknown`);
- unprotected_ms: stretches that ended, with a position open and no stop of ours resting,
  from coverage.track's `unprotected_since_ms`. That start is persisted, so a stretch open when
  the actor restarted is counted once, by the new actor, from its real start.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from actors.messages import ExchangeReply, SymbolCounters
from actors.symbol_machine import Step, Trigger
from actors.symbol_state import SymbolState

APPEND_BUCKETS_SECS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                       2.5, 5.0)
"""Store-append latency buckets: SQLite with synchronous=FULL commits in ~1-5 ms on a local
disk, PostgreSQL in about a round trip more; seconds mean a sick disk or server."""
_STOP_REPLIES = (Trigger.STOP_REPLY, Trigger.TRAILING_REPLY)


def fresh() -> SymbolCounters:
    """Counters of an actor that has done nothing yet."""
    return SymbolCounters(append_le_secs=APPEND_BUCKETS_SECS,
                          append_buckets=(0,) * len(APPEND_BUCKETS_SECS))


def stepped(c: SymbolCounters, before: SymbolState, trigger: Trigger, event: Any, step: Step,
            now_ms: int) -> SymbolCounters:
    """`c` after `step` (made from `before` by `trigger` with `event` at `now_ms`)."""
    changes: dict[str, Any] = {}
    if step.kind in ("stop_moved", "stop_amended"):
        changes["moves"] = c.moves + 1
    if trigger in _STOP_REPLIES and isinstance(event, ExchangeReply) \
            and event.failure is not None:
        changes["stop_failures"] = _bump(c.stop_failures, event.failure.kind.value)
    since = before.unprotected_since_ms
    if since is not None and step.state.unprotected_since_ms is None:
        changes["unprotected_ms"] = c.unprotected_ms + max(now_ms - since, 0)
    return dataclasses.replace(c, **changes) if changes else c


def appended(c: SymbolCounters, secs: float) -> SymbolCounters:
    """`c` after one journal append that took `secs`."""
    buckets = tuple(n + (secs <= le) for n, le in zip(c.append_buckets, c.append_le_secs,
                                                      strict=True))
    return dataclasses.replace(c, append_buckets=buckets, append_count=c.append_count + 1,
                               append_sum_secs=c.append_sum_secs + secs)


def _bump(pairs: tuple[tuple[str, int], ...], key: str) -> tuple[tuple[str, int], ...]:
    counts = dict(pairs)
    counts[key] = counts.get(key, 0) + 1
    return tuple(sorted(counts.items()))
