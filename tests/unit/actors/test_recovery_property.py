"""Recovery property: a snapshot plus the tail replayed equals the whole history replayed.

Every journal row the shell writes carries the whole state (actors/symbol.py `_commit`: a
Step with persist=True is appended with `state=to_dict(step.state)`), and a restarted actor
resumes from the latest one (`from_dict(loaded.state)`). So recovery is only as good as that
encoding: anything the machine depends on that the row does not carry (a sub-state, a
Decimal's exponent, a tuple that comes back a list) makes the resumed actor behave
differently from the one that crashed. The property drives the REAL machine through random
histories (seeded, so a failure names its seed), journals like the shell through the real
codec, then resumes from every row and applies the rest of the history again.
"""

from __future__ import annotations

import functools
import random
from typing import Any

import pytest

from actors.messages import OpenPosition
from actors.symbol_machine import Trigger, handle
from actors.symbol_state import State, SymbolState, from_dict, to_dict
from persistence import codec
from tests.fakes.machine import SYMBOL, Driver, ctx, policy
from tests.fakes.world import QTY, World, feed, random_event

SEEDS = range(300)
EVENTS = 60


@functools.cache
def _history(seed: int) -> tuple[Driver, World, list[tuple[int, bytes, bytes, bytes]]]:
    """Run one random history; journal rows are (applied index, kind, payload, state).
    Cached: both tests read the same histories and neither changes them."""
    rng = random.Random(seed)
    mode = rng.choice(["managed", "native"])
    side = rng.choice(["long", "short"])
    d = Driver(pol=policy(mode=mode))
    w = World(amount=QTY if side == "long" else -QTY)
    journal: list[tuple[int, bytes, bytes, bytes]] = []

    def journaled() -> None:
        step = d.steps[-1] if d.steps else None
        if step is not None and step.persist:
            journal.append((len(w.applied) - 1, step.kind.encode(),
                            codec.encode(step.payload), codec.encode(to_dict(step.state))))

    w.applied.append((Trigger.OPEN, OpenPosition(SYMBOL, side, QTY, "cmd-1"), d.now_ms + 1000))
    w.inflight.extend(d.apply(Trigger.OPEN, w.applied[0][1]).requests)
    journaled()
    for _ in range(EVENTS):
        n = len(w.applied)
        feed(d, w, random_event(rng))
        if len(w.applied) > n:
            journaled()
    return d, w, journal


def _resume(row_state: bytes, tail: list[tuple[Trigger, Any, int]], pol: Any
            ) -> tuple[SymbolState, list[tuple[bytes, bytes, bytes]]]:
    """The restarted actor: decode the row's state, then apply the rest of the history."""
    s = from_dict(codec.decode(row_state))
    rows = []
    for trigger, event, now_ms in tail:
        step = handle(s, trigger, event, ctx(now_ms, pol))
        if step is not None:
            s = step.state
            if step.persist:
                rows.append((step.kind.encode(), codec.encode(step.payload),
                             codec.encode(to_dict(step.state))))
    return s, rows


@pytest.mark.parametrize("seed", SEEDS)
def test_resuming_from_any_journal_row_and_replaying_the_tail_equals_the_full_history(seed):
    # Arrange: one random history of the real machine, journaled like the shell does
    d, w, journal = _history(seed)
    assert journal, "a history always journals its open"
    # Act / Assert: resume from the first, the last and a few rows between
    rows_to_try = random.Random(seed).sample(range(len(journal)), min(len(journal), 6))
    for k in sorted({0, len(journal) - 1, *rows_to_try}):
        at, state = journal[k][0], journal[k][3]
        resumed, rows = _resume(state, w.applied[at + 1:], d.pol)
        assert resumed == d.s, f"seed {seed}: resumed from row {k + 1} of {len(journal)}"
        assert rows == [r[1:] for r in journal[k + 1:]], f"seed {seed}: rows after {k + 1}"


def test_the_random_histories_reach_every_state_of_the_machine():
    # A property over histories that never leave PROTECTED would prove little.
    seen = set()
    for seed in SEEDS:
        d, w, _ = _history(seed)
        seen.update(st.state.state for st in d.steps if st is not None)
    assert seen == set(State)
